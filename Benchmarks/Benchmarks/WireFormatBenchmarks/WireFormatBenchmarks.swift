import Benchmark
import NIOCore
import RTCBase
import RTCP
import RTCTestSupport
import RTP
import STUN

/// Per-packet costs of the wire-format modules on real packets from Captures/.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput, .mallocCountTotal], maxDuration: .seconds(3))

    // Real Chromium packets from the decrypted Chromium ↔ aiortc capture.
    let capture = CaptureCorpus.captures.first { $0.name == "chromium-aiortc-av.plain.pcap" }!
    let datagrams = try! capture.udpDatagrams()
    let rtp = datagrams.map(\.payload).filter { DatagramKind.classify($0.readableBytesView) == .rtp }
    let videoPacket = rtp.first { (try? RTPPacket(parsing: $0))?.payloadType == 96 && $0.readableBytes > 1000 }!
    let rtcp = datagrams.map(\.payload).filter { DatagramKind.classify($0.readableBytesView) == .rtcp }
    let srSDES = rtcp.first { ((try? RTCPPacket.parseCompound($0))?.count ?? 0) == 2 }!
    let twcc = rtcp.first { if case .transportFeedback? = (try? RTCPPacket.parseCompound($0))?.first { return true } else { return false } }!
    let stunRequest = datagrams.map(\.payload).first {
        DatagramKind.classify($0.readableBytesView) == .stun && (try? STUNMessage(parsing: $0))?.type == .bindingRequest
    }!

    // Chromium's negotiated ids in this capture: abs-send-time 2, transport-cc 3, mid 4.
    let ids: [(uri: String, id: UInt8)] = [(uri: RTPHeaderExtensionKind.absSendTime.rawValue, id: 2),
                                           (uri: RTPHeaderExtensionKind.transportWideCC.rawValue, id: 3),
                                           (uri: RTPHeaderExtensionKind.mid.rawValue, id: 4)]
    let map = RTPHeaderExtensionMap(ids)

    Benchmark("RTP parse (1.2 kB VP8 packet)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try! RTPPacket(parsing: videoPacket)) }
    }

    Benchmark("RTP parse + rewrite SSRC/seq/ts/PT + transport-cc ext (in place)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        let parsed = try! RTPPacket(parsing: videoPacket)
        var seq: UInt16 = 0
        for _ in benchmark.scaledIterations {
            var p = parsed
            seq &+= 1
            p.ssrc = 0x1234_5678
            p.sequenceNumber = RTPSequenceNumber(seq)
            p.timestamp = RTPTimestamp(UInt32(seq) &* 3000)
            p.payloadType = 101
            _ = try! p.setTransportSequenceNumber(seq, map)
            blackHole(p)
        }
    }

    Benchmark("RTP read mid + transport-cc + abs-send-time", configuration: .init(scalingFactor: .kilo)) { benchmark in
        let parsed = try! RTPPacket(parsing: videoPacket)
        for _ in benchmark.scaledIterations {
            blackHole(parsed.mid(map))
            blackHole(parsed.transportSequenceNumber(map))
            blackHole(parsed.absSendTime(map))
        }
    }

    Benchmark("RTCP compound parse (SR + SDES)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try! RTCPPacket.parseCompound(srSDES)) }
    }

    Benchmark("RTCP compound parse (transport-cc feedback)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try! RTCPPacket.parseCompound(twcc)) }
    }

    Benchmark("STUN parse (Chromium Binding request)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try! STUNMessage(parsing: stunRequest)) }
    }

    Benchmark("STUN parse + MESSAGE-INTEGRITY + FINGERPRINT check", configuration: .init(scalingFactor: .kilo)) { benchmark in
        let key = STUNIntegrityKey(shortTermPassword: "the-server-ice-password-x")
        for _ in benchmark.scaledIterations {
            let m = try! STUNMessage(parsing: stunRequest)
            blackHole(m.verifyMessageIntegrity(key: key))
            blackHole(m.verifyFingerprint())
        }
    }

    Benchmark("STUN Binding success response (build with integrity + fingerprint)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        let key = STUNIntegrityKey(shortTermPassword: "the-server-ice-password-x")
        let request = try! STUNMessage(parsing: stunRequest)
        for _ in benchmark.scaledIterations {
            blackHole(STUNMessage.bindingSuccess(to: request, source: .v4(address: 0x7F00_0001, port: 50_000), key: key))
        }
    }
}
