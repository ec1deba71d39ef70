import RTCBase
import RTP

/// A stream's RTP-timestamp-to-wall-clock correspondence, as its RTCP sender report states it
/// (RFC 3550 §6.4.1): at NTP time ``ntp`` the stream's RTP clock read ``rtp``. Two of these from
/// simulcast layers of one source (same capture clock) align their timestamps.
public struct RTPTimeReference: Hashable, Sendable {
    /// NTP time of the report.
    public var ntp: NTPTimestamp
    /// RTP timestamp corresponding to ``ntp``.
    public var rtp: RTPTimestamp
    /// A reference from a sender report's NTP and RTP timestamps.
    public init(ntp: NTPTimestamp, rtp: RTPTimestamp) {
        self.ntp = ntp
        self.rtp = rtp
    }

    /// The timestamp of stream `to`'s clock that corresponds to `timestamp` of this stream's clock,
    /// both clocks at `clockRate` Hz: `to.rtp + (self.ntp − to.ntp)·clockRate + (timestamp − self.rtp)`.
    public func timestamp(_ timestamp: RTPTimestamp, in to: RTPTimeReference, clockRate: UInt32) -> RTPTimestamp {
        let ntpDelta = Int64(bitPattern: ntp.rawValue &- to.ntp.rawValue)   // signed Q32.32 seconds
        // Q32.32 × Hz without overflow: whole seconds and fraction separately.
        let whole = (ntpDelta >> 32) * Int64(clockRate)
        let fraction = ((ntpDelta & 0xFFFF_FFFF) * Int64(clockRate)) >> 32
        let ticks = whole + fraction
        return to.rtp.advanced(by: ticks).advanced(by: rtp.distance(to: timestamp))
    }
}

/// Keeps one consumer's outgoing RTP timestamps continuous when the source stream changes (simulcast
/// layer switch) and across pauses.
///
/// Outgoing = incoming + ``offset`` (mod 2^32). The offset starts at `initialOffset` and only changes at
/// ``rebase(nextInput:now:equivalentInPreviousSource:)``: the first timestamp of the new source is mapped
/// either to the previous source's timeline (when the caller knows the equivalent timestamp — from the
/// two streams' sender reports, ``RTPTimeReference``), or to the last output plus the elapsed time in
/// clock ticks. Either way the result is forced past the newest output (by one frame interval when it
/// would not advance), so a receiver never sees time go backwards at a switch.
///
/// A pause of the same source needs no rebase: the source's own timestamps kept running.
public struct RTPTimestampRewriter: Sendable, Hashable {
    /// Clock rate of the stream, Hz.
    public let clockRate: UInt32
    /// Added to every incoming timestamp (mod 2^32).
    public private(set) var offset: UInt32
    /// How far a rebase must at least advance past the newest output when its estimate does not.
    public var minimumAdvance: Duration
    /// The newest outgoing timestamp, nil before the first.
    public private(set) var highestOutput: RTPTimestamp?
    /// When (caller's time) ``highestOutput`` was produced.
    public private(set) var highestOutputTime: Duration?

    /// A rewriter for a `clockRate` Hz stream; `minimumAdvance` defaults to one 30 fps frame.
    public init(clockRate: UInt32, initialOffset: UInt32 = 0, minimumAdvance: Duration = .milliseconds(33)) {
        self.clockRate = max(1, clockRate)
        self.offset = initialOffset
        self.minimumAdvance = minimumAdvance
    }

    /// `duration` in ticks of the clock (truncated).
    public func ticks(_ duration: Duration) -> Int64 {
        let (s, atto) = duration.components
        // Wrapping: a duration long enough to overflow is meaningless here but must not trap.
        return s &* Int64(clockRate) &+ (atto / 1_000_000_000) * Int64(clockRate) / 1_000_000_000
    }

    /// The outgoing timestamp for `input`, recording it as the newest when it is.
    public mutating func rewrite(_ input: RTPTimestamp, now: Duration) -> RTPTimestamp {
        let out = RTPTimestamp(rawValue: input.rawValue &+ offset)
        if let h = highestOutput, !(h < out) { return out }
        highestOutput = out
        highestOutputTime = now
        return out
    }

    /// Re-bases the offset so that `nextInput` (the first timestamp of a new source) continues the
    /// outgoing timeline: mapped to `equivalentInPreviousSource` plus the current offset when given, else
    /// to the newest output plus the time elapsed since it was sent. Before any output the offset is kept.
    public mutating func rebase(nextInput: RTPTimestamp, now: Duration, equivalentInPreviousSource: RTPTimestamp? = nil) {
        guard let last = highestOutput, let lastTime = highestOutputTime else { return }
        var target: RTPTimestamp
        if let eq = equivalentInPreviousSource {
            target = RTPTimestamp(rawValue: eq.rawValue &+ offset)
        } else {
            target = last.advanced(by: max(0, ticks(now - lastTime)))
        }
        if last.distance(to: target) <= 0 {
            target = last.advanced(by: max(1, ticks(minimumAdvance)))
        }
        offset = target.rawValue &- nextInput.rawValue
    }
}
