import Benchmark
import NIOCore
import RTCBase
import RTP
import SFU

/// Per-packet cost of one consumer's forwarding decision and rewrite (SFU/Forwarding).
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput, .mallocCountTotal], maxDuration: .seconds(2))

    // Chrome's video extension ids (INIT_PRODUCER) and the router's (INIT_CONSUMER), docs/protocol.md §6.5/§6.6.
    let producerIDs: [(uri: String, id: UInt8)] = [
        (RTPHeaderExtensionKind.mid.rawValue, 4), (RTPHeaderExtensionKind.rid.rawValue, 10),
        (RTPHeaderExtensionKind.repairedRID.rawValue, 11), (RTPHeaderExtensionKind.absSendTime.rawValue, 2),
        (RTPHeaderExtensionKind.transportWideCC.rawValue, 3), (RTPHeaderExtensionKind.videoOrientation.rawValue, 13),
        (RTPHeaderExtensionKind.timeOffset.rawValue, 14), (RTPHeaderExtensionKind.playoutDelay.rawValue, 5),
    ]
    let consumerIDs: [(uri: String, id: UInt8)] = [
        (RTPHeaderExtensionKind.mid.rawValue, 1), (RTPHeaderExtensionKind.absSendTime.rawValue, 4),
        (RTPHeaderExtensionKind.transportWideCC.rawValue, 5), (RTPHeaderExtensionKind.videoOrientation.rawValue, 11),
        (RTPHeaderExtensionKind.timeOffset.rawValue, 12), (RTPHeaderExtensionKind.playoutDelay.rawValue, 14),
    ]
    let rewriter = HeaderExtensionRewriter(producerExtensions: producerIDs, consumerExtensions: consumerIDs, mid: "3")

    /// A 1.2 kB VP8 packet as Chrome sends a simulcast layer: mid, rid, abs-send-time, transport-cc,
    /// orientation in a one-byte block; VP8 descriptor with 15-bit picture id, TL0PICIDX, TID.
    func chromePacket(key: Bool) -> RTPPacket {
        var b = ByteBuffer()
        b.writeInteger(UInt8(0x90)); b.writeInteger(UInt8(96)); b.writeInteger(UInt16(1000))
        b.writeInteger(UInt32(90_000)); b.writeInteger(UInt32(0x1234_5678))
        let block: [UInt8] = [0x40, 0x31, 0xA1, 0x72, 0x32, 0x22, 0x01, 0x02, 0x03, 0x31, 0x00, 0x07, 0xD0, 0x01, 0x00, 0x00]
        b.writeInteger(UInt16(0xBEDE)); b.writeInteger(UInt16(block.count / 4)); b.writeBytes(block)
        b.writeBytes([0x90, 0xE0, 0x80, 0x01, 0x05, 0x00, key ? 0x00 : 0x01])
        b.writeRepeatingByte(0x5A, count: 1200 - 7)
        return try! RTPPacket(parsing: b)
    }

    Benchmark("HeaderExtensionRewriter.rewrite (Chrome video block, 1.2 kB)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        let p = chromePacket(key: false)
        var seq: UInt16 = 0
        for _ in benchmark.scaledIterations {
            seq &+= 1
            blackHole(rewriter.rewrite(p, absSendTime: 0x123456, transportSequenceNumber: seq))
        }
    }

    Benchmark("RTPSequenceRewriter.rewrite with 1 drop in 4", configuration: .init(scalingFactor: .kilo)) { benchmark in
        var r = RTPSequenceRewriter(initialOutput: 0)
        var seq = RTPSequenceNumber(60_000)
        for _ in benchmark.scaledIterations {
            seq = seq.advanced(by: 1)
            if seq.rawValue & 3 == 0 { r.drop(seq) } else { blackHole(r.rewrite(seq)) }
        }
    }

    Benchmark("ConsumerForwarder.forward (VP8 simulcast layer, 1.2 kB)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        var f = ConsumerForwarder(configuration: .init(ssrc: 0xC0C0_C0C0, clockRate: 90_000, payloadTypes: [(96, 101)],
                                                       headerExtensions: rewriter, payloadFormat: .vp8, layerCount: 3,
                                                       waitsForKeyFrame: true, initialSequenceNumber: 7))
        f.resume(now: .zero)
        f.setTarget(layer: 0, temporalLayer: nil)
        var input = chromePacket(key: true)
        var now = Duration.zero
        _ = f.forward(input, layer: 0, isKeyFrame: true, now: now)
        input = chromePacket(key: false)
        var seq: UInt16 = 1000
        var ts: UInt32 = 90_000
        var pid: UInt16 = 1
        for _ in benchmark.scaledIterations {
            seq &+= 1; ts &+= 3000; pid = (pid + 1) & 0x7FFF; now += .milliseconds(1)
            input.sequenceNumber = RTPSequenceNumber(seq)
            input.timestamp = RTPTimestamp(ts)
            input.setPayloadInteger(0x8000 | pid, at: 2)
            blackHole(f.forward(input, layer: 0, isKeyFrame: false, now: now))
        }
        while f.pollOutput() != nil {}
    }

    Benchmark("ConsumerForwarder.forward (drop: packet of another layer)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        var f = ConsumerForwarder(configuration: .init(ssrc: 1, clockRate: 90_000, payloadTypes: [(96, 101)],
                                                       headerExtensions: rewriter, payloadFormat: .vp8, layerCount: 3,
                                                       waitsForKeyFrame: true))
        f.resume(now: .zero)
        f.setTarget(layer: 0, temporalLayer: nil)
        _ = f.forward(chromePacket(key: true), layer: 0, isKeyFrame: true, now: .zero)
        let other = chromePacket(key: false)
        var now = Duration.zero
        for _ in benchmark.scaledIterations {
            now += .microseconds(100)
            blackHole(f.forward(other, layer: 1, isKeyFrame: false, now: now))
        }
        while f.pollOutput() != nil {}
    }
}
