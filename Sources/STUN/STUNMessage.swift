import NIOCore
import RTCBase
import RTCCrypto

/// A STUN message (RFC 8489 §5–§6) that owns its bytes, with an index of its attributes built once
/// when it is parsed. Attribute values are read lazily through typed accessors; unknown attributes
/// are kept and re-serialise byte-identically (the message *is* its bytes).
///
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |0 0|     STUN Message Type     |         Message Length        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         Magic Cookie                          |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                                                               |
/// |                     Transaction ID (96 bits)                  |
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |         Type                  |            Length             |   attributes (§14), each
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+   padded to a multiple of 4
/// |                         Value (variable)                ....
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
///
/// Validation at parse time: header bits, magic cookie, length (a multiple of 4, equal to what
/// follows the header), every attribute inside the message, FINGERPRINT last, and the sizes of the
/// fixed-size attributes this module interprets. Integrity and fingerprint are checked on request
/// (``verifyMessageIntegrity(key:)``, ``verifyFingerprint()``), because only the caller knows the key.
public struct STUNMessage: Hashable, Sendable {
    /// The magic cookie of RFC 5389/8489 messages.
    public static let magicCookie: UInt32 = 0x2112_A442
    /// XORed into the CRC-32 of FINGERPRINT ("STUN").
    public static let fingerprintXOR: UInt32 = 0x5354_554E

    /// The whole message (header and attributes), exactly as received or built.
    public private(set) var bytes: ByteBuffer

    @usableFromInline
    struct Entry: Hashable, Sendable {
        /// Offset of the attribute's type field from the start of the message.
        var offset: Int32
        var type: UInt16
        var length: UInt16
    }

    @usableFromInline var entries: [Entry]

    /// Parses and validates one STUN message occupying all of `bytes`.
    public init(parsing bytes: ByteBuffer) throws(STUNParseError) {
        let base = bytes.readerIndex
        let total = bytes.readableBytes
        guard total >= 20 else { throw .truncated(need: 20, have: total) }
        let type = bytes.getInteger(at: base, as: UInt16.self)!
        guard type & 0xC000 == 0 else { throw .notSTUN }
        let length = Int(bytes.getInteger(at: base + 2, as: UInt16.self)!)
        let cookie = bytes.getInteger(at: base + 4, as: UInt32.self)!
        guard cookie == Self.magicCookie else { throw .badMagicCookie(cookie) }
        guard length % 4 == 0 else { throw .badLength(length) }
        guard 20 + length <= total else { throw .truncated(need: 20 + length, have: total) }
        guard 20 + length == total else { throw .badLength(length) }
        var entries: [Entry] = []
        entries.reserveCapacity(8)
        var offset = 20
        var sawFingerprint = false
        while offset < total {
            guard offset + 4 <= total else { throw .attributeOverrun(type: 0, offset: offset) }
            let t = bytes.getInteger(at: base + offset, as: UInt16.self)!
            let l = Int(bytes.getInteger(at: base + offset + 2, as: UInt16.self)!)
            if sawFingerprint { throw .attributeAfterFingerprint(type: t) }
            let padded = (l + 3) & ~3
            guard offset + 4 + padded <= total else { throw .attributeOverrun(type: t, offset: offset) }
            if let expected = Self.fixedLength(t), expected != l { throw .badAttributeLength(type: t, length: l) }
            if t == STUNAttributeType.messageIntegritySHA256.rawValue, l < 16 || l > 32 || l % 4 != 0 {
                throw .badAttributeLength(type: t, length: l)
            }
            if t == STUNAttributeType.fingerprint.rawValue { sawFingerprint = true }
            entries.append(Entry(offset: Int32(offset), type: t, length: UInt16(l)))
            offset += 4 + padded
        }
        self.bytes = bytes.getSlice(at: base, length: total)!
        self.entries = entries
    }

    init(validatedBytes: ByteBuffer, entries: [Entry]) {
        self.bytes = validatedBytes
        self.entries = entries
    }

    static func fixedLength(_ type: UInt16) -> Int? {
        switch STUNAttributeType(rawValue: type) {
        case .messageIntegrity: return 20
        case .fingerprint, .priority, .nomination: return 4
        case .useCandidate: return 0
        case .iceControlled, .iceControlling: return 8
        default: return nil
        }
    }

    /// Whether `bytes` looks like a STUN message (RFC 7983 first byte, magic cookie, length multiple
    /// of 4) — a cheap test before parsing.
    public static func isProbablySTUN(_ bytes: ByteBuffer) -> Bool {
        guard bytes.readableBytes >= 20, let first = bytes.getInteger(at: bytes.readerIndex, as: UInt8.self), first < 4,
              let cookie = bytes.getInteger(at: bytes.readerIndex + 4, as: UInt32.self) else { return false }
        return cookie == magicCookie
    }

    // MARK: Header

    /// Method and class.
    public var type: STUNMessageType { STUNMessageType(rawValue: bytes.getInteger(at: bytes.readerIndex, as: UInt16.self)!) }
    /// The length field: bytes of attributes after the 20-byte header.
    public var length: Int { Int(bytes.getInteger(at: bytes.readerIndex + 2, as: UInt16.self)!) }
    /// The transaction id.
    public var transactionID: STUNTransactionID {
        STUNTransactionID(high: bytes.getInteger(at: bytes.readerIndex + 8, as: UInt32.self)!,
                          low: bytes.getInteger(at: bytes.readerIndex + 12, as: UInt64.self)!)
    }

    // MARK: Attributes

    /// One attribute: its type and value (without padding).
    public struct Attribute: Hashable, Sendable {
        public var type: STUNAttributeType
        public var value: ByteBuffer
    }

    /// Every attribute in order of appearance, including unknown ones.
    public var attributes: [Attribute] {
        entries.map { Attribute(type: STUNAttributeType(rawValue: $0.type), value: valueSlice($0)) }
    }

    /// The attribute types in order of appearance.
    public var attributeTypes: [STUNAttributeType] { entries.map { STUNAttributeType(rawValue: $0.type) } }

    func valueSlice(_ e: Entry) -> ByteBuffer {
        bytes.getSlice(at: bytes.readerIndex + Int(e.offset) + 4, length: Int(e.length))!
    }

    func entry(_ type: STUNAttributeType) -> Entry? {
        for e in entries where e.type == type.rawValue { return e }
        return nil
    }

    /// The value of the first attribute of `type`, if present.
    public func value(of type: STUNAttributeType) -> ByteBuffer? { entry(type).map(valueSlice) }

    /// Whether an attribute of `type` is present.
    public func contains(_ type: STUNAttributeType) -> Bool { entry(type) != nil }

    /// Comprehension-required attribute types (< 0x8000) not in `known`, for a 420 response
    /// (RFC 8489 §6.3.1.1).
    public func unknownComprehensionRequired(known: Set<STUNAttributeType>) -> [STUNAttributeType] {
        var out: [STUNAttributeType] = []
        for e in entries where e.type < 0x8000 {
            let t = STUNAttributeType(rawValue: e.type)
            if !known.contains(t) && !out.contains(t) { out.append(t) }
        }
        return out
    }

    /// USERNAME as UTF-8 text (`nil` if absent or not UTF-8).
    public var username: String? {
        guard let v = value(of: .username) else { return nil }
        return String(validating: v.readableBytesView, as: UTF8.self)
    }
    /// SOFTWARE as UTF-8 text.
    public var software: String? {
        guard let v = value(of: .software) else { return nil }
        return String(validating: v.readableBytesView, as: UTF8.self)
    }
    /// REALM as UTF-8 text.
    public var realm: String? {
        guard let v = value(of: .realm) else { return nil }
        return String(validating: v.readableBytesView, as: UTF8.self)
    }
    /// NONCE as UTF-8 text.
    public var nonce: String? {
        guard let v = value(of: .nonce) else { return nil }
        return String(validating: v.readableBytesView, as: UTF8.self)
    }

    /// PRIORITY (RFC 8445 §7.1.1).
    public var priority: UInt32? { integer32(.priority) }
    /// Whether USE-CANDIDATE is present (RFC 8445 §7.1.2).
    public var useCandidate: Bool { contains(.useCandidate) }
    /// ICE-CONTROLLING tie-breaker (RFC 8445 §7.1.3).
    public var iceControlling: UInt64? { integer64(.iceControlling) }
    /// ICE-CONTROLLED tie-breaker.
    public var iceControlled: UInt64? { integer64(.iceControlled) }
    /// NOMINATION value (draft-thatcher-ice-renomination).
    public var nomination: UInt32? { integer32(.nomination) }
    /// FINGERPRINT value as carried (already XORed with "STUN").
    public var fingerprint: UInt32? { integer32(.fingerprint) }
    /// The 20-byte MESSAGE-INTEGRITY HMAC, as carried.
    public var messageIntegrity: [UInt8]? { value(of: .messageIntegrity).map { Array($0.readableBytesView) } }

    func integer32(_ t: STUNAttributeType) -> UInt32? {
        guard let e = entry(t), e.length >= 4 else { return nil }
        return bytes.getInteger(at: bytes.readerIndex + Int(e.offset) + 4, as: UInt32.self)
    }

    func integer64(_ t: STUNAttributeType) -> UInt64? {
        guard let e = entry(t), e.length >= 8 else { return nil }
        return bytes.getInteger(at: bytes.readerIndex + Int(e.offset) + 4, as: UInt64.self)
    }

    /// ERROR-CODE (RFC 8489 §14.8); `nil` if absent or malformed.
    public var errorCode: STUNErrorCode? {
        guard let v = value(of: .errorCode), v.readableBytes >= 4,
              let cls = v.getInteger(at: v.readerIndex + 2, as: UInt8.self),
              let num = v.getInteger(at: v.readerIndex + 3, as: UInt8.self) else { return nil }
        let reason = String(decoding: v.readableBytesView.dropFirst(4), as: UTF8.self)
        return STUNErrorCode(code: UInt16(cls & 0x07) * 100 + UInt16(num), reason: reason)
    }

    /// UNKNOWN-ATTRIBUTES (RFC 8489 §14.9).
    public var unknownAttributes: [STUNAttributeType]? {
        guard let v = value(of: .unknownAttributes) else { return nil }
        return stride(from: 0, to: v.readableBytes - 1, by: 2).map {
            STUNAttributeType(rawValue: v.getInteger(at: v.readerIndex + $0, as: UInt16.self)!)
        }
    }

    /// XOR-MAPPED-ADDRESS (RFC 8489 §14.2), un-XORed.
    public var xorMappedAddress: STUNAddress? { address(.xorMappedAddress, xor: true) }
    /// MAPPED-ADDRESS (RFC 8489 §14.1).
    public var mappedAddress: STUNAddress? { address(.mappedAddress, xor: false) }

    func address(_ t: STUNAttributeType, xor: Bool) -> STUNAddress? {
        guard let v = value(of: t), v.readableBytes >= 8,
              let family = v.getInteger(at: v.readerIndex + 1, as: UInt8.self),
              var port = v.getInteger(at: v.readerIndex + 2, as: UInt16.self) else { return nil }
        if xor { port ^= UInt16(Self.magicCookie >> 16) }
        switch family {
        case 0x01:
            guard var a = v.getInteger(at: v.readerIndex + 4, as: UInt32.self) else { return nil }
            if xor { a ^= Self.magicCookie }
            return .v4(address: a, port: port)
        case 0x02:
            guard v.readableBytes >= 20, var h = v.getInteger(at: v.readerIndex + 4, as: UInt64.self),
                  var l = v.getInteger(at: v.readerIndex + 12, as: UInt64.self) else { return nil }
            if xor {
                let id = transactionID
                h ^= UInt64(Self.magicCookie) << 32 | UInt64(id.high)
                l ^= id.low
            }
            return .v6(high: h, low: l, port: port)
        default: return nil
        }
    }

    // MARK: Integrity and fingerprint

    /// Checks MESSAGE-INTEGRITY (RFC 8489 §14.5): HMAC-SHA1 with `key` over the message up to the
    /// attribute, with the length field counting up to its end. `false` when absent.
    public func verifyMessageIntegrity(key: STUNIntegrityKey) -> Bool {
        guard let e = entry(.messageIntegrity) else { return false }
        return verifyMAC(entry: e, hmac: key.sha1, macLength: 20)
    }

    /// Checks MESSAGE-INTEGRITY-SHA256 (RFC 8489 §14.6), possibly truncated (16–32 bytes).
    public func verifyMessageIntegritySHA256(key: STUNIntegrityKey) -> Bool {
        guard let e = entry(.messageIntegritySHA256) else { return false }
        return verifyMAC(entry: e, hmac: key.sha256, macLength: Int(e.length))
    }

    func verifyMAC(entry e: Entry, hmac: HMACKey, macLength: Int) -> Bool {
        var mac = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        let adjusted = UInt16(truncatingIfNeeded: Int(e.offset) + 4 + Int(e.length) - 20)
        var lengthField = adjusted.bigEndian
        return bytes.withUnsafeReadableBytes { raw in
            withUnsafeBytes(of: &lengthField) { lf in
                withUnsafeMutableBytes(of: &mac) { out in
                    hmac.authenticate([UnsafeRawBufferPointer(rebasing: raw[0..<2]), lf,
                                       UnsafeRawBufferPointer(rebasing: raw[4..<Int(e.offset)])], into: out)
                    let carried = UnsafeRawBufferPointer(rebasing: raw[(Int(e.offset) + 4)..<(Int(e.offset) + 4 + macLength)])
                    return constantTimeEqual(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(out)[0..<macLength]), carried)
                }
            }
        }
    }

    /// Checks FINGERPRINT (RFC 8489 §14.7): CRC-32 of the message up to the attribute (length field
    /// counting it) XOR 0x5354554E. `false` when absent.
    public func verifyFingerprint() -> Bool {
        guard let e = entry(.fingerprint), let carried = fingerprint else { return false }
        return Self.computeFingerprint(bytes, upTo: Int(e.offset)) == carried
    }

    /// The FINGERPRINT value for a message whose FINGERPRINT attribute starts at `offset`.
    static func computeFingerprint(_ bytes: ByteBuffer, upTo offset: Int) -> UInt32 {
        var lengthField = UInt16(truncatingIfNeeded: offset + 8 - 20).bigEndian
        return bytes.withUnsafeReadableBytes { raw in
            var crc = CRC32.update(0, UnsafeRawBufferPointer(rebasing: raw[0..<2]))
            crc = withUnsafeBytes(of: &lengthField) { CRC32.update(crc, $0) }
            crc = CRC32.update(crc, UnsafeRawBufferPointer(rebasing: raw[4..<offset]))
            return crc ^ fingerprintXOR
        }
    }
}

extension STUNMessage: WireEncodable {
    public var encodedSize: Int { bytes.readableBytes }
    public func encode(into buffer: inout ByteBuffer) {
        var b = bytes
        buffer.writeBuffer(&b)
    }
}

/// A key for MESSAGE-INTEGRITY (HMAC-SHA1) and MESSAGE-INTEGRITY-SHA256, prepared once and reused for
/// every message of a session. Not thread-safe (it owns scratch hash state); keep one per session.
public final class STUNIntegrityKey {
    /// The key bytes (RFC 8489 §9.1, §9.2).
    public let keyBytes: [UInt8]
    let sha1: HMACKey
    lazy var sha256 = HMACKey(hash: .sha256, key: keyBytes)

    /// A short-term credential key: the password's UTF-8 bytes (RFC 8489 §9.1.1). ICE passwords are
    /// ASCII, so OpaqueString/SASLprep processing is the identity for them and is not applied.
    public init(shortTermPassword password: String) {
        keyBytes = Array(password.utf8)
        sha1 = HMACKey(hash: .sha1, key: keyBytes)
    }

    /// A long-term credential key: MD5(username ":" realm ":" password) (RFC 8489 §9.2.2).
    public init(longTermUsername username: String, realm: String, password: String) {
        keyBytes = Digest.hash(.md5, Array("\(username):\(realm):\(password)".utf8))
        sha1 = HMACKey(hash: .sha1, key: keyBytes)
    }

    /// A key from raw bytes.
    public init(keyBytes: [UInt8]) {
        self.keyBytes = keyBytes
        sha1 = HMACKey(hash: .sha1, key: keyBytes)
    }
}
