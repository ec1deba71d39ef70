import NIOCore
import RTCBase
import RTCTestSupport
import RTP
import Testing

@Suite struct RTPPacketTests {
    /// V=2 P=0 X=1 CC=1 | M=1 PT=111 | seq 0x1234 | ts 0xDEADBEEF | ssrc 0x11223344 | csrc 0x55667788 |
    /// 0xBEDE len 3: id 1 "a" (L=0), id 3 0x0102 (L=1), id 4 0xAABBCC (L=2) + 3 pad | payload 01020304
    static let sample = "91ef1234deadbeef11223344" + "55667788" + "bede0003" + "1061" + "310102" + "42aabbcc" + "000000" + "01020304"

    @Test func fixedHeaderFields() throws {
        let p = try RTPPacket(parsing: ByteBuffer(hex: Self.sample))
        #expect(p.version == 2)
        #expect(!p.hasPadding)
        #expect(p.hasExtension)
        #expect(p.csrcCount == 1)
        #expect(p.marker)
        #expect(p.payloadType == 111)
        #expect(p.sequenceNumber == 0x1234)
        #expect(p.timestamp == 0xDEAD_BEEF)
        #expect(p.ssrc == 0x1122_3344)
        #expect(p.csrcs == [0x5566_7788])
        #expect(p.extensionProfile == 0xBEDE)
        #expect(p.extensionForm == .oneByte)
        #expect(p.headerLength == 32)
        #expect(p.extensionLength == 12)
        #expect(p.payload == ByteBuffer(hex: "01020304"))
        #expect(p.headerExtensions.map(\.id) == [1, 3, 4])
        #expect(p.headerExtension(id: 1) == ByteBuffer(hex: "61"))
        #expect(p.headerExtension(id: 3) == ByteBuffer(hex: "0102"))
        #expect(p.headerExtension(id: 4) == ByteBuffer(hex: "aabbcc"))
        #expect(p.headerExtension(id: 2) == nil)
        #expect(p.encoded() == ByteBuffer(hex: Self.sample))
    }

    @Test func settersWriteThrough() throws {
        var p = try RTPPacket(parsing: ByteBuffer(hex: Self.sample))
        let original = p
        p.payloadType = 100
        p.marker = false
        p.sequenceNumber = 0xFFFF
        p.timestamp = 1
        p.ssrc = 0xCAFE_BABE
        #expect(p.bytes.getSlice(at: 0, length: 12) == ByteBuffer(hex: "9164ffff00000001cafebabe"))
        #expect(try RTPPacket(parsing: p.bytes) == p)
        // copy-on-write: the original value is untouched
        #expect(original.encoded() == ByteBuffer(hex: Self.sample))
    }

    @Test func payloadWritesStayInsideThePayload() throws {
        var p = try RTPPacket(parsing: ByteBuffer(hex: "a06000010000000200000003" + "aabbcc" + "0002"))
        #expect(p.payloadLength == 3)
        let accepted = [p.setPayloadInteger(UInt16(0x0102), at: 1), p.setPayloadBytes([0xFF], at: 0)]
        #expect(accepted == [true, true])
        #expect(p.payload == ByteBuffer(hex: "ff0102"))
        let refused = [p.setPayloadInteger(UInt16(0), at: 2),   // would overwrite padding
                       p.setPayloadBytes([1, 2, 3, 4], at: 0), p.setPayloadBytes([1], at: -1),
                       p.setPayloadInteger(UInt8(0), at: Int.max)]
        #expect(refused == [false, false, false, false])
        #expect(p.bytes.hexString == "a06000010000000200000003" + "ff0102" + "0002")
    }

    @Test func builder() throws {
        let p = RTPPacket(payloadType: 96, sequenceNumber: 7, timestamp: 9000, ssrc: 42, marker: true, csrcs: [1, 2], payload: ByteBuffer(hex: "beef"))
        #expect(p.bytes == ByteBuffer(hex: "82e00007" + "00002328" + "0000002a" + "00000001" + "00000002" + "beef"))
        #expect(try RTPPacket(parsing: p.bytes) == p)
    }

    struct ErrorRow: Sendable, CustomTestStringConvertible {
        let name: String, hex: String, error: RTPParseError
        var testDescription: String { name }
    }

    @Test(arguments: [
        ErrorRow(name: "empty", hex: "", error: .headerTooShort(0)),
        ErrorRow(name: "11 bytes", hex: "8060000100000002000000", error: .headerTooShort(11)),
        ErrorRow(name: "version 1", hex: "406000010000000200000003", error: .badVersion(1)),
        ErrorRow(name: "version 3", hex: "c06000010000000200000003", error: .badVersion(3)),
        ErrorRow(name: "CSRC truncated", hex: "826000010000000200000003" + "00000001", error: .csrcTruncated),
        ErrorRow(name: "extension header truncated", hex: "906000010000000200000003" + "bede", error: .extensionHeaderTruncated),
        ErrorRow(name: "extension data truncated", hex: "906000010000000200000003" + "bede0002" + "10610000", error: .extensionTruncated(needed: 24, available: 20)),
        ErrorRow(name: "one-byte element overrun", hex: "906000010000000200000003" + "bede0001" + "00003f11", error: .extensionElementOverrun(id: 3)),
        ErrorRow(name: "two-byte element overrun", hex: "906000010000000200000003" + "10000001" + "0104aabb", error: .extensionElementOverrun(id: 1)),
        ErrorRow(name: "two-byte length byte missing", hex: "906000010000000200000003" + "10000001" + "000000" + "05", error: .extensionElementOverrun(id: 5)),
        ErrorRow(name: "padding count zero", hex: "a06000010000000200000003" + "aa00", error: .paddingZero),
        ErrorRow(name: "padding count too large", hex: "a06000010000000200000003" + "aa03", error: .paddingTooLarge(count: 3, available: 2)),
    ])
    func malformed(_ row: ErrorRow) {
        #expect(throws: row.error) { try RTPPacket(parsing: ByteBuffer(hex: row.hex)) }
    }

    @Test func padding() throws {
        // P=1, payload 0xAA 0xBB, 3 bytes of padding (00 00 03)
        let p = try RTPPacket(parsing: ByteBuffer(hex: "a0600001000000020000000" + "3" + "aabb000003"))
        #expect(p.hasPadding && p.paddingLength == 3)
        #expect(p.payload == ByteBuffer(hex: "aabb"))
        var q = p
        q.setPadding(0)
        #expect(q.bytes == ByteBuffer(hex: "806000010000000200000003aabb"))
        q.setPadding(4)
        #expect(q.bytes == ByteBuffer(hex: "a06000010000000200000003aabb00000004"))
        #expect(try RTPPacket(parsing: q.bytes) == q)
        // The whole payload may be padding (RTX padding probes): count == bytes after header.
        let probe = try RTPPacket(parsing: ByteBuffer(hex: "a0610001000000020000000300000004"))
        #expect(probe.payloadLength == 0 && probe.paddingLength == 4)
    }

    @Test func headerOnlyParseIgnoresPaddingCount() throws {
        // SRTP: P=1 but the last byte (here 0xff) is ciphertext/tag, not a padding count.
        let srtp = ByteBuffer(hex: "a06000010000000200000003" + "aabbccddeeff")
        #expect(throws: RTPParseError.paddingTooLarge(count: 255, available: 6)) { try RTPPacket(parsing: srtp) }
        let h = try RTPPacket(parsingHeaderOf: srtp)
        #expect(h.hasPadding && h.paddingLength == 0)
        #expect(h.payload == ByteBuffer(hex: "aabbccddeeff"))
        #expect(h.encoded() == srtp)
    }

    @Test func twoByteExtensions() throws {
        // profile 0x1002 (appbits 2): id 1 len 0, id 20 len 3 "xyz", pad
        let hex = "906000010000000200000003" + "10020002" + "0100" + "1403" + "78797a" + "00" + "ff"
        let p = try RTPPacket(parsing: ByteBuffer(hex: hex))
        #expect(p.extensionForm == .twoByte(appBits: 2))
        #expect(p.headerExtensions == [RTPHeaderExtensionElement(id: 1, value: ByteBuffer()),
                                       RTPHeaderExtensionElement(id: 20, value: ByteBuffer(hex: "78797a"))])
        #expect(p.payload == ByteBuffer(hex: "ff"))
    }

    @Test func opaqueProfilePreserved() throws {
        let hex = "906000010000000200000003" + "abcd0001" + "01020304" + "99"
        var p = try RTPPacket(parsing: ByteBuffer(hex: hex))
        #expect(p.extensionForm == .other(profile: 0xABCD))
        #expect(p.headerExtensions.isEmpty)
        #expect(p.extensionData == ByteBuffer(hex: "01020304"))
        #expect(throws: RTPExtensionError.opaqueProfile(0xABCD)) { try p.setHeaderExtension(id: 1, value: [1]) }
        #expect(p.encoded() == ByteBuffer(hex: hex))
    }

    @Test func oneByteStopsAtID15() throws {
        let p = try RTPPacket(parsing: ByteBuffer(hex: "906000010000000200000003" + "bede0001" + "10aaf0ff" + "01"))
        #expect(p.headerExtensions.map(\.id) == [1])
    }

    struct SetRow: Sendable, CustomTestStringConvertible {
        let name: String, before: String, id: HeaderExtensionID, value: String?, after: String
        var testDescription: String { name }
    }

    static let h = "906000010000000200000003"
    static let plain = "806000010000000200000003"

    /// Byte-exact results of set and remove (value nil) in both forms.
    @Test(arguments: [
        SetRow(name: "same length in place", before: h + "bede0001" + "10aa0000" + "ff", id: 1, value: "bb", after: h + "bede0001" + "10bb0000" + "ff"),
        SetRow(name: "add to packet without extension", before: plain + "ff", id: 3, value: "0102", after: h + "bede0001" + "31010200" + "ff"),
        SetRow(name: "append one-byte", before: h + "bede0001" + "10aa0000" + "ff", id: 2, value: "0102", after: h + "bede0002" + "10aa" + "210102" + "000000" + "ff"),
        SetRow(name: "grow existing", before: h + "bede0001" + "10aa0000" + "ff", id: 1, value: "aabbcc", after: h + "bede0001" + "12aabbcc" + "ff"),
        SetRow(name: "id 15 forces two-byte", before: h + "bede0001" + "10aa0000" + "ff", id: 15, value: "01", after: h + "10000002" + "0101aa" + "0f0101" + "0000" + "ff"),
        SetRow(name: "17 bytes forces two-byte", before: plain + "ff", id: 1, value: String(repeating: "ab", count: 17),
               after: h + "10000005" + "0111" + String(repeating: "ab", count: 17) + "00" + "ff"),
        SetRow(name: "two-byte stays two-byte", before: h + "10000001" + "0101aa00" + "ff", id: 2, value: "bb", after: h + "10000002" + "0101aa" + "0201bb" + "0000" + "ff"),
        SetRow(name: "remove middle", before: h + "bede0002" + "10aa" + "210102" + "000000" + "ff", id: 1, value: nil, after: h + "bede0001" + "21010200" + "ff"),
        SetRow(name: "remove last element drops the block", before: h + "bede0001" + "10aa0000" + "ff", id: 1, value: nil, after: plain + "ff"),
        SetRow(name: "remove absent is a no-op", before: h + "bede0001" + "10aa0000" + "ff", id: 9, value: nil, after: h + "bede0001" + "10aa0000" + "ff"),
    ])
    func setAndRemove(_ row: SetRow) throws {
        var p = try RTPPacket(parsing: ByteBuffer(hex: row.before))
        if let v = row.value {
            try p.setHeaderExtension(id: row.id, value: [UInt8](hex: v))
        } else {
            p.removeHeaderExtension(id: row.id)
        }
        #expect(p.bytes.hexString == ByteBuffer(hex: row.after).hexString)
        let reparsed = try RTPPacket(parsing: p.bytes)
        #expect(reparsed == p)
        if let v = row.value { #expect(reparsed.headerExtension(id: row.id) == ByteBuffer(hex: v)) }
        #expect(reparsed.payload == ByteBuffer(hex: "ff"))
    }

    @Test func extensionErrors() throws {
        var p = try RTPPacket(parsing: ByteBuffer(hex: Self.plain))
        #expect(throws: RTPExtensionError.invalidID(0)) { try p.setHeaderExtension(id: 0, value: [1]) }
        #expect(throws: RTPExtensionError.valueTooLong(256)) { try p.setHeaderExtension(id: 1, value: [UInt8](repeating: 0, count: 256)) }
    }

    /// Every proper prefix of valid packets throws a typed error (header-only and full), never traps.
    @Test func truncationAtEveryOffset() throws {
        let packets = [Self.sample, Self.h + "10020002" + "0100" + "1403" + "78797a" + "00" + "ff",
                       "a0600001000000020000000" + "3" + "aabb000003"]
        for hex in packets {
            let full = ByteBuffer(hex: hex)
            let header = try RTPPacket(parsingHeaderOf: full).headerLength
            for cut in 0..<full.readableBytes {
                let prefix = full.getSlice(at: 0, length: cut)!
                if cut < header {
                    #expect(throws: RTPParseError.self) { try RTPPacket(parsingHeaderOf: prefix) }
                }
                // A cut packet with P set reads a wrong padding count; without P, cuts after the header
                // are valid packets with shorter payloads — either way, no trap.
                _ = try? RTPPacket(parsing: prefix)
            }
        }
    }
}

@Suite struct RTPUnwrapTests {
    @Test(arguments: [
        ([UInt16(65_533), 65_534, 65_535, 0, 1], [Int64(65_533), 65_534, 65_535, 65_536, 65_537]),
        ([10, 9, 11, 8], [10, 9, 11, 8]),
        ([65_535, 2, 65_534, 3], [65_535, 65_538, 65_534, 65_539]),
        ([0, 32_768, 65_535, 1], [0, 32_768, 65_535, 65_537]),
    ])
    func sequenceNumbers(_ input: [UInt16], _ expected: [Int64]) {
        var u = RTPSequenceNumberUnwrapper()
        #expect(input.map { u.unwrap(RTPSequenceNumber($0)) } == expected)
    }

    @Test func timestamps() {
        var u = RTPTimestampUnwrapper()
        #expect(u.unwrap(4_294_964_296) == 4_294_964_296)
        #expect(u.unwrap(3_000) == 4_294_970_296)           // +6000 ticks across the wrap
        #expect(u.unwrap(4_294_967_000) == 4_294_967_000)   // late packet before the wrap
        #expect(u.highest == 4_294_970_296)
    }

    @Test func peekDoesNotAdvance() {
        var u = RTPSequenceNumberUnwrapper()
        #expect(u.unwrap(65_535) == 65_535)
        #expect(u.peek(1) == 65_537)
        #expect(u.highest == 65_535)
        var t = RTPTimestampUnwrapper()
        #expect(t.unwrap(10) == 10)
        #expect(t.peek(4_294_967_295) == -1)                  // just before the first value
        #expect(t.highest == 10)
    }

    @Test(arguments: [(UInt32(4_294_967_000), UInt32(296), Int64(592)), (296, 4_294_967_000, -592), (0, 2_147_483_647, 2_147_483_647), (5, 5, 0)])
    func timestampDistance(_ a: UInt32, _ b: UInt32, _ d: Int64) {
        #expect(RTPTimestamp(a).distance(to: RTPTimestamp(b)) == d)
        #expect(RTPTimestamp(a).advanced(by: d) == RTPTimestamp(b))
    }

    @Test func wrapAwareComparison() {
        #expect(RTPSequenceNumber(65_535) < RTPSequenceNumber(0))
        #expect(RTPSequenceNumber(0).distance(to: 65_535) == -1)
        #expect(RTPSequenceNumber(65_535).advanced(by: 2) == 1)
        #expect(RTPTimestamp(4_294_967_295) < RTPTimestamp(1))
    }
}
