/// Chooses which simulcast layer (spatial layer = index in the producer's `encodings`, 0 = lowest) a
/// consumer should receive, from what arrives of each layer and the consumer's bitrate budget (protocol
/// docs/protocol.md §7.7).
///
/// One per video producer (the measurements are the producer's, shared by its consumers). Each layer is fed with
/// ``observe(layer:temporalLayer:bytes:now:)``; packets that carry a temporal layer id (VP8 TID) are also
/// measured per temporal layer, which gives the allocation its finer steps (``bitrate(_:upToTemporalLayer:now:)``). A layer is *alive* while packets keep coming
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
    /// Per layer, per temporal layer id (0…``maxTemporalLayers`` − 1).
    var temporalMeters: [[BitrateMeter]]
    var activeSince: [Duration?]
    var lastPacketAt: [Duration?]

    /// A selector for `layerCount` layers (at least 1).
    public init(layerCount: Int, minimumActiveTime: Duration = .seconds(2), inactivityTimeout: Duration = .milliseconds(1500),
                bitrateWindow: Duration = .seconds(1)) {
        self.layerCount = max(1, layerCount)
        self.minimumActiveTime = minimumActiveTime
        self.inactivityTimeout = inactivityTimeout
        meters = Array(repeating: BitrateMeter(window: bitrateWindow), count: self.layerCount)
        temporalMeters = Array(repeating: Array(repeating: BitrateMeter(window: bitrateWindow), count: Self.maxTemporalLayers),
                               count: self.layerCount)
        activeSince = Array(repeating: nil, count: self.layerCount)
        lastPacketAt = Array(repeating: nil, count: self.layerCount)
    }

    /// Temporal layer ids measured (VP8 has at most four).
    public static let maxTemporalLayers = 4

    /// Records a packet of `bytes` on `layer` with temporal layer id `temporalLayer` (nil: none) (ignored when out of
    /// range). Returns whether the layer (re)started with it.
    @discardableResult
    public mutating func observe(layer: Int, temporalLayer: Int? = nil, bytes: Int, now: Duration) -> Bool {
        guard layer >= 0, layer < layerCount else { return false }
        var started = false
        if let last = lastPacketAt[layer], now - last <= inactivityTimeout {
            // still alive
        } else {
            activeSince[layer] = now
            meters[layer].reset()
            for t in 0..<Self.maxTemporalLayers { temporalMeters[layer][t].reset() }
            started = true
        }
        lastPacketAt[layer] = now
        meters[layer].record(bytes: bytes, now: now)
        if let temporalLayer, temporalLayer >= 0, temporalLayer < Self.maxTemporalLayers {
            temporalMeters[layer][temporalLayer].record(bytes: bytes, now: now)
        }
        return started
    }

    /// How many temporal layers `layer` has had over the bitrate window (highest id seen + 1), nil when its packets
    /// carry no temporal layer id.
    public func temporalLayerCount(_ layer: Int, now: Duration) -> Int? {
        guard isAlive(layer, now: now) else { return nil }
        var count: Int?
        for t in 0..<Self.maxTemporalLayers where temporalMeters[layer][t].bytesInWindow(now: now) > 0 { count = t + 1 }
        return count
    }

    /// Measured bitrate of `layer` with temporal layers 0…`temporal` only, bits per second.
    public func bitrate(_ layer: Int, upToTemporalLayer temporal: Int, now: Duration) -> Int {
        guard isAlive(layer, now: now) else { return 0 }
        var sum = 0
        for t in 0...min(temporal, Self.maxTemporalLayers - 1) { sum += temporalMeters[layer][t].bitrate(now: now) }
        return sum
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

    /// What a consumer of these layers can be given now, cheapest first (``BitrateAllocation/Demand/steps``): the
    /// settled layers (before any has settled, the lowest alive one), plus `current`'s layer while it is alive; per
    /// layer with temporal layers, one step per temporal layer (all of them last, `temporal` nil). A step that costs
    /// at least as much as a higher one is left out (a higher spatial layer at a low frame rate can be cheaper than a
    /// lower one at its full rate), so costs rise strictly. Above the lowest layer offered, a layer's temporal steps
    /// keep at least half its frame rate (TL0+TL1 of three): a higher resolution at a quarter of the frame rate looks
    /// worse than the layer below at its full rate, and in the real-browser bottleneck run (2.5 → 0.4 Mbit/s) the
    /// 1280×720 layer at 5 fps also grew Chromium's jitter buffer to ~1 s, where the 640×360 layer at 20 fps fits.
    public func steps(now: Duration, keeping current: Int? = nil) -> [BitrateAllocation.Step] {
        var settled = false
        for l in 0..<layerCount where (activeDuration(l, now: now) ?? .zero) >= minimumActiveTime {
            settled = true
            break
        }
        var candidates: [Int] = []
        for l in 0..<layerCount where isAlive(l, now: now) {
            let settledHere = (activeDuration(l, now: now) ?? .zero) >= minimumActiveTime
            if l == current || (settled ? settledHere : candidates.isEmpty) { candidates.append(l) }
        }
        var all: [BitrateAllocation.Step] = []
        for l in candidates {
            if let count = temporalLayerCount(l, now: now), count > 1 {
                let lowest = l == candidates.first ? 0 : max(0, count - 2)
                for t in lowest..<(count - 1) {
                    all.append(BitrateAllocation.Step(spatial: l, temporal: t, bitrate: bitrate(l, upToTemporalLayer: t, now: now)))
                }
            }
            all.append(BitrateAllocation.Step(spatial: l, temporal: nil, bitrate: bitrate(l, now: now)))
        }
        var kept: [BitrateAllocation.Step] = []
        var cheapestAbove = Int.max
        for step in all.reversed() where step.bitrate < cheapestAbove {
            kept.append(step)
            cheapestAbove = step.bitrate
        }
        return kept.reversed()
    }
}
