"""Our JavaScript SFU client (client/sfu-client.js) in real headless Chromium, without an SFU: docs/protocol.md's example
router capabilities, transport config and consumers (client/spec-fixtures.json) drive Device, SendTransport and
RecvTransport, and a Python WebSocket server plays the bus peer and a scripted fake SFU (js_client_peer.py).

Run through Tests/Peers/run.sh, or alone: python3 -m pytest -q Tests/Peers/test_js_client.py
"""
import json
import os
import re
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = json.load(open(os.path.join(HERE, "client", "spec-fixtures.json")))
TCC = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"


@pytest.fixture(scope="module")
def run():
    cmd = [os.path.join(HERE, "netns.sh"), "python3", os.path.join(HERE, "js_client_peer.py")]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=150)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert not result["server"].get("errors"), result["server"]["errors"]
    return result


@pytest.fixture
def page(run):
    return run["page"]


def ok(section):
    assert "error" not in section, section.get("error")
    return section


def media_sections(sdp):
    """[(m-line, [attribute lines])] of an SDP."""
    sections = []
    for line in sdp.splitlines():
        if line.startswith("m="):
            sections.append((line, []))
        elif sections and line.startswith("a="):
            sections[-1][1].append(line[2:])
    return sections


# --- Device (§6.2) ---------------------------------------------------------------------------------------------

def test_device_caps_use_router_payload_types_and_browser_parameters(page):
    caps = ok(page["device"])["rtpCapabilities"]
    by_mime = {}
    for c in caps["codecs"]:
        by_mime.setdefault(c["mimeType"].lower(), []).append(c)
    router_pts = {c["preferredPayloadType"] for c in FIXTURES["routerCapabilities"]["codecs"]}
    assert {c["preferredPayloadType"] for c in caps["codecs"]} <= router_pts
    opus = by_mime["audio/opus"][0]
    assert opus["channels"] == 2 and opus["preferredPayloadType"] == 100 and opus["clockRate"] == 48000
    assert opus["parameters"] == {"minptime": 10, "useinbandfec": 1}          # the browser's, as numbers
    assert opus["rtcpFeedback"] == [{"type": "transport-cc", "parameter": ""}, {"type": "nack", "parameter": ""}]
    vp8 = by_mime["video/vp8"][0]
    assert vp8["preferredPayloadType"] == 101 and "channels" not in vp8
    # Browser order, router objects: Chrome lists goog-remb first.
    assert [f["type"] for f in vp8["rtcpFeedback"]] == ["goog-remb", "transport-cc", "ccm", "nack", "nack"]
    assert {"mimeType": "video/rtx", "kind": "video", "preferredPayloadType": 102, "clockRate": 90000,
            "parameters": {"apt": 101}, "rtcpFeedback": []} in caps["codecs"]
    assert by_mime["video/vp9"][0]["parameters"] == {"profile-id": 2}
    assert [c["parameters"]["profile-level-id"] for c in by_mime["video/h264"]] == ["42e01f"]   # rewritten to the answer
    # Only media codecs the router has, in router order, each followed by its RTX.
    assert [c["mimeType"].lower() for c in caps["codecs"]][:4] == ["audio/opus", "audio/pcmu", "audio/pcma", "video/vp8"]
    assert all(c["parameters"]["apt"] == caps["codecs"][i - 1]["preferredPayloadType"]
               for i, c in enumerate(caps["codecs"]) if c["mimeType"] == "video/rtx")


def test_device_caps_keep_only_sendrecv_router_extensions_with_router_ids(page):
    exts = ok(page["device"])["rtpCapabilities"]["headerExtensions"]
    router = {(e["kind"], e["uri"]): e for e in FIXTURES["routerCapabilities"]["headerExtensions"]}
    for e in exts:
        assert router[(e["kind"], e["uri"])]["direction"] == "sendrecv"
        assert e["preferredId"] == router[(e["kind"], e["uri"])]["preferredId"] and e["direction"] == "sendrecv"
    pairs = {(e["kind"], e["uri"]) for e in exts}
    assert ("video", "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id") not in pairs    # router recvonly
    assert ("audio", TCC) not in pairs and ("video", TCC) in pairs
    assert ("audio", "urn:ietf:params:rtp-hdrext:sdes:mid") in pairs


# --- SendTransport (§6.3, §6.5) ----------------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["sendAudio", "sendCamera"])
def test_fabricated_answer_is_accepted_and_connect_precedes_produce(page, key):
    result = ok(page[key])
    assert result["signalingState"] == "stable" and result["transceiverDirection"] == "sendonly"
    connect, produce = result["calls"][:2]
    assert connect["name"] == "connect" and produce["name"] == "produce"
    assert connect["dtlsParameters"]["role"] == "client"
    [fingerprint] = connect["dtlsParameters"]["fingerprints"]
    assert fingerprint["algorithm"] == "sha-256" and re.fullmatch(r"([0-9A-F]{2}:){31}[0-9A-F]{2}", fingerprint["value"])
    assert fingerprint["value"] in result["offer"]
    # zeroRtpOnPause: pausing renegotiates the m-section to inactive, resuming back to sendonly.
    assert result["paused"] == {"direction": "inactive", "signalingState": "stable"}
    assert result["resumed"] == {"direction": "sendonly", "signalingState": "stable"}
    # Closing the producer disables the first m-section (BUNDLE tag); a refused INIT_PRODUCER stops the new one,
    # and the next produce recycles its slot under a new mid.
    assert result["refused"] == "refused"
    assert result["again"]["signalingState"] == "stable" and result["again"]["mid"] == "2"
    assert result["again"]["sections"] == [["0", "inactive"], ["2", "sendonly"]]
    assert [c["name"] for c in result["calls"]] == ["connect", "produce", "produce"]     # one CONNECT only


@pytest.mark.parametrize("key", ["sendAudio", "sendCamera"])
def test_answer_carries_server_ice_and_last_fingerprint(page, key):
    answer = ok(page[key])["answer"]
    last = FIXTURES["transportConfig"]["dtlsParameters"]["fingerprints"][-1]
    assert f"a=fingerprint:{last['algorithm']} {last['value']}" in answer
    assert "a=ice-lite" in answer and "a=setup:passive" in answer
    assert "a=ice-ufrag:" + FIXTURES["transportConfig"]["iceParameters"]["usernameFragment"] in answer
    assert "udpcandidate 1 udp 1076302079 203.0.113.10 40003 typ host" in answer
    assert "tcptype passive" in answer


def test_audio_producer_parameters(page):
    result = ok(page["sendAudio"])
    rtp = result["calls"][1]["rtpParameters"]
    assert result["calls"][1]["kind"] == "audio"
    assert rtp["mid"] == "0"
    [opus] = rtp["codecs"]
    assert opus["mimeType"] == "audio/opus" and opus["channels"] == 2 and opus["payloadType"] == 111
    [encoding] = rtp["encodings"]
    assert isinstance(encoding["ssrc"], int) and encoding["dtx"] is False and "rid" not in encoding
    assert f"a=ssrc:{encoding['ssrc']} cname:{rtp['rtcp']['cname']}" in result["offer"]
    assert rtp["rtcp"]["reducedSize"] is True and rtp["rtcp"]["cname"]
    offer_ids = dict(re.findall(r"a=extmap:(\d+) (\S+)", result["offer"]))
    uris = [e["uri"] for e in rtp["headerExtensions"]]
    assert TCC in uris                                                    # router recvonly counts for producers
    assert all(offer_ids[str(e["id"])] == e["uri"] for e in rtp["headerExtensions"])     # browser ids
    # The answer: opus with the browser's payload type, no nack (opusNack unset), transport-cc kept.
    m_line, attrs = media_sections(result["answer"])[0]
    assert m_line.split()[3:] == ["111"] and "recvonly" in attrs
    assert [a for a in attrs if a.startswith("rtcp-fb:")] == ["rtcp-fb:111 transport-cc"]


def test_camera_producer_parameters_are_simulcast(page):
    result = ok(page["sendCamera"])
    rtp = result["calls"][1]["rtpParameters"]
    vp8, rtx = rtp["codecs"]
    assert vp8["mimeType"] == "video/VP8" and rtx["mimeType"] == "video/rtx"
    assert rtx["parameters"] == {"apt": vp8["payloadType"]}
    assert [e["rid"] for e in rtp["encodings"]] == ["r1", "r2", "r3"]
    assert all(e["scalabilityMode"] == "L1T3" and e["active"] is True and "ssrc" not in e for e in rtp["encodings"])
    assert [(e["scaleResolutionDownBy"], e["maxBitrate"]) for e in rtp["encodings"]] == [(4, 1000000), (2, 2000000), (1, 4000000)]
    assert rtp["rtcp"] == {"cname": "", "reducedSize": True}
    uris = [e["uri"] for e in rtp["headerExtensions"]]
    assert "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id" in uris and "urn:ietf:params:rtp-hdrext:sdes:mid" in uris
    m_line, attrs = media_sections(result["answer"])[0]
    assert m_line.split()[3:] == [str(vp8["payloadType"]), str(rtx["payloadType"])]
    assert "simulcast:recv r1;r2;r3" in attrs and "rid:r1 recv" in attrs and "rid:r3 recv" in attrs
    fmtp = next(a for a in attrs if a.startswith(f"fmtp:{vp8['payloadType']} "))
    assert "x-google-start-bitrate=1000000" in fmtp and "x-google-max-bitrate=8000000" in fmtp
    feedback = [a.split(" ", 1)[1] for a in attrs if a.startswith(f"rtcp-fb:{vp8['payloadType']} ")]
    assert "transport-cc" in feedback and "goog-remb" not in feedback         # transport-cc wins
    answered_ids = {int(i): u for i, u in re.findall(r"a=extmap:(\d+) (\S+)", result["answer"])}
    assert answered_ids == {e["id"]: e["uri"] for e in rtp["headerExtensions"]}


# --- RecvTransport (§6.6) ----------------------------------------------------------------------------------------

def test_recv_offer_is_accepted_and_dtls_role_is_client(page):
    result = ok(page["recv"])
    assert result["calls"] == [{"role": "client", "fingerprints": result["calls"][0]["fingerprints"]}]
    assert result["tracks"] == ["audio", "video"] and result["trackStates"] == ["live", "live"]
    consumed = result["consumed"]
    assert consumed["signalingState"] == "stable"
    assert consumed["transceivers"] == [{"mid": "0", "kind": "audio", "direction": "recvonly"},
                                        {"mid": "1", "kind": "video", "direction": "recvonly"},
                                        {"mid": "probator", "kind": "video", "direction": "recvonly"}]
    assert "a=setup:active" in consumed["answer"]
    offer = consumed["offer"]
    assert "a=group:BUNDLE 0 1 probator" in offer and "a=ice-lite" in offer and "a=setup:actpass" in offer
    assert "a=ssrc-group:FID 722339140 722339141" in offer
    assert "a=ssrc:513487261 cname:tn3kPyX+njvlMrR7" in offer
    assert "a=ssrc:1234 cname:probator" in offer                     # mediasoup-client's probation m-section
    assert f"a=msid:tn3kPyX+njvlMrR7 {FIXTURES['videoConsumer']['id']}" in offer
    (audio_m, audio_attrs), (video_m, _), (probator_m, _) = media_sections(offer)
    assert probator_m.split()[3:] == ["127"]
    assert audio_m.split()[3:] == ["100"] and video_m.split()[3:] == ["101", "102"]
    assert "extmap:10 urn:ietf:params:rtp-hdrext:ssrc-audio-level" in audio_attrs and "sendonly" in audio_attrs


def test_recv_pause_close_and_recycle(page):
    result = ok(page["recv"])
    assert result["paused"]["transceivers"][1]["direction"] == "inactive"
    assert result["resumed"]["transceivers"][1]["direction"] == "recvonly"
    recycled = result["recycled"]
    assert recycled["signalingState"] == "stable" and recycled["mid"] == "2" and recycled["track"] == "video"
    sections = media_sections(recycled["offer"])
    assert len(sections) == 3 and sections[1][0].startswith("m=video ") and "mid:2" in sections[1][1]   # same slot
    assert "a=group:BUNDLE 0 2 probator" in recycled["offer"]
    assert {"mid": "2", "kind": "video", "direction": "recvonly"} in recycled["transceivers"]
    first = result["firstClosed"]
    assert first["signalingState"] == "stable" and first["trackState"] == "ended"
    assert first["transceivers"][0] == {"mid": "0", "kind": "audio", "direction": "inactive"}
    assert "a=group:BUNDLE 0 2 probator" in first["offer"] and "ssrc:513487261" not in first["offer"]
    # A consumer whose first payload type the device never negotiated is refused (§6.6 canReceive).
    assert result["foreignPayloadType"] == "cannot consume these rtpParameters"


# --- Bus (§4) ----------------------------------------------------------------------------------------------------

def test_bus_batching_ids_and_responses(run):
    result = ok(run["page"]["bus"])
    frames = run["server"]["bus"]
    bus = result["busId"]
    requests = [p for f in frames for p in f if "needResponse" in p]
    assert [p["needResponse"] for p in requests] == [f"c_{bus}_{n}" for n in range(4)]
    assert [p["message"]["name"] for p in requests] == ["SILENT", "ECHO", "EMPTY", "START"]
    # Batching: the first item at once, the two others together at the end of the window.
    infos = [[p["message"]["payload"]["n"] for p in f] for f in frames
             if all(p.get("message", {}).get("name") == "C_INFO_CHANGE" for p in f)]
    assert infos == [[0], [1, 2]]
    assert all(len(f) == 1 for f in frames if any("needResponse" in p or "responseTo" in p for p in f))
    assert result["echoed"] == {"echo": {"x": 1}} and result["empty"] is True
    # A 4-item array: unknown request and PING answered empty, ASK with the handler's value, HELLO delivered.
    assert result["messages"] == [{"name": "HELLO", "payload": {"a": 1}}]
    assert [r["name"] for r in result["requests"]] == ["UNKNOWN_REQUEST", "ASK", "PING"]
    responses = [p for f in frames for p in f if "responseTo" in p]
    assert responses == [{"responseTo": "s_9_0"}, {"message": {"answer": 42}, "responseTo": "s_9_1"}, {"responseTo": "s_9_2"}]
    assert result["silent"]["error"] == "bus request timed out" and 4900 <= result["silent"]["after"] < 6000


# --- SfuClient against a scripted fake SFU (§3, §5) ----------------------------------------------------------------

def test_client_handshake_and_init_transports(run):
    result = ok(run["page"]["client"])
    frames = run["server"]["sfu"]
    assert json.loads(frames[0]) == {"channelUUID": "26aaaad6-8e78-494e-97e6-47ea9aab5388", "jwt": "header.claims.signature"}
    states = [e[1] for e in result["events"] if e[0] == "state"]
    assert states == ["connecting", "authenticated", "connected", "closed"]
    payloads = [p for f in frames[1:] for p in f]
    [caps] = [p["message"] for p in payloads if p.get("responseTo") == "s_0_0"]
    assert caps == run["page"]["device"]["rtpCapabilities"]
    assert {"responseTo": "s_0_1"} in payloads and {"responseTo": "s_0_2"} in payloads       # PING, INIT_CONSUMER
    assert {"responseTo": "s_0_3"} in payloads                                               # unknown request
    names = [p["message"]["name"] for p in payloads if "message" in p and "name" in p["message"]]
    assert names.index("CONNECT_CTS_TRANSPORT") < names.index("INIT_PRODUCER")
    assert names.count("CONNECT_CTS_TRANSPORT") == 1 and names.count("CONNECT_STC_TRANSPORT") == 1
    assert names[0] == "C_INFO_CHANGE"
    produced = {p["message"]["payload"]["type"]: p["message"]["payload"] for p in payloads
                if p.get("message", {}).get("name") == "INIT_PRODUCER"}
    assert produced["audio"]["kind"] == "audio" and produced["camera"]["kind"] == "video"
    assert [e["rid"] for e in produced["camera"]["rtpParameters"]["encodings"]] == ["r1", "r2", "r3"]   # producerOptionsByKind


def test_client_consumer_updates_and_messages(run):
    result = ok(run["page"]["client"])
    updates = [(e[1], e[2]) for e in result["events"] if e[0] == "update"]
    assert ("info_change", {"57": {"isTalking": True}}) in updates
    assert ("broadcast", {"senderId": 57, "message": "hi"}) in updates
    assert ("track", {"type": "audio", "sessionId": 57, "track": "audio", "active": True}) in updates
    assert ("disconnect", {"sessionId": 57}) in updates
    assert result["consumerPausedAtStart"] is False and result["consumerPaused"] is True
    assert result["downloadChanged"] == [True, False]          # the second call changes nothing, sends nothing
    assert result["consumersAfterLeave"] == {"sessions": 0, "audioClosed": True}
    payloads = [p for f in run["server"]["sfu"][1:] for p in f]
    messages = [p["message"] for p in payloads if "needResponse" not in p and "responseTo" not in p]
    assert {"name": "CONSUMPTION_CHANGE", "payload": {"sessionId": 57, "states": {"audio": False}}} in messages
    assert {"name": "PRODUCTION_CHANGE", "payload": {"type": "camera", "active": False}} in messages
    assert {"name": "BROADCAST", "payload": {"hello": "world"}} in messages
    assert sum(1 for m in messages if m["name"] == "CONSUMPTION_CHANGE") == 1


def test_client_stats_shape(run):
    stats = ok(run["page"]["client"])["stats"]
    assert stats["state"] == "connected"
    for side in ("send", "recv"):                       # no SFU behind the fake one: ICE never completes
        assert stats[side]["dtlsRole"] == "client" and stats[side]["signalingState"] == "stable"
        assert stats[side]["dtlsState"] in ("new", "connecting")
    assert set(stats["producers"]) == {"audio", "camera"}
    assert stats["producers"]["audio"]["outbound"][0]["mimeType"] == "audio/opus"
    [consumer] = stats["consumers"]
    assert consumer["sessionId"] == 57 and consumer["type"] == "audio" and consumer["paused"] is True


def test_client_legacy_credentials_and_4106_close(run):
    result = ok(run["page"]["rejected"])
    assert json.loads(run["server"]["reject"][0]) == "header.claims.signature"      # JSON string literal (§3.2)
    assert [e[1] for e in result["events"]] == ["connecting", "closed"]
    assert result["afterConnect"] == "closed"


# --- call.html (what selenium tests against the real server will poll) -------------------------------------------

def test_call_page_connects_produces_and_reports(run):
    result = ok(run["page"]["call"])
    running, final = result["running"], result["final"]
    assert json.loads(run["server"]["call"][0]) == {"channelUUID": "26aaaad6-8e78-494e-97e6-47ea9aab5388", "jwt": "token"}
    assert running["state"] == "connected" and running["errors"] == []
    assert running["media"] == {"mic": True, "camera": True}
    assert running["producers"] == {"audio": "producer-audio", "camera": "producer-camera"}
    assert running["sessions"]["57"] == {"info": {"isTalking": True}, "tracks": {"audio": {"kind": "audio", "active": True}},
                                         "left": False}
    assert running["stats"]["consumers"][0]["sessionId"] == 57
    assert running["stats"]["send"]["signalingState"] == "stable"
    payloads = [p for f in run["server"]["call"][1:] for p in f]
    info = next(p["message"]["payload"] for p in payloads if p.get("message", {}).get("name") == "C_INFO_CHANGE")
    assert info["needRefresh"] is True and set(info["info"]) == {"isSelfMuted", "isCameraOn", "isScreenSharingOn",
                                                                  "isDeaf", "isRaisingHand", "isTalking"}
    camera = next(p["message"]["payload"] for p in payloads if p.get("message", {}).get("name") == "INIT_PRODUCER"
                  and p["message"]["payload"]["type"] == "camera")
    assert [e["rid"] for e in camera["rtpParameters"]["encodings"]] == ["r0", "r1", "r2"]     # &firstRid=0
    assert final["state"] == "closed" and final["sessions"]["57"]["left"] is True
    assert [e["update"] for e in final["log"] if "update" in e][-1] == "disconnect"


def test_client_reconnects_after_1011_with_the_same_credentials(run):
    result = ok(run["page"]["reconnect"])
    assert result["states"] == ["connecting", "authenticated", "recovering", "connecting", "authenticated", "disconnected"]
    first, second = run["server"]["flaky"]
    assert first == second == json.dumps("header.claims.signature").replace(" ", "")


# --- Against our own transport (transport-probe, built by run.sh) ----------------------------------------------------

def test_transports_connect_to_our_ice_lite_transport():
    """The answer fabricated from a transport config (candidate `ip`, last fingerprint, ice-lite, setup:passive) gets
    Chromium through ICE, DTLS and SRTP to our WebRtcTransport, with audio and simulcast VP8 arriving; the recv
    transport's offer gets through ICE and DTLS too."""
    probe = os.environ.get("TRANSPORT_PROBE", "")
    assert os.path.exists(probe), "run through Tests/Peers/run.sh, which builds transport-probe and sets TRANSPORT_PROBE"
    cmd = [os.path.join(HERE, "netns.sh"), "python3", os.path.join(HERE, "js_client_peer.py"), "--probe", probe]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=150)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    chromium, server = result["chromium"], result["server"]
    transport = chromium["transport"]
    assert transport["connectionState"] == "connected" and transport["dtlsState"] == "connected", transport
    assert transport["dtlsRole"] == "client" and transport["selectedCandidatePair"]["remote"].startswith("udp 127.0.0.1:")
    assert server["dtlsConnected"] and server["srtpFailures"] == 0 and server["rtpReceived"] >= 100, server
    sent = {o["ssrc"] for o in chromium["audio"]["outbound"] + chromium["camera"]["outbound"] if o["packetsSent"] >= 20}
    assert sent <= set(server["ssrcs"]) and len(sent) >= 3, (sent, server["ssrcs"])     # audio + >= 2 simulcast layers
    assert {o["rid"] for o in chromium["camera"]["outbound"]} == {"r1", "r2", "r3"}
    assert chromium["audio"]["remoteInbound"], "the probe's receiver reports reached Chromium"
    # The recv transport (our side offers, ice-lite, setup:actpass): Chromium stays controlling and is DTLS client.
    recv, recv_server = chromium["recv"], result["recvServer"]
    assert recv["connectionState"] == "connected" and recv["dtlsRole"] == "client", recv
    assert recv_server["dtlsConnected"] and recv_server["iceState"] == "completed", recv_server
