"""Firefox ESR (Debian package, headless, fake media through its prefs, driven over Marionette) and Chromium in
the same Odoo call through the real `sfu`, both on our JavaScript client, in a loopback-only namespace
(call_peer.py --browsers does the driving; this asserts on what it observed)."""
from test_call import run_call


def test_chromium_and_firefox_see_and_hear_each_other():
    result = run_call("media", "--participants", "2", "--browsers", "chromium,firefox", "--seconds", "4")
    assert result["mediaFlowing"]
    by_browser = {p["browser"]: p for p in result["participants"]}
    at_flowing = {str(a["session"]): {c["type"]: c for c in a["consumers"]} for a in result["atFlowing"]}
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
        before = at_flowing[str(p["session"])]
        # 4 s later: at least ~8 more frames per second (the fake cameras run at 20-30 fps) and ~40 more audio
        # packets per second (Opus, 20 ms).
        assert mine["camera"].get("framesDecoded", 0) >= before["camera"]["framesDecoded"] + 30, (name, before, mine)
        assert mine["camera"].get("payloadType") == 101, (name, mine)
        assert mine["audio"].get("packetsReceived", 0) >= before["audio"]["packetsReceived"] + 150, (name, before, mine)
        assert mine["audio"].get("totalSamplesReceived", 0) > 0, (name, mine)
        assert mine["audio"].get("payloadType") == 100, (name, mine)
    [channel] = result["stats"]
    assert channel["sessionsStats"]["count"] == 2 and channel["sessionsStats"]["cameraCount"] == 2
    assert not result["serverErrors"], result["serverErrors"]


def test_firefox_pauses_and_resumes_chromium_camera_and_sees_it_leave():
    # Participant 0 (Firefox) pauses its download of participant 1's (Chromium's) camera, which renegotiates its
    # receive m-section inactive and back; then Chromium leaves and Firefox drops its consumers.
    result = run_call("call", "--participants", "2", "--browsers", "firefox,chromium")
    assert result["mediaFlowing"]
    assert [p["browser"] for p in result["participants"]] == ["firefox", "chromium"]
    pause = result["pause"]
    assert pause["pausedEnd"] - pause["pausedStart"] <= 1, pause      # paused: no new frames
    assert pause["resumed"] > pause["pausedEnd"] + 10, pause            # resumed: frames again
    assert result["leave"]["remainingConsumersOfLeaver"] == 0
    assert not result["serverErrors"], result["serverErrors"]
