"""Odoo calls through the real `sfu` with headless Chromium participants running our JavaScript client, in a
loopback-only namespace (call_peer.py does the driving; these tests assert on what it observed)."""
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


def test_join_reaches_ice_and_dtls_connected_on_both_transports():
    result = run_call("join", "--participants", "2")
    for p in result["participants"]:
        assert p["state"] == "connected" and not p["errors"]
        for key in ("send", "recv"):
            t = p[key]
            assert t["iceState"] == "connected" or t["iceConnectionState"] in ("connected", "completed")
            assert t["dtlsState"] == "connected" and t["dtlsRole"] == "client" and t.get("srtpCipher")
    assert len(result["joinMilliseconds"]) == 2


def test_three_participants_see_and_hear_each_other_pause_resume_and_leave():
    result = run_call("call", "--participants", "3")
    assert result["mediaFlowing"]
    for p in result["participants"]:
        others = {c["sessionId"] for c in p["consumers"]}
        assert len(others) == 2, p
        for c in p["consumers"]:
            if c["type"] == "camera":
                assert c.get("framesDecoded", 0) > 0 and c.get("payloadType") == 101
            if c["type"] == "audio":
                assert c.get("packetsReceived", 0) > 0 and c.get("totalSamplesReceived", 0) > 0 and c.get("payloadType") == 100
    pause = result["pause"]
    assert pause["pausedEnd"] - pause["pausedStart"] <= 1, pause      # paused: no new frames
    assert pause["resumed"] > pause["pausedEnd"], pause                 # resumed: frames again
    assert result["leave"]["remainingConsumersOfLeaver"] == 0
    [channel] = result["stats"]
    assert channel["sessionsStats"]["count"] == 3 and channel["sessionsStats"]["cameraCount"] == 3
    assert channel["sessionsStats"]["incomingBitRate"]["audio"] > 0 and channel["sessionsStats"]["incomingBitRate"]["camera"] > 0
    assert not result["serverErrors"], result["serverErrors"]
    # Reported, not asserted (a timing figure): how late each worker's deadline timer fired during the call.
    assert result["timerLateness"], "SIGIO logs the timer lateness of every worker"
    print("timer lateness during the three-party call:", result["timerLateness"])


@pytest.mark.parametrize("loss", [5, 15])
def test_video_keeps_decoding_under_random_loss(loss):
    """RTC_SIMULATED_LOSS drops this percentage of RTP/RTCP datagrams each way in the server's I/O layer."""
    result = run_call("media", "--participants", "2", "--seconds", "20", "--env", f"RTC_SIMULATED_LOSS={loss}")
    timeline = result["timeline"]
    assert len(timeline) >= 10
    frames = [t["framesDecoded"] or 0 for t in timeline]
    third = len(frames) // 3
    assert frames[third] > frames[0] and frames[2 * third] > frames[third] and frames[-1] > frames[2 * third], frames
    figures = []
    for p in result["participants"]:
        video = [c for c in p["consumers"] if c["type"] == "camera"]
        audio = [c for c in p["consumers"] if c["type"] == "audio"]
        assert video and video[0].get("framesDecoded", 0) > 100, video
        assert audio and audio[0].get("packetsReceived", 0) > 200, audio
        sent = p["producers"]["camera"]["outbound"]
        figures.append({"session": p["session"], "framesDecoded": video[0].get("framesDecoded"),
                        "packetsLost": video[0].get("packetsLost"), "nackSent": video[0].get("nackCount"),
                        "pliSent": video[0].get("pliCount"), "freezes": video[0].get("freezeCount"),
                        "keyFrames": video[0].get("keyFramesDecoded"),
                        "nacksReceivedByProducer": sum(o.get("nackCount", 0) for o in sent),
                        "retransmittedByProducer": sum(o.get("retransmittedPacketsSent", 0) for o in sent),
                        "audioConcealed": audio[0].get("concealedSamples"), "audioSamples": audio[0].get("totalSamplesReceived")})
    print(json.dumps({"loss": loss, "figures": figures}))
    # Loss is being repaired both ways: receivers NACK, the server answers with RTX, and the server NACKs the
    # producers, which retransmit.
    assert sum(f["nackSent"] or 0 for f in figures) > 0
    assert sum(f["retransmittedByProducer"] for f in figures) > 0


def test_simulcast_starts_low_and_switches_up_at_key_frames():
    """A 1280x720 camera makes Chromium send three layers (320, 640, 1280 wide). The consumer's budget starts at
    600 kbps (the loss-based estimate) and grows while no loss is reported, so the forwarded layer goes up."""
    result = run_call("media", "--participants", "2", "--seconds", "40", "--video", "1280x720", timeout=300)
    timeline = [t for t in result["timeline"] if t["frameWidth"]]
    widths = [t["frameWidth"] for t in timeline]
    frames = [t["framesDecoded"] for t in timeline]
    print(json.dumps({"widths": widths, "keyFramesDecoded": timeline[-1]["keyFramesDecoded"],
                      "freezeCount": timeline[-1]["freezeCount"]}))
    assert widths[0] < 1280 and max(widths) > widths[0], widths          # started on a lower layer, switched up
    assert all(b > a for a, b in zip(frames, frames[1:])), frames       # decoding never stalled
    assert timeline[-1]["keyFramesDecoded"] <= 15                        # no key-frame storm


def test_aiortc_participant_and_chromium_exchange_media():
    """One Chromium participant (our JS client, simulcast camera) and one aiortc participant (aiortc_participant.py:
    opus + VP8 320x240 without simulcast, no transport-cc, its own fabricated SDP on both transports) in one channel:
    each decodes the other's video and receives the other's audio."""
    result = run_call("media", "--participants", "1", "--aiortc", "1", "--seconds", "8")
    chromium, aio = result["participants"]
    assert aio["browser"] == "aiortc" and chromium["browser"] == "chromium"
    for p in (chromium, aio):
        assert p["state"] == "connected" and not p["errors"], p
        assert p["send"]["dtlsState"] == p["recv"]["dtlsState"] == "connected", p
    assert set(aio["producers"]) == {"audio", "camera"}
    from_aiortc = {c["type"]: c for c in chromium["consumers"] if str(c["sessionId"]) == str(aio["session"])}
    from_chromium = {c["type"]: c for c in aio["consumers"] if str(c["sessionId"]) == str(chromium["session"])}
    print(json.dumps({"chromiumDecodedFromAiortc": {t: {k: c.get(k) for k in ("framesDecoded", "frameWidth", "packetsReceived", "packetsLost", "totalSamplesReceived")}
                                                    for t, c in from_aiortc.items()},
                      "aiortcDecodedFromChromium": {t: {k: c.get(k) for k in ("framesReceived", "frameWidth", "packetsReceived", "packetsLost")}
                                                    for t, c in from_chromium.items()}}))
    # Chromium decodes aiortc's camera (router PT 101) and plays its audio (router PT 100).
    camera, audio = from_aiortc["camera"], from_aiortc["audio"]
    assert camera["payloadType"] == 101 and camera["frameWidth"] == 320 and camera["framesDecoded"] > 50, camera
    assert audio["payloadType"] == 100 and audio["packetsReceived"] > 150 and audio["totalSamplesReceived"] > 0, audio
    # aiortc decodes the one simulcast layer of Chromium's camera the server forwards, and decodes its audio.
    camera, audio = from_chromium["camera"], from_chromium["audio"]
    assert camera["payloadType"] == 101 and camera["framesDecoded"] > 50 and camera["frameWidth"] in (160, 320, 640), camera
    assert audio["payloadType"] == 100 and audio["packetsReceived"] > 150 and audio["framesReceived"] > 150, audio
    # The server's receiver reports and REMB reach aiortc's senders.
    for type_ in ("audio", "camera"):
        [out] = aio["producers"][type_]["outbound"]
        assert out["packetsSent"] > 150 and out["receiverReports"] > 0 and out["rembBitrate"], out
    [channel] = result["stats"]
    assert channel["sessionsStats"]["count"] == 2 and channel["sessionsStats"]["cameraCount"] == 2
    assert not result["serverErrors"], result["serverErrors"]


def test_aiortc_participant_loss_is_repaired_both_ways():
    """RTC_SIMULATED_LOSS=10 in the server's I/O layer: the server NACKs aiortc's camera and aiortc retransmits
    (as RTX); aiortc NACKs the server for Chromium's camera and receives the server's RTX; video keeps decoding on
    both sides. (aiortc's own audio jitter buffer discards up to 16 frames per lost packet, so audio is only
    required to arrive.)"""
    result = run_call("media", "--participants", "1", "--aiortc", "1", "--seconds", "12", "--env", "RTC_SIMULATED_LOSS=10")
    chromium, aio = result["participants"]
    [camera_out] = aio["producers"]["camera"]["outbound"]
    from_chromium = {c["type"]: c for c in aio["consumers"]}
    from_aiortc = {c["type"]: c for c in chromium["consumers"]}
    print(json.dumps({"aiortcCamera": camera_out, "aiortcReceives": from_chromium["camera"], "chromiumReceives": {
        k: from_aiortc["camera"].get(k) for k in ("framesDecoded", "packetsLost", "nackCount", "freezeCount", "keyFramesDecoded")}}))
    assert camera_out["nackedPackets"] > 0 and camera_out["retransmittedPacketsSent"] > 0, camera_out
    camera = from_chromium["camera"]
    assert camera["nackedPackets"] > 0 and camera["rtxPacketsReceived"] > 0 and camera["framesDecoded"] > 40, camera
    assert from_aiortc["camera"]["framesDecoded"] > 100, from_aiortc["camera"]
    assert from_chromium["audio"]["packetsReceived"] > 150 and from_aiortc["audio"]["packetsReceived"] > 150


def test_aiortc_participant_in_a_call_pause_resume_and_leave():
    """Chromium pauses and resumes its download of the aiortc participant's camera; then aiortc leaves and Chromium
    sees SESSION_LEAVE; meanwhile aiortc decodes Chromium's camera."""
    result = run_call("call", "--participants", "1", "--aiortc", "1")
    assert result["mediaFlowing"]
    pause = result["pause"]
    assert pause["pausedEnd"] - pause["pausedStart"] <= 1, pause
    assert pause["resumed"] > pause["pausedEnd"], pause
    assert result["leave"]["remainingConsumersOfLeaver"] == 0
    aio = result["participants"][1]
    assert aio["browser"] == "aiortc" and not aio["errors"]
    assert any(c["type"] == "camera" and c.get("framesDecoded", 0) > 0 for c in aio["consumers"]), aio
    assert not result["serverErrors"], result["serverErrors"]


def test_a_late_key_frame_packet_does_not_leave_a_gap():
    """repro_late_keyframe.py: aiortc A withholds the first packet of a key frame once and resends it after the
    rest; the joining consumer B must not be started from it (which left an unrecoverable sequence gap)."""
    cmd = [os.path.join(HERE, "netns.sh"), "python3", os.path.join(HERE, "repro_late_keyframe.py")]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    result = json.loads([line for line in out.stdout.splitlines() if line.startswith("{")][-1])
    print(json.dumps({k: v for k, v in result.items() if k != "trace"}))
    assert result["holes"] == []
    assert result["B"][0]["frames"] > 50


def test_plaintext_tap_per_channel_writes_only_the_tapped_channel(tmp_path):
    """RTC_PLAINTEXT_TAP=channel: only the channel created with GET /v1/channel?tap=true gets pcaps, and they
    hold RTP and RTCP that tshark dissects; the other channel's call leaves nothing in the directory."""
    tap = tmp_path / "tap"
    tap.mkdir()
    result = run_call("join", "--participants", "2", "--rounds", "2", "--tap-rounds", "1",
                      "--env", "RTC_PLAINTEXT_TAP=channel", "--env", f"RTC_PLAINTEXT_TAP_DIR={tap}")
    tapped, untapped = result["channels"]
    files = sorted(p.name for p in tap.iterdir())
    assert files and all(name.startswith(tapped + "-") and name.endswith(".pcap") for name in files), files
    assert not any(untapped in name for name in files), files
    # Both participants' send and receive transports: the browsers' RTP/RTCP in, the forwarded media out.
    assert len(files) == 4, files
    protocols = set()
    for name in files:
        out = subprocess.run(["tshark", "-r", str(tap / name), "-o", "rtp.heuristic_rtp:TRUE", "-T", "fields",
                              "-e", "frame.protocols"], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        protocols |= {p for line in out.stdout.splitlines() for p in line.split(":")}
    assert {"rtp", "rtcp"} <= protocols, protocols
