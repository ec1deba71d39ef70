/// A synchronization source identifier (RFC 3550 §3): the 32-bit id of one RTP stream.
///
/// A newtype rather than a bare `UInt32`, so SSRCs, timestamps and sequence numbers cannot be
/// mixed up in signatures.
public struct SSRC: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible,
    ExpressibleByIntegerLiteral
{
    public var rawValue: UInt32
    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }
    @inlinable public init(_ rawValue: UInt32) { self.rawValue = rawValue }
    @inlinable public init(integerLiteral value: UInt32) { self.rawValue = value }
    @inlinable public static func < (a: SSRC, b: SSRC) -> Bool { a.rawValue < b.rawValue }
    /// Decimal, as Wireshark prints it beside the hex form.
    public var description: String { String(rawValue) }
}
