"""Firefox ESR (Debian package, headless, fake media through its prefs, driven over Marionette) and Chromium in
the same Odoo call through the real `sfu`, both on our JavaScript client, in a loopback-only namespace
(call_peer.py --browsers does the driving; this asserts on what it observed)."""
import json
import os
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


def run_call(*args, timeout=240):
    if not os.environ.get("SFU_BINARY"):
        pytest.fail("SFU_BINARY is not set: run through Tests/Peers/run.sh")
    cmd = [os.path.join(HERE, "netns.sh"), "python3", os.path.join(HERE, "call_peer.py"), *args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    assert lines, f"call_peer.py printed nothing (rc {out.returncode}): {out.stderr[-3000:]}"
    result = json.loads(lines[-1])
    print(json.dumps({k: v for k, v in result.items() if k != "participants"}))
    assert "failure" not in result, json.dumps(result)[:6000]
    return result


def test_chromium_and_firefox_see_and_hear_each_other():
    result = run_call("media", "--participants", "2", "--browsers", "chromium,firefox", "--seconds", "4")
    assert result["mediaFlowing"]
    by_browser = {p["browser"]: p for p in result["participants"]}
    assert set(by_browser) == {"chromium", "firefox"}
    for name, p in by_browser.items():
        assert p["state"] == "connected" and not p["errors"], (name, p)
        for key in ("send", "recv"):
            t = p[key]
            assert t["dtlsState"] == "connected" and t["connectionState"] == "connected" and t.get("srtpCipher"), (name, key, t)
        # Each side uploads the camera in simulcast (RIDs r0..r2) and the microphone.
        camera = p["producers"]["camera"]["outbound"]
        assert {o.get("rid") for o in camera} == {"r0", "r1", "r2"}, (name, camera)
        assert sum(o.get("packetsSent", 0) for o in camera) > 0 and p["producers"]["audio"]["outbound"][0]["packetsSent"] > 0
        # ... and decodes the other's camera and receives its microphone (payload types are the router's).
        other = by_browser["firefox" if name == "chromium" else "chromium"]["session"]
        mine = {c["type"]: c for c in p["consumers"] if str(c["sessionId"]) == str(other)}
        assert mine["camera"].get("framesDecoded", 0) > 30 and mine["camera"].get("payloadType") == 101, (name, mine)
        assert mine["audio"].get("packetsReceived", 0) > 50 and mine["audio"].get("totalSamplesReceived", 0) > 0, (name, mine)
        assert mine["audio"].get("payloadType") == 100, (name, mine)
    [channel] = result["stats"]
    assert channel["sessionsStats"]["count"] == 2 and channel["sessionsStats"]["cameraCount"] == 2
    assert not result["serverErrors"], result["serverErrors"]
