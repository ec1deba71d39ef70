"""Protocol tests of the HTTP API (docs/protocol.md §1, §2) against the real `sfu` process.

The client is independent of the Swift code: requests + http.client for HTTP, PyJWT and a re-implementation of
Odoo's own signing (odoo addons/mail/tools/jwt.py algorithm) for tokens.
"""
import base64
import hashlib
import hmac
import http.client
import json
import re
import signal
import subprocess
import time
import uuid

import jwt as pyjwt
import pytest
import requests

from conftest import AUTH_KEY, PUBLIC_IP, Server, sfu_binary

KEY = base64.b64decode(AUTH_KEY)
T = 5  # seconds, every HTTP call is bounded


def odoo_token(claims, key_string=AUTH_KEY, urlsafe=True, padded=False, header=None):
    """Odoo's algorithm: json.dumps (spaces), base64url without '=', HMAC-SHA256 over 'h.p'."""
    key = base64.urlsafe_b64decode(key_string.strip("=") + "==")

    def enc(raw: bytes) -> str:
        s = (base64.urlsafe_b64encode if urlsafe else base64.standard_b64encode)(raw).decode()
        return s if padded else s.rstrip("=")

    head = enc(json.dumps(header or {"typ": "JWT", "alg": "HS256"}).encode())
    body = enc(json.dumps(claims).encode())
    signature = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{enc(signature)}"


def pyjwt_token(claims, key=KEY, algorithm="HS256"):
    return pyjwt.encode(claims, key, algorithm=algorithm)


def raw_request(server, method, path, headers=None, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=T)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def create_channel(server, claims, query="", scheme="jwt", headers=None, token=None):
    token = token or pyjwt_token(claims)
    all_headers = {"Authorization": f"{scheme} {token}"}
    all_headers.update(headers or {})
    return requests.get(f"{server.base}/v1/channel{query}", headers=all_headers, timeout=T)


def stats(server):
    response = requests.get(server.base + "/v1/stats", timeout=T)
    assert response.status_code == 200
    return response.json()


# ---------------------------------------------------------------- §1.2 / §1.3

def test_noop(server):
    response = requests.get(server.base + "/v1/noop", timeout=T)
    assert response.status_code == 200
    assert response.text == '{"result":"ok"}'
    assert response.headers["content-type"] == "application/json"
    assert not [h for h in response.headers if h.lower().startswith("access-control")]


def test_stats_empty_then_one_channel(server):
    response = requests.get(server.base + "/v1/stats", timeout=T)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == []
    before = time.time()
    created = create_channel(server, {"iss": "stats"}, query="?webRTC=false").json()
    [entry] = stats(server)
    assert list(entry) == ["createDate", "uuid", "remoteAddress", "sessionsStats", "webRtcEnabled"]
    assert entry["uuid"] == created["uuid"]
    assert entry["remoteAddress"] == "127.0.0.1"
    assert entry["webRtcEnabled"] is False
    assert entry["sessionsStats"] == {"count": 0, "cameraCount": 0, "screenCount": 0,
                                      "incomingBitRate": {"audio": 0, "camera": 0, "screen": 0, "total": 0}}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["createDate"])
    created_at = time.mktime(time.strptime(entry["createDate"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    assert abs(created_at - before) < 5


# ---------------------------------------------------------------- §1.1 routing

@pytest.mark.parametrize("method,path,status", [
    ("GET", "/v1/noop", 200), ("GET", "/v1/stats", 200),
    ("GET", "/", 404), ("GET", "/v1/src/server.js", 404), ("GET", "/v1/channel/", 404), ("GET", "/v1/Noop", 404),
    ("GET", "/v1/disconnect", 404), ("POST", "/v1/channel", 404), ("POST", "/v1/noop", 404),
    ("POST", "/v1/stats", 404), ("OPTIONS", "/v1/channel", 404), ("OPTIONS", "/v1/noop", 404),
    ("PUT", "/v1/noop", 405), ("DELETE", "/v1/channel", 405), ("PATCH", "/v1/disconnect", 405),
    ("HEAD", "/v1/noop", 405), ("PUT", "/nowhere", 405),
    ("GET", "/v1/noop?a=b", 200), ("GET", "/v1/x/../noop", 200),
])
def test_routing(server, method, path, status):
    got, headers, body = raw_request(server, method, path)
    assert got == status
    if status != 200:
        assert body == b""
    assert not [h for h in headers if h.startswith("access-control")]


# ---------------------------------------------------------------- §1.4 /v1/channel

def test_channel_success_url_and_uuid(server):
    response = create_channel(server, {"iss": "https://odoo.example.com:channel:1"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"uuid", "url"}
    assert body["url"] == f"http://{PUBLIC_IP}:{server.port}"
    assert uuid.UUID(body["uuid"]).version == 4
    assert body["uuid"] == body["uuid"].lower()


@pytest.mark.parametrize("header,status", [
    (None, 401), ("jwt", 401), ("jwt ", 401), ("jwt  {t}", 401), ("{t}", 401),
    ("jwt {t}", 200), ("Bearer {t}", 200), ("x {t} extra", 200), ("jwt not-a-jwt", 500),
])
def test_channel_authorization_header(server, header, status):
    headers = {} if header is None else {"Authorization": header.format(t=pyjwt_token({"iss": "auth"}))}
    got, _, body = raw_request(server, "GET", "/v1/channel", headers=headers)
    assert got == status
    if status != 200:
        assert body == b""


def relative_times(claims):
    """Time claims written as "+N"/"-N" seconds, resolved when the test runs (not when it is collected:
    a long suite would otherwise let a "valid" token expire before its test)."""
    now = int(time.time())
    return {k: now + int(v) if k in ("exp", "nbf", "iat") and isinstance(v, str) else v for k, v in claims.items()}


@pytest.mark.parametrize("claims,status", [
    ({"iss": "a"}, 200),
    ({}, 403), ({"iss": ""}, 403), ({"iss": None}, 403), ({"iss": 0}, 403), ({"iss": False}, 403),
    ({"iss": "a", "exp": "-10"}, 500),
    ({"iss": "a", "exp": "+30"}, 200),
    ({"iss": "a", "nbf": "+100"}, 500),
    ({"iss": "a", "iat": "+600"}, 500),
    ({"iss": "a", "iat": "+20"}, 200),
])
def test_channel_claims(server, claims, status):
    claims = relative_times(claims)
    response = create_channel(server, {}, token=odoo_token(claims))
    assert response.status_code == status
    if status != 200:
        assert response.content == b""


def test_channel_rejects_bad_signature_and_algorithms(server):
    assert create_channel(server, {}, token=pyjwt_token({"iss": "a"}, key=b"x" * 32)).status_code == 500
    assert create_channel(server, {}, token=pyjwt_token({"iss": "a"}, algorithm="HS512")).status_code == 500
    assert create_channel(server, {}, token=pyjwt.encode({"iss": "a"}, None, algorithm="none")).status_code == 500
    good = pyjwt_token({"iss": "a"})
    head, body, sig = good.split(".")
    forged_body = base64.urlsafe_b64encode(b'{"iss":"b"}').decode().rstrip("=")
    assert create_channel(server, {}, token=f"{head}.{forged_body}.{sig}").status_code == 500
    assert create_channel(server, {}, token=f"{head}.{body}").status_code == 500
    assert create_channel(server, {}, token=f"{good}.x").status_code == 500
    assert stats(server) == []


@pytest.mark.parametrize("urlsafe,padded", [(True, False), (True, True), (False, True), (False, False)])
def test_channel_accepts_odoo_style_tokens_in_any_base64_flavour(server, urlsafe, padded):
    claims = {"iss": "flavour ~~~???>>>", "exp": int(time.time()) + 30}
    response = create_channel(server, {}, token=odoo_token(claims, urlsafe=urlsafe, padded=padded))
    assert response.status_code == 200


def test_channel_spec_vector_odoo18_with_key(server):
    token = ("eyJ0eXAiOiAiSldUIiwgImFsZyI6ICJIUzI1NiJ9.eyJpc3MiOiAiaHR0cHM6Ly9vZG9vLmV4YW1wbGUuY29tOmNoYW5uZWw6NDIiLCAia2V5"
             "IjogIjJiOGYwYzFlLTRhNWItNGM2ZC04ZTlmLTAxMjM0NTY3ODlhYiIsICJleHAiOiA0MTAyNDQ0ODAwfQ.YstsPkP0fZICbPm1evS2OrA7zTfrTfZfOtJQy0aPXVk")
    response = create_channel(server, {}, token=token)
    assert response.status_code == 200
    assert "created channel" in server.log() and "(unique key)" in server.log()


def test_channel_whitespace_in_token_segments_is_ignored(server):
    token = pyjwt_token({"iss": "ws"})
    head, body, sig = token.split(".")
    spaced = f"{head}.{body}.{sig[:10]}\t{sig[10:]}"  # header values cannot hold newlines; a tab survives
    assert create_channel(server, {}, token=spaced).status_code == 200


def test_channel_is_idempotent_per_address_and_issuer(server):
    first = create_channel(server, {"iss": "UUID-CHANNEL_ID"}).json()
    second = create_channel(server, {"iss": "UUID-CHANNEL_ID", "key": "c2VjcmV0"}, query="?webRTC=false").json()
    assert first == second
    [entry] = stats(server)
    assert entry["webRtcEnabled"] is True  # the later flag is ignored
    third = create_channel(server, {"iss": "DIFFERENT_UUID-CHANNEL_ID"}).json()
    assert third["uuid"] != first["uuid"]
    assert len(stats(server)) == 2


@pytest.mark.parametrize("query,enabled", [
    ("?webRTC=false", False), ("", True), ("?webRTC=true", True), ("?webRTC=FALSE", True), ("?webRTC=0", True),
    ("?a=1&webRTC=false", False), ("?webRTC=fals%65", False),
])
def test_channel_webrtc_flag(server, query, enabled):
    create_channel(server, {"iss": "flag"}, query=query)
    [entry] = stats(server)
    assert entry["webRtcEnabled"] is enabled


def test_proxy_headers_ignored_without_proxy(server):
    headers = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https", "X-Forwarded-For": "1.2.3.4"}
    body = create_channel(server, {"iss": "p"}, headers=headers).json()
    assert body["url"] == f"http://{PUBLIC_IP}:{server.port}"
    assert stats(server)[0]["remoteAddress"] == "127.0.0.1"


def test_proxy_headers(proxy_server):
    headers = {"X-Forwarded-Host": "sfu.example.com,inner:1", "X-Forwarded-Proto": "https,http",
               "X-Forwarded-For": "198.51.100.7, 10.0.0.1"}
    body = create_channel(proxy_server, {"iss": "p"}, headers=headers).json()
    assert body["url"] == "https://sfu.example.com"
    assert stats(proxy_server)[0]["remoteAddress"] == "198.51.100.7"
    # the forwarded address is part of the idempotence key
    other = create_channel(proxy_server, {"iss": "p"}, headers={"X-Forwarded-For": "198.51.100.8"}).json()
    assert other["uuid"] != body["uuid"]
    assert other["url"] == f"http://{PUBLIC_IP}:{proxy_server.port}"


@pytest.mark.parametrize("proto,expected", [("https", "https"), ("HTTPS", "http"), ("wss", "http"), ("http", "http")])
def test_proxy_proto(proxy_server, proto, expected):
    body = create_channel(proxy_server, {"iss": proto}, headers={"X-Forwarded-Proto": proto}).json()
    assert body["url"] == f"{expected}://{PUBLIC_IP}:{proxy_server.port}"


# ---------------------------------------------------------------- §1.5 /v1/disconnect

def disconnect(server, body, forwarded_for=None):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return requests.post(server.base + "/v1/disconnect", data=body, headers=headers, timeout=T)


@pytest.mark.parametrize("claims,status", [
    ({"sessionIdsByChannel": {"wrong": [5]}}, 200),
    ({"sessionIdsByChannel": {}}, 200),
    ({"sessionIdsByChannel": {}, "exp": "+20"}, 200),
    ({"sessionIdsByChannel": {}, "exp": "-20"}, 422),
    ({"sessionIdsByChannel": None}, 422),
    ({}, 422),
])
def test_disconnect(server, claims, status):
    claims = relative_times(claims)
    response = disconnect(server, odoo_token(claims))
    assert response.status_code == status
    assert response.content == b""


@pytest.mark.parametrize("body", ["", "garbage", "a.b.c", "x.y"])
def test_disconnect_bad_bodies(server, body):
    assert disconnect(server, body).status_code == 422


def test_disconnect_wrong_key_and_json_content_type(server):
    assert disconnect(server, pyjwt_token({"sessionIdsByChannel": {}}, key=b"k" * 32)).status_code == 422
    response = requests.post(server.base + "/v1/disconnect", data=odoo_token({"sessionIdsByChannel": {}}),
                             headers={"Content-Type": "application/json"}, timeout=T)
    assert response.status_code == 200


def test_disconnect_only_owner_may_kick(proxy_server):
    owner = "10.0.0.1"
    channel = create_channel(proxy_server, {"iss": "own"}, headers={"X-Forwarded-For": owner}).json()["uuid"]
    body = odoo_token({"sessionIdsByChannel": {channel: [57, 58]}, "exp": int(time.time()) + 20})
    assert disconnect(proxy_server, body, forwarded_for="10.0.0.2").status_code == 200
    assert "not the owner" in proxy_server.log()
    assert disconnect(proxy_server, body, forwarded_for=owner).status_code == 200
    assert len(stats(proxy_server)) == 1  # kicking sessions does not close the channel


# ---------------------------------------------------------------- keep-alive, process behaviour

def test_keep_alive_connection_serves_several_requests(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=T)
    try:
        for path, status in [("/v1/noop", 200), ("/nope", 404), ("/v1/stats", 200)]:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            assert response.status == status
    finally:
        conn.close()


def test_sigterm_exits_zero(tmp_path):
    s = Server().start(tmp_path)
    assert s.stop() == 0
    assert "cleanup complete" in s.log_path.read_text()


def test_sigio_prints_stats_and_sigalrm_closes_channels(tmp_path):
    s = Server().start(tmp_path)
    try:
        create_channel(s, {"iss": "sig"})
        s.process.send_signal(signal.SIGIO)
        deadline = time.monotonic() + 5
        while "1 channels total" not in s.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "1 channels total" in s.log()
        s.process.send_signal(signal.SIGALRM)
        deadline = time.monotonic() + 5
        while stats(s) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stats(s) == []
    finally:
        assert s.stop() == 0


def test_log_format_and_level(tmp_path):
    s = Server({"LOG_LEVEL": "warn", "LOG_TIMESTAMP": "false"}).start(tmp_path)
    try:
        raw_request(s, "PUT", "/v1/noop")
        deadline = time.monotonic() + 5
        while "PUT is not allowed" not in s.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        lines = s.log().splitlines()
        assert "odoo-sfu :WARN: [HTTP] - [127.0.0.1] PUT is not allowed on /v1/noop" in lines
        assert not [line for line in lines if line.startswith("odoo-sfu :VERBOSE: [HTTP]")]
        assert not [line for line in lines if ":INFO: [HTTP]" in line]
    finally:
        s.stop()


@pytest.mark.parametrize("env,variable", [
    ({"PUBLIC_IP": "1.2.3.4"}, "AUTH_KEY"),
    ({"AUTH_KEY": AUTH_KEY}, "PUBLIC_IP"),
    ({"AUTH_KEY": AUTH_KEY, "PUBLIC_IP": "1.2.3.4", "PORT": "70000"}, "PORT"),
    ({"AUTH_KEY": AUTH_KEY, "PUBLIC_IP": "1.2.3.4", "RTC_MIN_PORT": "50000"}, "RTC_MIN_PORT"),
])
def test_configuration_errors_exit_non_zero(env, variable):
    result = subprocess.run([str(sfu_binary())], env=env, capture_output=True, timeout=10)
    assert result.returncode != 0
    assert variable in result.stderr.decode()


def test_help_and_version():
    result = subprocess.run([str(sfu_binary()), "--help"], capture_output=True, timeout=10, env={})
    assert result.returncode == 0
    for name in ["AUTH_KEY", "PUBLIC_IP", "HTTP_INTERFACE", "PORT", "RTC_INTERFACE", "PROXY", "AUDIO_CODECS",
                 "VIDEO_CODECS", "RTC_MIN_PORT", "RTC_MAX_PORT", "MAX_BUF_IN", "MAX_BUF_OUT", "MAX_BITRATE_IN",
                 "MAX_BITRATE_OUT", "MAX_VIDEO_BITRATE", "CHANNEL_SIZE", "NUM_WORKERS", "WORKER_LOG_LEVEL",
                 "LOG_LEVEL", "LOG_TIMESTAMP", "LOG_COLOR"]:
        assert re.search(rf"^\s+{name}\s", result.stdout.decode(), re.M), name
    version = subprocess.run([str(sfu_binary()), "--version"], capture_output=True, timeout=10, env={})
    assert version.returncode == 0 and version.stdout.decode().startswith("sfu ")


def test_port_in_use_fails(tmp_path, server):
    clash = Server({"PORT": str(server.port)})
    result = subprocess.run([str(sfu_binary())], env=clash.env, capture_output=True, timeout=10)
    assert result.returncode != 0
