import NIOCore
import RTCTestSupport
import STUN
import Testing

@Suite struct STUNMessageTests {
    static var key: STUNIntegrityKey { STUNIntegrityKey(shortTermPassword: "server-password-1234") }
    static let id = STUNTransactionID(high: 0x0102_0304, low: 0x0506_0708_090A_0B0C)

    static func chromeLikeRequest() -> STUNMessage {
        var b = STUNMessageBuilder(type: .bindingRequest, transactionID: id)
        b.appendUsername("srvr:brws")
        b.append(.googNetworkInfo, value: [0, 1, 0, 10])
        b.appendICEControlling(tieBreaker: 0x1122_3344_5566_7788)
        b.appendUseCandidate()
        b.appendPriority(1_853_824_767)
        b.appendNomination(3)
        b.appendMessageIntegrity(key: key)
        b.appendFingerprint()
        return b.message
    }

    @Test func messageTypeBits() {
        #expect(STUNMessageType.bindingRequest.rawValue == 0x0001)
        #expect(STUNMessageType.bindingSuccess.rawValue == 0x0101)
        #expect(STUNMessageType.bindingError.rawValue == 0x0111)
        #expect(STUNMessageType.bindingIndication.rawValue == 0x0011)
        for m in [UInt16(0x001), 0x003, 0x07F, 0xFFF] {
            for c in [STUNClass.request, .indication, .successResponse, .errorResponse] {
                let t = STUNMessageType(method: STUNMethod(rawValue: m), class: c)
                #expect(t.method.rawValue == m && t.messageClass == c)
                #expect(t.rawValue & 0xC000 == 0)
            }
        }
    }

    @Test func builtRequestRoundTrips() throws {
        let built = Self.chromeLikeRequest()
        let m = try STUNMessage(parsing: built.bytes)
        #expect(m == built)
        #expect(m.username == "srvr:brws")
        #expect(m.iceControlling == 0x1122_3344_5566_7788)
        #expect(m.useCandidate)
        #expect(m.priority == 1_853_824_767)
        #expect(m.nomination == 3)
        #expect(m.verifyMessageIntegrity(key: Self.key))
        #expect(m.verifyFingerprint())
        #expect(m.value(of: .googNetworkInfo) == ByteBuffer(bytes: [0, 1, 0, 10]))
        #expect(m.unknownComprehensionRequired(known: [.username, .priority, .useCandidate, .messageIntegrity]).isEmpty)
        #expect(m.encoded() == built.bytes)
    }

    @Test func tamperingBreaksIntegrityAndFingerprint() throws {
        var bytes = Self.chromeLikeRequest().bytes
        bytes.setInteger(UInt8(ascii: "X"), at: 24)   // first byte of USERNAME
        let m = try STUNMessage(parsing: bytes)
        #expect(!m.verifyMessageIntegrity(key: Self.key))
        #expect(!m.verifyFingerprint())
    }

    @Test func successAndErrorResponses() throws {
        let req = Self.chromeLikeRequest()
        let ok = STUNMessage.bindingSuccess(to: req, source: .v4(address: 0x7F00_0001, port: 50_123), key: Self.key)
        let parsed = try STUNMessage(parsing: ok.bytes)
        #expect(parsed.type == .bindingSuccess)
        #expect(parsed.transactionID == req.transactionID)
        #expect(parsed.xorMappedAddress?.description == "127.0.0.1:50123")
        #expect(parsed.verifyMessageIntegrity(key: Self.key))
        #expect(parsed.verifyFingerprint())
        #expect(parsed.attributeTypes == [.xorMappedAddress, .messageIntegrity, .fingerprint])

        let err = STUNMessage.bindingError(to: req, error: .unknownAttribute, unknown: [STUNAttributeType(0x0031)])
        let e = try STUNMessage(parsing: err.bytes)
        #expect(e.type == .bindingError)
        #expect(e.errorCode == .init(code: 420, reason: "Unknown Attribute"))
        #expect(e.unknownAttributes == [STUNAttributeType(0x0031)])
        #expect(e.verifyFingerprint())
        #expect(!e.contains(.messageIntegrity))

        for code in [STUNErrorCode.badRequest, .unauthorized, .roleConflict, .serverError] {
            #expect(try STUNMessage(parsing: STUNMessage.bindingError(to: req, error: code).bytes).errorCode == code)
        }
    }

    @Test func ipv6XorMappedRoundTrip() throws {
        let addr = STUNAddress.v6(high: 0xFD00_0000_0000_0000, low: 2, port: 443)
        let ok = STUNMessage.bindingSuccess(to: Self.chromeLikeRequest(), source: addr, key: Self.key)
        #expect(try STUNMessage(parsing: ok.bytes).xorMappedAddress == addr)
        #expect(addr.description == "[fd00:0:0:0:0:0:0:2]:443")
    }

    @Test func sha256Integrity() throws {
        var b = STUNMessageBuilder(type: .bindingRequest, transactionID: Self.id)
        b.appendUsername("a:b")
        b.appendMessageIntegrity(key: Self.key)
        b.appendMessageIntegritySHA256(key: Self.key)
        b.appendFingerprint()
        let m = try STUNMessage(parsing: b.message.bytes)
        #expect(m.verifyMessageIntegrity(key: Self.key))
        #expect(m.verifyMessageIntegritySHA256(key: Self.key))
        #expect(m.verifyFingerprint())
    }

    @Test func unknownComprehensionRequiredAttributes() throws {
        var b = STUNMessageBuilder(type: .bindingRequest, transactionID: Self.id)
        b.append(STUNAttributeType(0x0031), value: [1, 2, 3])        // unknown, comprehension-required
        b.append(STUNAttributeType(0x8031), value: [4])              // unknown, optional
        b.appendUsername("x:y")
        let m = try STUNMessage(parsing: b.message.bytes)
        #expect(m.unknownComprehensionRequired(known: [.username]) == [STUNAttributeType(0x0031)])
        // Unknown attributes keep their value and padding.
        #expect(m.attributes[0].value == ByteBuffer(bytes: [1, 2, 3]))
        #expect(m.encoded() == b.message.bytes)
    }

    struct BadRow: Sendable, CustomTestStringConvertible {
        let name: String, hex: String, error: STUNParseError
        var testDescription: String { name }
    }

    static let header = "2112a442" + "0102030405060708090a0b0c"

    @Test(arguments: [
        BadRow(name: "empty", hex: "", error: .truncated(need: 20, have: 0)),
        BadRow(name: "short header", hex: "00010000" + "2112a442", error: .truncated(need: 20, have: 8)),
        BadRow(name: "top bits set (RTP-like)", hex: "80010000" + header, error: .notSTUN),
        BadRow(name: "RFC 3489 (no cookie)", hex: "00010000" + "deadbeef0102030405060708090a0b0c", error: .badMagicCookie(0xDEAD_BEEF)),
        BadRow(name: "length not multiple of 4", hex: "00010002" + header + "0000", error: .badLength(2)),
        BadRow(name: "length beyond datagram", hex: "00010008" + header + "00060000", error: .truncated(need: 28, have: 24)),
        BadRow(name: "trailing bytes", hex: "00010000" + header + "00000000", error: .badLength(0)),
        BadRow(name: "attribute overruns", hex: "00010008" + header + "00060008" + "41414141", error: .attributeOverrun(type: 6, offset: 20)),
        BadRow(name: "padding overruns", hex: "00010008" + header + "00060005" + "41414141", error: .attributeOverrun(type: 6, offset: 20)),
        BadRow(name: "attribute after fingerprint", hex: "00010010" + header + "80280004" + "00000000" + "00250000" + "00000000",
               error: .attributeAfterFingerprint(type: 0x0025)),
        BadRow(name: "PRIORITY of 3 bytes", hex: "00010008" + header + "00240003" + "01020300", error: .badAttributeLength(type: 0x24, length: 3)),
        BadRow(name: "USE-CANDIDATE with a value", hex: "00010008" + header + "00250004" + "01020300", error: .badAttributeLength(type: 0x25, length: 4)),
        BadRow(name: "MESSAGE-INTEGRITY of 16 bytes", hex: "00010014" + header + "00080010" + String(repeating: "00", count: 16),
               error: .badAttributeLength(type: 8, length: 16)),
        BadRow(name: "ICE-CONTROLLING of 4 bytes", hex: "00010008" + header + "802a0004" + "01020304", error: .badAttributeLength(type: 0x802A, length: 4)),
    ])
    func malformed(_ row: BadRow) {
        #expect(throws: row.error) { try STUNMessage(parsing: ByteBuffer(hex: row.hex)) }
    }

    /// Every proper prefix of valid messages fails to parse with a typed error, and never traps.
    @Test func truncationAtEveryOffset() throws {
        let messages = [Self.chromeLikeRequest().bytes, ByteBuffer(hex: RFC5769Tests.ipv6Response), ByteBuffer(hex: RFC5769Tests.longTerm)]
        for full in messages {
            for cut in 0..<full.readableBytes {
                let prefix = full.getSlice(at: 0, length: cut)!
                #expect(throws: STUNParseError.self) { try STUNMessage(parsing: prefix) }
            }
            #expect(throws: Never.self) { try STUNMessage(parsing: full) }
        }
    }

    @Test func probablySTUN() {
        #expect(STUNMessage.isProbablySTUN(Self.chromeLikeRequest().bytes))
        #expect(!STUNMessage.isProbablySTUN(ByteBuffer(hex: "8060" + String(repeating: "00", count: 30))))
        #expect(!STUNMessage.isProbablySTUN(ByteBuffer(hex: "0001")))
    }
}
