import NIOCore
import RTCBase
import RTP
import SFU
import SFUTestSupport
import Testing

@Suite struct ForwardingRobustnessTests {
    /// Hostile but parseable packets (random header fields, random one-/two-byte/opaque extension blocks
    /// with random ids and lengths, random or truncated VP8 descriptors, random layers, key-frame flags,
    /// time steps, pauses and layer targets) never trap, and every forwarded packet re-parses with the
    /// consumer's SSRC and PT and a one-byte extension block carrying the consumer's MID.
    @Test(arguments: [UInt64(1), 2, 3])
    func randomPacketsNeverTrapAndOutputsAreWellFormed(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let rewriter = HeaderExtensionRewriter(producerExtensions: TestExtensions.producerVideo,
                                               consumerExtensions: TestExtensions.consumerVideo, mid: "7")
        var f = ConsumerForwarder(configuration: .init(ssrc: 42, clockRate: 90_000, payloadTypes: [(96, 101), (97, 102)],
                                                       headerExtensions: rewriter, payloadFormat: .vp8, layerCount: 3,
                                                       waitsForKeyFrame: true, initialSequenceNumber: 65_000))
        f.resume(now: .zero)
        var now = Duration.zero
        var forwarded = 0
        for _ in 0..<20_000 {
            now += .microseconds(Int64.random(in: -100...5_000, using: &rng))
            switch Int.random(in: 0..<200, using: &rng) {
            case 0: f.pause()
            case 1: f.resume(now: now)
            case 2: f.setTarget(layer: Bool.random(using: &rng) ? nil : Int.random(in: 0...3, using: &rng), temporalLayer: nil)
            case 3: f.setTargetTemporalLayer(Bool.random(using: &rng) ? nil : Int.random(in: 0...2, using: &rng))
            case 4: f.consumerRequestedKeyFrame(now: now)
            default: break
            }
            let form: TestPackets.Form = [.oneByte, .twoByte, .opaque].randomElement(using: &rng)!
            var elements: [(UInt8, [UInt8])] = []
            for _ in 0..<Int.random(in: 0...5, using: &rng) {
                let id = form == .oneByte ? UInt8.random(in: 1...14, using: &rng) : UInt8.random(in: 1...255, using: &rng)
                let len = form == .oneByte ? Int.random(in: 1...16, using: &rng) : Int.random(in: 0...20, using: &rng)
                elements.append((id, (0..<len).map { _ in UInt8.random(in: 0...255, using: &rng) }))
            }
            var payload: [UInt8]
            if Bool.random(using: &rng) {
                payload = TestPackets.vp8Payload(pictureID: UInt16.random(in: 0...0x7FFF, using: &rng), tl0: .random(in: 0...255, using: &rng),
                                                 tid: .random(in: 0...3, using: &rng), layerSync: .random(using: &rng),
                                                 start: .random(using: &rng), keyFrame: .random(using: &rng),
                                                 shortPictureID: .random(using: &rng))
                payload = Array(payload.prefix(Int.random(in: 0...payload.count, using: &rng)))
            } else {
                payload = (0..<Int.random(in: 0...40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            }
            let packet = TestPackets.packet(pt: [96, 97, 111].randomElement(using: &rng)!, seq: .random(in: 0...65535, using: &rng),
                                            ts: .random(in: 0...UInt32.max, using: &rng), ssrc: .random(in: 0...UInt32.max, using: &rng),
                                            marker: .random(using: &rng), csrcs: Bool.random(using: &rng) ? [] : [1, 2],
                                            form: form, elements: elements, payload: payload,
                                            padding: Bool.random(using: &rng) ? 0 : UInt8.random(in: 1...8, using: &rng))
            let layer = Int.random(in: -1...3, using: &rng)
            guard let out = f.forward(packet, layer: layer, isKeyFrame: .random(using: &rng), now: now)?.packet else {
                continue
            }
            forwarded += 1
            let reparsed = try RTPPacket(parsing: out.bytes)
            #expect(reparsed.ssrc == 42)
            #expect(reparsed.payloadType == 101 || reparsed.payloadType == 102)
            #expect(reparsed.extensionForm == .oneByte)
            #expect(reparsed.mid(rewriter.consumerMap) == "7")
            #expect(reparsed.headerExtensions.allSatisfy { $0.id.fitsOneByteForm })
            #expect(Array(reparsed.payload.readableBytesView.dropFirst(10)) == Array(packet.payload.readableBytesView.dropFirst(10)))
        }
        while f.pollOutput() != nil {}
        #expect(forwarded > 200, "forwarded \(forwarded)")
    }
}
