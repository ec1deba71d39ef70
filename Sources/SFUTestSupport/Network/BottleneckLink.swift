import NIOCore
import RTCTestSupport

/// A bottleneck link in virtual time: a drop-tail FIFO of ``queueLimit`` bytes served at ``capacity`` bits per
/// second, then ``propagationDelay``, with optional random loss and a competing TCP-like flow (``CrossTraffic``)
/// sharing the queue. What the kernel's `htb`/`tbf` give a real test, without the kernel's timer granularity — and
/// with the delay and random loss the kernel here cannot add (it has no `netem`).
///
/// Sans-IO like everything it connects: ``send(_:now:)`` offers a datagram; ``deliveries(until:)`` hands out those
/// that have arrived by then. A packet's service starts when it reaches the head of the queue, at the capacity in
/// force then (``setCapacity(_:now:)`` changes it from that instant).
public final class BottleneckLink {
    /// A datagram on its way, and what the link measured of it.
    public struct Delivery {
        public var bytes: ByteBuffer
        /// When it entered the queue.
        public var sentAt: Duration
        /// When it arrived at the far end.
        public var arrival: Duration
        /// Time spent queued before its own service began.
        public var queueDelay: Duration
    }

    struct Queued {
        var bytes: ByteBuffer?      // nil: a cross-traffic packet
        var size: Int
        var enqueuedAt: Duration
        var crossSequence: Int = 0
    }

    /// Service rate, bits per second.
    public private(set) var capacity: Int
    /// Largest queue, bytes (drop-tail).
    public var queueLimit: Int
    /// One-way delay after service.
    public var propagationDelay: Duration
    /// Probability that a datagram is lost at random (before the queue).
    public var randomLoss: Double
    /// The competing flow, if any.
    public var crossTraffic: CrossTraffic?

    var queue: [Queued] = []
    var queueHead = 0
    var queuedBytes = 0
    /// When the packet at the head finishes service (nil: idle).
    var headFinishes: Duration?
    var inFlight: [Delivery] = []
    var rng: SplitMix64

    /// Counters of the media offered (cross traffic excluded).
    public private(set) var offeredPackets = 0
    public private(set) var offeredBytes = 0
    public private(set) var droppedPackets = 0
    public private(set) var deliveredBytes = 0
    /// Bytes of every flow (media and cross traffic) that finished service.
    public private(set) var servedBytes = 0

    public init(capacity: Int, queueLimit: Int, propagationDelay: Duration, randomLoss: Double = 0, seed: UInt64 = 1) {
        self.capacity = capacity
        self.queueLimit = queueLimit
        self.propagationDelay = propagationDelay
        self.randomLoss = randomLoss
        rng = SplitMix64(seed: seed)
    }

    /// Bytes queued now (all flows).
    public var backlog: Int { queuedBytes }

    /// Changes the service rate from `now` on.
    public func setCapacity(_ bitsPerSecond: Int, now: Duration) {
        advance(to: now)
        if let finish = headFinishes, finish > now {
            // The head's remaining bits at the new rate.
            let remaining = Double((finish - now).microsecondCount) * Double(capacity)
            headFinishes = now + .microseconds(Int64(remaining / Double(bitsPerSecond)))
        }
        capacity = bitsPerSecond
    }

    /// Offers a media datagram at `now`; false when it was lost (at random or for want of queue space).
    @discardableResult
    public func send(_ bytes: ByteBuffer, now: Duration) -> Bool {
        advance(to: now)
        offeredPackets += 1
        offeredBytes += bytes.readableBytes
        if randomLoss > 0, Double.random(in: 0..<1, using: &rng) < randomLoss {
            droppedPackets += 1
            return false
        }
        return enqueue(Queued(bytes: bytes, size: bytes.readableBytes + 28, enqueuedAt: now), now: now)
    }

    func enqueue(_ q: Queued, now: Duration) -> Bool {
        guard queuedBytes + q.size <= queueLimit else {
            if q.bytes != nil { droppedPackets += 1 } else { crossTraffic?.lost(q.crossSequence, now: now) }
            return false
        }
        queue.append(q)
        queuedBytes += q.size
        if headFinishes == nil { startHead(at: now) }
        return true
    }

    func startHead(at time: Duration) {
        guard queueHead < queue.count else {
            headFinishes = nil
            queue.removeAll(keepingCapacity: true)
            queueHead = 0
            return
        }
        headFinishes = time + .microseconds(Int64(queue[queueHead].size) * 8 * 1_000_000 / Int64(max(1, capacity)))
    }

    /// Serves the queue up to `now`, and runs the cross traffic's sends and ACKs in time order.
    func advance(to now: Duration) {
        while true {
            let nextFinish = headFinishes
            let nextAck = crossTraffic?.nextAck
            let nextCross = crossTraffic?.nextSend
            guard let t = [nextFinish, nextAck, nextCross].compactMap({ $0 }).min(), t <= now else { break }
            if let f = nextFinish, f == t {
                let q = queue[queueHead]
                queueHead += 1
                queuedBytes -= q.size
                servedBytes += q.size
                let arrival = f + propagationDelay
                let serviceTime = Duration.microseconds(Int64(q.size) * 8 * 1_000_000 / Int64(max(1, capacity)))
                if let bytes = q.bytes {
                    inFlight.append(Delivery(bytes: bytes, sentAt: q.enqueuedAt, arrival: arrival,
                                             queueDelay: max(.zero, f - serviceTime - q.enqueuedAt)))
                    deliveredBytes += bytes.readableBytes
                } else {
                    crossTraffic?.delivered(q.crossSequence, at: arrival)
                }
                startHead(at: f)
            } else if let a = nextAck, a == t {
                crossTraffic?.takeAck(at: t)
            } else if let cross = crossTraffic {
                let (sequence, size) = cross.takeSend(at: t)
                _ = enqueue(Queued(bytes: nil, size: size, enqueuedAt: t, crossSequence: sequence), now: t)
            }
        }
        crossTraffic?.now = max(crossTraffic?.now ?? now, now)
    }

    /// The media datagrams that arrived by `now`, in arrival order.
    public func deliveries(until now: Duration) -> [Delivery] {
        advance(to: now)
        guard inFlight.contains(where: { $0.arrival <= now }) else { return [] }
        let due = inFlight.filter { $0.arrival <= now }.sorted { $0.arrival < $1.arrival }
        inFlight.removeAll { $0.arrival <= now }
        return due
    }

    /// When the next delivery (or cross-traffic event) happens, nil when nothing is on its way.
    public var nextEvent: Duration? {
        [inFlight.map(\.arrival).min(), headFinishes, crossTraffic?.nextSend, crossTraffic?.nextAck].compactMap { $0 }.min()
    }
}

/// A TCP-like competing flow (Reno-style AIMD on a window of packets, ACKs returning after the forward arrival plus
/// the reverse propagation delay): it fills whatever the link leaves, backs off by half on a loss (once per RTT),
/// and grows by one packet per RTT otherwise — the cross traffic a video call meets on a shared access link.
public final class CrossTraffic {
    public let packetSize: Int
    public let returnDelay: Duration
    /// Congestion window, packets.
    public private(set) var window: Double = 2
    /// When the flow starts and stops sending.
    public var start: Duration
    public var stop: Duration
    var nextSequence = 0
    var inFlight: Set<Int> = []
    var acks: [(Int, Duration)] = []
    var lastBackoff: Duration?
    var threshold = Double.infinity
    /// Bytes the flow got through.
    public private(set) var deliveredBytes = 0
    var now = Duration.zero

    public init(packetSize: Int = 1_200, returnDelay: Duration, start: Duration, stop: Duration) {
        self.packetSize = packetSize
        self.returnDelay = returnDelay
        self.start = start
        self.stop = stop
    }

    /// When the flow sends its next packet (nil: window full, or outside its active time).
    var nextSend: Duration? {
        guard now < stop else { return nil }
        if now < start { return start }
        return Double(inFlight.count) < window ? now : nil
    }

    func takeSend(at time: Duration) -> (Int, Int) {
        now = max(now, time)
        let s = nextSequence
        nextSequence += 1
        inFlight.insert(s)
        return (s, packetSize)
    }

    func delivered(_ sequence: Int, at arrival: Duration) {
        acks.append((sequence, arrival + returnDelay))
        deliveredBytes += packetSize
    }

    func lost(_ sequence: Int, now time: Duration) {
        inFlight.remove(sequence)
        let rtt = returnDelay * 2
        if lastBackoff.map({ time - $0 > rtt }) ?? true {
            window = max(2, window / 2)
            threshold = window
            lastBackoff = time
        }
    }

    /// When the next ACK arrives.
    var nextAck: Duration? { acks.map(\.1).min() }

    /// Takes the ACK due at `time`: the window grows (slow start, then one packet per window).
    func takeAck(at time: Duration) {
        now = max(now, time)
        guard let i = acks.firstIndex(where: { $0.1 <= time }) else { return }
        inFlight.remove(acks[i].0)
        acks.remove(at: i)
        window += window < threshold ? 1 : 1 / window
    }
}

extension Duration {
    /// Whole microseconds (the SFU module's own helper is internal to it).
    var microsecondCount: Int64 {
        let c = components
        return c.seconds * 1_000_000 + c.attoseconds / 1_000_000_000_000
    }
}
