import NIOCore
import RTCBase
import RTCCrypto

/// Builds a STUN message attribute by attribute; MESSAGE-INTEGRITY and FINGERPRINT are computed over
/// what was appended before them, with the length field adjusted as RFC 8489 §14.5–14.7 require.
///
/// ```swift
/// var b = STUNMessageBuilder(type: .bindingSuccess, transactionID: request.transactionID)
/// b.appendXORMappedAddress(.v4(address: 0x7F00_0001, port: 50_000))
/// b.appendMessageIntegrity(key: key)
/// b.appendFingerprint()
/// let response = b.message
/// ```
public struct STUNMessageBuilder {
    private var buffer: ByteBuffer
    private var entries: [STUNMessage.Entry] = []

    /// Starts a message of `type` with `transactionID`.
    public init(type: STUNMessageType, transactionID: STUNTransactionID, capacity: Int = 128) {
        buffer = ByteBufferAllocator().buffer(capacity: capacity)
        buffer.writeInteger(type.rawValue)
        buffer.writeInteger(UInt16(0))
        buffer.writeInteger(STUNMessage.magicCookie)
        buffer.writeInteger(transactionID.high)
        buffer.writeInteger(transactionID.low)
    }

    private mutating func setLength(_ length: Int) {
        buffer.setInteger(UInt16(truncatingIfNeeded: length), at: buffer.readerIndex + 2)
    }

    /// Appends an attribute with `value`, zero-padded to a multiple of 4 bytes.
    public mutating func append<C: Collection>(_ type: STUNAttributeType, value: C) where C.Element == UInt8 {
        let offset = buffer.readableBytes
        buffer.writeInteger(type.rawValue)
        buffer.writeInteger(UInt16(truncatingIfNeeded: value.count))
        buffer.writeBytes(value)
        let pad = (4 - value.count % 4) % 4
        if pad > 0 { buffer.writeRepeatingByte(0, count: pad) }
        entries.append(.init(offset: Int32(offset), type: type.rawValue, length: UInt16(truncatingIfNeeded: value.count)))
        setLength(buffer.readableBytes - 20)
    }

    public mutating func appendUsername(_ username: String) { append(.username, value: Array(username.utf8)) }
    public mutating func appendSoftware(_ software: String) { append(.software, value: Array(software.utf8)) }
    public mutating func appendRealm(_ realm: String) { append(.realm, value: Array(realm.utf8)) }
    public mutating func appendNonce(_ nonce: String) { append(.nonce, value: Array(nonce.utf8)) }
    public mutating func appendPriority(_ priority: UInt32) { append(.priority, value: be(priority)) }
    public mutating func appendUseCandidate() { append(.useCandidate, value: [UInt8]()) }
    public mutating func appendICEControlling(tieBreaker: UInt64) { append(.iceControlling, value: be(tieBreaker)) }
    public mutating func appendICEControlled(tieBreaker: UInt64) { append(.iceControlled, value: be(tieBreaker)) }
    public mutating func appendNomination(_ value: UInt32) { append(.nomination, value: be(value)) }

    /// ERROR-CODE with class/number from `error.code` and its reason phrase.
    public mutating func appendErrorCode(_ error: STUNErrorCode) {
        append(.errorCode, value: [0, 0, UInt8(error.code / 100), UInt8(error.code % 100)] + Array(error.reason.utf8))
    }

    /// UNKNOWN-ATTRIBUTES listing `types`.
    public mutating func appendUnknownAttributes(_ types: [STUNAttributeType]) {
        append(.unknownAttributes, value: types.flatMap { be($0.rawValue) })
    }

    /// XOR-MAPPED-ADDRESS for `address` (XORed with the cookie and, for IPv6, the transaction id).
    public mutating func appendXORMappedAddress(_ address: STUNAddress) {
        let cookie = STUNMessage.magicCookie
        let port = address.port ^ UInt16(cookie >> 16)
        switch address {
        case .v4(let a, _):
            append(.xorMappedAddress, value: [0, 1] + be(port) + be(a ^ cookie))
        case .v6(let h, let l, _):
            let idHigh = buffer.getInteger(at: buffer.readerIndex + 8, as: UInt32.self)!
            let idLow = buffer.getInteger(at: buffer.readerIndex + 12, as: UInt64.self)!
            append(.xorMappedAddress, value: [0, 2] + be(port) + be(h ^ (UInt64(cookie) << 32 | UInt64(idHigh))) + be(l ^ idLow))
        }
    }

    /// MAPPED-ADDRESS (plain, for RFC 3489 compatibility).
    public mutating func appendMappedAddress(_ address: STUNAddress) {
        switch address {
        case .v4(let a, let p): append(.mappedAddress, value: [0, 1] + be(p) + be(a))
        case .v6(let h, let l, let p): append(.mappedAddress, value: [0, 2] + be(p) + be(h) + be(l))
        }
    }

    /// MESSAGE-INTEGRITY: HMAC-SHA1 with `key` over everything appended so far.
    public mutating func appendMessageIntegrity(key: STUNIntegrityKey) {
        appendMAC(.messageIntegrity, hmac: key.sha1, length: 20)
    }

    /// MESSAGE-INTEGRITY-SHA256 (full 32 bytes).
    public mutating func appendMessageIntegritySHA256(key: STUNIntegrityKey) {
        appendMAC(.messageIntegritySHA256, hmac: key.sha256, length: 32)
    }

    private mutating func appendMAC(_ type: STUNAttributeType, hmac: HMACKey, length: Int) {
        let offset = buffer.readableBytes
        setLength(offset + 4 + length - 20)
        var mac = [UInt8](repeating: 0, count: 32)
        buffer.withUnsafeReadableBytes { raw in
            mac.withUnsafeMutableBytes { hmac.authenticate([raw], into: $0) }
        }
        append(type, value: mac[0..<length])
    }

    /// FINGERPRINT over everything appended so far; must be the last attribute.
    public mutating func appendFingerprint() {
        let offset = buffer.readableBytes
        setLength(offset + 8 - 20)
        let crc = STUNMessage.computeFingerprint(buffer, upTo: offset)
        append(.fingerprint, value: be(crc))
    }

    /// The message built so far.
    public var message: STUNMessage { STUNMessage(validatedBytes: buffer, entries: entries) }
}

@inline(__always) func be<T: FixedWidthInteger>(_ v: T) -> [UInt8] {
    (0..<(T.bitWidth / 8)).map { UInt8(truncatingIfNeeded: v >> (T.bitWidth - 8 - 8 * $0)) }
}

extension STUNMessage {
    /// A Binding success response to `request` as an ICE agent sends it (RFC 8445 §7.3.1.3):
    /// same transaction id, XOR-MAPPED-ADDRESS of the request's source, MESSAGE-INTEGRITY with the
    /// local password, FINGERPRINT.
    public static func bindingSuccess(to request: STUNMessage, source: STUNAddress, key: STUNIntegrityKey) -> STUNMessage {
        var b = STUNMessageBuilder(type: .bindingSuccess, transactionID: request.transactionID, capacity: 80)
        b.appendXORMappedAddress(source)
        b.appendMessageIntegrity(key: key)
        b.appendFingerprint()
        return b.message
    }

    /// A Binding error response to `request` with ERROR-CODE (plus UNKNOWN-ATTRIBUTES for 420) and
    /// FINGERPRINT, and MESSAGE-INTEGRITY when `key` is given.
    public static func bindingError(to request: STUNMessage, error: STUNErrorCode, unknown: [STUNAttributeType] = [],
                                    key: STUNIntegrityKey? = nil) -> STUNMessage {
        var b = STUNMessageBuilder(type: .bindingError, transactionID: request.transactionID)
        b.appendErrorCode(error)
        if !unknown.isEmpty { b.appendUnknownAttributes(unknown) }
        if let key { b.appendMessageIntegrity(key: key) }
        b.appendFingerprint()
        return b.message
    }
}
