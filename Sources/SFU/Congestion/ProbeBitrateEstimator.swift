/// A probe cluster: packets sent back to back at a chosen rate to learn whether the path takes it.
public struct ProbeCluster: Hashable, Sendable {
    /// The cluster's id (what packets sent in it are tagged with).
    public var id: Int
    /// The rate the cluster is sent at, bits per second.
    public var bitrate: Int
    /// Bytes to send at least (``bitrate`` × ``ProbeBitrateEstimator/minimumDuration``, and at least
    /// ``ProbeBitrateEstimator/minimumClusterBytes``).
    public var minimumBytes: Int
    /// Packets to send at least.
    public var minimumPackets: Int

    public init(id: Int, bitrate: Int,
                minimumBytes: Int? = nil, minimumPackets: Int = ProbeBitrateEstimator.minimumPackets) {
        self.id = id
        self.bitrate = bitrate
        self.minimumBytes = minimumBytes ?? max(ProbeBitrateEstimator.minimumClusterBytes,
                                                Int(Double(bitrate) / 8 * Double(ProbeBitrateEstimator.minimumDuration.totalMicroseconds) / 1e6))
        self.minimumPackets = minimumPackets
    }
}

/// What a probe cluster showed: the rate the path delivered it at (libwebrtc `ProbeBitrateEstimator`).
public struct ProbeResult: Hashable, Sendable {
    public var cluster: Int
    /// The rate the cluster was meant to be sent at.
    public var target: Int
    /// The estimated rate, bits per second.
    public var bitrate: Int
    /// Whether the receive rate was well below the send rate (the path is saturated at `bitrate`).
    public var saturated: Bool
}

/// Reads probe results from transport-cc feedback (libwebrtc `ProbeBitrateEstimator`): per cluster, the first and
/// last send and arrival times and the bytes of the packets reported received. Once at least ``receivedRatio`` of the
/// cluster's minimum packets and bytes arrived, the send rate (bytes but the last packet's over the send interval)
/// and the receive rate (bytes but the first packet's over the arrival interval) give the result: the smaller one,
/// or, when the path delivered less than ``unsaturatedRatio`` of the send rate, ``targetUtilization`` × the receive
/// rate. Intervals over 1 s, non-positive ones and receive/send ratios over ``maxValidRatio`` are invalid.
///
/// Unlike libwebrtc, the receive rate is the smaller of the rate over the whole cluster and the rate over its
/// *later half* of arrivals: a token-bucket shaper lets its bucket through at line rate, so a cluster that starts
/// on an idle link arrives first in a burst and only then at the link's rate (behind a 400 kbit/s htb class,
/// whole-cluster reads of 540–610 kbit/s bought a spatial layer the link could not carry — for a browser an over-read
/// costs a few overused intervals, for an SFU a key frame and a freeze).
public struct ProbeBitrateEstimator: Sendable, Hashable {
    public static let minimumPackets = 5
    /// libwebrtc sends 15 ms of the rate (`kMinProbeDurationMs`); behind a token-bucket shaper that is often less
    /// than the bucket, which lets the whole cluster through at line rate: with an htb class of 400 kbit/s (3 KB
    /// burst) 15 ms clusters read 620–830 kbit/s and upgraded a layer the link could not carry. 40 ms, and at least
    /// ``minimumClusterBytes``, spread a cluster past such a burst.
    public static let minimumDuration = Duration.milliseconds(40)
    /// The smallest cluster, bytes (four bursts of a shaper allowing one full-size datagram ahead).
    public static let minimumClusterBytes = 6_000
    public static let receivedRatio = 0.80
    public static let maxValidRatio = 2.0
    public static let unsaturatedRatio = 0.9
    public static let targetUtilization = 0.95
    public static let maxInterval = Duration.seconds(1)

    struct Aggregate: Hashable {
        var cluster: ProbeCluster
        var firstSend: Duration?
        var lastSend = Duration.zero
        var firstArrival = Duration.zero
        var lastArrival = Duration.zero
        var lastSendSize = 0
        var firstArrivalSize = 0
        var bytes = 0
        var packets = 0
        /// Bytes of packets sent in the cluster without a transport-wide number (audio: the feedback never reports
        /// them, but they shared the path with the cluster's packets).
        var unstampedBytes = 0
        /// Arrival and size of the packets received, at most ``maxArrivals``.
        var arrivals: [Arrival] = []
        var done = false

        /// The rate the later half of the arrivals came at (bytes after the middle arrival over the time since),
        /// nil with fewer than 4 arrivals or no time between.
        var laterHalfRate: Double? {
            guard arrivals.count >= 4 else { return nil }
            let sorted = arrivals.sorted { $0.at < $1.at }
            let middle = sorted.count / 2
            let span = sorted[sorted.count - 1].at - sorted[middle].at
            guard span > .zero else { return nil }
            let bytes = sorted[(middle + 1)...].reduce(0) { $0 + $1.size }
            return Double(bytes) * 8 / (Double(span.totalMicroseconds) / 1e6)
        }
    }

    struct Arrival: Hashable {
        var at: Duration
        var size: Int
    }

    /// Arrivals kept per cluster (a 40 ms cluster at 8 Mbit/s of 255-byte padding is ~150 packets).
    static let maxArrivals = 512

    var clusters: [Int: Aggregate] = [:]

    public init() {}

    /// Registers a cluster being sent (so that its minimums are known when feedback comes).
    public mutating func started(_ cluster: ProbeCluster) {
        clusters[cluster.id] = Aggregate(cluster: cluster)
        // Keep the few newest clusters only.
        if clusters.count > 8, let oldest = clusters.keys.min() { clusters[oldest] = nil }
    }

    /// Accounts a packet sent in cluster `id` that carries no transport-wide number: its bytes count in both rates,
    /// since it crossed the path between the cluster's packets (without them a cluster interleaved with audio reads
    /// ~10 % low at the bottleneck's rate).
    public mutating func sentUnstamped(cluster id: Int, size: Int) {
        guard var a = clusters[id], !a.done else { return }
        a.unstampedBytes += size
        clusters[id] = a
    }

    /// Adds a received probe packet (feedback of one message, then ``results()``).
    public mutating func add(_ packet: PacketFeedback) {
        guard let id = packet.sent.probeCluster, let arrival = packet.arrival, var a = clusters[id], !a.done else { return }
        let send = packet.sent.sendTime, size = packet.sent.size
        if a.firstSend == nil || send < a.firstSend! { a.firstSend = send }
        if send >= a.lastSend { a.lastSend = send; a.lastSendSize = size }
        if a.packets == 0 || arrival < a.firstArrival { a.firstArrival = arrival; a.firstArrivalSize = size }
        if a.packets == 0 || arrival > a.lastArrival { a.lastArrival = arrival }
        a.bytes += size
        a.packets += 1
        if a.arrivals.count < Self.maxArrivals { a.arrivals.append(Arrival(at: arrival, size: size)) }
        clusters[id] = a
    }

    /// The results of clusters that are complete after the packets added so far (each cluster once).
    public mutating func results() -> [ProbeResult] {
        var out: [ProbeResult] = []
        for (id, var a) in clusters where !a.done {
            guard Double(a.packets) >= Self.receivedRatio * Double(a.cluster.minimumPackets),
                  Double(a.bytes) >= Self.receivedRatio * Double(a.cluster.minimumBytes), let firstSend = a.firstSend else { continue }
            a.done = true
            clusters[id] = a
            let sendInterval = a.lastSend - firstSend, receiveInterval = a.lastArrival - a.firstArrival
            guard sendInterval > .zero, sendInterval <= Self.maxInterval, receiveInterval > .zero, receiveInterval <= Self.maxInterval else {
                continue
            }
            let sendRate = Double(a.bytes + a.unstampedBytes - a.lastSendSize) * 8 / (Double(sendInterval.totalMicroseconds) / 1e6)
            let wholeRate = Double(a.bytes + a.unstampedBytes - a.firstArrivalSize) * 8 / (Double(receiveInterval.totalMicroseconds) / 1e6)
            // The later half carries its share of the unstamped (audio) bytes too.
            let laterHalf = a.laterHalfRate.map { $0 * Double(a.bytes + a.unstampedBytes) / Double(max(1, a.bytes)) }
            let receiveRate = min(wholeRate, laterHalf ?? wholeRate)
            guard sendRate > 0, receiveRate / sendRate <= Self.maxValidRatio else { continue }
            let saturated = receiveRate < Self.unsaturatedRatio * sendRate
            let rate = saturated ? Self.targetUtilization * receiveRate : min(sendRate, receiveRate)
            out.append(ProbeResult(cluster: id, target: a.cluster.bitrate, bitrate: Int(rate), saturated: saturated))
        }
        return out.sorted { $0.cluster < $1.cluster }
    }
}
