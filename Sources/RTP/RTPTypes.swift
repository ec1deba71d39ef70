import RTCBase

/// An RTP sequence number (RFC 3550 §5.1), 16 bits, wrapping.
public struct RTPSequenceNumber: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    /// The 16-bit wire value.
    public var rawValue: UInt16
    /// Wraps a wire value.
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }
    /// Wraps a wire value.
    @inlinable public init(_ rawValue: UInt16) { self.rawValue = rawValue }
    /// Wraps a literal wire value.
    @inlinable public init(integerLiteral value: UInt16) { self.rawValue = value }
    /// Wrap-aware order (RFC 1982): `a < b` when `b` is ahead of `a` by less than half the space.
    @inlinable public static func < (a: Self, b: Self) -> Bool {
        SerialNumberSpace.sixteenBit.isNewer(UInt64(b.rawValue), than: UInt64(a.rawValue))
    }
    /// `self + delta`, wrapping.
    @inlinable public func advanced(by delta: Int) -> Self {
        Self(rawValue: UInt16(truncatingIfNeeded: SerialNumberSpace.sixteenBit.adding(Int64(delta), to: UInt64(rawValue))))
    }
    /// Signed wrap-aware distance from `self` to `other`.
    @inlinable public func distance(to other: Self) -> Int {
        Int(SerialNumberSpace.sixteenBit.distance(from: UInt64(rawValue), to: UInt64(other.rawValue)))
    }
    /// The decimal wire value.
    public var description: String { String(rawValue) }
}

/// An RTP timestamp (RFC 3550 §5.1), 32 bits in the clock rate of the payload format, wrapping.
public struct RTPTimestamp: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    /// The 32-bit wire value.
    public var rawValue: UInt32
    /// Wraps a wire value.
    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Wraps a wire value.
    @inlinable public init(_ rawValue: UInt32) { self.rawValue = rawValue }
    /// Wraps a literal wire value.
    @inlinable public init(integerLiteral value: UInt32) { self.rawValue = value }
    /// Wrap-aware order (RFC 1982): `a < b` when `b` is ahead of `a` by less than half the space.
    @inlinable public static func < (a: Self, b: Self) -> Bool {
        SerialNumberSpace.thirtyTwoBit.isNewer(UInt64(b.rawValue), than: UInt64(a.rawValue))
    }
    /// `self + delta` ticks, wrapping.
    @inlinable public func advanced(by delta: Int64) -> Self {
        Self(rawValue: UInt32(truncatingIfNeeded: SerialNumberSpace.thirtyTwoBit.adding(delta, to: UInt64(rawValue))))
    }
    /// Signed wrap-aware distance in ticks from `self` to `other`.
    @inlinable public func distance(to other: Self) -> Int64 {
        SerialNumberSpace.thirtyTwoBit.distance(from: UInt64(rawValue), to: UInt64(other.rawValue))
    }
    /// The decimal wire value.
    public var description: String { String(rawValue) }
}

/// Unwraps 16-bit RTP sequence numbers into a monotonic 64-bit space (RTCBase's serial-number
/// arithmetic, typed for RTP).
public struct RTPSequenceNumberUnwrapper: Sendable, Hashable {
    @usableFromInline var inner = SerialNumberUnwrapper(space: .sixteenBit)
    /// An unwrapper that has seen nothing yet.
    public init() {}
    /// The extended (unwrapped) sequence number of `seq`; the first value maps to itself.
    @inlinable public mutating func unwrap(_ seq: RTPSequenceNumber) -> Int64 { inner.unwrap(UInt64(seq.rawValue)) }
    /// The extended value `seq` would get, without recording it.
    @inlinable public func peek(_ seq: RTPSequenceNumber) -> Int64 { inner.peek(UInt64(seq.rawValue)) }
    /// The highest extended sequence number so far.
    public var highest: Int64? { inner.highest }
}

/// Unwraps 32-bit RTP timestamps into a monotonic 64-bit space.
public struct RTPTimestampUnwrapper: Sendable, Hashable {
    @usableFromInline var inner = SerialNumberUnwrapper(space: .thirtyTwoBit)
    /// An unwrapper that has seen nothing yet.
    public init() {}
    /// The extended (unwrapped) timestamp of `ts`; the first value maps to itself.
    @inlinable public mutating func unwrap(_ ts: RTPTimestamp) -> Int64 { inner.unwrap(UInt64(ts.rawValue)) }
    /// The extended value `ts` would get, without recording it.
    @inlinable public func peek(_ ts: RTPTimestamp) -> Int64 { inner.peek(UInt64(ts.rawValue)) }
    /// The highest extended timestamp so far.
    public var highest: Int64? { inner.highest }
}

/// An RTP payload type (RFC 3550 §5.1), 7 bits.
public struct PayloadType: RawRepresentable, Hashable, Sendable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    /// The 7-bit value.
    public let rawValue: UInt8
    /// `nil` for values above 127.
    @inlinable public init?(rawValue: UInt8) {
        guard rawValue < 128 else { return nil }
        self.rawValue = rawValue
    }
    /// A literal payload type; a literal above 127 is a programming error and traps.
    @inlinable public init(integerLiteral value: UInt8) {
        precondition(value < 128, "payload types are 7 bits")
        self.rawValue = value
    }
    /// The decimal value.
    public var description: String { String(rawValue) }
}

/// The local identifier of a header extension (RFC 8285 §4): 1–14 in the one-byte form, 1–255 in the
/// two-byte form; 0 is padding and, in the one-byte form, 15 is reserved.
public struct HeaderExtensionID: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    /// The wire value.
    public var rawValue: UInt8
    /// Wraps a wire value.
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// Wraps a wire value.
    @inlinable public init(_ rawValue: UInt8) { self.rawValue = rawValue }
    /// Wraps a literal wire value.
    @inlinable public init(integerLiteral value: UInt8) { self.rawValue = value }
    /// Whether an element with this id can use the one-byte form (ids 1–14).
    @inlinable public var fitsOneByteForm: Bool { rawValue >= 1 && rawValue <= 14 }
    /// Numeric order.
    @inlinable public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    /// The decimal value.
    public var description: String { String(rawValue) }
}

/// A media identification (RFC 8843 `a=mid`), carried in the sdes:mid header extension.
public struct MID: RawRepresentable, Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The identifier as negotiated.
    public var rawValue: String
    /// Wraps an identifier.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// Wraps a literal identifier.
    public init(stringLiteral value: String) { self.rawValue = value }
    /// The identifier.
    public var description: String { rawValue }
}

/// An RTP stream id (RFC 8852 `rid`), carried in rtp-stream-id / repaired-rtp-stream-id.
public struct RID: RawRepresentable, Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The identifier as negotiated.
    public var rawValue: String
    /// Wraps an identifier.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// Wraps a literal identifier.
    public init(stringLiteral value: String) { self.rawValue = value }
    /// The identifier.
    public var description: String { rawValue }
}

/// Why bytes are not a valid RTP packet (the checklist of RFC 3550 §5.1 and RFC 8285).
public enum RTPParseError: Error, Hashable, Sendable {
    /// Fewer than the 12 bytes of the fixed header.
    case headerTooShort(Int)
    /// Version is not 2.
    case badVersion(UInt8)
    /// The CSRC list runs past the end.
    case csrcTruncated
    /// The extension header (profile + length) runs past the end.
    case extensionHeaderTruncated
    /// The extension data runs past the end.
    case extensionTruncated(needed: Int, available: Int)
    /// A one-byte or two-byte extension element runs past the extension block.
    case extensionElementOverrun(id: UInt8)
    /// The padding bit is set but the padding count is zero.
    case paddingZero
    /// The padding count exceeds what follows the header.
    case paddingTooLarge(count: Int, available: Int)
    /// An RTX packet without the two-byte original sequence number (a padding-only probe).
    case rtxMissingOriginalSequenceNumber
}

/// Why a header extension cannot be set.
public enum RTPExtensionError: Error, Hashable, Sendable {
    /// id 0 is padding; ids 15 and above force the two-byte form, ids above 255 cannot exist.
    case invalidID(Int)
    /// Values are 0...255 bytes (two-byte form) — 1...16 in the one-byte form.
    case valueTooLong(Int)
    /// The packet uses a non-RFC 8285 extension profile, whose contents are opaque.
    case opaqueProfile(UInt16)
    /// The rebuilt extension block would exceed the 16-bit length field (65 535 words).
    case blockTooLarge(bytes: Int)
}
