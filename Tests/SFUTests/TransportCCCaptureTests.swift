import NIOCore
import RTCBase
import RTCP
import RTCTestSupport
import RTP
import SFU
import Testing

/// Cross-check against real traffic: the packets aiortc sent Chromium in `chromium-aiortc-av` are fed
/// to the generator at their capture times; what it builds must parse back, report exactly the
/// packets seen at the times seen, and agree with the feedback Chromium itself sent for them.
@Suite struct TransportCCCaptureTests {
    // Directions checked on the capture's ports: aiortc (39819) sends 0x99218DF6 (Opus) and 0x9E31483F (VP8);
    // Chromium (49574) sends 0x146414F6, 0x65B537FC and 0x3956E1B8 (RTX) and the transport-cc feedback.
    static let aiortcSSRCs: Set<SSRC> = [0x9921_8DF6, 0x9E31_483F]
    static let chromiumSSRCs: Set<SSRC> = [0x1464_14F6, 0x65B5_37FC, 0x3956_E1B8]
    static let map = RTPHeaderExtensionMap([(uri: "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", id: UInt8(3))])

    struct Replay {
        var seen: [UInt16: Int64] = [:]            // transport seq -> arrival µs (capture)
        var ours: [RTCPTransportFeedback] = []
        var oursWire: [ByteBuffer] = []
        var chromium: [RTCPTransportFeedback] = []
    }

    static func replay() throws -> Replay {
        let capture = try #require(CaptureCorpus.captures.first { $0.name == "chromium-aiortc-av.plain.pcap" })
        let datagrams = try capture.udpDatagrams()
        let t0 = try #require(datagrams.first).timestampNanoseconds
        var gen = TransportCCFeedbackGenerator(senderSSRC: 1)
        var r = Replay()
        func drain(until now: Duration) {
            while let deadline = gen.nextDeadline, deadline <= now {
                let packets = gen.handleTimeout(now: deadline)
                for p in packets {
                    r.oursWire.append(RTCPPacket.encodeCompound([p]))
                    if case .transportFeedback(let f) = p { r.ours.append(f) }
                }
            }
        }
        for d in datagrams {
            let now = Duration.nanoseconds(Int64(d.timestampNanoseconds - t0))
            drain(until: now)
            switch DatagramKind.classify(d.payload.readableBytesView) {
            case .rtp:
                guard let p = try? RTPPacket(parsing: d.payload), aiortcSSRCs.contains(p.ssrc) else { continue }
                if let seq = p.transportSequenceNumber(map), r.seen[seq] == nil {
                    r.seen[seq] = Int64(d.timestampNanoseconds - t0) / 1_000
                }
                gen.record(p, extensions: map, arrival: now)
            case .rtcp:
                for case .transportFeedback(let f) in RTCPPacket.parseCompoundLeniently(d.payload).packets
                where chromiumSSRCs.contains(f.senderSSRC) {
                    r.chromium.append(f)
                }
            default: continue
            }
        }
        drain(until: .seconds(3600))
        return r
    }

    @Test func generatedFeedbackMatchesTheCapture() throws {
        let r = try Self.replay()
        #expect(r.seen.count > 500)
        #expect(!r.ours.isEmpty && !r.chromium.isEmpty)
        // Every feedback parses back strictly and re-encodes byte for byte.
        for wire in r.oursWire {
            let parsed = try RTCPPacket.parseCompound(wire)
            #expect(RTCPPacket.encodeCompound(parsed) == wire)
        }
        #expect(r.ours.map(\.feedbackPacketCount) == (0..<r.ours.count).map { UInt8(truncatingIfNeeded: $0) })
        // Exactly the packets seen are reported received, at the capture time to within rounding.
        var reported: [UInt16: Int64] = [:]
        for f in r.ours { for (seq, t) in f.arrivalTimesMicroseconds { reported[seq] = t } }
        #expect(Set(reported.keys) == Set(r.seen.keys))
        let worst = r.seen.map { abs((reported[$0.key] ?? .max / 2) - $0.value) }.max() ?? 0
        #expect(worst <= 125)
        // Chromium's own feedback: what it received we saw, and its inter-arrival deltas agree with
        // the capture's (both timestamp the same loopback packets, a few hundred µs apart at most).
        var diffs: [Int64] = []
        var chromiumReceived = Set<UInt16>()
        for f in r.chromium {
            let times = f.arrivalTimesMicroseconds
            chromiumReceived.formUnion(times.map(\.sequenceNumber))
            for (a, b) in zip(times, times.dropFirst()) {
                guard let ca = r.seen[a.sequenceNumber], let cb = r.seen[b.sequenceNumber] else {
                    Issue.record("Chromium reports \(a.sequenceNumber)/\(b.sequenceNumber), not in the capture"); continue
                }
                diffs.append(abs((b.time - a.time) - (cb - ca)))
            }
        }
        #expect(chromiumReceived.isSubset(of: Set(r.seen.keys)))
        #expect(r.seen.count - chromiumReceived.count <= 20)   // only the tail after Chromium's last feedback
        diffs.sort()
        let median = diffs.isEmpty ? Int64.max : diffs[diffs.count / 2]
        let p95 = diffs.isEmpty ? Int64.max : diffs[diffs.count * 95 / 100]
        print("transport-cc capture replay: \(r.seen.count) packets, \(r.ours.count) feedbacks built, \(r.chromium.count) from Chromium; |Δ ours − Δ Chromium| median \(median) µs, p95 \(p95) µs")
        #expect(median <= 250)
        #expect(p95 <= 1_000)
    }
}
