import RTCBase

/// A STUN method (RFC 8489 §5): the 12 method bits of the message type.
public struct STUNMethod: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue & 0x0FFF }
    /// Binding (RFC 8489 §18.2), the only method ICE uses.
    public static let binding = STUNMethod(rawValue: 0x001)
    public var description: String { self == .binding ? "Binding" : "method 0x\(String(rawValue, radix: 16))" }
}

/// The class of a STUN message (RFC 8489 §5).
public enum STUNClass: UInt8, Hashable, Sendable {
    case request = 0b00
    case indication = 0b01
    case successResponse = 0b10
    case errorResponse = 0b11
}

/// The 14-bit message type: method and class interleaved as RFC 8489 §5 draws them.
///
/// ```
///  0                 1
///  2  3  4 5 6 7 8 9 0 1 2 3 4 5
/// +--+--+-+-+-+-+-+-+-+-+-+-+-+-+
/// |M |M |M|M|M|C|M|M|M|C|M|M|M|M|
/// |11|10|9|8|7|1|6|5|4|0|3|2|1|0|
/// +--+--+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
public struct STUNMessageType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue & 0x3FFF }

    public init(method: STUNMethod, class messageClass: STUNClass) {
        let m = method.rawValue, c = UInt16(messageClass.rawValue)
        rawValue = (m & 0x000F) | ((m & 0x0070) << 1) | ((m & 0x0F80) << 2) | ((c & 1) << 4) | ((c & 2) << 7)
    }

    public var method: STUNMethod {
        STUNMethod(rawValue: (rawValue & 0x000F) | ((rawValue & 0x00E0) >> 1) | ((rawValue & 0x3E00) >> 2))
    }

    public var messageClass: STUNClass {
        STUNClass(rawValue: UInt8(((rawValue >> 4) & 1) | ((rawValue >> 7) & 2)))!
    }

    public static let bindingRequest = STUNMessageType(method: .binding, class: .request)
    public static let bindingSuccess = STUNMessageType(method: .binding, class: .successResponse)
    public static let bindingError = STUNMessageType(method: .binding, class: .errorResponse)
    public static let bindingIndication = STUNMessageType(method: .binding, class: .indication)

    public var description: String { "\(method) \(messageClass)" }
}

/// The 96-bit transaction id of a STUN message (RFC 8489 §5).
public struct STUNTransactionID: Hashable, Sendable, CustomStringConvertible {
    /// The 12 bytes, most significant first.
    public var high: UInt32
    public var low: UInt64

    public init(high: UInt32, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Builds an id from exactly 12 bytes.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 12 else { return nil }
        high = bytes[0..<4].reduce(0) { $0 << 8 | UInt32($1) }
        low = bytes[4..<12].reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// A random id (RFC 8489 §6: uniformly random from the range 0 .. 2^96-1) from `generator`.
    public static func random<G: RandomNumberGenerator>(using generator: inout G) -> STUNTransactionID {
        STUNTransactionID(high: generator.next(), low: generator.next())
    }

    /// The 12 bytes.
    public var bytes: [UInt8] {
        (0..<4).map { UInt8(truncatingIfNeeded: high >> (24 - 8 * $0)) } + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
    }

    public var description: String { bytes.map { String($0, radix: 16).leftPad2 }.joined() }
}

extension String {
    var leftPad2: String { count < 2 ? "0" + self : self }
}

/// A STUN attribute type (RFC 8489 §14 and the IANA registry). Types below 0x8000 are
/// comprehension-required: an agent that does not understand one must reject the message.
public struct STUNAttributeType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    public static let mappedAddress = STUNAttributeType(0x0001)
    public static let username = STUNAttributeType(0x0006)
    public static let messageIntegrity = STUNAttributeType(0x0008)
    public static let errorCode = STUNAttributeType(0x0009)
    public static let unknownAttributes = STUNAttributeType(0x000A)
    public static let realm = STUNAttributeType(0x0014)
    public static let nonce = STUNAttributeType(0x0015)
    public static let messageIntegritySHA256 = STUNAttributeType(0x001C)
    public static let userhash = STUNAttributeType(0x001E)
    public static let xorMappedAddress = STUNAttributeType(0x0020)
    /// RFC 8445 §16.1.
    public static let priority = STUNAttributeType(0x0024)
    /// RFC 8445 §16.1.
    public static let useCandidate = STUNAttributeType(0x0025)
    public static let software = STUNAttributeType(0x8022)
    public static let alternateServer = STUNAttributeType(0x8023)
    public static let fingerprint = STUNAttributeType(0x8028)
    /// RFC 8445 §16.1.
    public static let iceControlled = STUNAttributeType(0x8029)
    /// RFC 8445 §16.1.
    public static let iceControlling = STUNAttributeType(0x802A)
    /// Google's GOOG-NETWORK-INFO, sent by Chromium.
    public static let googNetworkInfo = STUNAttributeType(0xC057)
    /// NOMINATION (draft-thatcher-ice-renomination), used by libwebrtc.
    public static let nomination = STUNAttributeType(0xC001)

    /// Whether an agent must understand this attribute to process the message (type < 0x8000).
    public var isComprehensionRequired: Bool { rawValue < 0x8000 }

    public var description: String { "0x" + String(rawValue, radix: 16) }
}

/// A transport address carried in (XOR-)MAPPED-ADDRESS (RFC 8489 §14.1–14.2).
public enum STUNAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(address: UInt32, port: UInt16)
    case v6(high: UInt64, low: UInt64, port: UInt16)

    public var port: UInt16 {
        switch self {
        case .v4(_, let p), .v6(_, _, let p): return p
        }
    }

    /// The address bytes in network order (4 or 16).
    public var addressBytes: [UInt8] {
        switch self {
        case .v4(let a, _): return (0..<4).map { UInt8(truncatingIfNeeded: a >> (24 - 8 * $0)) }
        case .v6(let h, let l, _):
            return (0..<8).map { UInt8(truncatingIfNeeded: h >> (56 - 8 * $0)) } + (0..<8).map { UInt8(truncatingIfNeeded: l >> (56 - 8 * $0)) }
        }
    }

    public var description: String {
        switch self {
        case .v4: return addressBytes.map(String.init).joined(separator: ".") + ":\(port)"
        case .v6:
            let b = addressBytes
            let groups = (0..<8).map { String(UInt16(b[2 * $0]) << 8 | UInt16(b[2 * $0 + 1]), radix: 16) }
            return "[" + groups.joined(separator: ":") + "]:\(port)"
        }
    }
}

/// ERROR-CODE (RFC 8489 §14.8): a class (3–6) and number (0–99) forming codes 300–699, and a reason phrase.
public struct STUNErrorCode: Hashable, Sendable, CustomStringConvertible {
    public var code: UInt16
    public var reason: String
    public init(code: UInt16, reason: String) {
        self.code = code
        self.reason = reason
    }
    public static let badRequest = STUNErrorCode(code: 400, reason: "Bad Request")
    public static let unauthorized = STUNErrorCode(code: 401, reason: "Unauthorized")
    public static let unknownAttribute = STUNErrorCode(code: 420, reason: "Unknown Attribute")
    public static let roleConflict = STUNErrorCode(code: 487, reason: "Role Conflict")
    public static let serverError = STUNErrorCode(code: 500, reason: "Server Error")
    public var description: String { "\(code) \(reason)" }
}

/// Why bytes are not a valid STUN message.
public enum STUNParseError: Error, Hashable, Sendable {
    /// Fewer than 20 bytes, or fewer than the header's length field announces.
    case truncated(need: Int, have: Int)
    /// The two most significant bits are not zero (RFC 8489 §5).
    case notSTUN
    /// The magic cookie is not 0x2112A442 (RFC 3489 messages are not accepted).
    case badMagicCookie(UInt32)
    /// The length field is not a multiple of 4, or does not match the datagram.
    case badLength(Int)
    /// An attribute's value runs past the end of the message.
    case attributeOverrun(type: UInt16, offset: Int)
    /// An attribute follows FINGERPRINT, which must be last (RFC 8489 §14.7).
    case attributeAfterFingerprint(type: UInt16)
    /// An attribute of a fixed size has another size.
    case badAttributeLength(type: UInt16, length: Int)
}
