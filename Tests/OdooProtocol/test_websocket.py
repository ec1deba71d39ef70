"""WebSocket handshake, close codes and bus (docs/protocol.md §3–§5.11) against the real `sfu` process, with the
`websockets` client. Channels are created with webRTC=false (media transports come with a later issue)."""
import json
import time

import pytest
import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from conftest import Server
from test_http import create_channel, pyjwt_token

T = 5


def channel_uuid(server, webrtc=False):
    r = create_channel(server, {"iss": f"ws-test-{time.monotonic_ns()}"}, query="" if webrtc else "?webRTC=false")
    assert r.status_code == 200, r.text
    return r.json()["uuid"]


def ws_url(server):
    return f"ws://127.0.0.1:{server.port}/"


def join(server, uuid, session_id, form="object"):
    token = pyjwt_token({"sfu_channel_uuid": uuid, "session_id": session_id})
    ws = connect(ws_url(server), open_timeout=T, close_timeout=2)  # noqa
    ws.send(json.dumps({"channelUUID": uuid, "jwt": token}) if form == "object" else json.dumps(token))
    assert ws.recv(timeout=T) == ""          # the acknowledgement comes first, as an empty text frame
    return ws


_pending = {}


def recv_bus(ws):
    """The next bus payload, as a one-element list: the server batches some messages (docs/protocol.md §4.3), so
    one frame may carry several payloads; they are handed out one at a time, in order."""
    queue = _pending.setdefault(id(ws), [])
    while not queue:
        frame = json.loads(ws.recv(timeout=T))
        assert isinstance(frame, list) and frame, frame
        queue.extend(frame)
    return [queue.pop(0)]


def close_code(ws):
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            ws.recv(timeout=T)
    return closed.value.rcvd.code if closed.value.rcvd else None


@pytest.mark.parametrize("form", ["object", "string"])
def test_both_first_message_forms_join(server, form):
    uuid = channel_uuid(server)
    ws = join(server, uuid, 57, form)
    ws.close()


@pytest.mark.parametrize("first,code", [("not json", 1011), ("null", 1011), (json.dumps("a.b.c"), 4106),
                                        (json.dumps({"foo": 1}), 4106)])
def test_bad_credentials_close_codes(server, first, code):
    ws = connect(ws_url(server), open_timeout=T)
    ws.send(first)
    assert close_code(ws) == code


def test_wrong_key_is_4106(server):
    uuid = channel_uuid(server)
    ws = connect(ws_url(server), open_timeout=T)
    ws.send(json.dumps({"channelUUID": uuid, "jwt": pyjwt_token({"sfu_channel_uuid": uuid, "session_id": 1}, key=b"other key")}))
    assert close_code(ws) == 4106


def test_no_credentials_within_10_seconds_is_4107(server):
    ws = connect(ws_url(server), open_timeout=T)
    started = time.monotonic()
    with pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=15)
    assert closed.value.rcvd.code == 4107
    assert 9 <= time.monotonic() - started <= 13


def test_full_channel_is_4109(tmp_path):
    server = Server({"CHANNEL_SIZE": "1"}).start(tmp_path)
    try:
        uuid = channel_uuid(server)
        first = join(server, uuid, 1)
        second = join(server, uuid, 2)   # acknowledged, then refused (docs/protocol.md §3.2 step 5)
        assert close_code(second) == 4109
        first.close()
    finally:
        server.stop()


def test_same_session_id_replaces_the_old_session_with_4108(server):
    uuid = channel_uuid(server)
    other = join(server, uuid, 2)
    old = join(server, uuid, 1)
    new = join(server, uuid, 1)
    assert close_code(old) == 4108
    assert recv_bus(other) == [{"message": {"name": "SESSION_LEAVE", "payload": {"sessionId": 1}}}]
    new.close()
    other.close()


def test_bus_requests_messages_and_leave(server):
    uuid = channel_uuid(server)
    a = join(server, uuid, 57)
    b = join(server, uuid, 58)
    # Every request is answered (an empty response for names not implemented yet).
    a.send(json.dumps([{"message": {"name": "SOMETHING_NEW", "payload": {}}, "needResponse": "c_0_0"}]))
    assert recv_bus(a) == [{"responseTo": "c_0_0"}]
    # C_INFO_CHANGE: the others get S_INFO_CHANGE with the sender's info; needRefresh returns the others' info.
    a.send(json.dumps([{"message": {"name": "C_INFO_CHANGE", "payload": {"info": {"isTalking": True, "bogus": 1}}}}]))
    assert recv_bus(b) == [{"message": {"name": "S_INFO_CHANGE", "payload": {"57": {"isTalking": True}}}}]
    b.send(json.dumps([{"message": {"name": "C_INFO_CHANGE", "payload": {"info": {"isCameraOn": 0}, "needRefresh": True}}}]))
    assert recv_bus(b) == [{"message": {"name": "S_INFO_CHANGE", "payload": {"57": {"isTalking": True}}}}]
    assert recv_bus(a) == [{"message": {"name": "S_INFO_CHANGE", "payload": {"58": {"isCameraOn": False}}}}]
    # BROADCAST is relayed to the others with the sender's id.
    a.send(json.dumps([{"message": {"name": "BROADCAST", "payload": {"hello": [1, 2]}}}]))
    assert recv_bus(b) == [{"message": {"name": "BROADCAST", "payload": {"senderId": 57, "message": {"hello": [1, 2]}}}}]
    # Malformed frames are ignored without harm to anyone.
    a.send("{not json")
    a.send(json.dumps({"not": "an array"}))
    a.send(json.dumps([{"message": {"name": "SOMETHING_NEW"}, "needResponse": "c_0_1"}]))
    assert recv_bus(a) == [{"responseTo": "c_0_1"}]
    # Leaving is announced.
    a.close()
    assert recv_bus(b) == [{"message": {"name": "SESSION_LEAVE", "payload": {"sessionId": 57}}}]
    b.close()


def test_oversized_frame_closes_only_that_connection(tmp_path):
    server = Server({"MAX_BUF_IN": "2048"}).start(tmp_path)
    try:
        uuid = channel_uuid(server)
        a = join(server, uuid, 1)
        b = join(server, uuid, 2)
        a.send("x" * 10_000)
        with pytest.raises(ConnectionClosed):
            while True:
                a.recv(timeout=T)
        # The other session hears that the offender left, and keeps working.
        assert recv_bus(b) == [{"message": {"name": "SESSION_LEAVE", "payload": {"sessionId": 1}}}]
        b.send(json.dumps([{"message": {"name": "X"}, "needResponse": "c_1_0"}]))
        assert recv_bus(b) == [{"responseTo": "c_1_0"}]
        b.close()
    finally:
        server.stop()


def test_disconnect_kicks_live_sessions_with_4108(server):
    uuid = channel_uuid(server)
    stay = join(server, uuid, 58)
    kicked = join(server, uuid, 57)
    string_id = join(server, uuid, "57")          # type-exact: "57" is another session than 57
    body = pyjwt_token({"sessionIdsByChannel": {uuid: [57]}, "exp": int(time.time()) + 20})
    r = requests.post(f"{server.base}/v1/disconnect", data=body, timeout=T)
    assert r.status_code == 200 and r.content == b""
    assert close_code(kicked) == 4108
    assert recv_bus(stay) == [{"message": {"name": "SESSION_LEAVE", "payload": {"sessionId": 57}}}]
    # The string-id session is still there: it hears about 57 too, and is answered.
    assert recv_bus(string_id) == [{"message": {"name": "SESSION_LEAVE", "payload": {"sessionId": 57}}}]
    string_id.send(json.dumps([{"message": {"name": "X"}, "needResponse": "c_2_0"}]))
    assert recv_bus(string_id) == [{"responseTo": "c_2_0"}]
    stay.close()
    string_id.close()


@pytest.mark.parametrize("sig", ["SIGALRM", "SIGFPE"])
def test_soft_reset_signals_close_live_sessions_with_4108(tmp_path, sig):
    """SIGALRM (soft reset) and SIGFPE (restart) close every channel: their sessions end with 4108
    (`channel_closed`, no SESSION_LEAVE), and the server keeps serving new channels."""
    import signal as signals
    s = Server().start(tmp_path)
    try:
        uuid = channel_uuid(s)
        a = join(s, uuid, 1)
        b = join(s, uuid, 2)
        s.process.send_signal(getattr(signals, sig))
        assert close_code(a) == 4108 and close_code(b) == 4108
        uuid = channel_uuid(s)
        c = join(s, uuid, 3)
        c.send(json.dumps([{"message": {"name": "PING_ME"}, "needResponse": "c_0_0"}]))
        assert recv_bus(c) == [{"responseTo": "c_0_0"}]
        c.close()
    finally:
        assert s.stop() == 0


def test_sigterm_closes_live_sessions_cleanly(tmp_path):
    s = Server().start(tmp_path)
    uuid = channel_uuid(s)
    a = join(s, uuid, 1)
    s.process.send_signal(__import__("signal").SIGTERM)
    assert close_code(a) == 1000
    assert s.stop() == 0
