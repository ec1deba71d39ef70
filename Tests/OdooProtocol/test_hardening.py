"""Bad or slow clients against the real `sfu` process (docs/protocol.md §1.1, §3.1–§3.3): WebSocket messages are
capped in total size (MAX_BUF_IN, 1 MiB by default) before and after authentication, RFC 6455 violations close with
1002 (1007 for text that is not UTF-8), upgrades are GET only, and HTTP connections that do not complete a request
in time are closed. A raw-socket WebSocket client is used where the `websockets` library would not send what a bad
client sends."""
import base64
import json
import os
import socket
import struct
import threading
import time

import pytest
import requests

from conftest import Server
from test_http import pyjwt_token
from test_websocket import channel_uuid, join, recv_bus

T = 5


class RawWebSocket:
    """Just enough of a client to send arbitrary frames (RFC 6455 §5.2) and read the server's close frame."""

    def __init__(self, server, method="GET"):
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=T)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"{method} / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        self.response = b""
        while b"\r\n\r\n" not in self.response:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            self.response += chunk
        self.status = int(self.response.split(b" ", 2)[1]) if self.response else None
        self.buffer = self.response.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in self.response else b""

    def frame(self, opcode, payload, fin=True, masked=True, rsv=0):
        first = (0x80 if fin else 0) | (rsv << 4) | opcode
        n = len(payload)
        length = (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n) if n < 65536
                  else bytes([0x80 | 127]) + struct.pack(">Q", n))
        if not masked:
            length = bytes([length[0] & 0x7F]) + length[1:]
            return bytes([first]) + length + payload
        mask = os.urandom(4)
        return bytes([first]) + length + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))

    def send(self, opcode, payload, **kw):
        self.sock.sendall(self.frame(opcode, payload, **kw))

    def read_frame(self):
        def need(k):
            while len(self.buffer) < k:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError("closed")
                self.buffer += chunk
        need(2)
        opcode, n = self.buffer[0] & 0x0F, self.buffer[1] & 0x7F
        head = 2
        if n == 126:
            need(4); n = struct.unpack(">H", self.buffer[2:4])[0]; head = 4
        elif n == 127:
            need(10); n = struct.unpack(">Q", self.buffer[2:10])[0]; head = 10
        need(head + n)
        payload, self.buffer = self.buffer[head:head + n], self.buffer[head + n:]
        return opcode, payload

    def close_code(self):
        """The code of the server's close frame (None if the connection ended without one)."""
        try:
            while True:
                opcode, payload = self.read_frame()
                if opcode == 8:
                    return struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None
        except (ConnectionError, OSError):
            return None

    def closed(self, within=T):
        """Whether the server closed the connection within `within` seconds."""
        self.sock.settimeout(within)
        try:
            while self.sock.recv(65536):
                pass
            return True
        except socket.timeout:
            return False
        except OSError:
            return True


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def send_big_message(ws, total=20 << 20, fragment=64 << 10):
    """A `total`-byte text message in `fragment`-byte frames; stops when the server has closed the connection."""
    sent = 0
    try:
        while sent < total:
            last = sent + fragment >= total
            ws.send(0x1 if sent == 0 else 0x0, b"x" * fragment, fin=last)
            sent += fragment
    except OSError:
        pass
    return sent


def assert_closed_for_size(server, ws, before_kb):
    sent = send_big_message(ws)
    assert sent < 20 << 20 or ws.closed(), "the server kept reading a 20 MB message"
    grown = rss_kb(server.process.pid) - before_kb
    print(f"hardening: server RSS grew by {grown} kB while a client sent {sent >> 10} kB of one message")
    assert grown < 2048
    deadline = time.monotonic() + T
    while "closing with 1009" not in server.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "closing with 1009" in server.log()


def test_a_20_mb_message_before_authentication_is_closed_with_1009(tmp_path):
    server = Server().start(tmp_path)   # MAX_BUF_IN unset: the 1 MiB default
    try:
        uuid = channel_uuid(server)
        other = join(server, uuid, 1)
        before = rss_kb(server.process.pid)
        ws = RawWebSocket(server)
        assert ws.status == 101
        assert_closed_for_size(server, ws, before)
        # Nobody else was harmed.
        other.send(json.dumps([{"message": {"name": "X"}, "needResponse": "c_0_0"}]))
        assert recv_bus(other) == [{"responseTo": "c_0_0"}]
        other.close()
    finally:
        server.stop()


def test_a_message_over_max_buf_in_after_authentication_is_closed_with_1009(tmp_path):
    server = Server({"MAX_BUF_IN": str(256 << 10)}).start(tmp_path)
    try:
        uuid = channel_uuid(server)
        other = join(server, uuid, 1)
        ws = RawWebSocket(server)
        token = pyjwt_token({"sfu_channel_uuid": uuid, "session_id": 2})
        ws.send(0x1, json.dumps({"channelUUID": uuid, "jwt": token}).encode())
        assert ws.read_frame() == (0x1, b"")   # the acknowledgement: authenticated
        before = rss_kb(server.process.pid)
        assert_closed_for_size(server, ws, before)
        assert recv_bus(other) == [{"message": {"name": "SESSION_LEAVE", "payload": {"sessionId": 2}}}]
        other.close()
    finally:
        server.stop()


@pytest.mark.parametrize("name,frames,code", [
    ("unmasked frame", [dict(opcode=0x1, payload=b'"x"', masked=False)], 1002),
    ("reserved opcode", [dict(opcode=0x3, payload=b"")], 1002),
    ("RSV1 without an extension", [dict(opcode=0x1, payload=b'"x"', rsv=4)], 1002),
    ("continuation with no message started", [dict(opcode=0x0, payload=b"x")], 1002),
    ("new text frame inside a fragmented message", [dict(opcode=0x1, payload=b"a", fin=False), dict(opcode=0x1, payload=b"b")], 1002),
    ("fragmented ping", [dict(opcode=0x9, payload=b"", fin=False)], 1002),
    ("text that is not UTF-8", [dict(opcode=0x1, payload=b"\xff\xfe")], 1007),
    ("a frame over the limit", [dict(opcode=0x1, payload=b"x" * (2 << 20))], 1009),
])
def test_rfc6455_violations_close_with_the_rfc_code(server, name, frames, code):
    ws = RawWebSocket(server)
    assert ws.status == 101
    try:
        for f in frames:
            ws.send(**f)
    except OSError:
        pass
    assert ws.close_code() == code, name


def test_an_upgrade_that_is_not_a_get_is_refused_with_405(server):
    ws = RawWebSocket(server, method="POST")
    assert ws.status == 405


def test_a_connection_idle_mid_headers_is_closed_after_the_headers_timeout(tmp_path):
    server = Server({"HTTP_HEADERS_TIMEOUT": "2", "HTTP_KEEPALIVE_TIMEOUT": "1"}).start(tmp_path)
    try:
        # Half a request, then silence; and a client trickling one header byte every 0.5 s (idleness alone would
        # never fire for it).
        silent = socket.create_connection(("127.0.0.1", server.port), timeout=T)
        silent.sendall(b"GET /v1/noop HTTP/1.1\r\nHost: x\r\n")
        trickle = socket.create_connection(("127.0.0.1", server.port), timeout=T)
        stop = threading.Event()

        def drip():
            for b in b"GET /v1/noop HTTP/1.1\r\nX-Slow: " + b"a" * 100:
                if stop.is_set():
                    return
                try:
                    trickle.sendall(bytes([b]))
                except OSError:
                    return
                time.sleep(0.5)
        threading.Thread(target=drip, daemon=True).start()
        start = time.monotonic()
        assert silent.recv(100) == b""
        elapsed = time.monotonic() - start
        assert 1.5 <= elapsed <= 4, elapsed
        trickle.settimeout(T)
        try:
            assert trickle.recv(100) == b""
        except ConnectionResetError:
            pass
        assert time.monotonic() - start <= 4.5
        stop.set()
        print(f"hardening: a connection idle mid-headers was closed after {elapsed:.2f} s (HTTP_HEADERS_TIMEOUT=2)")
        # A keep-alive connection is answered, then closed once idle for HTTP_KEEPALIVE_TIMEOUT.
        alive = socket.create_connection(("127.0.0.1", server.port), timeout=T)
        alive.sendall(b"GET /v1/noop HTTP/1.1\r\nHost: x\r\n\r\n")
        assert b"200 OK" in alive.recv(4096)
        start = time.monotonic()
        assert alive.recv(100) == b""
        assert 0.7 <= time.monotonic() - start <= 3
        # Meanwhile the server answers everyone else.
        assert requests.get(server.base + "/v1/noop", timeout=T).status_code == 200
    finally:
        server.stop()
