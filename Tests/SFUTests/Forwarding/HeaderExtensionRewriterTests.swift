import NIOCore
import RTCBase
import RTP
import SFU
import Testing

@Suite struct HeaderExtensionRewriterTests {
    static let video = HeaderExtensionRewriter(producerExtensions: TestExtensions.producerVideo,
                                               consumerExtensions: TestExtensions.consumerVideo, mid: "3")
    static let audio = HeaderExtensionRewriter(producerExtensions: TestExtensions.producerAudio,
                                               consumerExtensions: TestExtensions.consumerAudio, mid: "5")

    /// Chrome simulcast video elements (producer ids), plus an unknown id 7.
    static let videoElements: [(UInt8, [UInt8])] = [
        (4, Array("1".utf8)),              // mid
        (10, Array("r2".utf8)),            // rid
        (2, [0x11, 0x22, 0x33]),           // abs-send-time
        (3, [0x01, 0x02]),                 // transport-wide seq
        (7, [0xEE, 0xEE]),                 // unknown
        (13, [0x01]),                      // video orientation (90°)
        (14, [0x00, 0x00, 0x10]),          // toffset
        (5, [0x00, 0x10, 0x20]),           // playout delay
    ]

    /// The consumer's block: MID "3" (id 1), abs-send-time (id 4), transport-wide seq (id 5), then the
    /// copied orientation (11), toffset (12), playout delay (14), zero-padded to 20 bytes.
    static let expectedVideoBlock: [UInt8] = [
        0xBE, 0xDE, 0x00, 0x05,
        0x10, 0x33,
        0x42, 0xAB, 0xCD, 0xEF,
        0x51, 0x12, 0x34,
        0xB0, 0x01,
        0xC2, 0x00, 0x00, 0x10,
        0xE2, 0x00, 0x10, 0x20,
        0x00,
    ]

    @Test(arguments: [TestPackets.Form.oneByte, .twoByte])
    func videoBlockIsRebuiltInOneByteForm(_ form: TestPackets.Form) throws {
        let input = TestPackets.packet(seq: 4242, ts: 99, csrcs: [0xC5C5_C5C5], form: form, elements: Self.videoElements, padding: 4)
        let out = try #require(Self.video.rewrite(input, absSendTime: 0xABCDEF, transportSequenceNumber: 0x1234))
        #expect(TestPackets.extensionBlock(of: out) == Self.expectedVideoBlock)
        #expect(out.extensionForm == .oneByte)
        #expect(out.headerExtensions.map(\.id) == [1, 4, 5, 11, 12, 14])   // no RID (10), no unknown (7)
        let map = Self.video.consumerMap
        #expect(out.mid(map) == "3")
        #expect(out.absSendTime(map) == 0xABCDEF)
        #expect(out.transportSequenceNumber(map) == 0x1234)
        #expect(out.videoOrientation(map)?.rotation == 90)
        #expect(out.transmissionTimeOffset(map) == 16)
        #expect(out.playoutDelay(map) == RTPPlayoutDelay(minimum: 1, maximum: 0x20))
        // Everything else is untouched.
        #expect(out.sequenceNumber == 4242 && out.timestamp == 99 && out.ssrc == 0x1111_1111 && out.payloadType == 96)
        #expect(out.csrcs == [0xC5C5_C5C5])
        #expect(Array(out.payload.readableBytesView) == [0xAA, 0xBB, 0xCC])
        #expect(out.paddingLength == 4)
    }

    @Test func audioLevelIsCopiedAndIdOneBecomesMID() throws {
        // Chrome audio: id 1 is audio level; on the consumer side id 1 is MID.
        let input = TestPackets.packet(pt: 111, elements: [(1, [0x85]), (2, [1, 2, 3]), (3, [0, 9]), (4, Array("0".utf8))])
        let out = try #require(Self.audio.rewrite(input, absSendTime: 0x123456, transportSequenceNumber: 7))
        let map = Self.audio.consumerMap
        #expect(TestPackets.extensionBlock(of: out) == [0xBE, 0xDE, 0x00, 0x02, 0x10, 0x35, 0x42, 0x12, 0x34, 0x56, 0xA0, 0x85])
        #expect(out.mid(map) == "5")
        #expect(out.audioLevel(map) == RTPAudioLevel(voiceActivity: true, level: 5))
        #expect(out.absSendTime(map) == 0x123456)
        #expect(out.transportSequenceNumber(map) == nil)   // the audio consumer did not negotiate it
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var consumer: [(uri: String, id: UInt8)]
        var mid: MID
        var form: TestPackets.Form
        var elements: [(UInt8, [UInt8])]
        var expectedBlock: [UInt8]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "no block in, MID only out", consumer: [("urn:ietf:params:rtp-hdrext:sdes:mid", 3)], mid: "12",
             form: .oneByte, elements: [], expectedBlock: [0xBE, 0xDE, 0x00, 0x01, 0x31, 0x31, 0x32, 0x00]),
        Case(name: "nothing negotiated: block and X bit removed", consumer: [], mid: "1",
             form: .oneByte, elements: [(4, [0x31]), (2, [1, 2, 3])], expectedBlock: []),
        Case(name: "opaque profile in: replaced", consumer: [("urn:ietf:params:rtp-hdrext:sdes:mid", 1)], mid: "0",
             form: .opaque, elements: [], expectedBlock: [0xBE, 0xDE, 0x00, 0x01, 0x10, 0x30, 0x00, 0x00]),
        Case(name: "repeated id copied once", consumer: [("urn:3gpp:video-orientation", 2)], mid: "0",
             form: .twoByte, elements: [(13, [0x02]), (13, [0x03])], expectedBlock: [0xBE, 0xDE, 0x00, 0x01, 0x20, 0x02, 0x00, 0x00]),
        Case(name: "value too long for one-byte form is not copied", consumer: [("urn:3gpp:video-orientation", 2)], mid: "0",
             form: .twoByte, elements: [(13, Array(repeating: 1, count: 17))], expectedBlock: []),
        Case(name: "zero-length two-byte element is not copied", consumer: [("urn:3gpp:video-orientation", 2)], mid: "0",
             form: .twoByte, elements: [(13, []), (5, [1, 2, 3])], expectedBlock: []),
        // A consumer that negotiated an id above 14 gets the two-byte form (RFC 8285 §4.3), the only one that can carry it.
        Case(name: "consumer id above 14 is written in the two-byte form", consumer: [("urn:ietf:params:rtp-hdrext:sdes:mid", 15)], mid: "0",
             form: .oneByte, elements: [(4, [0x31])], expectedBlock: [0x10, 0x00, 0x00, 0x01, 15, 1, 0x30, 0]),
        Case(name: "MID longer than 16 bytes is not written", consumer: [("urn:ietf:params:rtp-hdrext:sdes:mid", 1)],
             mid: "01234567890123456", form: .oneByte, elements: [], expectedBlock: []),
        Case(name: "abs-capture-time (16 bytes) copied at the one-byte maximum",
             consumer: [("http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time", 9)], mid: "0",
             form: .twoByte, elements: [(20, Array(0..<16))],
             expectedBlock: [0xBE, 0xDE, 0x00, 0x05, 0x9F] + Array(0..<16) + [0, 0, 0]),
    ]

    @Test(arguments: cases)
    func blocks(_ c: Case) throws {
        var producer = TestExtensions.producerVideo
        producer.append(("http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time", 20))
        let r = HeaderExtensionRewriter(producerExtensions: producer, consumerExtensions: c.consumer, mid: c.mid)
        let input = TestPackets.packet(form: c.form, elements: c.elements)
        let out = try #require(r.rewrite(input))
        #expect(TestPackets.extensionBlock(of: out) == c.expectedBlock)
        #expect(out.hasExtension == !c.expectedBlock.isEmpty)
        #expect(Array(out.payload.readableBytesView) == [0xAA, 0xBB, 0xCC])
    }

    @Test func headerFieldsAreReplacedInTheSamePass() throws {
        let input = TestPackets.packet(pt: 96, seq: 1, ts: 2, ssrc: 3, marker: true, form: .twoByte, elements: [(4, [0x31])])
        let header = RTPHeaderRewrite(payloadType: 101, sequenceNumber: 65535, timestamp: 4_294_967_295, ssrc: 0xDEAD_BEEF)
        let out = try #require(Self.video.rewrite(input, header: header))
        #expect(out.payloadType == 101 && out.marker)
        #expect(out.sequenceNumber == 65535 && out.timestamp == 4_294_967_295 && out.ssrc == 0xDEAD_BEEF)
        #expect(out.mid(Self.video.consumerMap) == "3")
        #expect(Array(out.payload.readableBytesView) == [0xAA, 0xBB, 0xCC])
        // The input is untouched.
        #expect(input.sequenceNumber == 1 && input.extensionForm == .twoByte(appBits: 0))
    }

    @Test func placeholdersAreStampedInPlaceLater() throws {
        let input = TestPackets.packet(form: .oneByte, elements: [(4, [0x31])])
        var out = try #require(Self.video.rewrite(input))
        let map = Self.video.consumerMap
        #expect(out.transportSequenceNumber(map) == 0)
        #expect(out.absSendTime(map) == 0)
        let size = out.bytes.readableBytes
        #expect(try out.setTransportSequenceNumber(0xBEEF, map))
        #expect(try out.setAbsSendTime(0x010203, map))
        #expect(out.bytes.readableBytes == size)
        #expect(out.transportSequenceNumber(map) == 0xBEEF)
        #expect(out.absSendTime(map) == 0x010203)
        #expect(out.mid(map) == "3")
    }

    static let absSendTimes: [(Duration, UInt32)] = [
        (.zero, 0),
        (.seconds(1), 0x04_0000),
        (.milliseconds(500), 0x02_0000),
        (.seconds(64), 0),
        (.milliseconds(65_250), 0x05_0000),
    ]

    @Test(arguments: absSendTimes)
    func absSendTime(_ now: Duration, _ expected: UInt32) {
        #expect(HeaderExtensionRewriter.absSendTime(at: now) == expected)
    }
}
