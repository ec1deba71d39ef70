/// The rate controller of the delay-based estimator (draft-ietf-rmcat-gcc-02 §5.5, libwebrtc `AimdRateControl`):
/// a three-state machine driven by the detector's ``BandwidthUsage``.
///
/// * **increase** (normal): far from the last known capacity, multiplicatively, 8 % per second (scaled by the time
///   since the last change, at most 1 s, and at least 1 kbit/s); near it (once a capacity estimate exists), additively,
///   about one packet per response time (2 × (RTT + 100 ms)), at least 4 kbit/s per second.
/// * **decrease** (overusing): to β = 0.85 × the acknowledged bitrate (what actually got through) − 5 kbit/s, at most once per
///   RTT (10…200 ms) unless the throughput fell below half the estimate; the sample updates the capacity estimate;
///   then **hold** until the detector is normal again.
/// * **hold** (underusing): the queue drains; keep the rate.
///
/// The estimate never rises above 1.5 × the acknowledged bitrate + 10 kbit/s (libwebrtc's clamp: a sender that is
/// application-limited learns nothing about rates it does not use — probes raise it, ``setEstimate(_:now:)``).
public struct AimdRateControl: Sendable, Hashable {
    public enum State: String, Hashable, Sendable { case hold, increase, decrease }

    /// Multiplicative decrease factor (draft §5.5: beta in [0.8, 0.95], libwebrtc 0.85).
    public static let beta = 0.85
    /// Multiplicative increase per second (draft §5.5: eta = 1.08).
    public static let increasePerSecond = 1.08
    /// Frame rate and packet size the additive step assumes (libwebrtc: 30 fps, 1200-byte packets).
    public static let assumedFrameRate = 30.0
    public static let assumedPacketBits = 1200.0 * 8
    /// Added to the RTT for the additive step's response time, which libwebrtc then doubles ((RTT + 100 ms) × 2).
    public static let responseTimeMargin = Duration.milliseconds(100)
    /// RTT before one is measured (libwebrtc `kDefaultRtt`).
    public static let defaultRTT = Duration.milliseconds(200)

    public private(set) var state = State.hold
    /// The estimate, bits per second.
    public private(set) var estimate: Int
    public var minimum: Int
    public var maximum: Int
    /// The round-trip time, when measured.
    public var rtt = Self.defaultRTT
    var lastChange: Duration?
    var lastDecrease: Duration?
    var capacity = LinkCapacityEstimator()
    var lastThroughput: Int?

    public init(initial: Int, minimum: Int, maximum: Int) {
        self.minimum = minimum
        self.maximum = max(minimum, maximum)
        estimate = min(max(initial, minimum), self.maximum)
    }

    /// The capacity estimate (bits per second) the additive regime is anchored to, nil before the first overuse.
    public var linkCapacity: Int? { capacity.estimate.map { Int($0) } }

    /// Whether a decrease is allowed at `now`: an RTT (10…200 ms) after the last change, or at once when the
    /// throughput fell below half the estimate.
    public func canReduceFurther(now: Duration, throughput: Int) -> Bool {
        let interval = min(max(rtt, .milliseconds(10)), .milliseconds(200))
        if let lastChange, now - lastChange < interval { return throughput < estimate / 2 }
        return true
    }

    /// Applies the detector's state at `now` with the acknowledged bitrate `throughput` (nil: not known yet).
    /// Returns the new estimate.
    @discardableResult
    public mutating func update(_ usage: BandwidthUsage, throughput: Int?, now: Duration) -> Int {
        if let throughput { lastThroughput = throughput }
        let measured = throughput ?? lastThroughput
        switch usage {
        case .normal: if state == .hold { lastChange = now; state = .increase }
        case .overusing: if state != .decrease { state = .decrease }
        case .underusing: state = .hold
        }
        var next = estimate
        switch state {
        case .hold:
            break
        case .increase:
            if let measured, let upper = capacity.upperBound, Double(measured) > upper { capacity.reset() }
            let elapsed = lastChange.map { now - $0 } ?? .zero
            if capacity.estimate != nil {
                next = estimate + Int(Double(elapsed.totalMicroseconds) / 1e6 * additiveIncreasePerSecond)
            } else {
                let seconds = min(Double(elapsed.totalMicroseconds) / 1e6, 1)
                let factor = Self.increaseFactor(seconds: seconds)
                next = estimate + max(Int(Double(estimate) * (factor - 1)), 1_000)
            }
            lastChange = now
        case .decrease:
            if let measured {
                // libwebrtc takes 5 kbit/s more off, so that the queue built during the overuse drains.
                var decreased = Int(Self.beta * Double(measured))
                if decreased > 5_000 { decreased -= 5_000 }
                if decreased > estimate, let link = capacity.estimate { decreased = Int(Self.beta * link) }
                if decreased < estimate { next = decreased }
                if let lower = capacity.lowerBound, Double(measured) < lower { capacity.reset() }
                capacity.overuseDetected(throughput: Double(measured))
            }
            lastDecrease = now
            lastChange = now
            state = .hold
        }
        estimate = clamp(next, throughput: measured)
        return estimate
    }

    /// Sets the estimate directly (a probe result, or the initial estimate), within the bounds.
    public mutating func setEstimate(_ bitsPerSecond: Int, now: Duration) {
        estimate = min(max(bitsPerSecond, minimum), maximum)
        lastChange = now
    }

    /// Changes the bounds; the estimate is clamped to them.
    public mutating func setBounds(minimum: Int, maximum: Int) {
        self.minimum = minimum
        self.maximum = max(minimum, maximum)
        estimate = min(max(estimate, self.minimum), self.maximum)
    }

    /// The additive step near capacity: about one average packet per response time (libwebrtc
    /// `GetNearMaxIncreaseRateBpsPerSecond`), at least 4 kbit/s per second.
    var additiveIncreasePerSecond: Double {
        let bitsPerFrame = Double(estimate) / Self.assumedFrameRate
        let packetsPerFrame = (bitsPerFrame / Self.assumedPacketBits).rounded(.up)
        let packetBits = bitsPerFrame / max(packetsPerFrame, 1)
        let response = 2 * Double((rtt + Self.responseTimeMargin).totalMicroseconds) / 1e6
        return max(4_000, packetBits / response)
    }

    /// 1.08^`seconds` for 0…1 s, by its exponential series (six terms are exact to 1e-11 here; the SFU module has
    /// no math library import for one `pow`).
    static func increaseFactor(seconds: Double) -> Double {
        let x = seconds * 0.076_961_041_136_128_32   // ln 1.08
        return 1 + x * (1 + x / 2 * (1 + x / 3 * (1 + x / 4 * (1 + x / 5 * (1 + x / 6)))))
    }

    func clamp(_ value: Int, throughput: Int?) -> Int {
        var v = value
        if let throughput {
            let ceiling = Int(1.5 * Double(throughput)) + 10_000
            if v > estimate && v > ceiling { v = max(estimate, ceiling) }
        }
        return min(max(v, minimum), maximum)
    }
}

/// The link-capacity estimate of the rate controller: an exponential average (α = 0.05) of the acknowledged
/// bitrate at overuse, with a normalised variance (kept in 0.4…2.5) that gives bounds of ±3 standard deviations
/// (libwebrtc `LinkCapacityEstimator`). Values in kbit/s internally, as there.
struct LinkCapacityEstimator: Sendable, Hashable {
    static let alpha = 0.05
    var kbps: Double?
    var deviation = 0.4

    var estimate: Double? { kbps.map { $0 * 1000 } }
    var upperBound: Double? { kbps.map { ($0 + 3 * (deviation * $0).squareRoot()) * 1000 } }
    var lowerBound: Double? { kbps.map { max(0, $0 - 3 * (deviation * $0).squareRoot()) * 1000 } }

    mutating func overuseDetected(throughput bps: Double) {
        let sample = bps / 1000
        let current = kbps.map { (1 - Self.alpha) * $0 + Self.alpha * sample } ?? sample
        kbps = current
        let error = current - sample
        deviation = (1 - Self.alpha) * deviation + Self.alpha * error * error / max(current, 1)
        deviation = min(max(deviation, 0.4), 2.5)
    }

    mutating func reset() { kbps = nil }
}
