import NIOCore

/// The order a transport's pacer sends queued packets in (libwebrtc's pacer: audio, retransmissions, video,
/// padding). Audio is never held: it goes out at once and only counts against the budget.
public enum PacingPriority: Int, Hashable, Sendable, CaseIterable {
    case audio
    case retransmission
    case video
}

/// What the pacer releases: a queued item or a request for probe padding.
public enum PacerRelease<Item> {
    /// Send `item` now; it waited `queued`. `probeCluster` is set while a probe cluster is being sent.
    case item(Item, queued: Duration, probeCluster: Int?)
    /// Send about `bytes` of padding now (a probe cluster needs more than the queue holds).
    case padding(bytes: Int, probeCluster: Int)
}

/// A transport's pacer (sans-IO): a leaky bucket that lets packets out at ``pacingFactor`` × the estimate, so
/// that a key frame or a burst of retransmissions does not hit the path at line rate and build the queue the
/// delay-based estimator would then read as congestion (libwebrtc's `PacingController`; mediasoup sends forwarded
/// media unpaced and paces only its probes).
///
/// Every packet that leaves — paced or not, audio included — is accounted with ``sent(bytes:now:)``, which adds to
/// the *debt*; the debt drains at the pacing rate. A packet may leave while the debt is under ``burst`` worth of the
/// rate (so ordinary forwarding, well below the rate, passes straight through: ``mayBypass(_:now:)``); otherwise
/// it waits in its priority's queue and ``poll(now:)`` releases it when the debt allows, retransmissions before
/// video. While a probe cluster runs the rate is the cluster's, and when the queues are empty ``poll(now:)`` asks
/// for padding until the cluster's minimum bytes and packets went out; the cluster's packets are spaced at its rate
/// (no burst), since the probe result is read from their spacing.
///
/// The queue is bounded in time: when the oldest queued video would wait longer than ``maxQueueTime``,
/// ``overflowed(now:)`` says so and the owner drops the video (``dropVideo()``) and asks for a key frame, rather
/// than deliver seconds-old media.
public struct Pacer<Item> {
    struct Entry {
        var item: Item
        var bytes: Int
        var enqueuedAt: Duration
    }

    /// Pacing rate ÷ estimate (libwebrtc `kDefaultPaceMultiplier`).
    public static var pacingFactor: Double { 2.5 }
    /// How far ahead of the rate packets may go: one burst (libwebrtc's default burst interval, 40 ms).
    public static var burst: Duration { .milliseconds(40) }
    /// The longest video may wait before it is dropped for a key frame (libwebrtc lets its queue reach 2 s and then
    /// speeds up; a forwarding server cannot make the sender send less, so it drops instead).
    public static var maxQueueTime: Duration { .milliseconds(500) }
    /// Largest padding request (a padding-only RTP packet carries at most 255 bytes of padding).
    public static var maxPaddingBytes: Int { 255 }

    var retransmissions = CircularBuffer<Entry>(initialCapacity: 16)
    var video = CircularBuffer<Entry>(initialCapacity: 64)
    /// Pacing rate, bits per second.
    public private(set) var rate: Int
    var debt = 0
    var lastDrain: Duration?
    /// Bytes waiting.
    public private(set) var queuedBytes = 0
    var probe: (cluster: ProbeCluster, bytes: Int, packets: Int)?

    /// A pacer for an estimate of `estimate` bits per second.
    public init(estimate: Int) { rate = max(1, Int(Self.pacingFactor * Double(estimate))) }

    /// Follows a new estimate.
    public mutating func setEstimate(_ estimate: Int, now: Duration) {
        drain(now: now)
        rate = max(1, Int(Self.pacingFactor * Double(estimate)))
    }

    /// Starts sending `cluster` (at its rate, padding when nothing is queued).
    public mutating func startProbe(_ cluster: ProbeCluster, now: Duration) {
        drain(now: now)
        debt = 0
        probe = (cluster, 0, 0)
    }

    /// Stops the probe cluster being sent (nothing can carry its padding).
    public mutating func cancelProbe() { probe = nil }

    /// The probe cluster being sent, if any.
    public var probeCluster: Int? { probe?.cluster.id }

    var effectiveRate: Int { probe.map { max(rate, $0.cluster.bitrate) } ?? rate }
    /// How far the debt may go before packets wait: one ``burst`` of the rate — none while probing, so that a
    /// cluster's packets are spread at its rate (the probe measures their spacing).
    var burstBytes: Int { probe != nil ? 0 : Int(Double(effectiveRate) / 8 * Double(Self.burst.totalMicroseconds) / 1e6) }

    mutating func drain(now: Duration) {
        guard let last = lastDrain else {
            lastDrain = now
            return
        }
        guard now > last else { return }
        let elapsed = min(now - last, .seconds(1)).totalNanoseconds
        debt = max(0, debt - Int(Int64(effectiveRate) * elapsed / 8_000_000_000))
        lastDrain = now
    }

    /// Whether nothing is queued.
    public var isEmpty: Bool { retransmissions.isEmpty && video.isEmpty }

    /// Whether a packet of `priority` may leave at once, ahead of no queued packet of its priority or above.
    public mutating func mayBypass(_ priority: PacingPriority, now: Duration) -> Bool {
        if priority == .audio { return true }
        drain(now: now)
        if !retransmissions.isEmpty || (priority == .video && !video.isEmpty) { return false }
        return debt <= burstBytes
    }

    /// Queues `item` of `bytes` bytes.
    public mutating func enqueue(_ item: Item, bytes: Int, priority: PacingPriority, now: Duration) {
        let entry = Entry(item: item, bytes: bytes, enqueuedAt: now)
        queuedBytes += bytes
        if priority == .retransmission { retransmissions.append(entry) } else { video.append(entry) }
    }

    /// Accounts `bytes` that left at `now` (every packet of the transport). Only packets the receiver's feedback
    /// will report (`inProbe`: stamped with a transport-wide number) count towards a running probe cluster's
    /// minimums: a cluster completed by unstamped audio would never yield a result.
    public mutating func sent(bytes: Int, now: Duration, inProbe: Bool = true) {
        drain(now: now)
        debt += bytes
        if inProbe, var p = probe {
            p.bytes += bytes
            p.packets += 1
            probe = p.bytes >= p.cluster.minimumBytes && p.packets >= p.cluster.minimumPackets ? nil : p
        }
    }

    /// The next release due at `now`, nil when nothing may go yet. The owner sends what it gets (and accounts it
    /// with ``sent(bytes:now:)``) and polls again.
    public mutating func poll(now: Duration) -> PacerRelease<Item>? {
        drain(now: now)
        guard debt <= burstBytes else { return nil }
        if let e = retransmissions.popFirst() ?? video.popFirst() {
            queuedBytes -= e.bytes
            return .item(e.item, queued: now - e.enqueuedAt, probeCluster: probe?.cluster.id)
        }
        if let p = probe {
            return .padding(bytes: min(Self.maxPaddingBytes, max(1, p.cluster.minimumBytes - p.bytes)), probeCluster: p.cluster.id)
        }
        return nil
    }

    /// When ``poll(now:)`` will next release something, nil when nothing waits.
    public var nextDeadline: Duration? {
        guard !isEmpty || probe != nil, let last = lastDrain else { return nil }
        let excess = debt - burstBytes
        guard excess > 0 else { return last }
        return last + .nanoseconds(Int64(excess) * 8_000_000_000 / Int64(max(1, effectiveRate)))
    }

    /// Whether queued video would wait longer than ``maxQueueTime``: the oldest waited that long, or what is queued
    /// needs that long at the pacing rate.
    public func overflowed(now: Duration) -> Bool {
        guard let first = video.first else { return false }
        if now - first.enqueuedAt > Self.maxQueueTime { return true }
        return Int64(queuedBytes) * 8_000_000 / Int64(max(1, effectiveRate)) > Self.maxQueueTime.totalMicroseconds
    }

    /// Removes and returns every queued video item.
    public mutating func dropVideo() -> [Item] {
        var out: [Item] = []
        while let e = video.popFirst() {
            queuedBytes -= e.bytes
            out.append(e.item)
        }
        return out
    }

    /// Removes every queued item for which `matches` holds (a closed consumer's).
    public mutating func removeAll(where matches: (Item) -> Bool) {
        for queue in [\Pacer.retransmissions, \Pacer.video] as [WritableKeyPath<Pacer, CircularBuffer<Entry>>] {
            let kept = self[keyPath: queue].filter { !matches($0.item) }
            queuedBytes -= self[keyPath: queue].reduce(0) { $0 + $1.bytes } - kept.reduce(0) { $0 + $1.bytes }
            self[keyPath: queue] = CircularBuffer(kept)
        }
    }
}
