"""ICE-TCP (RFC 6544, passive) on each worker's TCP port: the tcp candidate of INIT_TRANSPORTS (docs/protocol.md §6.3),
STUN Binding over RFC 4571 framing (2-byte big-endian length, docs/protocol.md §7.1) with aioice's STUN codec as the
independent peer, and the bounds: garbage, broken framing or nothing valid within 10 s closes that connection
only."""
import socket
import struct
import time

import requests
from aioice import stun

from conftest import PUBLIC_IP
from test_connect_flow import RTC_MIN, RTC_MAX, connected, message_integrity_ok, rtc_server  # noqa: F401 (fixture)
from test_websocket import channel_uuid, T


def tcp_candidate(config):
    [tcp] = [c for c in config["iceCandidates"] if c["protocol"] == "tcp"]
    return tcp


def binding_request(ufrag, password):
    m = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
    m.attributes["USERNAME"] = f"{ufrag}:peer"
    m.attributes["PRIORITY"] = 1845501695
    m.attributes["ICE-CONTROLLING"] = 1
    m.add_message_integrity(password.encode())
    m.add_fingerprint()
    return bytes(m)


def frame(packet):
    return struct.pack("!H", len(packet)) + packet


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError(f"closed after {len(data)} of {n} bytes")
        data += chunk
    return data


def recv_frame(sock):
    (length,) = struct.unpack("!H", recv_exact(sock, 2))
    return recv_exact(sock, length)


def dial(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=T)
    sock.settimeout(T)
    return sock


def closed_by_peer(sock, within):
    """True when the server closes `sock` (EOF or reset) within `within` seconds."""
    sock.settimeout(within)
    try:
        while True:
            if not sock.recv(4096):
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def check(sock, ufrag, password):
    raw = recv_frame_after(sock, binding_request(ufrag, password))
    return stun.parse_message(raw), raw


def recv_frame_after(sock, request):
    sock.sendall(frame(request))
    return recv_frame(sock)


def test_init_transports_announce_a_passive_tcp_candidate(rtc_server):
    uuid = channel_uuid(rtc_server, webrtc=True)
    ws, payload = connected(rtc_server, uuid, 1)
    ports = set()
    for key in ("stcConfig", "ctsConfig"):
        tcp = tcp_candidate(payload[key])
        assert {k: v for k, v in tcp.items() if k != "port"} == {
            "foundation": "tcpcandidate", "priority": 1076276479, "ip": PUBLIC_IP, "address": PUBLIC_IP,
            "protocol": "tcp", "type": "host", "tcpType": "passive"}
        assert isinstance(tcp["port"], int) and RTC_MIN <= tcp["port"] <= RTC_MAX
        ports.add(tcp["port"])
    assert len(ports) == 1   # both transports of a session live on one worker
    ws.close()


def test_stun_binding_over_rfc4571_framing(rtc_server):
    uuid = channel_uuid(rtc_server, webrtc=True)
    ws, payload = connected(rtc_server, uuid, 1)
    for key in ("ctsConfig", "stcConfig"):
        config = payload[key]
        ufrag, pwd = config["iceParameters"]["usernameFragment"], config["iceParameters"]["password"]
        sock = dial(tcp_candidate(config)["port"])
        try:
            response, raw = check(sock, ufrag, pwd)
            assert response.message_class == stun.Class.RESPONSE
            assert response.attributes["XOR-MAPPED-ADDRESS"] == ("127.0.0.1", sock.getsockname()[1])
            assert message_integrity_ok(raw, pwd.encode())
            # A frame split over two writes, then two frames in one write: the stream is reassembled.
            request = frame(binding_request(ufrag, pwd))
            sock.sendall(request[:1])
            time.sleep(0.05)
            sock.sendall(request[1:7])
            time.sleep(0.05)
            sock.sendall(request[7:] + request)
            for _ in range(2):
                again = stun.parse_message(recv_frame(sock))
                assert again.message_class == stun.Class.RESPONSE
            wrong = stun.parse_message(recv_frame_after(sock, binding_request(ufrag, "x" * 24)))
            assert wrong.message_class == stun.Class.ERROR and wrong.attributes["ERROR-CODE"][0] == 401
        finally:
            sock.close()
    ws.close()


def test_garbage_or_broken_framing_closes_only_that_connection(rtc_server):
    uuid = channel_uuid(rtc_server, webrtc=True)
    ws, payload = connected(rtc_server, uuid, 1)
    config = payload["ctsConfig"]
    ufrag, pwd = config["iceParameters"]["usernameFragment"], config["iceParameters"]["password"]
    port = tcp_candidate(config)["port"]
    good = dial(port)
    assert check(good, ufrag, pwd)[0].message_class == stun.Class.RESPONSE
    for bad_bytes in (frame(b"\x40\x00\x00\x04abcd"),       # TURN channel range: not STUN/DTLS/RTP/RTCP
                      frame(b"\xff" * 100),                  # unknown first byte
                      b"\x00\x00",                           # zero-length frame
                      b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"):  # not RFC 4571: length 0x4745, first byte 'T', refused early
        bad = dial(port)
        bad.sendall(bad_bytes)
        assert closed_by_peer(bad, T), bad_bytes
        bad.close()
    # The validated connection still works, new ones too, and the server is up.
    assert check(good, ufrag, pwd)[0].message_class == stun.Class.RESPONSE
    fresh = dial(port)
    assert check(fresh, ufrag, pwd)[0].message_class == stun.Class.RESPONSE
    fresh.close()
    good.close()
    assert requests.get(rtc_server.base + "/v1/noop", timeout=T).status_code == 200
    ws.close()


def test_a_connection_with_nothing_valid_within_10_s_is_closed(rtc_server):
    uuid = channel_uuid(rtc_server, webrtc=True)
    ws, payload = connected(rtc_server, uuid, 1)
    config = payload["ctsConfig"]
    ufrag, pwd = config["iceParameters"]["usernameFragment"], config["iceParameters"]["password"]
    port = tcp_candidate(config)["port"]
    good, silent, unauthenticated = dial(port), dial(port), dial(port)
    assert check(good, ufrag, pwd)[0].message_class == stun.Class.RESPONSE
    # Well framed STUN that never authenticates: answered (401), but the connection never becomes valid.
    assert check(unauthenticated, ufrag, "y" * 24)[0].message_class == stun.Class.ERROR
    start = time.monotonic()
    assert not closed_by_peer(silent, 8)
    assert closed_by_peer(silent, 5) and closed_by_peer(unauthenticated, 2)
    assert 9 <= time.monotonic() - start <= 13
    assert check(good, ufrag, pwd)[0].message_class == stun.Class.RESPONSE   # validated: kept
    for s in (good, silent, unauthenticated):
        s.close()
    ws.close()
