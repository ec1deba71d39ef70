import RTP

/// How a transport's outgoing estimate is split between its consumers: a pure function, so that the rule can be
/// read and table-tested on its own (congestion control replaces the estimate it is given and refines the rule;
/// the shape stays).
///
/// Today's rule: every active audio consumer is set aside ``audioReservation``; what remains is shared equally by
/// the active video consumers, each of which picks the highest simulcast layer that fits its share (with
/// hysteresis, ``SimulcastLayerSelector``). Inactive consumers get 0.
public enum BitrateAllocation {
    /// What the allocation needs to know of one consumer.
    public struct Demand: Hashable, Sendable {
        /// Audio or video.
        public var kind: MediaKind
        /// Whether it forwards now (resumed, its producer not paused).
        public var active: Bool

        public init(kind: MediaKind, active: Bool) {
            self.kind = kind
            self.active = active
        }
    }

    /// Bits per second set aside per active audio consumer (Opus at its highest usual rate, with headers).
    public static let audioReservation = 64_000

    /// Each consumer's budget in bits per second, in the order of `consumers`.
    public static func allocate(estimate: Int, among consumers: [Demand]) -> [Int] {
        let audio = consumers.count { $0.kind == .audio && $0.active }
        let video = consumers.count { $0.kind == .video && $0.active }
        let share = max(0, estimate - audioReservation * audio) / max(1, video)
        return consumers.map { demand in
            guard demand.active else { return 0 }
            return demand.kind == .audio ? audioReservation : share
        }
    }
}
