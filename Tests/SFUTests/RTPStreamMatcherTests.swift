import NIOCore
import RTCBase
import RTP
import SFU
import Testing

@Suite struct RTPStreamMatcherTests {
    /// Chrome camera ids (§6.5): mid 4, rid 10, rrid 11; VP8 96, RTX 97.
    static func packet(pt: UInt8, ssrc: UInt32, mid: String? = nil, rid: String? = nil, rrid: String? = nil, twoByte: Bool = false) -> RTPPacket {
        var p = RTPPacket(payloadType: PayloadType(rawValue: pt)!, sequenceNumber: 1, timestamp: 2, ssrc: SSRC(ssrc),
                          payload: ByteBuffer(bytes: [0x10, 0x00, 0x00]))
        if twoByte { try! p.setHeaderExtension(id: 200, value: [1]) }   // forces the two-byte form
        if let mid { try! p.setHeaderExtension(id: 4, value: Array(mid.utf8)) }
        if let rid { try! p.setHeaderExtension(id: 10, value: Array(rid.utf8)) }
        if let rrid { try! p.setHeaderExtension(id: 11, value: Array(rrid.utf8)) }
        return p
    }

    static func cameraMatcher() throws -> RTPStreamMatcher {
        let producer = ORTCSpecExamples.cameraProducer
        let mapping = try ORTC.producerMapping(parameters: producer, kind: .video, router: ORTCGolden.router, ssrcBase: 500)
        return RTPStreamMatcher(producer: producer, mapping: mapping)
    }

    @Test func extensionIDsFromProducer() {
        let ids = RTPStreamMatcher.ExtensionIDs(ORTCSpecExamples.cameraProducer.headerExtensions)
        #expect(ids == RTPStreamMatcher.ExtensionIDs(mid: 4, rid: 10, repairedRID: 11))
        #expect(RTPStreamMatcher.ExtensionIDs(ORTCSpecExamples.audioProducer.headerExtensions) == RTPStreamMatcher.ExtensionIDs(mid: 4))
    }

    @Test func ridSimulcastLatchesThenMatchesBySSRCAlone() throws {
        var m = try Self.cameraMatcher()
        // First packets carry MID + RID; RTX carries MID + RRID.
        #expect(m.classify(Self.packet(pt: 96, ssrc: 111, mid: "1", rid: "r1")) == .media(0))
        #expect(m.classify(Self.packet(pt: 96, ssrc: 333, mid: "1", rid: "r3")) == .media(2))
        #expect(m.classify(Self.packet(pt: 96, ssrc: 222, mid: "1", rid: "r2", twoByte: true)) == .media(1))
        #expect(m.classify(Self.packet(pt: 97, ssrc: 444, mid: "1", rrid: "r3")) == .rtx(2))
        // Later packets have no extensions at all: the latched SSRCs identify them.
        #expect(m.classify(Self.packet(pt: 96, ssrc: 111)) == .media(0))
        #expect(m.classify(Self.packet(pt: 96, ssrc: 222)) == .media(1))
        #expect(m.classify(Self.packet(pt: 96, ssrc: 333)) == .media(2))
        #expect(m.classify(Self.packet(pt: 97, ssrc: 444)) == .rtx(2))
        #expect(m.mediaSSRC(ofEncoding: 1) == SSRC(222))
        #expect(m.rtxSSRC(ofEncoding: 2) == SSRC(444))
        #expect(m.rtxSSRC(ofEncoding: 0) == nil)
        #expect(m.mediaSSRC(ofEncoding: 7) == nil)
    }

    @Test func unidentifiablePacketsAreUnknown() throws {
        var m = try Self.cameraMatcher()
        // Unknown SSRC without RID.
        #expect(m.classify(Self.packet(pt: 96, ssrc: 111, mid: "1")) == .unknown)
        // Unknown RID.
        #expect(m.classify(Self.packet(pt: 96, ssrc: 111, mid: "1", rid: "r9")) == .unknown)
        // Another producer's MID.
        #expect(m.classify(Self.packet(pt: 96, ssrc: 111, mid: "0", rid: "r1")) == .unknown)
        // RTX before its media stream is known.
        #expect(m.classify(Self.packet(pt: 97, ssrc: 444, mid: "1", rrid: "r1")) == .unknown)
        // Payload type not in the producer's codecs (even with a valid RID).
        #expect(m.classify(Self.packet(pt: 100, ssrc: 111, mid: "1", rid: "r1")) == .unknown)
        // Nothing above latched anything.
        #expect(m.mediaSSRC(ofEncoding: 0) == nil)
        // A RID without MID is still accepted (MID is optional once the RID identifies the layer).
        #expect(m.classify(Self.packet(pt: 96, ssrc: 111, rid: "r1")) == .media(0))
    }

    @Test func latchedStreamsAreNotStolenOrConfused() throws {
        var m = try Self.cameraMatcher()
        #expect(m.classify(Self.packet(pt: 96, ssrc: 111, mid: "1", rid: "r1")) == .media(0))
        // A second SSRC claiming r1 is refused.
        #expect(m.classify(Self.packet(pt: 96, ssrc: 999, mid: "1", rid: "r1")) == .unknown)
        #expect(m.classify(Self.packet(pt: 97, ssrc: 112, mid: "1", rrid: "r1")) == .rtx(0))
        #expect(m.classify(Self.packet(pt: 97, ssrc: 998, mid: "1", rrid: "r1")) == .unknown)
        // The media SSRC with the RTX payload type (and vice versa) is not a valid packet.
        #expect(m.classify(Self.packet(pt: 97, ssrc: 111)) == .unknown)
        #expect(m.classify(Self.packet(pt: 96, ssrc: 112)) == .unknown)
        // A latched SSRC wins over a stale RID extension.
        #expect(m.classify(Self.packet(pt: 96, ssrc: 111, mid: "1", rid: "r2")) == .media(0))
    }

    @Test func safariSSRCSimulcastMatchesAnnouncedSSRCs() throws {
        var producer = ORTCSpecExamples.cameraProducer
        for i in 0..<3 {
            producer.encodings[i].rid = nil
            producer.encodings[i].ssrc = 1000 + UInt32(i)
            producer.encodings[i].rtxSSRC = 2000 + UInt32(i)
        }
        let mapping = try ORTC.producerMapping(parameters: producer, kind: .video, router: ORTCGolden.router, ssrcBase: 1)
        var m = RTPStreamMatcher(producer: producer, mapping: mapping)
        #expect(m.classify(Self.packet(pt: 96, ssrc: 1002)) == .media(2))
        #expect(m.classify(Self.packet(pt: 97, ssrc: 2001)) == .rtx(1))
        #expect(m.classify(Self.packet(pt: 96, ssrc: 1003)) == .unknown)
        #expect(m.mediaSSRC(ofEncoding: 0) == SSRC(1000))
    }

    @Test func singleEncodingWithoutSSRCOrRIDTakesTheFirstStream() throws {
        var producer = ORTCSpecExamples.cameraProducer
        producer.encodings = [RTPEncodingParameters()]
        let mapping = try ORTC.producerMapping(parameters: producer, kind: .video, router: ORTCGolden.router, ssrcBase: 1)
        var m = RTPStreamMatcher(producer: producer, mapping: mapping)
        #expect(m.classify(Self.packet(pt: 97, ssrc: 8)) == .unknown)           // RTX before media
        #expect(m.classify(Self.packet(pt: 96, ssrc: 7, mid: "1")) == .media(0))
        #expect(m.classify(Self.packet(pt: 96, ssrc: 9)) == .unknown)            // a second media SSRC
        #expect(m.classify(Self.packet(pt: 97, ssrc: 8)) == .rtx(0))
        #expect(m.classify(Self.packet(pt: 97, ssrc: 10)) == .unknown)
        #expect(m.classify(Self.packet(pt: 96, ssrc: 7)) == .media(0))
    }

    @Test func audioBySSRC() throws {
        let producer = ORTCSpecExamples.audioProducer
        let mapping = try ORTC.producerMapping(parameters: producer, kind: .audio, router: ORTCGolden.router, ssrcBase: 1)
        var m = RTPStreamMatcher(producer: producer, mapping: mapping)
        #expect(m.classify(Self.packet(pt: 111, ssrc: 3_841_247_884)) == .media(0))
        #expect(m.classify(Self.packet(pt: 111, ssrc: 1)) == .unknown)
        #expect(m.classify(Self.packet(pt: 0, ssrc: 3_841_247_884)) == .unknown)
    }
}

@Suite struct RTPParametersExtensionMapTests {
    @Test func producerAndConsumerMaps() {
        let producer = ORTCSpecExamples.cameraProducer.headerExtensionMap
        #expect(producer[.mid] == 4)
        #expect(producer[.rid] == 10)
        #expect(producer[.repairedRID] == 11)
        #expect(producer[.timeOffset] == 14)
        #expect(producer[.audioLevel] == nil)
        let consumer = ORTCSpecExamples.videoConsumer.headerExtensionMap
        #expect(consumer[.mid] == 1)
        #expect(consumer[.transportWideCC] == 5)
        #expect(consumer[.rid] == nil)
        #expect(RTPParameters(headerExtensions: [.init(uri: ORTC.URI.mid, id: 0)]).headerExtensionMap[.mid] == nil)
    }
}
