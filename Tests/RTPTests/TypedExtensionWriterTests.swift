import NIOCore
import RTCBase
import RTCTestSupport
import RTP
import Testing

/// Byte-exact results of the typed extension writers, their read-back, and in-place overwrites.
@Suite struct TypedExtensionWriterTests {
    static let map = RTPHeaderExtensionMap([
        (uri: RTPHeaderExtensionKind.mid.rawValue, id: HeaderExtensionID(1)),
        (uri: RTPHeaderExtensionKind.absSendTime.rawValue, id: 2),
        (uri: RTPHeaderExtensionKind.transportWideCC.rawValue, id: 3),
        (uri: RTPHeaderExtensionKind.audioLevel.rawValue, id: 4),
        (uri: RTPHeaderExtensionKind.timeOffset.rawValue, id: 5),
        (uri: RTPHeaderExtensionKind.absCaptureTime.rawValue, id: 7),
        (uri: RTPHeaderExtensionKind.rid.rawValue, id: 10),
        (uri: RTPHeaderExtensionKind.repairedRID.rawValue, id: 11),
        (uri: RTPHeaderExtensionKind.playoutDelay.rawValue, id: 12),
        (uri: RTPHeaderExtensionKind.videoOrientation.rawValue, id: 13),
    ] as [(uri: String, id: HeaderExtensionID)])

    enum Write: Sendable, CustomTestStringConvertible {
        case mid(MID), rid(RID), repairedRID(RID), twcc(UInt16), absSendTime(UInt32), audioLevel(RTPAudioLevel)
        case orientation(RTPVideoOrientation), playoutDelay(RTPPlayoutDelay), captureTime(RTPAbsoluteCaptureTime), toffset(Int32)

        var testDescription: String { "\(self)" }

        func apply(to p: inout RTPPacket, _ m: RTPHeaderExtensionMap) throws -> Bool {
            switch self {
            case .mid(let v): try p.setMID(v, m)
            case .rid(let v): try p.setRID(v, m)
            case .repairedRID(let v): try p.setRepairedRID(v, m)
            case .twcc(let v): try p.setTransportSequenceNumber(v, m)
            case .absSendTime(let v): try p.setAbsSendTime(v, m)
            case .audioLevel(let v): try p.setAudioLevel(v, m)
            case .orientation(let v): try p.setVideoOrientation(v, m)
            case .playoutDelay(let v): try p.setPlayoutDelay(v, m)
            case .captureTime(let v): try p.setAbsCaptureTime(v, m)
            case .toffset(let v): try p.setTransmissionTimeOffset(v, m)
            }
        }

        func readsBack(from p: RTPPacket, _ m: RTPHeaderExtensionMap) -> Bool {
            switch self {
            case .mid(let v): p.mid(m) == v
            case .rid(let v): p.rid(m) == v
            case .repairedRID(let v): p.repairedRID(m) == v
            case .twcc(let v): p.transportSequenceNumber(m) == v
            case .absSendTime(let v): p.absSendTime(m) == v & 0xFF_FFFF
            case .audioLevel(let v): p.audioLevel(m) == v
            case .orientation(let v): p.videoOrientation(m) == v
            case .playoutDelay(let v): p.playoutDelay(m) == v
            case .captureTime(let v): p.absCaptureTime(m) == v
            case .toffset(let v): p.transmissionTimeOffset(m) == v
            }
        }
    }

    static let plain = "806000010000000200000003"
    static let h = "906000010000000200000003"
    static let ntp = NTPTimestamp(seconds: 0xE8A1_2345, fraction: 0x8000_0000)

    @Test(arguments: [
        (Write.mid("ab"), h + "bede0001" + "116162" + "00"),
        (.rid("hi"), h + "bede0001" + "a16869" + "00"),
        (.repairedRID("lo"), h + "bede0001" + "b16c6f" + "00"),
        (.twcc(0x0102), h + "bede0001" + "310102" + "00"),
        (.absSendTime(0x12_3456), h + "bede0001" + "22123456"),
        (.absSendTime(0xFF12_3456), h + "bede0001" + "22123456"),         // only 24 bits go on the wire
        (.audioLevel(RTPAudioLevel(voiceActivity: true, level: 42)), h + "bede0001" + "40aa" + "0000"),
        (.audioLevel(RTPAudioLevel(voiceActivity: false, level: 127)), h + "bede0001" + "407f" + "0000"),
        (.orientation(RTPVideoOrientation(backFacingCamera: true, horizontalFlip: true, rotation: 270)), h + "bede0001" + "d00f" + "0000"),
        (.orientation(RTPVideoOrientation(backFacingCamera: false, horizontalFlip: false, rotation: -90)), h + "bede0001" + "d003" + "0000"),
        (.playoutDelay(RTPPlayoutDelay(minimum: 10, maximum: 100)), h + "bede0001" + "c200a064"),
        (.playoutDelay(RTPPlayoutDelay(minimum: 4095, maximum: 0)), h + "bede0001" + "c2fff000"),
        (.captureTime(RTPAbsoluteCaptureTime(captureTime: ntp, estimatedCaptureClockOffset: nil)), h + "bede0003" + "77e8a1234580000000" + "000000"),
        (.captureTime(RTPAbsoluteCaptureTime(captureTime: ntp, estimatedCaptureClockOffset: -(1 << 32))),
         h + "bede0005" + "7f" + "e8a1234580000000" + "ffffffff00000000" + "000000"),
        (.toffset(-2), h + "bede0001" + "52fffffe"),
        (.toffset(0x7F_FFFF), h + "bede0001" + "527fffff"),
    ])
    func writeToPacketWithoutExtensions(_ write: Write, _ expected: String) throws {
        var p = try RTPPacket(parsing: ByteBuffer(hex: Self.plain + "ff"))
        #expect(try write.apply(to: &p, Self.map))
        #expect(p.bytes.hexString == expected + "ff")
        let q = try RTPPacket(parsing: p.bytes)
        #expect(write.readsBack(from: q, Self.map))
        #expect(q.payload == ByteBuffer(hex: "ff"))
        // Writing the same value again overwrites in place: same bytes, same header length.
        var again = q
        #expect(try write.apply(to: &again, Self.map))
        #expect(again == q)
        // Without a negotiated id nothing happens.
        var untouched = try RTPPacket(parsing: ByteBuffer(hex: Self.plain + "ff"))
        #expect(try !write.apply(to: &untouched, RTPHeaderExtensionMap()))
        #expect(untouched.bytes == ByteBuffer(hex: Self.plain + "ff"))
    }

    /// A packet carrying abs-send-time, transport-cc and mid gets its per-hop extensions rewritten in
    /// place: the header does not move.
    @Test func inPlaceRewritesKeepLayout() throws {
        let before = Self.h + "bede0003" + "22aabbcc" + "31ffee" + "10" + "30" + "00" + "00" + "00" + "0102"
        // abs-send-time id 2 (3 bytes), twcc id 3 (2 bytes), mid id 1 ("0"), padding; payload 0102
        var p = try RTPPacket(parsing: ByteBuffer(hex: before))
        #expect(p.mid(Self.map) == "0")
        let header = p.headerLength
        #expect(try p.setAbsSendTime(0x01_0203, Self.map))
        #expect(try p.setTransportSequenceNumber(0x0405, Self.map))
        #expect(try p.setMID("9", Self.map))
        #expect(p.headerLength == header)
        #expect(p.bytes.hexString == Self.h + "bede0003" + "22010203" + "310405" + "10" + "39" + "000000" + "0102")
        // A longer mid grows the block; everything else is kept byte for byte.
        #expect(try p.setMID("video", Self.map))
        #expect(p.bytes.hexString == Self.h + "bede0004" + "22010203" + "310405" + "14" + "766964656f" + "000000" + "0102")
        #expect(try RTPPacket(parsing: p.bytes).transportSequenceNumber(Self.map) == 0x0405)
        // Capture time with offset replaces one without.
        #expect(try p.setAbsCaptureTime(RTPAbsoluteCaptureTime(captureTime: Self.ntp, estimatedCaptureClockOffset: nil), Self.map))
        #expect(try p.setAbsCaptureTime(RTPAbsoluteCaptureTime(captureTime: Self.ntp, estimatedCaptureClockOffset: 5), Self.map))
        #expect(try RTPPacket(parsing: p.bytes).absCaptureTime(Self.map)?.estimatedCaptureClockOffset == 5)
    }

    @Test func removeByKind() throws {
        var p = try RTPPacket(parsing: ByteBuffer(hex: Self.h + "bede0002" + "22aabbcc" + "310102" + "00" + "ff"))
        let removed = p.removeHeaderExtension(.absSendTime, Self.map)
        #expect(removed)
        #expect(p.bytes.hexString == Self.h + "bede0001" + "310102" + "00" + "ff")
        let again = [p.removeHeaderExtension(.absSendTime, Self.map),             // already gone
                     p.removeHeaderExtension(.mid, Self.map),                     // never there
                     p.removeHeaderExtension(.transportWideCC, RTPHeaderExtensionMap())]
        #expect(again == [false, false, false])
        let last = p.removeHeaderExtension(.transportWideCC, Self.map)
        #expect(last)
        #expect(p.bytes.hexString == Self.plain + "ff")
    }

    @Test func shortOrMalformedValuesReadAsNil() throws {
        // abs-send-time of 2 bytes, twcc of 1 byte, playout delay of 2, capture time of 9, mid not UTF-8
        var p = RTPPacket(payloadType: 96, sequenceNumber: 1, timestamp: 2, ssrc: 3, payload: ByteBuffer())
        try p.setHeaderExtension(id: 2, value: [1, 2])
        try p.setHeaderExtension(id: 3, value: [1])
        try p.setHeaderExtension(id: 12, value: [1, 2])
        try p.setHeaderExtension(id: 7, value: [UInt8](repeating: 1, count: 9))
        try p.setHeaderExtension(id: 1, value: [0xFF, 0xFE])
        try p.setHeaderExtension(id: 5, value: [1, 2, 3, 4])
        let m = Self.map
        #expect(p.absSendTime(m) == nil && p.transportSequenceNumber(m) == nil && p.playoutDelay(m) == nil)
        #expect(p.absCaptureTime(m) == nil && p.mid(m) == nil && p.transmissionTimeOffset(m) == nil)
        #expect(p.audioLevel(m) == nil && p.videoOrientation(m) == nil)
    }

    @Test func zeroPaddedTextEndsAtNUL() throws {
        var p = RTPPacket(payloadType: 96, sequenceNumber: 1, timestamp: 2, ssrc: 3, payload: ByteBuffer())
        try p.setHeaderExtension(id: 10, value: [0x68, 0x00, 0x00])
        #expect(p.rid(Self.map) == "h")
    }

    @Test func mapLookups() {
        let m = Self.map
        #expect(m[.transportWideCC] == 3)
        #expect(m.kind(of: 13) == .videoOrientation)
        #expect(m.kind(of: 14) == nil)
        var n = RTPHeaderExtensionMap([(uri: "urn:ietf:params:rtp-hdrext:sdes:mid", id: UInt8(9)), (uri: "urn:unknown", id: 1)])
        #expect(n[.mid] == 9 && n.kind(of: 1) == nil)
        n[.mid] = nil
        #expect(n == RTPHeaderExtensionMap())
        // Every kind has its own slot.
        var all = RTPHeaderExtensionMap()
        for (i, kind) in RTPHeaderExtensionKind.allCases.enumerated() { all[kind] = HeaderExtensionID(UInt8(i + 1)) }
        for (i, kind) in RTPHeaderExtensionKind.allCases.enumerated() { #expect(all.kind(of: HeaderExtensionID(UInt8(i + 1))) == kind) }
    }

    @Test func extensionIDForms() {
        #expect(!HeaderExtensionID(0).fitsOneByteForm)
        #expect(HeaderExtensionID(1).fitsOneByteForm && HeaderExtensionID(14).fitsOneByteForm)
        #expect(!HeaderExtensionID(15).fitsOneByteForm && !HeaderExtensionID(255).fitsOneByteForm)
        #expect(HeaderExtensionID(3) < HeaderExtensionID(200))
    }

    /// A block of 65 535 words of one-byte elements cannot be converted to the two-byte form (it
    /// would need more than the 16-bit length field can say): typed error, packet unchanged.
    @Test func oversizedBlockIsATypedError() throws {
        var b = ByteBuffer(hex: Self.h)
        b.writeBytes([0xBE, 0xDE, 0xFF, 0xFF])
        for _ in 0..<(65_535 * 2) { b.writeBytes([0x10, 0xAA]) }       // id 1, one byte, repeated
        b.writeBytes([0x01])
        var p = try RTPPacket(parsing: b)
        #expect(p.headerExtensions.count == 65_535 * 2)
        #expect(throws: RTPExtensionError.blockTooLarge(bytes: 393_216)) {
            try p.setHeaderExtension(id: 15, value: [1])
        }
        #expect(p.bytes == b)
    }
}
