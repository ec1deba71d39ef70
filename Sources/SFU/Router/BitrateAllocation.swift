import RTP

/// How a transport's estimate is split between its consumers: a pure function, so that the rule can be read and
/// table-tested on its own.
///
/// 1. **Audio always**: every active audio consumer gets its producer's measured rate (``audioReservation`` until
///    one is measured), even when that leaves nothing for video — audio is never paused by allocation.
/// 2. **Screen shares before cameras**: the screen-share consumers are served (steps 3–4) from what audio left,
///    then the cameras from what the screens left.
/// 3. Within a group, **each consumer first gets its lowest step** (the lowest simulcast layer at its lowest temporal
///    layer), in order; a simulcast consumer whose lowest step does not fit is **paused** (no layer). A consumer of a
///    single-encoding producer (``Demand/pausable`` false) keeps its lowest step whatever the estimate, as mediasoup's
///    simple consumer is never paused: there is no smaller picture to fall back to, and nothing at all is worse.
/// 4. Then, **round-robin, one step at a time**, each consumer is raised to its next step while the extra cost fits:
///    cameras share fairly, the highest spatial layer that fits wins, temporal layers are the finer steps between.
///    A raise *above what a consumer has now* must also fit the `upgradeLimit` — what the path has proved it carries
///    (a probe result, or what the receiver acknowledged) — so that an estimate that merely drifted up while the
///    sender was application-limited does not buy a layer the path then cannot take; a raise to a *higher spatial
///    layer* must fit the stricter `spatialUpgradeLimit` (a confirmed probe), as it costs a key frame.
///
/// Hysteresis, so that measured bitrates that breathe (key frames, encoder ramps) do not make a consumer flap — each
/// spatial switch costs a key frame: a step above the one a consumer has now (and resuming a paused one) costs
/// ``upgradeHeadroom`` (5 %) more than its bitrate, a step of a *higher spatial layer* than the current one
/// ``spatialUpgradeHeadroom`` (15 %) more; the step it has now costs its bitrate ÷ ``keepTolerance`` (it is kept
/// while within 15 % over its share); steps below cost their bitrate.
public enum BitrateAllocation {
    /// What is sent: video sources are served in this order.
    public enum Source: Int, Hashable, Sendable, Comparable {
        case screen
        case camera

        public static func < (a: Source, b: Source) -> Bool { a.rawValue < b.rawValue }
    }

    /// One thing a video consumer can be given: a spatial layer (index in the producer's encodings) with temporal
    /// layers up to `temporal` (nil: all of them — the producer's packets carry none), and what that costs.
    public struct Step: Hashable, Sendable, CustomStringConvertible {
        public var spatial: Int
        public var temporal: Int?
        /// Bits per second on the wire.
        public var bitrate: Int

        public init(spatial: Int, temporal: Int?, bitrate: Int) {
            self.spatial = spatial
            self.temporal = temporal
            self.bitrate = bitrate
        }

        /// Whether this step is above `other` (higher spatial layer, or the same with more temporal layers).
        public func isAbove(_ other: Step) -> Bool {
            spatial != other.spatial ? spatial > other.spatial : (temporal ?? .max) > (other.temporal ?? .max)
        }

        /// Whether this step names the same layers as `other` (whatever their bitrates).
        public func sameLayers(_ other: Step) -> Bool { spatial == other.spatial && temporal == other.temporal }

        public var description: String { "S\(spatial)T\(temporal.map(String.init) ?? "*")@\(bitrate)" }
    }

    /// What the allocation needs to know of one consumer.
    public struct Demand: Hashable, Sendable {
        /// Audio or video.
        public var kind: MediaKind
        /// Whether it forwards now (resumed, its producer not paused).
        public var active: Bool
        /// Video: screen share or camera.
        public var source: Source
        /// Video: what it can be given now, cheapest first (each dearer than the one before).
        public var steps: [Step]
        /// Video: what it has now (nil: paused or not started).
        public var current: Step?
        /// Audio: what it costs (nil: not measured yet, ``audioReservation``).
        public var audioBitrate: Int?
        /// Video: whether it may be paused when its lowest step does not fit (simulcast producers).
        public var pausable: Bool

        public init(kind: MediaKind, active: Bool, source: Source = .camera, steps: [Step] = [], current: Step? = nil,
                    audioBitrate: Int? = nil, pausable: Bool = true) {
            self.pausable = pausable
            self.kind = kind
            self.active = active
            self.source = source
            self.steps = steps
            self.current = current
            self.audioBitrate = audioBitrate
        }
    }

    /// One consumer's share.
    public struct Allocation: Hashable, Sendable, CustomStringConvertible {
        /// Video: the layers to forward; nil: paused (or nothing to forward yet). Always nil for audio.
        public var step: Step?
        /// Bits per second given (audio: its cost; video: the step's bitrate; inactive: 0).
        public var bitrate: Int

        public init(step: Step?, bitrate: Int) {
            self.step = step
            self.bitrate = bitrate
        }

        public var description: String { step.map { "\($0)" } ?? "\(bitrate)" }
    }

    /// Bits per second set aside for an active audio consumer whose producer has not been measured yet (Opus at its
    /// highest usual rate, with headers).
    public static let audioReservation = 64_000
    /// What a step above the current one costs more than its bitrate (5 %: meters breathe; mediasoup adds nothing).
    public static let upgradeHeadroom = 1.05
    /// What a step of a higher spatial layer than the current one costs more than its bitrate (15 %). Such a switch
    /// starts at a key frame of the new layer — several frames' worth of bytes in one burst, which the delay-based
    /// detector sees as overuse on a link the step barely fits — and senders' layer rates are often close (a 1280×720
    /// layer at two temporal layers measured 391 kbit/s next to 387 kbit/s for the full 640×360 one): behind a
    /// 400 kbit/s bottleneck, 5 % let a consumer switch spatial layers every second or two, each switch a key frame and
    /// a freeze. 15 % mirrors ``keepTolerance``: a layer bought at the estimate is kept through one AIMD cut (to 0.85 ×).
    /// Such a raise must also fit the confirmed probe rate (`spatialUpgradeLimit`); 25 % kept a 350 kbit/s layer out of
    /// a 500 kbit/s link that had confirmed 448 kbit/s.
    public static let spatialUpgradeHeadroom = 1.15
    /// How far over its share the current step may be and still be kept (15 %).
    public static let keepTolerance = 1.15

    /// Each consumer's share of `estimate` bits per second, in the order of `consumers`; raises above what a consumer
    /// has now must also fit `upgradeLimit` (nil: the estimate), raises to a higher spatial layer than it has also
    /// `spatialUpgradeLimit` (nil: `upgradeLimit`).
    public static func allocate(estimate: Int, upgradeLimit: Int? = nil, spatialUpgradeLimit: Int? = nil,
                                among consumers: [Demand]) -> [Allocation] {
        var result = consumers.map { _ in Allocation(step: nil, bitrate: 0) }
        var remaining = estimate
        var remainingForUpgrades = min(estimate, upgradeLimit ?? estimate)
        var remainingForSpatial = min(remainingForUpgrades, spatialUpgradeLimit ?? remainingForUpgrades)
        for (i, d) in consumers.enumerated() where d.kind == .audio && d.active {
            let cost = d.audioBitrate ?? audioReservation
            result[i].bitrate = cost
            remaining -= cost
            remainingForUpgrades -= cost
            remainingForSpatial -= cost
        }
        for source in [Source.screen, .camera] {
            let group = consumers.indices.filter {
                consumers[$0].kind == .video && consumers[$0].active && consumers[$0].source == source && !consumers[$0].steps.isEmpty
            }
            var level = [Int?](repeating: nil, count: consumers.count)   // index into steps
            var spent = [Double](repeating: 0, count: consumers.count)
            for i in group {
                let c = cost(consumers[i].steps[0], current: consumers[i].current)
                if c <= Double(remaining) || !consumers[i].pausable {
                    level[i] = 0
                    spent[i] = c
                    remaining -= Int(c.rounded(.up))
                    remainingForUpgrades -= Int(c.rounded(.up))
                    remainingForSpatial -= Int(c.rounded(.up))
                }
            }
            var raised = true
            while raised {
                raised = false
                for i in group {
                    guard let l = level[i], l + 1 < consumers[i].steps.count else { continue }
                    let next = consumers[i].steps[l + 1]
                    let c = cost(next, current: consumers[i].current)
                    let extra = Int((c - spent[i]).rounded(.up))
                    let isUpgrade = consumers[i].current.map { next.isAbove($0) } ?? true
                    let isSpatialUpgrade = consumers[i].current.map { next.spatial > $0.spatial } ?? false
                    guard extra <= remaining, !isUpgrade || extra <= remainingForUpgrades,
                          !isSpatialUpgrade || extra <= remainingForSpatial else { continue }
                    level[i] = l + 1
                    spent[i] = c
                    remaining -= extra
                    remainingForUpgrades -= extra
                    remainingForSpatial -= extra
                    raised = true
                }
            }
            for i in group {
                if let l = level[i] { result[i] = Allocation(step: consumers[i].steps[l], bitrate: consumers[i].steps[l].bitrate) }
            }
        }
        return result
    }

    /// What the consumers would take with an unlimited estimate: every active consumer at its top step (audio at its
    /// cost). Above the estimate, probing can show whether the path takes more.
    public static func desired(_ consumers: [Demand]) -> Int {
        consumers.reduce(0) { sum, d in
            guard d.active else { return sum }
            if d.kind == .audio { return sum + (d.audioBitrate ?? audioReservation) }
            return sum + (d.steps.last?.bitrate ?? 0)
        }
    }

    static func cost(_ step: Step, current: Step?) -> Double {
        let rate = Double(step.bitrate)
        guard let current else { return rate * upgradeHeadroom }
        if step.sameLayers(current) { return rate / keepTolerance }
        if step.spatial > current.spatial { return rate * spatialUpgradeHeadroom }
        return step.isAbove(current) ? rate * upgradeHeadroom : rate
    }
}
