import RTCBase

// Time helpers shared by the RTP stream components. Every component takes `now` as a `Duration`
// since an arbitrary origin chosen by the caller (the same convention as `WebRtcTransport`).

extension Duration {
    /// Whole nanoseconds (truncated toward zero), saturating far outside ±292 years.
    @inlinable var totalNanoseconds: Int64 {
        let c = components
        let (s, o) = c.seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if o { return c.seconds < 0 ? .min : .max }
        return s &+ c.attoseconds / 1_000_000_000
    }

    /// Whole microseconds (truncated toward zero).
    @inlinable var totalMicroseconds: Int64 { totalNanoseconds / 1_000 }

    /// This duration in ticks of a `clockRate` Hz clock (truncated toward zero), as RTP timestamps count.
    @inlinable func ticks(clockRate: UInt32) -> Int64 {
        let c = components
        let rate = Int64(clockRate)
        return c.seconds &* rate &+ (c.attoseconds / 1_000_000_000) &* rate / 1_000_000_000
    }

    /// This duration in the 1/65536 s units of RTCP's DLSR field (RFC 3550 §6.4.1), clamped to 32 bits.
    @inlinable var compactNTPUnits: UInt32 {
        let ns = totalNanoseconds
        guard ns > 0 else { return 0 }
        guard ns < (Int64(1) << 47) else { return .max }   // keeps the shift below in range (≈ 39 h)
        return UInt32(clamping: (ns << 16) / 1_000_000_000)
    }

    /// A duration of `units` × 1/65536 s.
    @inlinable static func compactNTP(_ units: UInt32) -> Duration {
        .nanoseconds((Int64(units) * 1_000_000_000) >> 16)
    }
}

/// The wall clock as seen from the caller's time origin: what RTCP needs to put NTP timestamps in
/// sender reports (RFC 3550 §6.4.1) and to compute round-trip times from report blocks.
///
/// The components never read the clock. The caller captures one pair (its `now`, the Unix time) once
/// and passes their difference here, the way str0m derives wall-clock time from one anchor.
public struct NTPClock: Sendable, Hashable {
    /// The Unix time (since 1970-01-01 UTC) at the caller's time origin (`now == .zero`).
    public var unixTimeAtOrigin: Duration

    /// A clock whose origin is the Unix time `unixTimeAtOrigin`.
    public init(unixTimeAtOrigin: Duration) { self.unixTimeAtOrigin = unixTimeAtOrigin }

    /// The NTP timestamp of the instant `now`.
    public func ntp(at now: Duration) -> NTPTimestamp {
        let ns = (unixTimeAtOrigin + now).totalNanoseconds
        return NTPTimestamp(unixNanoseconds: UInt64(clamping: ns))
    }
}
