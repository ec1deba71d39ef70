/// A loss-based estimate of the bitrate a receiving browser can take (the classic rule of libwebrtc's
/// send-side estimator, applied to the loss figures receivers report): grow 8 % per second while reported
/// loss stays under 2 %, hold between 2 % and 10 %, shrink by half the loss fraction above 10 % (at most
/// every 300 ms + RTT). It starts at mediasoup's initial available outgoing bitrate (600 kbps) and stays in
/// `minimum…maximum` (MAX_BITRATE_OUT).
///
/// It is deliberately simple — the layer budget of simulcast consumers until delay-based estimation from
/// transport-cc feedback exists. Sans-IO: reports and time go in, the estimate comes out.
public struct LossBasedBandwidthEstimator: Sendable, Hashable {
    /// Current estimate, bits per second.
    public private(set) var estimate: Int
    /// Bounds of the estimate.
    public var minimum: Int
    public var maximum: Int
    private var lastIncrease: Duration?
    private var lastDecrease: Duration?

    /// An estimator starting at `initial` bps, kept within `minimum…maximum`.
    public init(initial: Int = 600_000, minimum: Int = 100_000, maximum: Int = 10_000_000) {
        self.minimum = minimum
        self.maximum = max(minimum, maximum)
        estimate = min(max(initial, minimum), self.maximum)
    }

    /// Feeds the loss a receiver reported (RTCP `fraction lost`, 0…255 = 0…~100 %) at `now`; `rtt` is
    /// the round-trip time when known. Returns the new estimate.
    @discardableResult
    public mutating func reported(fractionLost: UInt8, now: Duration, rtt: Duration = .milliseconds(100)) -> Int {
        let loss = Double(fractionLost) / 256
        if loss < 0.02 {
            let since = lastIncrease.map { now - $0 } ?? .seconds(1)
            if since >= .seconds(1) {
                estimate = Int(Double(estimate) * 1.08) + 1_000
                lastIncrease = now
            }
        } else if loss > 0.10 {
            let since = lastDecrease.map { now - $0 } ?? .seconds(10)
            if since >= .milliseconds(300) + rtt {
                estimate = Int(Double(estimate) * (1 - 0.5 * loss))
                lastDecrease = now
                lastIncrease = now
            }
        }
        estimate = min(max(estimate, minimum), maximum)
        return estimate
    }

    /// Changes the ceiling (MAX_BITRATE_OUT); the estimate is clamped to it.
    public mutating func setMaximum(_ value: Int) {
        maximum = max(minimum, value)
        estimate = min(estimate, maximum)
    }
}
