/// Decides when a transport probes (sans-IO): when its consumers would take more than the estimate allows — a higher
/// simulcast or temporal layer exists — a cluster at up to ``maxFactor`` × the estimate shows whether the path takes
/// it, and the allocation upgrades only once the estimate (raised by the result) has room.
///
/// * No probe while the desired bitrate is within ``margin`` of the estimate, while a cluster's result is awaited
///   (at most ``resultTimeout``), or before ``nextAllowed``.
/// * The target is the desired bitrate plus the allocation's upgrade headroom (× 1.25), capped at ``maxFactor`` ×
///   the estimate and at the ceiling — from 400 kbit/s, 800 kbit/s; from there 1.6 Mbit/s (libwebrtc probes
///   exponentially in steps of 2 too).
/// * A result of at least ``successRatio`` of the target allows the next probe after ``successInterval`` (keep
///   climbing); a lower one — the path is saturated — after ``failureInterval``, so a congested path sees a 15 ms
///   burst every few seconds at most, and a path whose capacity came back is found within that interval.
public struct ProbeController: Sendable {
    public static let margin = 1.05
    public static let headroom = 1.25
    public static let maxFactor = 2.0
    /// libwebrtc continues exponential probing when a result exceeds 0.7 × the probe rate.
    public static let successRatio = 0.7
    public static let successInterval = Duration.milliseconds(500)
    public static let failureInterval = Duration.milliseconds(2_500)
    public static let resultTimeout = Duration.seconds(1)

    var nextID = 1
    var awaiting: (id: Int, target: Int, sentAt: Duration)?
    /// No probe starts before this.
    public private(set) var nextAllowed: Duration = .zero
    /// The newest result.
    public private(set) var lastResult: ProbeResult?

    public init() {}

    /// A cluster to send now, or nil. `estimate` is what is proved (a single result may have proved it); once it
    /// covers `desired` (within ``margin``), the probe starts from `confirmed` instead — what two results agree on —
    /// so that the next result can confirm the first.
    public mutating func update(estimate proved: Int, confirmed: Int? = nil, desired: Int, maximum: Int, now: Duration) -> ProbeCluster? {
        if let a = awaiting {
            guard now - a.sentAt >= Self.resultTimeout else { return nil }
            awaiting = nil
            nextAllowed = max(nextAllowed, a.sentAt + Self.failureInterval)
        }
        let estimate = Double(desired) <= Self.margin * Double(proved) ? min(proved, confirmed ?? proved) : proved
        guard now >= nextAllowed, Double(desired) > Self.margin * Double(estimate), estimate < maximum else { return nil }
        let target = min(Int(Self.headroom * Double(desired)), Int(Self.maxFactor * Double(estimate)), maximum)
        guard target > estimate else { return nil }
        let cluster = ProbeCluster(id: nextID, bitrate: target)
        nextID += 1
        awaiting = (cluster.id, target, now)
        return cluster
    }

    /// A cluster's result arrived at `now`.
    public mutating func received(_ result: ProbeResult, now: Duration) {
        lastResult = result
        guard let a = awaiting, a.id == result.cluster else { return }
        awaiting = nil
        let succeeded = Double(result.bitrate) >= Self.successRatio * Double(a.target)
        nextAllowed = now + (succeeded ? Self.successInterval : Self.failureInterval)
    }
}
