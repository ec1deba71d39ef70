import Benchmark
import ICE
import NIOCore
import RTP
import SFU
import SFUTestSupport
import SRTP

/// The full forwarding path of ``MediaRouter``: one SRTP-protected 1.2 kB VP8 datagram from the producing
/// browser into `router.handle` — demultiplexing, SRTP unprotect, RTP parse, stream matching, receive
/// statistics, NACK and transport-cc bookkeeping, then for each of N active consumers the forwarding
/// decision, header rewrite (SSRC, sequence number, timestamp, PT, MID, abs-send-time, transport-cc, VP8
/// picture id), retransmission-buffer store, sender-report accounting and SRTP protect — and the N
/// transmits drained. Figures are per input packet; forwarded packets per CPU-second = N × 1e9 / ns.
///
/// The router and its N + 1 peers come from ``RouterHarness`` (ICE, DTLS and SRTP negotiated for real, so
/// the SRTP profile is the default negotiation's: AES-256-GCM). Input datagrams are protected by the
/// producer peer in batches outside the measured interval, with increasing sequence numbers.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .cpuTotal, .throughput, .mallocCountTotal], maxDuration: .seconds(3))

    // Send-side congestion control (pacer, transport-wide stamping at send time, send history) and, for the
    // pacer's own cost in the same run, the loss-only budget, which sends unpaced.
    for mode in CongestionControlMode.allCases {
    for consumers in [1, 10, 50] {
        let suffix = mode == .sendSide ? "" : " (loss-only, unpaced)"
        Benchmark("MediaRouter.handle: 1.2 kB VP8 to \(consumers) consumer(s), per input packet\(suffix)",
                  configuration: .init(scalingFactor: .kilo)) { benchmark in
            let fixture = RouterFixture.shared(consumers: consumers, mode: mode)
            var batch = fixture.batch(benchmark.scaledIterations.count)
            let router = fixture.harness.router, source = fixture.harness.tuples[0]
            var sent = 0
            benchmark.startMeasurement()
            while let (datagram, now) = batch.popLast() {
                router.handle(Datagram(consume datagram, from: source), now: now)   // the only owner, as after a socket read
                while router.pollTransmit() != nil { sent += 1 }
            }
            benchmark.stopMeasurement()
            precondition(sent == consumers * benchmark.scaledIterations.count, "every packet reaches every consumer")
        }
    }
    }
}

/// A router with one VP8 producer (Chrome's extensions) and N active consumers, built once per N.
final class RouterFixture {
    nonisolated(unsafe) private static var fixtures: [String: RouterFixture] = [:]

    /// The fixture for `consumers` consumers under `mode`, created on first use.
    static func shared(consumers: Int, mode: CongestionControlMode) -> RouterFixture {
        let key = "\(consumers)/\(mode.rawValue)"
        if let f = fixtures[key] { return f }
        let f = RouterFixture(consumers: consumers, mode: mode)
        fixtures[key] = f
        return f
    }

    let harness: RouterHarness
    let producerSSRC: UInt32 = 0xBEEF
    var seq: UInt16 = 1000
    var pictureID: UInt16 = 1
    var transportSequence: UInt16 = 1
    var now: Duration

    init(consumers: Int, mode: CongestionControlMode) {
        do {
            harness = try RouterHarness(peerCount: consumers + 1, congestionControl: mode)
            var parameters = RouterHarness.vp8Parameters()
            parameters.headerExtensions += [RTPHeaderExtensionParameters(uri: ORTC.URI.absSendTime, id: 2),
                                            RTPHeaderExtensionParameters(uri: ORTC.URI.transportWideCC, id: 3)]
            let producer = try harness.addProducer(name: "video", kind: .video, parameters: parameters)
            try harness.addConsumers(of: producer)
        } catch {
            fatalError("RouterBenchmarks: setup failed: \(error)")
        }
        precondition(harness.isConnected && harness.peers[0].srtpProfile == .aeadAES256GCM, "AES-256-GCM negotiated")
        now = harness.now
        // Start every consumer on a key frame.
        for (datagram, now) in batch(1, keyFrame: true) { harness.router.handle(Datagram(datagram, from: harness.tuples[0]), now: now) }
        precondition(harness.discardTransmits() >= consumers, "the key frame reaches every consumer")
    }

    /// `count` protected datagrams with consecutive sequence numbers, 8 ms apart (1.2 Mbit/s: under the pacing rate of
    /// the initial estimate, so that the pacer lets each packet straight out, as it does most), last first (so that
    /// `popLast()` hands them out in order and uniquely owned, as a socket read would).
    func batch(_ count: Int, keyFrame: Bool = false) -> [(ByteBuffer, Duration)] {
        var out: [(ByteBuffer, Duration)] = []
        out.reserveCapacity(count)
        for _ in 0..<count {
            seq &+= 1; pictureID = (pictureID &+ 1) & 0x7FFF; transportSequence &+= 1; now += .milliseconds(8)
            let plain = chromePacket(keyFrame: keyFrame)
            guard let datagram = try? harness.peers[0].protect(rtpBytes: plain) else { fatalError("SRTP protect failed") }
            out.append((datagram, now))
        }
        out.reverse()
        return out
    }

    /// A 1.2 kB VP8 packet as Chrome sends it: MID, abs-send-time and transport-cc extensions (one-byte
    /// header), VP8 descriptor with a 15-bit picture id, TL0PICIDX and TID.
    func chromePacket(keyFrame: Bool) -> ByteBuffer {
        var b = ByteBufferAllocator().buffer(capacity: 1200 + SRTPSession.rtpTrailerCapacity)
        b.writeInteger(UInt8(0x90)); b.writeInteger(UInt8(96)); b.writeInteger(seq)
        b.writeInteger(UInt32(seq) &* 3000); b.writeInteger(producerSSRC)
        let absSendTime = UInt32(truncatingIfNeeded: now.components.seconds << 18) & 0xFF_FFFF
        let block: [UInt8] = [0x40, 0x31, 0x22, UInt8(absSendTime >> 16), UInt8((absSendTime >> 8) & 0xFF), UInt8(absSendTime & 0xFF),
                              0x31, UInt8(transportSequence >> 8), UInt8(transportSequence & 0xFF), 0, 0, 0]
        b.writeInteger(UInt16(0xBEDE)); b.writeInteger(UInt16(block.count / 4)); b.writeBytes(block)
        b.writeBytes([0x90, 0xE0, 0x80 | UInt8(pictureID >> 8), UInt8(pictureID & 0xFF), UInt8(truncatingIfNeeded: seq), 0x00,
                      keyFrame ? 0x00 : 0x01])
        b.writeRepeatingByte(0x5A, count: 1200 - b.readableBytes)
        return b
    }
}
