#!/usr/bin/env python3
"""aiortc as the remote peer of one of our ICE-lite transports (Sources/TransportProbe), loopback only.

  aiortc_peer.py --probe PATH [--dtls-role server|client] [--seconds N]   (run inside netns.sh)

aiortc (full ICE, controlling as offerer) sends audio and video; our answer is built here by hand from
the probe's parameters (a=ice-lite, our fingerprint, one 127.0.0.1 candidate) and announces two SSRCs
on which the probe echoes aiortc's media back, protected by our SRTP. Prints one JSON line:
{"aiortc": {"state": ..., "received": {"audio": frames, "video": frames}}, "server": <probe counters>}.
"""
import argparse
import asyncio
import json
import re
import subprocess

import os
import sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peerkit import count_frames, restrict_aiortc_to_loopback  # noqa: E402
restrict_aiortc_to_loopback()

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

ECHO = {"audio": 0x5EED0AA0, "video": 0x5EED0BB0}


def answer_sdp(offer, params):
    sessions, media, cur = [], [], None
    for line in offer.splitlines():
        if line.startswith("m="):
            cur = {"kind": line[2:].split()[0], "pts": line.split()[3:], "lines": []}
            media.append(cur)
        elif cur is not None:
            cur["lines"].append(line)
    out = ["v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=ice-lite",
           "a=group:BUNDLE " + " ".join(next(l[6:] for l in m["lines"] if l.startswith("a=mid:")) for m in media)]
    chosen = {}
    for m in media:
        mid = next(l[6:] for l in m["lines"] if l.startswith("a=mid:"))
        want = "opus" if m["kind"] == "audio" else "VP8"
        pt = next(l.split()[0].split(":")[1] for l in m["lines"] if l.startswith("a=rtpmap:") and f" {want}/" in l)
        chosen[m["kind"]] = int(pt)
        out += [f"m={m['kind']} {params['port']} UDP/TLS/RTP/SAVPF {pt}", "c=IN IP4 127.0.0.1", f"a=mid:{mid}",
                f"a=ice-ufrag:{params['ufrag']}", f"a=ice-pwd:{params['pwd']}",
                f"a=fingerprint:sha-256 {params['fingerprint']}", f"a=setup:{params['setup']}",
                "a=rtcp-mux", "a=sendrecv"]
        out += [l for l in m["lines"] if re.match(rf"a=(rtpmap|fmtp):{pt} ", l)]
        out += [f"a=ssrc:{ECHO[m['kind']]} cname:transport-probe",
                f"a=candidate:1 1 udp 2130706431 127.0.0.1 {params['port']} typ host", "a=end-of-candidates"]
    return "\r\n".join(out) + "\r\n", chosen


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--probe", required=True)
    ap.add_argument("--dtls-role", default="server")
    ap.add_argument("--seconds", type=float, default=4)
    args = ap.parse_args()

    pc = RTCPeerConnection()
    received = {"audio": 0, "video": 0}

    @pc.on("track")
    def on_track(track):
        count_frames(track, received)

    pc.addTransceiver(AudioStreamTrack(), direction="sendrecv")
    pc.addTransceiver(VideoStreamTrack(), direction="sendrecv")
    await pc.setLocalDescription(await pc.createOffer())
    offer = pc.localDescription.sdp
    # The probe must know which payload types to echo: aiortc will send the codecs our answer keeps.
    _, chosen = answer_sdp(offer, {"port": 9, "ufrag": "x", "pwd": "x", "fingerprint": "x", "setup": "passive"})
    echo = ",".join(f"{chosen[k]}:{ECHO[k]}" for k in ("audio", "video"))
    probe = subprocess.Popen([args.probe, "--dtls-role", args.dtls_role, "--echo", echo],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        params = json.loads(probe.stdout.readline())
        fingerprint = re.search(r"a=fingerprint:sha-256 ([0-9A-Fa-f:]+)", offer).group(1)
        probe.stdin.write(f"fingerprint {fingerprint}\n")
        probe.stdin.flush()
        sdp, _ = answer_sdp(offer, params)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        for _ in range(200):
            if pc.connectionState in ("connected", "failed"):
                break
            await asyncio.sleep(0.05)
        state = pc.connectionState
        await asyncio.sleep(args.seconds)
        probe.stdin.write("stats\n")
        probe.stdin.flush()
        server = json.loads(probe.stdout.readline() or "null")
        await pc.close()
        print(json.dumps({"aiortc": {"state": state, "received": received}, "server": server}))
    finally:
        probe.kill()


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(), 90))
