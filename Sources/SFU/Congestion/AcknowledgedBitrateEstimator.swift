/// The rate at which packets reached the receiver, from the sizes and arrival times transport-cc feedback
/// reports (libwebrtc `BitrateEstimator`, behind `AcknowledgedBitrateEstimator`): the throughput the rate
/// controller decreases from and caps increases by.
///
/// Bytes are summed over windows of arrival time (``initialWindow`` until the first estimate, then ``window``);
/// each window's rate is a sample merged into the estimate by a Bayesian update: the sample's variance grows
/// with its distance from the estimate (× ``uncertaintyScale``),
/// and the estimate's own variance grows by ``processNoise`` each step. So single low windows (a pause between
/// frames) move the estimate little, a sustained change moves it within a few windows.
public struct AcknowledgedBitrateEstimator: Sendable, Hashable {
    public static let initialWindow = Duration.milliseconds(500)
    public static let window = Duration.milliseconds(150)
    public static let uncertaintyScale = 10.0
    /// libwebrtc has a separate scale for application-limited samples, equal to ``uncertaintyScale`` unless a field
    /// trial changes it; kept equal here.
    public static let alrUncertaintyScale = 10.0
    /// Variance added per update, (kbit/s)².
    public static let processNoise = 5.0
    static let initialVariance = 50.0

    /// kbit/s; nil before the first full window.
    var kbps: Double?
    var variance = Self.initialVariance
    var windowSum = 0
    var windowElapsed = Duration.zero
    var lastArrival: Duration?

    public init() {}

    /// The estimate, bits per second (nil before the first full window).
    public var bitrate: Int? { kbps.map { Int($0 * 1000) } }

    /// Adds a packet of `size` bytes that arrived at `arrival` (receiver clock; packets in arrival order).
    public mutating func add(size: Int, arrival: Duration, inALR: Bool = false) {
        let window = kbps == nil ? Self.initialWindow : Self.window
        if let last = lastArrival, arrival < last {
            windowSum = 0
            windowElapsed = .zero
        } else if let last = lastArrival {
            windowElapsed += arrival - last
            if arrival - last > window {
                windowSum = 0
                windowElapsed = .zero
            }
        }
        lastArrival = arrival
        if windowElapsed >= window {
            let sample = Double(windowSum) * 8 / (Double(window.totalMicroseconds) / 1000)   // bits per ms = kbit/s
            windowElapsed -= window
            windowSum = 0
            merge(sample, inALR: inALR)
        }
        windowSum += size
    }

    mutating func merge(_ sample: Double, inALR: Bool) {
        guard let estimate = kbps else {
            kbps = sample
            return
        }
        let scale = inALR && sample < estimate ? Self.alrUncertaintyScale : Self.uncertaintyScale
        let uncertainty = scale * abs(estimate - sample) / max(estimate, 1)
        let sampleVariance = uncertainty * uncertainty
        let predicted = variance + Self.processNoise
        kbps = max(0, (sampleVariance * estimate + predicted * sample) / (sampleVariance + predicted))
        variance = sampleVariance * predicted / (sampleVariance + predicted)
    }

    /// Sets the estimate from a probe result (bits per second), as libwebrtc does after a successful probe.
    public mutating func setBitrate(_ bitsPerSecond: Int) {
        kbps = Double(bitsPerSecond) / 1000
        variance = Self.initialVariance
    }
}

/// Detects the application-limited region: the sender uses much less than the estimate allows (an SFU whose
/// consumers' layers are below the estimate is there most of the time), so feedback cannot show what more the path
/// would take (libwebrtc `AlrDetector`).
///
/// A budget fills at ``usageRatio`` × the estimate and drains by the bytes sent, within ±``window`` of that rate;
/// the region starts when the budget is over ``startRatio`` full and ends below ``stopRatio``.
public struct ALRDetector: Sendable, Hashable {
    public static let usageRatio = 0.65
    public static let startRatio = 0.80
    public static let stopRatio = 0.50
    public static let window = Duration.milliseconds(500)

    /// Whether the sender is application-limited.
    public private(set) var inALR = false
    /// When the current region started.
    public private(set) var startedAt: Duration?
    var budgetBytes = 0.0
    var lastSend: Duration?

    public init() {}

    /// Accounts `bytes` sent at `now` under estimate `estimate` (bits per second).
    public mutating func sent(bytes: Int, now: Duration, estimate: Int) {
        let rate = Double(estimate) * Self.usageRatio / 8   // bytes per second
        let maxBytes = rate * Double(Self.window.totalMicroseconds) / 1e6
        if let last = lastSend {
            let elapsed = min(Double((now - last).totalMicroseconds) / 1e6, 0.5)
            budgetBytes = min(budgetBytes + rate * elapsed, maxBytes)
        }
        lastSend = now
        budgetBytes = max(budgetBytes - Double(bytes), -maxBytes)
        let ratio = maxBytes > 0 ? budgetBytes / maxBytes : 0
        if !inALR && ratio > Self.startRatio {
            inALR = true
            startedAt = now
        } else if inALR && ratio < Self.stopRatio {
            inALR = false
            startedAt = nil
        }
    }
}
