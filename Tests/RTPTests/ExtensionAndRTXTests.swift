import NIOCore
import RTCBase
import RTCTestSupport
import RTP
import Testing

@Suite struct ExtensionMapTests {
    static let pairs: [(uri: String, id: UInt8)] = [
        (uri: RTPHeaderExtensionKind.mid.rawValue, id: 1), (uri: RTPHeaderExtensionKind.rid.rawValue, id: 10),
        (uri: RTPHeaderExtensionKind.repairedRID.rawValue, id: 11), (uri: RTPHeaderExtensionKind.absSendTime.rawValue, id: 2),
        (uri: RTPHeaderExtensionKind.transportWideCC.rawValue, id: 3), (uri: RTPHeaderExtensionKind.audioLevel.rawValue, id: 4),
        (uri: RTPHeaderExtensionKind.videoOrientation.rawValue, id: 13), (uri: RTPHeaderExtensionKind.playoutDelay.rawValue, id: 12),
        (uri: RTPHeaderExtensionKind.absCaptureTime.rawValue, id: 7), (uri: "urn:example:unknown", id: 9),
    ]
    static let map = RTPHeaderExtensionMap(pairs)

    @Test func typedAccessors() throws {
        var p = RTPPacket(payloadType: 96, sequenceNumber: 1, timestamp: 2, ssrc: 3, payload: ByteBuffer(hex: "00"))
        try p.setHeaderExtension(id: 1, value: Array("0".utf8))
        try p.setHeaderExtension(id: 10, value: Array("hi".utf8))
        try p.setHeaderExtension(id: 11, value: Array("lo".utf8))
        try p.setHeaderExtension(id: 2, value: [0x12, 0x34, 0x56])
        try p.setHeaderExtension(id: 3, value: [0xAB, 0xCD])
        try p.setHeaderExtension(id: 4, value: [0x80 | 42])
        try p.setHeaderExtension(id: 13, value: [0x0B])                  // back camera, no flip, 270°
        try p.setHeaderExtension(id: 12, value: [0x00, 0xA0, 0x64])      // min 10 (100 ms), max 100 (1 s)
        try p.setHeaderExtension(id: 7, value: [UInt8](hex: "e8a1234580000000"))
        let q = try RTPPacket(parsing: p.bytes)
        let m = Self.map
        #expect(q.mid(m) == "0")
        #expect(q.rid(m) == "hi")
        #expect(q.repairedRID(m) == "lo")
        #expect(q.absSendTime(m) == 0x123456)
        #expect(q.transportSequenceNumber(m) == 0xABCD)
        #expect(q.audioLevel(m) == RTPAudioLevel(voiceActivity: true, level: 42))
        #expect(q.videoOrientation(m) == RTPVideoOrientation(backFacingCamera: true, horizontalFlip: false, rotation: 270))
        #expect(q.playoutDelay(m) == RTPPlayoutDelay(minimum: 10, maximum: 100))
        #expect(q.absCaptureTime(m) == RTPAbsoluteCaptureTime(captureTime: NTPTimestamp(seconds: 0xE8A1_2345, fraction: 0x8000_0000), estimatedCaptureClockOffset: nil))
        #expect(m.kind(of: 9) == nil)
        #expect(m.kind(of: 3) == .transportWideCC)
        // absent in the map: nil, and setters report false
        var r = q
        #expect(try r.setMID("x", RTPHeaderExtensionMap()) == false)
        #expect(try r.setMID("video1", m))
        #expect(try r.setTransportSequenceNumber(0x0102, m))
        #expect(try r.setAbsSendTime(0xFF_FFFF, m))
        let s = try RTPPacket(parsing: r.bytes)
        #expect(s.mid(m) == "video1" && s.transportSequenceNumber(m) == 0x0102 && s.absSendTime(m) == 0xFF_FFFF)
        #expect(s.payload == ByteBuffer(hex: "00"))
    }

    /// Stamping at send time (transport-wide number, abs-send-time) overwrites an element of the right width in
    /// place and leaves everything else alone; an element of another width or a missing one is not touched.
    @Test func overwriteHeaderExtensionInPlace() throws {
        var p = RTPPacket(payloadType: 96, sequenceNumber: 1, timestamp: 2, ssrc: 3, payload: ByteBuffer(hex: "c0ffee"))
        try p.setHeaderExtension(id: 2, value: [0, 0, 0])
        try p.setHeaderExtension(id: 3, value: [0, 0])
        try p.setHeaderExtension(id: 1, value: Array("0".utf8))
        let before = p.bytes.readableBytes
        let wrote = [p.overwriteHeaderExtension(id: 3, bigEndian: 0xABCD, width: 2),
                     p.overwriteHeaderExtension(id: 2, bigEndian: 0x12_3456, width: 3),
                     p.overwriteHeaderExtension(id: 3, bigEndian: 1, width: 3),    // wrong width
                     p.overwriteHeaderExtension(id: 9, bigEndian: 1, width: 2)]    // absent
        #expect(wrote == [true, true, false, false])
        let q = try RTPPacket(parsing: p.bytes)
        #expect(q.bytes.readableBytes == before)
        #expect(q.transportSequenceNumber(Self.map) == 0xABCD && q.absSendTime(Self.map) == 0x12_3456 && q.mid(Self.map) == "0")
        #expect(q.payload == ByteBuffer(hex: "c0ffee"))
    }

    @Test func absCaptureTimeWithOffset() throws {
        var p = RTPPacket(payloadType: 96, sequenceNumber: 1, timestamp: 2, ssrc: 3, payload: ByteBuffer())
        try p.setHeaderExtension(id: 7, value: [UInt8](hex: "e8a1234580000000" + "ffffffff00000000"))
        #expect(p.absCaptureTime(Self.map)?.estimatedCaptureClockOffset == -(1 << 32))
    }
}

@Suite struct RTXTests {
    @Test func roundTrip() throws {
        var original = RTPPacket(payloadType: 96, sequenceNumber: 0xBEEF, timestamp: 1000, ssrc: 0x1111, marker: true, payload: ByteBuffer(hex: "9010aabbcc"))
        try original.setHeaderExtension(id: 1, value: Array("v".utf8))
        original.setPadding(2)
        let rtx = original.rtxEncapsulated(ssrc: 0x2222, payloadType: 97, sequenceNumber: 5)
        #expect(rtx.ssrc == 0x2222 && rtx.payloadType == 97 && rtx.sequenceNumber == 5)
        #expect(rtx.timestamp == 1000 && rtx.marker)
        #expect(rtx.payload == ByteBuffer(hex: "beef9010aabbcc"))
        #expect(!rtx.hasPadding)
        #expect(rtx.headerExtension(id: 1) == ByteBuffer(bytes: Array("v".utf8)))
        let back = try RTPPacket(parsing: rtx.bytes).rtxDecapsulated(originalSSRC: 0x1111, originalPayloadType: 96)
        var expected = original
        expected.setPadding(0)
        #expect(back == expected)
    }

    @Test func paddingOnlyProbeHasNoOSN() throws {
        let probe = try RTPPacket(parsing: ByteBuffer(hex: "a0610001000000020000000300000004"))
        #expect(probe.isPaddingOnly)
        #expect(probe.rtxOriginalSequenceNumber == nil)
        #expect(throws: RTPParseError.rtxMissingOriginalSequenceNumber) {
            try probe.rtxDecapsulated(originalSSRC: 1, originalPayloadType: 96)
        }
        // One payload byte is not an OSN either.
        let oneByte = try RTPPacket(parsing: ByteBuffer(hex: "806100010000000200000003" + "07"))
        #expect(!oneByte.isPaddingOnly && oneByte.rtxOriginalSequenceNumber == nil)
        #expect(throws: RTPParseError.rtxMissingOriginalSequenceNumber) {
            try oneByte.rtxDecapsulated(originalSSRC: 1, originalPayloadType: 96)
        }
    }

    /// Byte-exact RTX packets (RFC 4588 §4): OSN first, header kept but for SSRC, PT and sequence number.
    @Test(arguments: [
        // media: M=1 PT 96 seq 0x1234 ts 0x0a0b0c0d SSRC 0x11, mid ext (id 1 "0"), payload aabb
        ("91e01234" + "0a0b0c0d" + "00000011" + "55555555" + "bede0001" + "10300000" + "aabb",
         "91e10007" + "0a0b0c0d" + "00000022" + "55555555" + "bede0001" + "10300000" + "1234aabb"),
        // media with padding (dropped) and an empty payload: the RTX payload is the OSN alone
        ("a0600001" + "00000002" + "00000011" + "000003",
         "80610007" + "00000002" + "00000022" + "0001"),
    ])
    func encapsulationBytes(_ media: String, _ rtx: String) throws {
        let m = try RTPPacket(parsing: ByteBuffer(hex: media))
        let r = m.rtxEncapsulated(ssrc: 0x22, payloadType: 97, sequenceNumber: 7)
        #expect(r.bytes.hexString == rtx)
        #expect(r.rtxOriginalSequenceNumber == m.sequenceNumber)
        let back = try RTPPacket(parsing: r.bytes).rtxDecapsulated(originalSSRC: m.ssrc, originalPayloadType: m.payloadType)
        #expect(back.payload == m.payload && back.sequenceNumber == m.sequenceNumber && back.ssrc == m.ssrc)
        #expect(back.payloadType == m.payloadType && back.timestamp == m.timestamp && back.marker == m.marker)
        #expect(back.headerExtensions == m.headerExtensions && back.csrcs == m.csrcs)
    }
}
