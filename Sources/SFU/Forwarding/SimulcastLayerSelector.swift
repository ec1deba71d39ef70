/// Chooses which simulcast layer (spatial layer = index in the producer's `encodings`, 0 = lowest) a
/// consumer should receive, from what arrives of each layer and the consumer's bitrate budget (protocol
/// docs/protocol.md §7.7).
///
/// Each layer is fed with ``observe(layer:bytes:now:)``. A layer is *alive* while packets keep coming
/// (no silence longer than ``inactivityTimeout``) and *settled* once alive for ``minimumActiveTime``
/// (2 s, as mediasoup: a layer a browser has just (re)started is not trusted yet). ``select(budget:now:)``
/// returns the highest settled layer whose measured bitrate fits the budget, else the lowest settled one;
/// when no layer is settled yet, the same among the alive ones; nil when nothing is alive.
public struct SimulcastLayerSelector: Sendable, Hashable {
    /// Number of layers (the producer's encodings).
    public let layerCount: Int
    /// How long a layer must have been alive before it is preferred.
    public var minimumActiveTime: Duration
    /// Silence after which a layer counts as stopped.
    public var inactivityTimeout: Duration
    var meters: [BitrateMeter]
    var activeSince: [Duration?]
    var lastPacketAt: [Duration?]

    /// A selector for `layerCount` layers (at least 1).
    public init(layerCount: Int, minimumActiveTime: Duration = .seconds(2), inactivityTimeout: Duration = .milliseconds(1500),
                bitrateWindow: Duration = .seconds(1)) {
        self.layerCount = max(1, layerCount)
        self.minimumActiveTime = minimumActiveTime
        self.inactivityTimeout = inactivityTimeout
        meters = Array(repeating: BitrateMeter(window: bitrateWindow), count: self.layerCount)
        activeSince = Array(repeating: nil, count: self.layerCount)
        lastPacketAt = Array(repeating: nil, count: self.layerCount)
    }

    /// Records a packet of `bytes` on `layer` (ignored when out of range).
    public mutating func observe(layer: Int, bytes: Int, now: Duration) {
        guard layer >= 0, layer < layerCount else { return }
        if let last = lastPacketAt[layer], now - last <= inactivityTimeout {
            // still alive
        } else {
            activeSince[layer] = now
            meters[layer].reset()
        }
        lastPacketAt[layer] = now
        meters[layer].record(bytes: bytes, now: now)
    }

    /// Whether `layer` received a packet within ``inactivityTimeout`` before `now`.
    public func isAlive(_ layer: Int, now: Duration) -> Bool {
        guard layer >= 0, layer < layerCount, let last = lastPacketAt[layer] else { return false }
        return now - last <= inactivityTimeout
    }

    /// How long `layer` has been alive, nil when it is not.
    public func activeDuration(_ layer: Int, now: Duration) -> Duration? {
        guard isAlive(layer, now: now), let since = activeSince[layer] else { return nil }
        return now - since
    }

    /// Measured bitrate of `layer`, bits per second (0 when not alive).
    public func bitrate(_ layer: Int, now: Duration) -> Int {
        guard isAlive(layer, now: now) else { return 0 }
        return meters[layer].bitrate(now: now)
    }

    /// The layer to forward under `budget` bits per second (see the type's description). `current`, the
    /// layer being forwarded, stays a candidate while alive even before it has settled, so a layer that
    /// started later than the others is not abandoned when the others settle.
    ///
    /// Hysteresis, so that measured bitrates that breathe (key frames, encoder ramps) do not make the
    /// consumer flap between layers — each switch costs a key frame: the current layer is kept while it stays
    /// within 15 % over the budget; a higher layer is taken only with 15 % headroom. Before any layer has
    /// settled, the lowest alive layer is chosen (a browser that has just started sends every layer at a
    /// low rate, which says nothing about what they will cost).
    public func select(budget: Int, now: Duration, keeping current: Int? = nil) -> Int? {
        var settled = false
        for l in 0..<layerCount where (activeDuration(l, now: now) ?? .zero) >= minimumActiveTime && isAlive(l, now: now) {
            settled = true
            break
        }
        var lowest: Int?
        var best: Int?
        for l in 0..<layerCount {
            guard let active = activeDuration(l, now: now) else { continue }
            if settled && active < minimumActiveTime && l != current { continue }
            if lowest == nil { lowest = l }
            guard settled else { continue }
            let rate = bitrate(l, now: now)
            let limit: Int
            if l == current {
                limit = budget > Int.max / 2 ? budget : budget + budget / 7          // keep: up to ~15 % over
            } else if let current, l > current {
                limit = budget > Int.max / 2 ? budget : budget / 100 * 85            // upgrade: 15 % headroom
            } else {
                limit = budget
            }
            if rate <= limit { best = l }
        }
        if !settled, let current, isAlive(current, now: now) { return current }
        return best ?? lowest
    }
}
