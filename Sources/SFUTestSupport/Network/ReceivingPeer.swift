import NIOCore
import RTCBase
import RTCP
import RTP
import SFU

/// The receiving side of a browser in virtual time, on top of a ``BrowserPeer`` (which decrypts): transport-cc
/// feedback as Chromium sends it, receiver reports, NACKs and PLIs, and a decoder model that says when each frame
/// could be shown — so that scenarios can measure what a person would see.
///
/// * **Feedback** (Chromium's `RemoteEstimatorProxy`): every packet's transport-wide number and arrival time, sent
///   every `clamp(68 B × 8 / (5 % of the incoming bitrate), 50 ms, 250 ms)` (100 ms before a rate is known) —
///   the `chromium-aiortc-av` capture shows 62 ms at ~170 kbit/s rising to 140 ms as the rate fell.
/// * **Receiver reports** every second per media SSRC (fraction lost over the interval).
/// * **Losses**: a missing media packet is NACKed 20 ms after the gap is seen and again every 100 ms; given up
///   after 600 ms, when a PLI is sent (and the decoder waits for a key frame).
/// * **Decoder**: a frame (packets from a start-of-frame to the marker) is shown when all its packets are in and
///   everything before it was shown — or, after a loss given up on, when it is a complete key frame.
public final class ReceivingPeer {
    /// One consumer stream the peer receives.
    final class Stream {
        let ssrc: UInt32
        let rtxSSRC: UInt32?
        let isVideo: Bool
        var packets: [UInt16: (arrival: Duration, start: Bool, marker: Bool, key: Bool, timestamp: UInt32, layer: Int?)] = [:]
        var highest: UInt16?
        var missing: [UInt16: (seen: Duration, nacked: Duration?)] = [:]
        var renderFrom: UInt16?
        var waitingForKeyFrame = true
        var frames: [(shown: Duration, width: Int)] = []
        var expectedInInterval = 0
        var receivedInInterval = 0
        var intervalStart: UInt16?
        var cumulativeLost = 0
        var pliSent = 0
        var nacksSent = 0
        init(ssrc: UInt32, rtxSSRC: UInt32?, isVideo: Bool) {
            self.ssrc = ssrc
            self.rtxSSRC = rtxSSRC
            self.isVideo = isVideo
        }
    }

    public let peer: BrowserPeer
    let twccID: UInt8?
    let twccMap: RTPHeaderExtensionMap?
    var streams: [Stream] = []
    var arrivals: [(UInt16, Duration)] = []
    public internal(set) var feedbackCount: UInt8 = 0
    var nextFeedback: Duration = .milliseconds(100)
    var nextReport: Duration = .seconds(1)
    var received = BitrateWindow()
    let senderSSRC: SSRC
    /// Per media SSRC, the newest sender report (its compact NTP time, and when it arrived): echoed in receiver
    /// reports so that the router measures the round-trip time, as browsers let it.
    var lastSenderReport: [UInt32: (UInt32, Duration)] = [:]

    init(peer: BrowserPeer, consumers: [RouterHarness.Consumer], senderSSRC: UInt32) {
        self.peer = peer
        self.senderSSRC = SSRC(senderSSRC)
        twccID = consumers.lazy.compactMap { $0.parameters.headerExtensionMap[.transportWideCC]?.rawValue }.first
        twccMap = twccID.map { RTPHeaderExtensionMap([(uri: ORTC.URI.transportWideCC, id: $0)]) }
        for c in consumers {
            let e = c.parameters.encodings[0]
            streams.append(Stream(ssrc: e.ssrc ?? 0, rtxSSRC: e.rtxSSRC, isVideo: c.parameters.codecs.first?.mimeType.lowercased().hasPrefix("video") == true))
        }
    }

    /// Takes a datagram that arrived at `now`.
    func receive(_ bytes: ByteBuffer, now: Duration) {
        let reception = peer.receive(bytes, now: now)
        if case .rtcp(let packets) = reception {
            for case .senderReport(let sr) in packets { lastSenderReport[sr.ssrc.rawValue] = (sr.ntpTime.middle32, now) }
            return
        }
        guard case .rtp(let packet) = reception else { return }
        received.add(bytes.readableBytes, now: now)
        if let map = twccMap, let seq = packet.transportSequenceNumber(map) {
            arrivals.append((seq, now))
        }
        let ssrc = packet.ssrc.rawValue
        if let s = streams.first(where: { $0.ssrc == ssrc }) {
            media(packet, on: s, now: now)
        } else if let s = streams.first(where: { $0.rtxSSRC == ssrc }), packet.payloadLength >= 2 {
            let osn = packet.payload.getInteger(at: packet.payload.readerIndex, as: UInt16.self)!
            guard s.missing[osn] != nil, var original = try? packet.rtxDecapsulated(originalSSRC: SSRC(ssrc), originalPayloadType: packet.payloadType) else { return }
            original.sequenceNumber = RTPSequenceNumber(osn)
            media(original, on: s, now: now)
        }
    }

    func media(_ p: RTPPacket, on s: Stream, now: Duration) {
        let seq = p.sequenceNumber.rawValue
        guard s.packets[seq] == nil else { return }
        var start = true, key = false
        if s.isVideo, let d = try? VP8PayloadDescriptor(parsing: p.payload) {
            start = d.startOfPartition && d.partitionIndex == 0
            let header = p.payload.getInteger(at: p.payload.readerIndex + d.length, as: UInt8.self) ?? 1
            key = start && header & 1 == 0
        }
        s.packets[seq] = (now, start, p.marker, key, p.timestamp.rawValue, nil)
        s.missing[seq] = nil
        s.receivedInInterval += 1
        if let h = s.highest {
            let d = Int(Int16(bitPattern: seq &- h))
            if d > 0 {
                var m = h &+ 1
                while m != seq {
                    s.missing[m] = (now, nil)
                    m &+= 1
                }
                s.highest = seq
            }
        } else {
            s.highest = seq
            s.intervalStart = seq
        }
        if s.packets.count > 4_000 { s.packets = s.packets.filter { now - $0.value.arrival < .seconds(3) } }
        if s.isVideo { render(s, now: now) }
    }

    /// Shows every frame that is ready (see the type's description).
    func render(_ s: Stream, now: Duration) {
        while true {
            if s.waitingForKeyFrame {
                // The oldest complete key frame not shown yet.
                let keys = s.packets.filter { p in p.value.key && s.renderFrom.map { Int16(bitPattern: p.key &- $0) >= 0 } ?? true }
                    .map(\.key).sorted { Int16(bitPattern: $0 &- $1) < 0 }
                guard let k = keys.first(where: { complete(s, from: $0) != nil }) else { return }
                s.waitingForKeyFrame = false
                s.renderFrom = k
                for m in s.missing.keys where Int16(bitPattern: m &- k) < 0 { s.missing[m] = nil }
            }
            guard let from = s.renderFrom, let end = complete(s, from: from) else { return }
            var shown = Duration.zero
            var q = from
            while true {
                shown = max(shown, s.packets[q]!.arrival)
                if q == end { break }
                q &+= 1
            }
            s.frames.append((shown, 0))
            s.renderFrom = end &+ 1
            if s.frames.count > 10_000 { s.frames.removeFirst(5_000) }
        }
    }

    /// The last packet of the frame starting at `from`, when every packet of it is in.
    func complete(_ s: Stream, from: UInt16) -> UInt16? {
        guard let first = s.packets[from], first.start else { return nil }
        var q = from
        for _ in 0..<200 {
            guard let p = s.packets[q] else { return nil }
            if p.marker { return q }
            q &+= 1
        }
        return nil
    }

    /// Runs the peer's timers at `now`: NACKs and PLIs, feedback, reports. Returns the compounds to send.
    func tick(now: Duration) -> [[RTCPPacket]] {
        var out: [[RTCPPacket]] = []
        for s in streams where s.isVideo {
            var nack: [UInt16] = []
            for (seq, m) in s.missing {
                if now - m.seen >= .milliseconds(600) {
                    s.missing[seq] = nil
                    s.cumulativeLost += 1
                    if !s.waitingForKeyFrame {
                        s.waitingForKeyFrame = true
                        s.pliSent += 1
                        out.append([.pictureLossIndication(RTCPPictureLossIndication(senderSSRC: senderSSRC, mediaSSRC: SSRC(s.ssrc)))])
                    }
                } else if now - m.seen >= .milliseconds(20), m.nacked.map({ now - $0 >= .milliseconds(100) }) ?? true {
                    nack.append(seq)
                    s.missing[seq] = (m.seen, now)
                }
            }
            if !nack.isEmpty {
                s.nacksSent += 1
                out.append([.nack(RTCPGenericNACK(senderSSRC: senderSSRC, mediaSSRC: SSRC(s.ssrc), lost: nack.sorted()))])
            }
            if s.waitingForKeyFrame { render(s, now: now) }
        }
        if now >= nextFeedback {
            if !arrivals.isEmpty, let fb = feedback() { out.append([.transportFeedback(fb)]) }
            let rate = received.bitrate(now: now)
            let interval = rate > 0 ? min(max(68.0 * 8 / (0.05 * Double(rate)), 0.05), 0.25) : 0.1
            nextFeedback = now + .microseconds(Int64(interval * 1e6))
        }
        if now >= nextReport {
            var blocks: [RTCPReportBlock] = []
            for s in streams {
                guard let start = s.intervalStart, let h = s.highest else { continue }
                let expected = Int(h &- start) + 1
                let lost = max(0, expected - s.receivedInInterval)
                let fraction = expected > 0 ? UInt8(min(255, lost * 256 / expected)) : 0
                var lsr: UInt32 = 0, dlsr: UInt32 = 0
                if let (ntp, at) = lastSenderReport[s.ssrc] {
                    lsr = ntp
                    let delay = now - at
                    dlsr = UInt32(clamping: (delay.components.seconds << 16) + delay.components.attoseconds / 15_258_789_062_500)
                }
                blocks.append(RTCPReportBlock(ssrc: SSRC(s.ssrc), fractionLost: fraction, cumulativeLost: Int32(s.cumulativeLost),
                                              extendedHighestSequenceNumber: UInt32(h), jitter: 0, lastSenderReport: lsr,
                                              delaySinceLastSenderReport: dlsr))
                s.intervalStart = h &+ 1
                s.receivedInInterval = 0
            }
            if !blocks.isEmpty { out.append([.receiverReport(RTCPReceiverReport(ssrc: senderSSRC, reports: blocks))]) }
            nextReport = now + .seconds(1)
        }
        return out
    }

    /// One feedback message for every arrival since the last (Chromium reports each number once, in order).
    func feedback() -> RTCPTransportFeedback? {
        let sorted = arrivals.sorted { Int16(bitPattern: $0.0 &- $1.0) < 0 }
        arrivals.removeAll()
        guard let base = sorted.first?.0, let last = sorted.last?.0 else { return nil }
        let count = Int(last &- base) + 1
        guard count <= 2_000 else { return nil }
        var times = [Duration?](repeating: nil, count: count)
        for (seq, t) in sorted { times[Int(seq &- base)] = t }
        let firstArrival = sorted.map(\.1).min()!
        let reference = Int64(firstArrival.components.seconds) * 1_000_000 / 64_000
            + firstArrival.components.attoseconds / 1_000_000_000_000 / 64_000
        var previous = reference * 64_000
        let deltas: [Int16?] = times.map { t in
            guard let t else { return nil }
            let us = Int64(t.components.seconds) * 1_000_000 + t.components.attoseconds / 1_000_000_000_000
            let ticks = (us - previous) / 250
            previous += ticks * 250
            return Int16(clamping: ticks)
        }
        defer { feedbackCount &+= 1 }
        return RTCPTransportFeedback(senderSSRC: senderSSRC, mediaSSRC: 0, baseSequenceNumber: base,
                                     referenceTime: Int32(truncatingIfNeeded: reference), feedbackPacketCount: feedbackCount, deltas: deltas)
    }

    /// Frames shown per consumer stream (video only), in order: the instants.
    public func shownFrames(ssrc: UInt32) -> [Duration] { streams.first { $0.ssrc == ssrc }?.frames.map(\.shown) ?? [] }

    /// How many packets of the audio streams arrived between `from` and `to`.
    public func audioPackets(from: Duration, to: Duration) -> Int {
        streams.filter { !$0.isVideo }.reduce(0) { n, s in n + s.packets.values.count { $0.arrival >= from && $0.arrival < to } }
    }
}

/// Bytes over a sliding second, for the feedback cadence.
struct BitrateWindow {
    var samples: [(Duration, Int)] = []
    mutating func add(_ bytes: Int, now: Duration) {
        samples.append((now, bytes))
        if samples.count > 2_000 { samples.removeFirst(1_000) }
    }
    func bitrate(now: Duration) -> Int {
        samples.reduce(0) { now - $1.0 <= .seconds(1) ? $0 + $1.1 : $0 } * 8
    }
}
