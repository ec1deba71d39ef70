#!/usr/bin/env python3
"""Real browsers behind a real bottleneck (issue #10): one Chromium sends a simulcast camera and a microphone, a
second Chromium receives them, and the receiver's downlink — the UDP packets from the peer that sends to it to its
own port, read from getStats' selected candidate pair — goes through an htb class on `lo` whose rate steps
HIGH → LOW → HIGH, PHASE seconds each, with a bfifo of QUEUE bytes as its queue. Run as root inside a loopback-only
network namespace (netns.sh): the kernel here has htb, u32 and bfifo, no netem.

  bottleneck.py --mode send-side|loss-only|direct [--high 2500] [--low 400] [--phase 15] [--queue 64000]

  send-side  through `sfu` with RTC_CONGESTION_CONTROL=send-side (the server's estimate from its debug log)
  loss-only  through `sfu` with the old loss-only budget
  direct     the two browsers call each other with no server: the sender's own libwebrtc estimator (goog_cc, what
             mediasoup embeds) adapts its single encoding; the anchor of the comparison

Prints one JSON object: per-second rows (capacity, rate offered to the bottleneck and delivered by it, its drops and
backlog, the receiver's frames per second, frame width, freezes, packets lost, jitter-buffer delay, and the
estimate: the server's, or in direct mode the sender's availableOutgoingBitrate) and the figures of the drop:
time until the offered rate is under the capacity, loss over the 10 s after the drop (at the bottleneck and as
the receiver counts it), the longest freeze from 3 s after the drop to the rise, utilisation over the second
half of the low phase, and the time from the rise until the frame width is back at its top.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time
from datetime import datetime

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from call_peer import Participant, Server, inbound, media_flowing, wait  # noqa: E402
from peerkit import call, chromium, serve_page  # noqa: E402

SAMPLER = """
window.startSampling = (getPC) => {
  window.samples = [];
  const pick = (r, fields) => Object.fromEntries(fields.filter((f) => r[f] !== undefined).map((f) => [f, r[f]]));
  window.sampler = setInterval(async () => {
    const pc = getPC();
    if (!pc) return;
    const report = await pc.getStats();
    const s = {t: Date.now(), video: null, audio: null, pair: null};
    report.forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') s.video = pick(r, ['framesDecoded', 'bytesReceived', 'packetsReceived',
        'packetsLost', 'frameWidth', 'framesPerSecond', 'freezeCount', 'totalFreezesDuration', 'jitterBufferDelay',
        'jitterBufferEmittedCount', 'jitterBufferTargetDelay', 'keyFramesDecoded', 'nackCount', 'pliCount']);
      if (r.type === 'inbound-rtp' && r.kind === 'audio') s.audio = pick(r, ['packetsReceived', 'packetsLost', 'jitterBufferDelay',
        'jitterBufferTargetDelay', 'jitterBufferEmittedCount']);
      if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') {
        s.pair = pick(r, ['availableOutgoingBitrate', 'availableIncomingBitrate', 'currentRoundTripTime']);
      }
    });
    window.samples.push(s);
  }, 100);
  return true;
};
"""


def sh(*args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Bottleneck:
    """An htb class on lo for UDP from `sport` to `dport`, everything else through a 10 Gbit/s default class."""

    def __init__(self, sport, dport, kbps, queue):
        sh("tc", "qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb", "default", "99")
        sh("tc", "class", "add", "dev", "lo", "parent", "1:", "classid", "1:99", "htb", "rate", "10gbit", "quantum", "60000")
        sh("tc", "class", "add", "dev", "lo", "parent", "1:", "classid", "1:10", "htb", *self.rate(kbps))
        sh("tc", "qdisc", "add", "dev", "lo", "parent", "1:10", "handle", "10:", "bfifo", "limit", str(queue))
        sh("tc", "filter", "add", "dev", "lo", "parent", "1:", "protocol", "ip", "prio", "1", "u32", "match", "ip", "protocol", "17",
           "0xff", "match", "ip", "sport", str(sport), "0xffff", "match", "ip", "dport", str(dport), "0xffff", "flowid", "1:10")
        self.kbps = kbps

    @staticmethod
    def rate(kbps):
        # A burst of two full-size datagrams: the class serves at its rate, not in 16 KB gulps (a shaper's burst is
        # real, though: a probe smaller than it passes at line rate).
        return ["rate", f"{kbps}kbit", "ceil", f"{kbps}kbit", "burst", "3000", "cburst", "3000", "quantum", "1500"]

    def set(self, kbps):
        sh("tc", "class", "change", "dev", "lo", "parent", "1:", "classid", "1:10", "htb", *self.rate(kbps))
        self.kbps = kbps

    @staticmethod
    def counters():
        q = json.loads(subprocess.run(["tc", "-s", "-j", "qdisc", "show", "dev", "lo", "handle", "10:"], check=True,
                                      capture_output=True, text=True).stdout)[0]
        return {"bytes": q["bytes"], "packets": q["packets"], "drops": q["drops"], "backlog": q["backlog"]}

    @staticmethod
    def remove():
        subprocess.run(["tc", "qdisc", "del", "dev", "lo", "root"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def port_of(address):
    return int(address.rsplit(":", 1)[1])


def server_estimates(log):
    """(unix time, bits per second) of every estimate line of the server's debug log."""
    out = []
    for line in log.splitlines():
        m = re.match(r"(\S+Z) .*: estimate (\d+) bps", line)
        if m:
            t = datetime.fromisoformat(m.group(1).replace("Z", "+00:00")).timestamp()
            out.append((t, int(m.group(2))))
    return out


def figures(rows, samples, drop, rise, low_kbps):
    """The figures of the drop from the 100 ms receiver samples and the 200 ms bottleneck counters."""
    video = [(s["t"] / 1000, s["video"]) for s in samples if s.get("video")]
    # Offered rate over 500 ms windows: what the queue took in (served + dropped + backlog growth).
    under = None
    for r in rows:
        if r["t"] >= drop and r["offeredKbps"] is not None and r["offeredKbps"] < low_kbps:
            under = round(r["t"] - drop, 1)
            break
    window = [r for r in rows if drop <= r["t"] < drop + 10]
    dropped = sum(r["dropsDelta"] for r in window)
    passed = sum(r["packetsDelta"] for r in window)
    lost = lambda t: next((v.get("packetsLost", 0) for ts, v in video if ts >= t), None)   # noqa: E731
    received = lambda t: next((v.get("packetsReceived", 0) for ts, v in video if ts >= t), None)   # noqa: E731
    lost_media = None
    if lost(drop) is not None and lost(drop + 10) is not None:
        d_lost = lost(drop + 10) - lost(drop)
        d_recv = received(drop + 10) - received(drop)
        lost_media = round(100 * d_lost / max(1, d_lost + d_recv), 2)
    freeze, previous, last_frames = 0.0, drop + 3, None
    for ts, v in video:
        if ts < drop + 3 or ts > rise:
            continue
        frames = v.get("framesDecoded", 0)
        if last_frames is not None and frames > last_frames:
            freeze = max(freeze, ts - previous)
            previous = ts
        last_frames = frames
    freeze = max(freeze, rise - previous)
    half = drop + (rise - drop) / 2
    delivered = [r for r in rows if half <= r["t"] < rise]
    utilisation = round(100 * sum(r["bytesDelta"] for r in delivered) * 8 / (low_kbps * 1000 * (rise - half)), 1) if delivered else None
    top = max((v.get("frameWidth", 0) for ts, v in video if ts < drop), default=0)
    back = next((round(ts - rise, 1) for ts, v in video if ts >= rise and v.get("frameWidth", 0) >= top), None)
    return {"underCapacityAfterSeconds": under, "bottleneckLossPercent": round(100 * dropped / max(1, dropped + passed), 2),
            "receiverLossPercent": lost_media, "longestFreezeSeconds": round(freeze, 2), "utilisationPercent": utilisation,
            "topWidth": top, "topLayerBackAfterSeconds": back}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["send-side", "loss-only", "direct"], required=True)
    ap.add_argument("--high", type=int, default=2500, help="kbit/s before and after the drop")
    ap.add_argument("--low", type=int, default=400, help="kbit/s during the drop")
    ap.add_argument("--phase", type=float, default=15, help="seconds per phase")
    ap.add_argument("--queue", type=int, default=64000, help="bottleneck queue, bytes")
    ap.add_argument("--video", default="1280x720")
    ap.add_argument("--server-log", help="write the server's debug log here (send-side and loss-only)")
    ap.add_argument("--warmup", type=float, default=60, help="longest wait for the top resolution before the phases")
    args = ap.parse_args()
    width, height = (int(x) for x in args.video.split("x"))
    width_wanted = width
    page = serve_page(os.path.join(HERE, "client"))
    result = {"mode": args.mode, "highKbps": args.high, "lowKbps": args.low, "phaseSeconds": args.phase, "queueBytes": args.queue}
    server, peers, bottleneck = None, [], None
    try:
        if args.mode == "direct":
            sender, receiver = chromium(), chromium()
            peers = [sender, receiver]
            for d in peers:
                d.get(f"http://127.0.0.1:{page.server_address[1]}/direct.html")
            offer = call(sender, f"window.offer({width}, {height})")
            answer = call(receiver, f"window.answer({json.dumps(offer)})")
            call(sender, f"window.accept({json.dumps(answer)})")
            pc_expr = "window.peer()"

            def pair():
                stats = call(receiver, "window.peer().getStats().then((r) => { let out = null; r.forEach((s) => {"
                             " if (s.type === 'transport' && s.selectedCandidatePairId) { const p = r.get(s.selectedCandidatePairId);"
                             " out = {local: r.get(p.localCandidateId).port, remote: r.get(p.remoteCandidateId).port}; } }); return out; })")
                return stats
            wait("direct call connected", lambda: pair(), 30)
            ports = pair()
            sport, dport = ports["remote"], ports["local"]
            sender.execute_script(SAMPLER)
            call(sender, "window.startSampling(() => window.peer())")
        else:
            server = Server({"RTC_CONGESTION_CONTROL": args.mode, "LOG_LEVEL": "debug"})
            channel = server.channel()
            sending = Participant(page.server_address[1], server, channel, 1, mic=True, camera=True, video=args.video)
            receiving = Participant(page.server_address[1], server, channel, 2, mic=False, camera=False)
            peers = [sending.driver, receiving.driver]
            receiver = receiving.driver
            wait("media at the receiver", lambda: media_flowing(receiving, [sending]), 60)
            selected = wait("receive transport's pair", lambda: ((receiving.state().get("stats") or {}).get("recv") or {}).get("selectedCandidatePair"), 20)
            sport, dport = port_of(selected["remote"]), port_of(selected["local"])
            pc_expr = "window.sfu.recvTransport && window.sfu.recvTransport.pc"
        receiver.execute_script(SAMPLER)
        call(receiver, f"window.startSampling(() => {pc_expr})")
        bottleneck = Bottleneck(sport, dport, args.high, args.queue)
        # Warm-up at the high rate until the receiver gets the top resolution (the sender's browser ramps its own
        # uplink estimate and layers up first), at most --warmup seconds; then the three phases.
        def width():
            last = call(receiver, "window.samples.length ? window.samples[window.samples.length - 1] : null")
            return ((last or {}).get("video") or {}).get("frameWidth", 0)
        warm = time.time()
        while time.time() - warm < args.warmup and width() < width_wanted:
            time.sleep(0.5)
        result["warmupSeconds"] = round(time.time() - warm, 1)
        result["widthAtStart"] = width()
        start = time.time()
        drop, rise, end = start + args.phase, start + 2 * args.phase, start + 3 * args.phase
        counters = []
        while time.time() < end:
            now = time.time()
            if bottleneck.kbps == args.high and drop <= now < rise:
                bottleneck.set(args.low)
            elif bottleneck.kbps == args.low and now >= rise:
                bottleneck.set(args.high)
            counters.append((now, bottleneck.kbps, Bottleneck.counters()))
            time.sleep(0.1)
        samples = call(receiver, "window.samples")
        sender_samples = call(peers[0], "window.samples") if args.mode == "direct" else []
        # Per 500 ms of the bottleneck's counters: offered (served + dropped + backlog growth) and delivered.
        rows = []
        for (t0, _, a), (t1, kbps, b) in zip(counters, counters[5:]):
            dt = t1 - t0
            avg = (b["bytes"] - a["bytes"]) / max(1, b["packets"] - a["packets"])
            offered = (b["bytes"] - a["bytes"] + (b["drops"] - a["drops"]) * avg + b["backlog"] - a["backlog"]) * 8 / dt / 1000
            rows.append({"t": t1, "capacityKbps": kbps, "offeredKbps": round(offered), "deliveredKbps": round((b["bytes"] - a["bytes"]) * 8 / dt / 1000),
                         "bytesDelta": 0, "packetsDelta": 0, "dropsDelta": 0, "backlogBytes": b["backlog"]})
        # Exact per-interval deltas (100 ms) for sums.
        for (t0, _, a), (t1, _, b) in zip(counters, counters[1:]):
            r = next((r for r in rows if r["t"] >= t1), None)
            if r:
                r["bytesDelta"] += b["bytes"] - a["bytes"]
                r["packetsDelta"] += b["packets"] - a["packets"]
                r["dropsDelta"] += b["drops"] - a["drops"]
        result["figures"] = figures(rows, samples, drop, rise, args.low)
        log = server.stop() if server else ""
        if args.server_log and server:
            with open(args.server_log, "w") as f:
                f.write(log)
        estimates = server_estimates(log)
        server = None
        # One row a second for the table.
        table = []
        for k in range(int(3 * args.phase)):
            t = start + k + 1
            v = next((s for s in samples if s["t"] / 1000 >= t and s.get("video")), None)
            v0 = next((s for s in samples if s["t"] / 1000 >= t - 1 and s.get("video")), None)
            r = next((r for r in rows if r["t"] >= t), None)
            if args.mode == "direct":
                e = next((s["pair"].get("availableOutgoingBitrate") for s in sender_samples if s["t"] / 1000 >= t and s.get("pair")), None)
            else:
                e = next((b for ts, b in reversed(estimates) if ts <= t), None)
            row = {"second": k + 1, "capacityKbps": r["capacityKbps"] if r else None, "offeredKbps": r["offeredKbps"] if r else None,
                   "deliveredKbps": r["deliveredKbps"] if r else None, "backlogBytes": r["backlogBytes"] if r else None,
                   "estimateKbps": round(e / 1000) if e else None}
            if v and v0:
                a, b = v0["video"], v["video"]
                emitted = b.get("jitterBufferEmittedCount", 0) - a.get("jitterBufferEmittedCount", 0)
                row.update({"fps": b.get("framesPerSecond"), "frameWidth": b.get("frameWidth"), "freezeCount": b.get("freezeCount"),
                            "packetsLost": b.get("packetsLost"), "keyFrames": b.get("keyFramesDecoded", 0) - a.get("keyFramesDecoded", 0),
                            "targetDelayMs": round(1000 * (b.get("jitterBufferTargetDelay", 0) - a.get("jitterBufferTargetDelay", 0)) / emitted) if emitted > 0 else None,
                            "nacks": b.get("nackCount", 0) - a.get("nackCount", 0),
                            "jitterBufferMs": round(1000 * (b.get("jitterBufferDelay", 0) - a.get("jitterBufferDelay", 0)) / emitted) if emitted > 0 else None})
            au, au0 = (v or {}).get("audio"), (v0 or {}).get("audio")
            if au and au0 and au.get("jitterBufferEmittedCount", 0) > au0.get("jitterBufferEmittedCount", 0):
                n = au["jitterBufferEmittedCount"] - au0["jitterBufferEmittedCount"]
                row["audioTargetDelayMs"] = round(1000 * (au.get("jitterBufferTargetDelay", 0) - au0.get("jitterBufferTargetDelay", 0)) / n)
            p = (v or {}).get("pair")
            if p and p.get("currentRoundTripTime") is not None:
                row["rttMs"] = round(1000 * p["currentRoundTripTime"])
            table.append(row)
        result["seconds"] = table
        # Latency the receiver adds: video frames' jitter-buffer delay and audio's target (lip sync ties them).
        jb = [r["jitterBufferMs"] for r in table if r.get("jitterBufferMs") is not None]
        at = [r["audioTargetDelayMs"] for r in table if r.get("audioTargetDelayMs") is not None]
        result["figures"]["maxJitterBufferMs"] = max(jb) if jb else None
        result["figures"]["maxAudioTargetDelayMs"] = max(at) if at else None
    except Exception as error:
        result["failure"] = f"{type(error).__name__}: {error}"
    finally:
        Bottleneck.remove()
        for d in peers:
            try:
                d.quit()
            except Exception:
                pass
        if server:
            server.stop()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
