import NIOCore
import RTCBase
import RTCP
import RTP
import SFU
import SFUTestSupport
import Testing

/// The transport-wide feedback a producing browser gets (issue #14): it must report every packet that reached the
/// server, whether or not a producer had claimed the packet's stream yet. A browser adds its camera after its
/// microphone and starts sending it as soon as its answer is applied, before INIT_PRODUCER reaches the server; those
/// packets arrive, and a feedback that calls them lost makes the browser's loss-based estimate cut its uplink.
@Suite(.serialized) struct UplinkFeedbackTests {
    static let tccID: UInt8 = 3   // Chrome's id for transport-wide-cc in its offers
    static let map = RTPHeaderExtensionMap([(uri: ORTC.URI.mid, id: UInt8(4)), (uri: ORTC.URI.transportWideCC, id: tccID)])

    static func withTCC(_ parameters: RTPParameters) -> RTPParameters {
        var p = parameters
        p.headerExtensions.append(RTPHeaderExtensionParameters(uri: ORTC.URI.transportWideCC, id: tccID))
        return p
    }

    /// What the sending peer's feedback said about each transport-wide sequence number, first report first:
    /// true = received, false = not received.
    static func reports(_ peer: BrowserPeer) -> [UInt16: Bool] {
        var out: [UInt16: Bool] = [:]
        for compound in peer.receivedRTCP {
            for case .transportFeedback(let f) in compound {
                let received = Set(f.arrivalTimesMicroseconds.map { $0.0 })
                for k in 0..<f.deltas.count {
                    let seq = f.baseSequenceNumber &+ UInt16(k)
                    if out[seq] == nil { out[seq] = received.contains(seq) }
                }
            }
        }
        return out
    }

    /// A camera packet of a stream no producer has claimed yet (MID "1", SSRC 0xBEEF, VP8 PT 96).
    static func earlyCameraPacket(seq: UInt16, tcc: UInt16) -> RTPPacket {
        var p = RTPPacket(payloadType: PayloadType(rawValue: 96)!, sequenceNumber: RTPSequenceNumber(seq),
                          timestamp: RTPTimestamp(UInt32(seq) &* 3000), ssrc: SSRC(0xBEEF),
                          payload: ByteBuffer(bytes: [0x10, 0x00, 0x9D, 0x01, 0x2A] + [UInt8](repeating: 7, count: 900)))
        _ = try? p.setMID(MID(rawValue: "1"), map)
        _ = try? p.setTransportSequenceNumber(tcc, map)
        return p
    }

    @Test func packetsOfAStreamNotYetProducedAreReportedReceived() throws {
        let harness = try RouterHarness(peerCount: 2)
        let audio = try harness.addProducer(name: "mic", kind: .audio, parameters: Self.withTCC(RouterHarness.audioParameters()))
        var tcc: UInt16 = 100
        func sendAudio(_ seq: UInt16) {
            var p = audio.packet(seq: seq)
            _ = try? p.setTransportSequenceNumber(tcc, Self.map)
            harness.send(rtp: p, from: 0)
            tcc &+= 1
        }
        // Microphone flowing; then the camera's first frames interleaved with audio, before INIT_PRODUCER.
        for seq in UInt16(1)...10 { sendAudio(seq); harness.run(for: .milliseconds(20)) }
        var early: [UInt16] = []
        for seq in UInt16(1)...20 {
            harness.send(rtp: Self.earlyCameraPacket(seq: seq, tcc: tcc), from: 0)
            early.append(tcc)
            tcc &+= 1
            if seq % 5 == 0 { sendAudio(10 + seq / 5) }
            harness.run(for: .milliseconds(5))
        }
        harness.run(for: .milliseconds(300))
        // Now the camera's producer exists and its packets route.
        let camera = try harness.addProducer(name: "camera", kind: .video, parameters: Self.withTCC(RouterHarness.vp8Parameters()))
        var later: [UInt16] = []
        for seq in UInt16(21)...30 {
            var p = camera.packet(seq: seq)
            _ = try? p.setTransportSequenceNumber(tcc, Self.map)
            harness.send(rtp: p, from: 0)
            later.append(tcc)
            tcc &+= 1
            harness.run(for: .milliseconds(10))
        }
        harness.run(for: .milliseconds(300))
        let reports = Self.reports(harness.peers[0])
        #expect(reports.count == Int(tcc &- 100))
        #expect(early.allSatisfy { reports[$0] == true }, "early camera packets reported: \(early.map { reports[$0] as Any })")
        #expect(later.allSatisfy { reports[$0] == true })
        #expect(reports.values.allSatisfy { $0 })
    }

    @Test func theFirstProducerWithTheExtensionNamesTheTransportsID() throws {
        // A second producer announcing another id (not a BUNDLE a browser makes) does not change the transport's:
        // the id is transport-wide, as the sequence numbers are.
        let harness = try RouterHarness(peerCount: 2)
        _ = try harness.addProducer(name: "mic", kind: .audio, parameters: Self.withTCC(RouterHarness.audioParameters()))
        var other = RouterHarness.vp8Parameters()
        other.headerExtensions.append(RTPHeaderExtensionParameters(uri: ORTC.URI.transportWideCC, id: 9))
        let camera = try harness.addProducer(name: "camera", kind: .video, parameters: other)
        for k in UInt16(0)..<5 {
            var p = camera.packet(seq: k + 1)
            _ = try? p.setTransportSequenceNumber(500 + k, Self.map)   // id 3, the transport's
            harness.send(rtp: p, from: 0)
            harness.run(for: .milliseconds(10))
        }
        harness.run(for: .milliseconds(200))
        let reports = Self.reports(harness.peers[0])
        #expect((UInt16(500)..<505).allSatisfy { reports[$0] == true })
    }
}
