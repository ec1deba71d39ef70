"""The connect flow of docs/protocol.md §5.1 against the real `sfu` process: INIT_TRANSPORTS (router capabilities §6.1,
transport configs §6.3), CONNECT_*, INIT_PRODUCER, INIT_CONSUMER (§6.6), pause/resume messages, stats, the
connection timeout, and ICE on the worker's shared UDP port (aioice's STUN codec as the independent peer)."""
import json
import socket
import time

import pytest
import requests
from aioice import stun

from conftest import Server, PUBLIC_IP
from test_http import pyjwt_token, stats
from test_websocket import channel_uuid, join, recv_bus, close_code, T

RTC_MIN, RTC_MAX = 41000, 41099

# Spec §6.1: the router codecs for the default AUDIO_CODECS / VIDEO_CODECS (mediasoup 3.14).
FIVE = [{"type": "nack", "parameter": ""}, {"type": "nack", "parameter": "pli"}, {"type": "ccm", "parameter": "fir"},
        {"type": "goog-remb", "parameter": ""}, {"type": "transport-cc", "parameter": ""}]


def rtx(pt, apt):
    return {"kind": "video", "mimeType": "video/rtx", "preferredPayloadType": pt, "clockRate": 90000,
            "parameters": {"apt": apt}, "rtcpFeedback": []}


def h264(pt, plid):
    return {"kind": "video", "mimeType": "video/H264", "preferredPayloadType": pt, "clockRate": 90000,
            "parameters": {"level-asymmetry-allowed": 1, "packetization-mode": 1, "profile-level-id": plid}, "rtcpFeedback": FIVE}


ROUTER_CODECS = [
    {"kind": "audio", "mimeType": "audio/opus", "preferredPayloadType": 100, "clockRate": 48000, "channels": 2, "parameters": {},
     "rtcpFeedback": [{"type": "nack", "parameter": ""}, {"type": "transport-cc", "parameter": ""}]},
    {"kind": "audio", "mimeType": "audio/PCMU", "preferredPayloadType": 0, "clockRate": 8000, "channels": 1, "parameters": {},
     "rtcpFeedback": [{"type": "transport-cc", "parameter": ""}]},
    {"kind": "audio", "mimeType": "audio/PCMA", "preferredPayloadType": 8, "clockRate": 8000, "channels": 1, "parameters": {},
     "rtcpFeedback": [{"type": "transport-cc", "parameter": ""}]},
    {"kind": "video", "mimeType": "video/VP8", "preferredPayloadType": 101, "clockRate": 90000, "parameters": {}, "rtcpFeedback": FIVE},
    rtx(102, 101),
    {"kind": "video", "mimeType": "video/VP9", "preferredPayloadType": 103, "clockRate": 90000, "parameters": {"profile-id": 2},
     "rtcpFeedback": FIVE},
    rtx(104, 103), h264(105, "640028"), rtx(106, 105), h264(107, "42e00c"), rtx(108, 107), h264(109, "640c0d"), rtx(110, 109),
]

CHROME_CAPS = {
    "codecs": [
        {"mimeType": "audio/opus", "kind": "audio", "preferredPayloadType": 100, "clockRate": 48000, "channels": 2,
         "parameters": {"minptime": 10, "useinbandfec": 1},
         "rtcpFeedback": [{"type": "transport-cc", "parameter": ""}, {"type": "nack", "parameter": ""}]},
        {"mimeType": "video/VP8", "kind": "video", "preferredPayloadType": 101, "clockRate": 90000, "parameters": {},
         "rtcpFeedback": [{"type": "goog-remb", "parameter": ""}, {"type": "transport-cc", "parameter": ""},
                          {"type": "ccm", "parameter": "fir"}, {"type": "nack", "parameter": ""}, {"type": "nack", "parameter": "pli"}]},
        {"mimeType": "video/rtx", "kind": "video", "preferredPayloadType": 102, "clockRate": 90000, "parameters": {"apt": 101},
         "rtcpFeedback": []},
    ],
    "headerExtensions": [
        {"kind": k, "uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "preferredId": 1, "preferredEncrypt": False, "direction": "sendrecv"}
        for k in ("audio", "video")
    ] + [{"kind": "audio", "uri": "urn:ietf:params:rtp-hdrext:ssrc-audio-level", "preferredId": 10, "preferredEncrypt": False,
          "direction": "sendrecv"}],
}

AUDIO_PRODUCER = {"type": "audio", "kind": "audio", "rtpParameters": {
    "mid": "0",
    "codecs": [{"mimeType": "audio/opus", "payloadType": 111, "clockRate": 48000, "channels": 2,
                "parameters": {"minptime": 10, "useinbandfec": 1},
                "rtcpFeedback": [{"type": "transport-cc", "parameter": ""}, {"type": "nack", "parameter": ""}]}],
    "headerExtensions": [{"uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "id": 4, "encrypt": False, "parameters": {}},
                         {"uri": "urn:ietf:params:rtp-hdrext:ssrc-audio-level", "id": 1, "encrypt": False, "parameters": {}}],
    "encodings": [{"ssrc": 3841247884, "dtx": False}],
    "rtcp": {"cname": "tn3kPyX+njvlMrR7", "reducedSize": True}}}

DTLS = {"dtlsParameters": {"role": "client", "fingerprints": [{"algorithm": "sha-256", "value": "98:3A:A2:B8:DE:0B:66:D3:A4:21:F9:10:98:D3:59:9C:06:30:83:D2:52:5C:3B:F3:06:25:13:13:7F:AF:8A:D4"}]}}


@pytest.fixture
def rtc_server(tmp_path):
    s = Server({"RTC_MIN_PORT": str(RTC_MIN), "RTC_MAX_PORT": str(RTC_MAX), "RTC_INTERFACE": "127.0.0.1"}).start(tmp_path)
    yield s
    s.stop()


def request(ws, name, payload, rid):
    ws.send(json.dumps([{"message": {"name": name, "payload": payload}, "needResponse": rid}]))


def wait_for(ws, predicate, what):
    deadline = time.monotonic() + T
    while time.monotonic() < deadline:
        [item] = recv_bus(ws)
        if predicate(item):
            return item
    pytest.fail(f"no {what} within {T} s")


def init_transports(ws):
    return wait_for(ws, lambda i: i.get("message", {}).get("name") == "INIT_TRANSPORTS", "INIT_TRANSPORTS")


def connected(server, uuid, session_id):
    ws = join(server, uuid, session_id)
    item = init_transports(ws)
    ws.send(json.dumps([{"responseTo": item["needResponse"], "message": CHROME_CAPS}]))
    return ws, item["message"]["payload"]


def test_init_transports_follows_the_mediasoup_shapes(rtc_server):
    uuid = channel_uuid(rtc_server, webrtc=True)
    ws = join(rtc_server, uuid, 57)
    item = init_transports(ws)                       # the first bus frame after the ack
    assert item["needResponse"].startswith("s_")
    payload = item["message"]["payload"]
    assert payload["capabilities"]["codecs"] == ROUTER_CODECS
    exts = {(e["kind"], e["uri"]): (e["preferredId"], e["direction"]) for e in payload["capabilities"]["headerExtensions"]}
    assert exts[("video", "urn:ietf:params:rtp-hdrext:sdes:mid")] == (1, "sendrecv")
    assert exts[("video", "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id")] == (2, "recvonly")
    assert exts[("audio", "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01")] == (5, "recvonly")
    video = payload["producerOptionsByKind"]["video"]
    assert [e["scaleResolutionDownBy"] for e in video["encodings"]] == [4, 2, 1]
    assert [e["maxBitrate"] for e in video["encodings"]] == [1000000, 2000000, 4000000]
    assert video["codecOptions"]["videoGoogleMaxBitrate"] == 8000000
    ids = set()
    for key in ("stcConfig", "ctsConfig"):
        config = payload[key]
        ids.add(config["id"])
        ice = config["iceParameters"]
        assert ice["iceLite"] is True and len(ice["usernameFragment"]) >= 4 and len(ice["password"]) >= 22
        [udp] = [c for c in config["iceCandidates"] if c["protocol"] == "udp"]
        assert udp["ip"] == udp["address"] == PUBLIC_IP and udp["type"] == "host" and udp["foundation"] == "udpcandidate"
        assert RTC_MIN <= udp["port"] <= RTC_MAX and isinstance(udp["priority"], int)
        dtls = config["dtlsParameters"]
        assert dtls["role"] == "auto" and "sctpParameters" not in config
        last = dtls["fingerprints"][-1]
        assert last["algorithm"] == "sha-512" and len(last["value"].split(":")) == 64 and last["value"] == last["value"].upper()
    assert len(ids) == 2
    ws.close()


def test_unanswered_init_transports_closes_with_4107(rtc_server):
    uuid = channel_uuid(rtc_server, webrtc=True)
    ws = join(rtc_server, uuid, 1)
    init_transports(ws)
    started = time.monotonic()
    assert close_code_within(ws, 15) == 4107
    assert time.monotonic() - started > 8


def close_code_within(ws, seconds):
    from websockets.exceptions import ConnectionClosed
    try:
        while True:
            ws.recv(timeout=seconds)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


def test_produce_consume_pause_and_leave(rtc_server):
    uuid = channel_uuid(rtc_server, webrtc=True)
    a, _ = connected(rtc_server, uuid, 57)
    b, _ = connected(rtc_server, uuid, 58)
    request(a, "CONNECT_CTS_TRANSPORT", DTLS, "c_0_0")
    assert wait_for(a, lambda i: i.get("responseTo") == "c_0_0", "CONNECT answer") == {"responseTo": "c_0_0"}
    request(a, "INIT_PRODUCER", AUDIO_PRODUCER, "c_0_1")
    answer = wait_for(a, lambda i: i.get("responseTo") == "c_0_1", "INIT_PRODUCER answer")
    producer_id = answer["message"]["id"]
    assert isinstance(producer_id, str) and len(producer_id) == 36
    consumer = wait_for(b, lambda i: i.get("message", {}).get("name") == "INIT_CONSUMER", "INIT_CONSUMER")
    p = consumer["message"]["payload"]
    assert p["producerId"] == producer_id and p["sessionId"] == 57 and p["kind"] == "audio" and p["type"] == "audio"
    assert p["active"] is True
    params = p["rtpParameters"]
    assert params["mid"] == "0" and params["rtcp"] == {"cname": "tn3kPyX+njvlMrR7", "reducedSize": True}
    assert [c["payloadType"] for c in params["codecs"]] == [100] and params["codecs"][0]["rtcpFeedback"] == []
    assert params["codecs"][0]["parameters"] == {"minptime": 10, "useinbandfec": 1}
    [encoding] = params["encodings"]
    assert 100000000 <= encoding["ssrc"] <= 999999999 and "rtx" not in encoding
    assert sorted(e["id"] for e in params["headerExtensions"]) == [1, 10]
    b.send(json.dumps([{"responseTo": consumer["needResponse"]}]))
    # The producer's session turned its info on: the other one hears about it.
    info = wait_for(b, lambda i: i.get("message", {}).get("name") == "S_INFO_CHANGE", "S_INFO_CHANGE")
    assert "57" in info["message"]["payload"]
    a.send(json.dumps([{"message": {"name": "PRODUCTION_CHANGE", "payload": {"type": "camera", "active": False}}}]))
    b.send(json.dumps([{"message": {"name": "CONSUMPTION_CHANGE", "payload": {"sessionId": 57, "states": {"audio": False}}}}]))
    # Stats count both sessions.
    deadline = time.monotonic() + T
    while time.monotonic() < deadline:
        channel = [c for c in stats(rtc_server) if c["uuid"] == uuid][0]
        if channel["sessionsStats"]["count"] == 2:
            break
        time.sleep(0.05)
    assert channel["sessionsStats"]["count"] == 2
    a.close()
    assert wait_for(b, lambda i: i.get("message", {}).get("name") == "SESSION_LEAVE", "SESSION_LEAVE")["message"]["payload"] == {"sessionId": 57}
    b.close()
    assert "error" not in rtc_server.log().lower().replace("error: 0", "")


def test_a_second_connect_and_a_broken_producer_get_no_answer(rtc_server):
    uuid = channel_uuid(rtc_server, webrtc=True)
    a, _ = connected(rtc_server, uuid, 1)
    request(a, "CONNECT_STC_TRANSPORT", DTLS, "c_0_0")
    wait_for(a, lambda i: i.get("responseTo") == "c_0_0", "CONNECT answer")
    request(a, "CONNECT_STC_TRANSPORT", DTLS, "c_0_1")
    broken = json.loads(json.dumps(AUDIO_PRODUCER))
    broken["rtpParameters"]["codecs"][0]["mimeType"] = "audio/nonsense"
    request(a, "INIT_PRODUCER", broken, "c_0_2")
    request(a, "SOMETHING_NEW", {}, "c_0_3")
    # Only the unknown request is answered; the others are silent (mediasoup would throw: no response).
    assert wait_for(a, lambda i: "responseTo" in i, "an answer") == {"responseTo": "c_0_3"}
    a.close()


def message_integrity_ok(raw, key):
    """RFC 5389 §15.4: HMAC-SHA1 over the message up to MESSAGE-INTEGRITY, length field covering it."""
    import hashlib
    import hmac
    import struct
    offset = 20
    while offset + 4 <= len(raw):
        kind, length = struct.unpack("!HH", raw[offset:offset + 4])
        if kind == 0x0008:
            header = raw[:2] + struct.pack("!H", offset - 20 + 24) + raw[4:offset]
            return hmac.compare_digest(hmac.new(key, header, hashlib.sha1).digest(), raw[offset + 4:offset + 24])
        offset += 4 + (length + 3) // 4 * 4
    return False


def test_ice_binding_on_the_shared_udp_port(rtc_server):
    uuid = channel_uuid(rtc_server, webrtc=True)
    a, payload = connected(rtc_server, uuid, 1)
    for key in ("ctsConfig", "stcConfig"):
        config = payload[key]
        [udp] = [c for c in config["iceCandidates"] if c["protocol"] == "udp"]
        ufrag, pwd = config["iceParameters"]["usernameFragment"], config["iceParameters"]["password"]
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(T)
        try:
            def check(password):
                m = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
                m.attributes["USERNAME"] = f"{ufrag}:peer"
                m.attributes["PRIORITY"] = 1853817087
                m.attributes["ICE-CONTROLLING"] = 1
                m.attributes["USE-CANDIDATE"] = None
                m.add_message_integrity(password.encode())
                m.add_fingerprint()
                sock.sendto(bytes(m), ("127.0.0.1", udp["port"]))
                data, _ = sock.recvfrom(2048)
                return stun.parse_message(data), data
            response, raw = check(pwd)
            assert response.message_class == stun.Class.RESPONSE
            assert response.attributes["XOR-MAPPED-ADDRESS"] == ("127.0.0.1", sock.getsockname()[1])
            assert message_integrity_ok(raw, pwd.encode())   # MESSAGE-INTEGRITY with the server password
            wrong, _ = check("x" * 24)
            assert wrong.message_class == stun.Class.ERROR and wrong.attributes["ERROR-CODE"][0] == 401
        finally:
            sock.close()
    a.close()
