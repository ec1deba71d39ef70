/// A 64-bit NTP timestamp (RFC 5905 §6): seconds since 1900-01-01 in the high 32 bits and a
/// binary fraction of a second in the low 32 bits. Used by RTCP sender reports (RFC 3550 §6.4.1)
/// and the abs-capture-time RTP header extension.
public struct NTPTimestamp: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Builds a timestamp from its two 32-bit halves.
    @inlinable public init(seconds: UInt32, fraction: UInt32) {
        self.rawValue = UInt64(seconds) << 32 | UInt64(fraction)
    }

    /// Whole seconds since the NTP epoch (wraps in 2036).
    @inlinable public var seconds: UInt32 { UInt32(truncatingIfNeeded: rawValue >> 32) }
    /// Fraction of a second, in units of 2^-32 s.
    @inlinable public var fraction: UInt32 { UInt32(truncatingIfNeeded: rawValue) }

    /// The middle 32 bits (16.16 fixed point), as carried in RTCP LSR fields (RFC 3550 §6.4.1).
    @inlinable public var middle32: UInt32 { UInt32(truncatingIfNeeded: rawValue >> 16) }

    /// Seconds between the NTP epoch (1900) and the Unix epoch (1970).
    public static let unixEpochOffset: UInt64 = 2_208_988_800

    /// The timestamp for a Unix time given in nanoseconds.
    public init(unixNanoseconds ns: UInt64) {
        let secs = ns / 1_000_000_000 + Self.unixEpochOffset
        let frac = ((ns % 1_000_000_000) << 32) / 1_000_000_000
        self.rawValue = (secs << 32) | frac
    }

    /// The Unix time in nanoseconds this timestamp denotes (before 2036).
    public var unixNanoseconds: UInt64 {
        let secs = UInt64(seconds) &- Self.unixEpochOffset
        return secs &* 1_000_000_000 &+ (UInt64(fraction) &* 1_000_000_000) >> 32
    }

    @inlinable public static func < (a: NTPTimestamp, b: NTPTimestamp) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "\(seconds).\(String(fraction, radix: 16))" }
}
