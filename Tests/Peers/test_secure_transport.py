"""Secure-transport end-to-end tests: headless Chromium (fake camera + microphone) and aiortc connect to one
WebRtcTransport of ours (Sources/TransportProbe) over 127.0.0.1 inside a loopback-only network namespace.

Run through Tests/Peers/run.sh, which builds the probe and passes its path in TRANSPORT_PROBE.
"""
import json
import os
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PROBE = os.environ.get("TRANSPORT_PROBE", "")


def run_chromium(dtls_role, seconds=4):
    cmd = [os.path.join(HERE, "netns.sh"), "python3", os.path.join(HERE, "chromium_peer.py"), "--seconds", str(seconds),
           "--server", PROBE, "--dtls-role", dtls_role]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=150)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1]), out.stderr


@pytest.mark.parametrize("dtls_role", ["server", "client"])
def test_chromium_connects_and_exchanges_srtp(dtls_role):
    result, log = run_chromium(dtls_role)
    chromium, server = result["chromium"], result["server"]
    print(json.dumps(result, indent=1))
    assert chromium["waited"] == "connected", log[-2000:]
    assert chromium["transport"]["dtlsState"] == "connected"
    assert chromium["transport"]["srtpCipher"], chromium["transport"]
    # Chromium is the DTLS client when we answer passive, the server when we answer active.
    assert chromium["transport"]["role"] == ("client" if dtls_role == "server" else "server")
    assert server["dtlsConnected"] and server["dtlsFailure"] is None
    assert server["iceState"] in ("connected", "completed")
    # The server decrypted Chromium's fake audio and video...
    assert server["rtpReceived"] >= 100, server
    assert len(server["ssrcs"]) >= 2
    assert server["srtpFailures"] == 0
    # ...and Chromium decrypted our SRTCP receiver reports: remote-inbound-rtp appears.
    assert server["receiverReportsSent"] > 0
    assert len(chromium["remoteInbound"]) >= 1, chromium


@pytest.mark.parametrize("dtls_role", ["server", "client"])
def test_aiortc_connects_and_receives_our_srtp(dtls_role):
    cmd = [os.path.join(HERE, "netns.sh"), "python3", os.path.join(HERE, "aiortc_peer.py"), "--probe", PROBE,
           "--dtls-role", dtls_role, "--seconds", "3"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=150)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(json.dumps(result, indent=1))
    aiortc, server = result["aiortc"], result["server"]
    assert aiortc["state"] == "connected"
    assert server["dtlsConnected"] and server["srtpFailures"] == 0
    assert server["rtpReceived"] >= 100
    # aiortc decoded media that our server protected and sent (its own media, echoed on our SSRCs).
    assert server["rtpEchoed"] >= 100
    assert aiortc["received"]["audio"] >= 50 and aiortc["received"]["video"] >= 20, aiortc


@pytest.mark.parametrize("fault,expected_log", [("--wrong-fingerprint", "fingerprintMismatch"),
                                                ("--wrong-password", "401")])
def test_refusals_are_logged(fault, expected_log):
    cmd = [os.path.join(HERE, "netns.sh"), "python3", os.path.join(HERE, "chromium_peer.py"), "--seconds", "2", fault,
           "--server", PROBE, "--dtls-role", "server"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=150)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    server, log = result["server"], result["serverLog"]
    print(log[-1500:])
    assert server is not None          # the probe neither crashed nor hung
    assert not server["dtlsConnected"] or server["dtlsFailure"] is not None
    assert server["rtpReceived"] == 0
    assert expected_log in log, log[-2000:]
