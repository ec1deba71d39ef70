#!/usr/bin/env python3
"""Uplink quality (issue #14): what a producing Chromium's own estimator makes of the feedback it gets. Run as root
inside a loopback-only network namespace (netns.sh); no bandwidth limit anywhere.

  uplink.py [--joins 10] [--anchors 3] [--seconds 12] [--video 640x360] [--tap DIR]

  anchor  --anchors direct Chromium↔Chromium calls (direct.html, no server, camera + microphone): the sender's
          availableOutgoingBitrate, its receiver's transport-cc feedback being the reference
  joins   --joins times: a fresh `sfu` ($SFU_BINARY) and three Chromium participants (call.html, camera in simulcast
          and microphone), all joining at once; each sender's send-transport availableOutgoingBitrate and per-layer
          outbound figures (targetBitrate, framesPerSecond, frameWidth, qualityLimitationReason) every 500 ms

Times count from the moment the sender's transport (the direct call's peer connection) is first seen connected.
With --tap DIR the server writes its plaintext tap there (a directory per join) and each send transport's pcap is
read back: for every transport-wide sequence number the browser sent, whether and when our feedback reported it
(the coverage figures of issue #14).

Prints one JSON object: {"anchor": [per call], "joins": [[per sender]], "figures": {...}}; each sender has
`estimateAt10sKbps` (availableOutgoingBitrate at ≥ 10 s), the series `estimateKbps` (one per second), the top
layer's frames per second (median over the last 4 s) and, with the tap, `coverage`.
"""
import argparse
import json
import os
import statistics
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from call_peer import Participant, Server, media_flowing, wait  # noqa: E402
from peerkit import call, chromium, serve_page  # noqa: E402

TCC = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

# Every 500 ms from the page: the selected pair's availableOutgoingBitrate and the video outbound streams.
SAMPLER = """
window.startUplinkSampling = (getPC) => {
  window.uplink = {connectedAt: null, samples: []};
  const pick = (r, fields) => Object.fromEntries(fields.filter((f) => r[f] !== undefined).map((f) => [f, r[f]]));
  setInterval(async () => {
    const pc = getPC();
    if (!pc) return;
    if (window.uplink.connectedAt === null) {
      if (pc.connectionState !== 'connected') return;
      window.uplink.connectedAt = performance.now();
    }
    const report = await pc.getStats();
    const s = {t: Math.round(performance.now() - window.uplink.connectedAt), pair: null, layers: []};
    report.forEach((r) => {
      if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') s.pair = pick(r, ['availableOutgoingBitrate', 'currentRoundTripTime']);
      if (r.type === 'outbound-rtp' && r.kind === 'video') s.layers.push(pick(r, ['rid', 'targetBitrate', 'framesPerSecond', 'frameWidth',
        'frameHeight', 'bytesSent', 'packetsSent', 'qualityLimitationReason', 'active']));
    });
    window.uplink.samples.push(s);
  }, 500);
  return true;
};
"""


def summarise(samples, seconds):
    """The figures of one sender from its 500 ms samples."""
    est = [(s["t"], s["pair"]["availableOutgoingBitrate"]) for s in samples if (s.get("pair") or {}).get("availableOutgoingBitrate")]
    per_second = []
    for k in range(1, int(seconds) + 1):
        e = next((b for t, b in est if t >= 1000 * k), None)
        per_second.append(round(e / 1000) if e else None)
    at10 = next((b for t, b in est if t >= 10_000), None)
    out = {"estimateKbps": per_second, "estimateAt10sKbps": round(at10 / 1000) if at10 else None,
           "minEstimateAfter2sKbps": round(min((b for t, b in est if t >= 2000), default=0) / 1000)}
    last = [s for s in samples if s["t"] >= 1000 * (seconds - 4)]
    if last and last[-1]["layers"]:
        top = max(last[-1]["layers"], key=lambda r: r.get("frameWidth", 0) * 10_000 + r.get("targetBitrate", 0) / 1e6)
        key = top.get("rid")
        fps = [l.get("framesPerSecond", 0) for s in last for l in s["layers"] if l.get("rid") == key]
        out["topLayer"] = {"rid": key, "frameWidth": top.get("frameWidth"), "targetBitrateKbps": round(top.get("targetBitrate", 0) / 1000),
                           "fpsMedian": statistics.median(fps) if fps else 0,
                           "qualityLimitationReason": top.get("qualityLimitationReason")}
        out["layers"] = [{"rid": l.get("rid"), "frameWidth": l.get("frameWidth"), "fps": l.get("framesPerSecond"),
                          "targetBitrateKbps": round(l.get("targetBitrate", 0) / 1000)} for l in last[-1]["layers"]]
    return out


# --- The tap's pcaps: transport-wide sequence numbers in, transport-cc feedback out --------------------------------

def pcap_packets(path):
    """(time in µs, source port, destination port, UDP payload) of a classic pcap with synthetic Ethernet/IPv4/UDP."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    endian, nano = ("<", magic == 0xA1B23C4D) if magic in (0xA1B2C3D4, 0xA1B23C4D) else (">", magic == 0x4D3CB2A1)
    off, out = 24, []
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(frame) < 42 or frame[12:14] != b"\x08\x00":
            continue
        ihl = (frame[14] & 0x0F) * 4
        udp = 14 + ihl
        sport, dport = struct.unpack(">HH", frame[udp:udp + 4])
        out.append((sec * 1_000_000 + (frac // 1000 if nano else frac), sport, dport, frame[udp + 8:]))
    return out


def rtp_extensions(p):
    """{id: bytes} of an RTP packet's header extension (RFC 8285 one- and two-byte forms)."""
    if len(p) < 12 or not p[0] & 0x10:
        return {}
    off = 12 + 4 * (p[0] & 0x0F)
    if off + 4 > len(p):
        return {}
    profile, words = struct.unpack(">HH", p[off:off + 4])
    body = p[off + 4:off + 4 + 4 * words]
    out, i = {}, 0
    if profile == 0xBEDE:
        while i < len(body):
            b = body[i]
            if b == 0:
                i += 1
                continue
            ident, length = b >> 4, (b & 0x0F) + 1
            if ident == 15:
                break
            out[ident] = body[i + 1:i + 1 + length]
            i += 1 + length
    elif profile & 0xFFF0 == 0x1000:
        while i + 1 < len(body):
            ident = body[i]
            if ident == 0:
                i += 1
                continue
            length = body[i + 1]
            out[ident] = body[i + 2:i + 2 + length]
            i += 2 + length
    return out


def transport_feedback(p):
    """[(base sequence, [(sequence, arrival µs or None)])] of the transport-cc packets (RTPFB 15) of an RTCP compound."""
    out, off = [], 0
    while off + 4 <= len(p):
        fmt, pt, words = p[off] & 0x1F, p[off + 1], struct.unpack(">H", p[off + 2:off + 4])[0]
        end = off + 4 * (words + 1)
        if pt == 205 and fmt == 15 and end <= len(p):
            body = p[off + 12:end]
            base, count = struct.unpack(">HH", body[:4])
            reference = int.from_bytes(body[4:7], "big", signed=True) * 64_000
            i, statuses = 8, []
            while len(statuses) < count and i + 2 <= len(body):
                chunk = struct.unpack(">H", body[i:i + 2])[0]
                i += 2
                if not chunk & 0x8000:
                    statuses += [(chunk >> 13) & 3] * (chunk & 0x1FFF)
                elif not chunk & 0x4000:
                    statuses += [(chunk >> (13 - k)) & 1 for k in range(14)]
                else:
                    statuses += [(chunk >> (12 - 2 * k)) & 3 for k in range(7)]
            statuses = statuses[:count]
            t, entries = reference, []
            for k, s in enumerate(statuses):
                seq = (base + k) & 0xFFFF
                if s == 0:
                    entries.append((seq, None))
                    continue
                if s == 1:
                    delta = body[i]
                    i += 1
                else:
                    delta = struct.unpack(">h", body[i:i + 2])[0]
                    i += 2
                t += delta * 250
                entries.append((seq, t))
            out.append((base, entries))
        off = end
    return out


def coverage(path, tcc_id):
    """For every transport-wide sequence number that reached the server on this transport: whether our feedback
    reported it received (and its arrival time there against the tap's), reported it lost, or never covered it."""
    packets = pcap_packets(path)
    rtp = [(t, s, d, p) for t, s, d, p in packets if len(p) >= 12 and p[0] >> 6 == 2 and not 192 <= p[1] <= 223]
    if not rtp:
        return None
    server_port = rtp[0][2]
    t0 = rtp[0][0]
    seen, ssrc_of = {}, {}
    for t, _, d, p in rtp:
        ext = rtp_extensions(p).get(tcc_id)
        if d == server_port and ext is not None and len(ext) == 2:
            seq = struct.unpack(">H", ext)[0]
            if seq not in seen:
                seen[seq] = t
                ssrc_of[seq] = struct.unpack(">I", p[8:12])[0]
    first_status = {}   # seq -> (feedback time, arrival or None): the first report of each number
    ever_received = set()
    feedbacks = 0
    for t, s, _, p in packets:
        if s != server_port or len(p) < 8 or not 192 <= p[1] <= 223:
            continue
        for _, entries in transport_feedback(p):
            feedbacks += 1
            for seq, arrival in entries:
                first_status.setdefault(seq, (t, arrival))
                if arrival is not None:
                    ever_received.add(seq)
    received = [s for s in seen if first_status.get(s, (0, None))[1] is not None]
    lost_first = sorted(s for s in seen if s in first_status and first_status[s][1] is None)
    never = sorted(s for s in seen if s not in first_status)
    # How much later than the reported arrival the tap stamped each packet, relative to the first: the tap stamps a
    # whole batch of datagrams when the worker flushes it, the feedback each datagram when it is read, so this is the
    # server's batching delay, not an error of the feedback.
    errors = []
    base = next((first_status[s][1] - seen[s] for s in sorted(seen, key=seen.get) if first_status.get(s, (0, None))[1] is not None), 0)
    for s in received:
        errors.append(abs(first_status[s][1] - seen[s] - base))
    late = [first_status[s][0] - seen[s] for s in received]
    return {"packets": len(seen), "feedbackPackets": feedbacks, "reportedReceived": len(received),
            "reportedLostFirst": len(lost_first), "reportedLostNeverCorrected": len([s for s in lost_first if s not in ever_received]),
            "neverReported": len(never),
            "lostFirstSsrcs": sorted({hex(ssrc_of[s]) for s in lost_first}),
            "lostFirstAtMs": [round((seen[s] - t0) / 1000) for s in lost_first[:5]] + ([round((seen[lost_first[-1]] - t0) / 1000)] if lost_first else []),
            "neverReportedAtMs": [round((seen[s] - t0) / 1000) for s in never[:3]],
            "tapAfterArrivalMaxUs": max(errors, default=0),
            "feedbackDelayP50Ms": round(statistics.median(late) / 1000, 1) if late else None}


def tcc_extension_id(sdp):
    for line in sdp.splitlines():
        if line.startswith("a=extmap:") and TCC in line:
            return int(line[len("a=extmap:"):].split()[0].split("/")[0])
    return None


# --- Runs ----------------------------------------------------------------------------------------------------------

def anchor_call(page_port, seconds, video):
    """One direct call: the sender's figures."""
    width, height = video.split("x")
    sender, receiver = chromium(), chromium()
    try:
        for d in (sender, receiver):
            d.get(f"http://127.0.0.1:{page_port}/direct.html")
        sender.execute_script(SAMPLER)
        offer = call(sender, f"window.offer({width}, {height})")
        call(sender, "window.startUplinkSampling(() => window.peer())")
        answer = call(receiver, f"window.answer({json.dumps(offer)})")
        call(sender, f"window.accept({json.dumps(answer)})")
        wait("direct call connected", lambda: call(sender, "window.uplink.connectedAt !== null"), 30)
        time.sleep(seconds + 0.7)
        return summarise(call(sender, "window.uplink.samples"), seconds)
    finally:
        for d in (sender, receiver):
            d.quit()


def join(page_port, seconds, video, tap=None):
    """Three participants joining one fresh server at once: each sender's figures."""
    env = {"RTC_PLAINTEXT_TAP_DIR": tap, "LOG_LEVEL": "debug"} if tap else {}
    if tap:
        os.makedirs(tap, exist_ok=True)
    server = Server(env)
    people = []
    try:
        channel = server.channel()
        people = [Participant(page_port, server, channel, i + 1, video=video) for i in range(3)]
        for p in people:
            p.driver.execute_script(SAMPLER)
            call(p.driver, "window.startUplinkSampling(() => window.sfu.sendTransport && window.sfu.sendTransport.pc)")
        wait("every sender connected", lambda: all(call(p.driver, "window.uplink.connectedAt !== null") for p in people), 60)
        time.sleep(seconds + 0.7)
        out = []
        for p in people:
            r = summarise(call(p.driver, "window.uplink.samples"), seconds)
            r["flowing"] = media_flowing(p, [q for q in people if q is not p])
            if tap:
                sdp = call(p.driver, "window.sfu.sendTransport.pc.localDescription.sdp")
                r["tccId"] = tcc_extension_id(sdp)
                r["sendPort"] = call(p.driver, "window.sfu.stats().then((s) => s.send.selectedCandidatePair && s.send.selectedCandidatePair.local)")
            out.append(r)
    finally:
        for p in people:
            p.close()
        log = server.stop()
    if tap:
        with open(os.path.join(tap, "server.log"), "w") as f:
            f.write(log)
        # The send transport of each sender: the pcap whose inbound RTP comes from its send pair's local port.
        files = [os.path.join(tap, f) for f in sorted(os.listdir(tap)) if f.endswith(".pcap")]
        by_port = {}
        for f in files:
            rtp = [(s, d) for _, s, d, p in pcap_packets(f) if len(p) >= 12 and p[0] >> 6 == 2 and not 192 <= p[1] <= 223]
            if rtp:
                by_port.setdefault(rtp[0][0], f)
        for r in out:
            port = int(str(r.get("sendPort") or ":0").rsplit(":", 1)[1])
            if port in by_port and r.get("tccId"):
                r["coverage"] = coverage(by_port[port], r["tccId"])
        unknown = [l for l in log.splitlines() if "unknown" in l.lower() and "stream" in l.lower()]
        out.append({"serverUnknownStreamLines": len(unknown)})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--joins", type=int, default=10)
    ap.add_argument("--anchors", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=12)
    ap.add_argument("--video", default="640x360")
    ap.add_argument("--tap", help="write the server's plaintext tap under this directory and report feedback coverage")
    args = ap.parse_args()
    page = serve_page(os.path.join(HERE, "client"))
    port = page.server_address[1]
    result = {"video": args.video, "seconds": args.seconds, "anchor": [], "joins": []}
    try:
        for _ in range(args.anchors):
            result["anchor"].append(anchor_call(port, args.seconds, args.video))
        for k in range(args.joins):
            tap = os.path.join(args.tap, f"join-{k + 1}") if args.tap else None
            result["joins"].append(join(port, args.seconds, args.video, tap))
        anchor = [a["estimateAt10sKbps"] for a in result["anchor"] if a.get("estimateAt10sKbps")]
        med = statistics.median(anchor) if anchor else None
        per_join = []
        for senders in result["joins"]:
            e = [s.get("estimateAt10sKbps") or 0 for s in senders if "estimateKbps" in s]
            per_join.append({"minKbps": min(e), "medianKbps": statistics.median(e),
                             "minOfAnchor": round(min(e) / med, 2) if med else None})
        result["figures"] = {"anchorMedianKbps": med, "anchorKbps": anchor, "perJoin": per_join,
                             "worstOfAnchor": min((j["minOfAnchor"] for j in per_join if j["minOfAnchor"] is not None), default=None)}
    except Exception as error:
        result["failure"] = f"{type(error).__name__}: {error}"
    print(json.dumps(result))


if __name__ == "__main__":
    main()
