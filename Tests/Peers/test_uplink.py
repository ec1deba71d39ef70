"""Uplink feedback guard (issue #14): three Chromium senders join a fresh `sfu` (simulcast camera + microphone) three
times, with the plaintext tap on; uplink.py reads each send transport's pcap back and checks, for every transport-wide
sequence number that reached the server, what our transport-cc feedback first said about it. Before the fix, the
packets of a camera that arrived before its INIT_PRODUCER were reported lost (1-20 per sender, every join).

Also measured and printed, not asserted: each sender's availableOutgoingBitrate at 10 s against a direct
Chromium-to-Chromium call in the same run, and its top layer's frame rate. Neither meets issue #14's figure on this
2-core machine yet (with the debug server binary the suite uses, senders settle near 1 Mbit/s against a ~3.8 Mbit/s
anchor; with the release binary most reach 5 Mbit/s, some stay at 1.2-1.9): see docs/congestion-control.md.
"""
import json
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))


def test_feedback_reports_every_packet_that_arrived(tmp_path):
    cmd = [os.path.join(HERE, "netns.sh"), "python3", os.path.join(HERE, "uplink.py"), "--joins", "3", "--anchors", "1",
           "--seconds", "12", "--tap", str(tmp_path)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=400)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert "failure" not in result, result["failure"]
    print("uplink figures:", json.dumps(result["figures"]))
    senders = [s for join in result["joins"] for s in join if "estimateKbps" in s]
    assert len(senders) == 9
    for s in senders:
        c = s.get("coverage")
        assert c and c["packets"] > 1000, s
        # Every packet that arrived is reported received the first time a feedback covers it.
        assert c["reportedLostFirst"] == 0, c
        assert c["reportedReceived"] >= c["packets"] - 30, c   # the last ~100 ms before teardown go unreported
        assert s["flowing"] and s["estimateAt10sKbps"], s
