/// What the delay-based detector concludes about the path (draft-ietf-rmcat-gcc-02 §5.4).
public enum BandwidthUsage: String, Hashable, Sendable {
    /// Queueing delay is not growing.
    case normal
    /// Queueing delay grows: the sender exceeds the path's capacity.
    case overusing
    /// Queueing delay shrinks: a queue drains.
    case underusing
}

/// The trendline filter and the adaptive-threshold overuse detector of libwebrtc's delay-based estimator (the
/// successor of the draft's Kalman filter, draft-ietf-rmcat-gcc-02 §5.3–§5.4; `TrendlineEstimator`).
///
/// Each group delta adds `arrival delta − send delta` to an accumulated delay, which is smoothed exponentially
/// (``smoothing``) and kept with its arrival time in a window of ``windowSize`` points; the least-squares slope
/// of smoothed delay over time is the *trend* (ms of delay gained per ms). The trend, scaled by the number of
/// deltas seen (at most ``minimumDeltas``) and ``thresholdGain``, is compared with an adaptive threshold γ:
///
/// * above γ for more than ``overuseTime`` (the time accumulated from send deltas, started at half the first one)
///   and in at least two consecutive deltas, with a trend not falling: **overusing**;
/// * below −γ: **underusing**; else **normal**.
///
/// γ follows |scaled trend| at rate k_up (0.0087 /ms) when above it and k_down (0.039 /ms) when below, per
/// millisecond since the last update (at most 100 ms), except when |scaled trend| exceeds γ by more than
/// ``maxAdaptOffset`` (a spike is not learnt); γ stays in 6…600 (draft §5.4, eq. 7–8).
public struct TrendlineEstimator: Sendable, Hashable {
    /// Points in the regression window (libwebrtc `kDefaultTrendlineWindowSize`).
    public static let windowSize = 20
    /// Exponential smoothing of the accumulated delay (libwebrtc `kDefaultTrendlineSmoothingCoeff`).
    public static let smoothing = 0.9
    /// Gain applied to the trend before the comparison (libwebrtc `kDefaultTrendlineThresholdGain`).
    public static let thresholdGain = 4.0
    /// Deltas after which the trend is no longer scaled up with their count (libwebrtc `kMinNumDeltas`).
    public static let minimumDeltas = 60
    /// Threshold adaptation rates per ms (draft-ietf-rmcat-gcc-02 §5.4: K_u, K_d).
    public static let kUp = 0.0087
    public static let kDown = 0.039
    /// Initial threshold and its bounds, ms (draft §5.4: del_var_th initial 12.5 ms; libwebrtc clamps 6…600).
    public static let initialThreshold = 12.5
    public static let thresholdRange = 6.0...600.0
    /// A scaled trend further than this above γ does not move γ (libwebrtc `kMaxAdaptOffsetMs`).
    public static let maxAdaptOffset = 15.0
    /// Overuse must last this long before it is signalled, ms (libwebrtc `kOverUsingTimeThreshold`).
    public static let overuseTime = 10.0

    struct Point: Hashable {
        var x: Double
        var y: Double
    }

    public private(set) var state = BandwidthUsage.normal
    /// The adaptive threshold γ, ms.
    public internal(set) var threshold = Self.initialThreshold
    /// The latest slope of smoothed delay over time.
    public private(set) var trend = 0.0
    /// The latest scaled trend compared with γ.
    public private(set) var modifiedTrend = 0.0
    var deltaCount = 0
    var firstArrival: Double?
    var accumulatedDelay = 0.0
    var smoothedDelay = 0.0
    var points: [Point] = []
    var previousTrend = 0.0
    var timeOverUsing = -1.0
    var overuseCount = 0
    var lastThresholdUpdate: Double?

    public init() { points.reserveCapacity(Self.windowSize + 1) }

    /// Adds the deltas of one completed group; returns the new state.
    @discardableResult
    public mutating func update(_ deltas: InterArrival.Deltas) -> BandwidthUsage {
        let arrivalDelta = Self.milliseconds(deltas.arrival), sendDelta = Self.milliseconds(deltas.send)
        let arrivalTime = Self.milliseconds(deltas.arrivalTime)
        deltaCount = min(deltaCount + 1, 1000)
        if firstArrival == nil { firstArrival = arrivalTime }
        accumulatedDelay += arrivalDelta - sendDelta
        smoothedDelay = Self.smoothing * smoothedDelay + (1 - Self.smoothing) * accumulatedDelay
        points.append(Point(x: arrivalTime - firstArrival!, y: smoothedDelay))
        if points.count > Self.windowSize { points.removeFirst() }
        var newTrend = previousTrend
        if points.count == Self.windowSize, let slope = Self.slope(points) { newTrend = slope }
        trend = newTrend
        detect(trend: newTrend, sendDelta: sendDelta, now: arrivalTime)
        return state
    }

    /// Least-squares slope of y over x, nil when every x is equal.
    static func slope(_ points: [Point]) -> Double? {
        let n = Double(points.count)
        let meanX = points.reduce(0) { $0 + $1.x } / n, meanY = points.reduce(0) { $0 + $1.y } / n
        var numerator = 0.0, denominator = 0.0
        for p in points {
            numerator += (p.x - meanX) * (p.y - meanY)
            denominator += (p.x - meanX) * (p.x - meanX)
        }
        return denominator == 0 ? nil : numerator / denominator
    }

    mutating func detect(trend: Double, sendDelta: Double, now: Double) {
        guard deltaCount >= 2 else {
            state = .normal
            return
        }
        let scaled = Double(min(deltaCount, Self.minimumDeltas)) * trend * Self.thresholdGain
        modifiedTrend = scaled
        if scaled > threshold {
            timeOverUsing = timeOverUsing < 0 ? sendDelta / 2 : timeOverUsing + sendDelta
            overuseCount += 1
            if timeOverUsing > Self.overuseTime && overuseCount > 1 && trend >= previousTrend {
                timeOverUsing = 0
                overuseCount = 0
                state = .overusing
            }
        } else if scaled < -threshold {
            timeOverUsing = -1
            overuseCount = 0
            state = .underusing
        } else {
            timeOverUsing = -1
            overuseCount = 0
            state = .normal
        }
        previousTrend = trend
        updateThreshold(scaled, now: now)
    }

    mutating func updateThreshold(_ scaled: Double, now: Double) {
        let last = lastThresholdUpdate ?? now
        lastThresholdUpdate = now
        let magnitude = abs(scaled)
        if magnitude > threshold + Self.maxAdaptOffset { return }
        let k = magnitude < threshold ? Self.kDown : Self.kUp
        threshold += k * (magnitude - threshold) * min(now - last, 100)
        threshold = min(max(threshold, Self.thresholdRange.lowerBound), Self.thresholdRange.upperBound)
    }

    static func milliseconds(_ d: Duration) -> Double { Double(d.totalMicroseconds) / 1000 }
}
