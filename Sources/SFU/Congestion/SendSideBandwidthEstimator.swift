import RTCP

/// A snapshot of a transport's send-side estimate, reported as an event after each change.
public struct BandwidthEstimate: Hashable, Sendable {
    /// The estimate in use: the smallest of the delay-based and loss-based estimates and the receiver's REMB,
    /// within the configured bounds (MAX_BITRATE_OUT), bits per second.
    public var target: Int
    /// The delay-based estimate (``AimdRateControl``).
    public var delayBased: Int
    /// The loss-based estimate.
    public var lossBased: Int
    /// What the receiver acknowledged receiving, bits per second (nil before enough feedback); a probe result
    /// raises it (the rate controller's throughput).
    public var acknowledged: Int?
    /// What the receiver acknowledged receiving, as measured only — never raised by a probe (nil before enough
    /// feedback).
    public var delivered: Int?
    /// The delay-based detector's state.
    public var usage: BandwidthUsage
    /// Loss over the latest loss window, 0…1.
    public var loss: Double
    /// Whether the sender is application-limited.
    public var inALR: Bool

    public init(target: Int, delayBased: Int, lossBased: Int, acknowledged: Int?, delivered: Int? = nil, usage: BandwidthUsage,
                loss: Double, inALR: Bool) {
        self.target = target
        self.delayBased = delayBased
        self.lossBased = lossBased
        self.acknowledged = acknowledged
        self.delivered = delivered
        self.usage = usage
        self.loss = loss
        self.inALR = inALR
    }
}

/// The send-side bandwidth estimator of one transport: libwebrtc's goog_cc design (draft-ietf-rmcat-gcc-02 with
/// transport-wide feedback), what mediasoup embeds, rebuilt sans-IO from its parts:
///
/// * ``TransportPacketHistory`` — send time and size of every packet stamped with a transport-wide number;
/// * ``InterArrival`` → ``TrendlineEstimator`` → ``AimdRateControl`` — the delay-based estimate, driven by the
///   ``AcknowledgedBitrateEstimator``'s throughput;
/// * a loss-based estimate (libwebrtc's classic rule on the loss transport-cc feedback reports, over windows of at
///   least ``lossWindowPackets`` packets): 1.08 × the lowest target of the last second + 1 kbit/s below 2 % loss, hold
///   from 2 % to 10 %, × (1 − loss/2) above, at most every 300 ms + RTT;
/// * ``ALRDetector`` and ``ProbeBitrateEstimator`` — application-limited region and probe results; a probe result
///   sets both estimates (the path proved that rate).
///
/// Receivers that send REMB cap the target at their value. Without transport-cc feedback (no packet stamped), the
/// receiver's reports feed the loss-based estimate (``receivedReport(fractionLost:now:)``).
///
/// Sans-IO: packets sent, feedback and time go in (``sent(sequence:rtpBytes:at:probeCluster:)``,
/// ``received(_:now:)``); the estimate comes out.
public struct SendSideBandwidthEstimator: Sendable {
    /// Bounds and start of an estimator.
    public struct Configuration: Hashable, Sendable {
        /// The first estimate (mediasoup's `initialAvailableOutgoingBitrate`, 600 kbit/s).
        public var initial: Int
        /// The lowest estimate (mediasoup's minimum outgoing bitrate, 30 kbit/s).
        public var minimum: Int
        /// The highest estimate (MAX_BITRATE_OUT when set).
        public var maximum: Int

        public init(initial: Int = 600_000, minimum: Int = 30_000, maximum: Int = 20_000_000) {
            self.initial = initial
            self.minimum = minimum
            self.maximum = max(minimum, maximum)
        }
    }

    /// Packets a loss window spans at least (libwebrtc `kLimitNumPackets`).
    public static let lossWindowPackets = 20
    public static let lowLoss = 0.02
    public static let highLoss = 0.10

    public private(set) var history = TransportPacketHistory()
    public private(set) var configuration: Configuration
    var interArrival = InterArrival()
    public private(set) var trendline = TrendlineEstimator()
    public private(set) var rateControl: AimdRateControl
    public private(set) var acknowledged = AcknowledgedBitrateEstimator()
    /// The same measurement, never set from a probe: what upgrades may trust without a confirmed probe.
    public private(set) var delivered = AcknowledgedBitrateEstimator()
    public private(set) var alr = ALRDetector()
    var probes = ProbeBitrateEstimator()
    var lossBased: Int
    var lossLost = 0
    var lossExpected = 0
    var lastLoss = 0.0
    var lastLossDecrease: Duration?
    var targetHistory: [(at: Duration, bitrate: Int)] = []
    var remb: Int?
    /// (arrival, size) of the packets received over the last ``recentWindow``.
    var recentArrivals: [(Duration, Int)] = []
    /// Whether any transport-cc feedback arrived (then receiver reports no longer feed the loss estimate).
    public private(set) var hasFeedback = false
    /// The estimate in use, bits per second.
    public private(set) var target: Int

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        rateControl = AimdRateControl(initial: configuration.initial, minimum: configuration.minimum, maximum: configuration.maximum)
        lossBased = rateControl.estimate
        target = rateControl.estimate
    }

    /// The current figures.
    public var estimate: BandwidthEstimate {
        BandwidthEstimate(target: target, delayBased: rateControl.estimate, lossBased: lossBased, acknowledged: acknowledged.bitrate,
                          delivered: delivered.bitrate, usage: trendline.state, loss: lastLoss, inALR: alr.inALR)
    }

    /// Records a packet stamped with transport-wide number `sequence` (`rtpBytes` of RTP, SRTP trailer excluded)
    /// leaving at `time`, in probe cluster `probeCluster`.
    public mutating func sent(sequence: UInt16, rtpBytes: Int, at time: Duration, probeCluster: Int? = nil) {
        let size = rtpBytes + TransportPacketHistory.wireOverhead
        history.sent(sequence: sequence, size: size, at: time, probeCluster: probeCluster)
        alr.sent(bytes: size, now: time, estimate: target)
    }

    /// Accounts a packet sent without a transport-wide number (audio): for the application-limited detection, and
    /// for the probe cluster it was sent in.
    public mutating func sentUnstamped(rtpBytes: Int, at time: Duration, probeCluster: Int? = nil) {
        let size = rtpBytes + TransportPacketHistory.wireOverhead
        alr.sent(bytes: size, now: time, estimate: target)
        if let probeCluster { probes.sentUnstamped(cluster: probeCluster, size: size) }
    }

    /// Registers a probe cluster that starts now.
    public mutating func probeStarted(_ cluster: ProbeCluster) { probes.started(cluster) }

    /// Sets the round-trip time (from receiver reports).
    public mutating func updateRTT(_ rtt: Duration) { rateControl.rtt = rtt }

    /// Changes the ceiling (MAX_BITRATE_OUT); the estimates are clamped to it.
    public mutating func setMaximum(_ maximum: Int) {
        configuration.maximum = max(configuration.minimum, maximum)
        rateControl.setBounds(minimum: configuration.minimum, maximum: configuration.maximum)
        lossBased = min(lossBased, configuration.maximum)
        updateTarget(now: nil)
    }

    /// Takes a transport-cc feedback message received at `now`. Returns the probe results it completed.
    @discardableResult
    public mutating func received(_ feedback: RTCPTransportFeedback, now: Duration) -> [ProbeResult] {
        let report = history.process(feedback, now: now)
        guard !report.packets.isEmpty else { return [] }
        hasFeedback = true
        // Throughput and probes, in arrival order.
        let received = report.receivedByArrival
        for packet in received {
            acknowledged.add(size: packet.sent.size, arrival: packet.arrival!, inALR: alr.inALR)
            delivered.add(size: packet.sent.size, arrival: packet.arrival!, inALR: alr.inALR)
            probes.add(packet)
        }
        let results = probes.results()
        // Delay-based.
        var usage = trendline.state
        var sawDeltas = false
        for packet in received {
            if let deltas = interArrival.add(sendTime: packet.sent.sendTime, arrival: packet.arrival!, size: packet.sent.size) {
                usage = trendline.update(deltas)
                sawDeltas = true
            }
        }
        // On overuse, what got through: the acknowledged rate, or — when this feedback shows less — the rate its
        // packets arrived at. The acknowledged estimate is smoothed over windows and lags a sudden capacity drop by a
        // second or more, while the packets of one feedback interval, queued at the bottleneck, arrive at its rate now
        // (libwebrtc's newer robust throughput estimator reads recent packets for the same reason).
        var throughput = acknowledged.bitrate
        for packet in received { recentArrivals.append((packet.arrival!, packet.sent.size)) }
        if let newest = recentArrivals.last?.0 { recentArrivals.removeAll { newest - $0.0 > Self.recentWindow } }
        if usage == .overusing, let recent = recentArrivalRate, let t = throughput, recent < t { throughput = recent }
        if let best = results.max(by: { $0.bitrate < $1.bitrate }), best.bitrate > rateControl.estimate {
            rateControl.setEstimate(best.bitrate, now: now)
            acknowledged.setBitrate(max(best.bitrate, throughput ?? 0))
            lossBased = max(lossBased, best.bitrate)
        } else if sawDeltas {
            if usage == .overusing {
                if let throughput, rateControl.canReduceFurther(now: now, throughput: throughput) {
                    rateControl.update(.overusing, throughput: throughput, now: now)
                }
            } else {
                rateControl.update(usage, throughput: throughput, now: now)
            }
        }
        // Loss-based.
        lossLost += report.lostCount
        lossExpected += report.packets.count
        if lossExpected >= Self.lossWindowPackets {
            applyLoss(Double(lossLost) / Double(lossExpected), now: now)
            lossLost = 0
            lossExpected = 0
        }
        updateTarget(now: now)
        return results
    }

    /// Arrival time the recent receive rate is read over.
    public static let recentWindow = Duration.milliseconds(250)

    /// The rate packets arrived at over the last ``recentWindow`` of arrival time (bytes after the first over the
    /// span), nil for fewer than 5 packets or a span under 100 ms.
    var recentArrivalRate: Int? {
        guard recentArrivals.count >= 5, let first = recentArrivals.first?.0, let last = recentArrivals.last?.0 else { return nil }
        let span = last - first
        guard span >= .milliseconds(100) else { return nil }
        let bytes = recentArrivals.dropFirst().reduce(0) { $0 + $1.1 }
        return Int(Double(bytes) * 8 / (Double(span.totalMicroseconds) / 1e6))
    }

    /// A receiver report's loss (RTCP `fraction lost`), used only while no transport-cc feedback arrives.
    public mutating func receivedReport(fractionLost: UInt8, now: Duration) {
        guard !hasFeedback else { return }
        applyLoss(Double(fractionLost) / 256, now: now)
        rateControl.setEstimate(max(rateControl.estimate, lossBased), now: now)
        updateTarget(now: now)
    }

    /// A receiver's REMB value caps the target.
    public mutating func receivedREMB(bitrate: Int, now: Duration) {
        remb = bitrate
        updateTarget(now: now)
    }

    mutating func applyLoss(_ loss: Double, now: Duration) {
        lastLoss = loss
        if loss < Self.lowLoss {
            let lowest = targetHistory.map(\.bitrate).min() ?? target
            lossBased = max(lossBased, Int(1.08 * Double(lowest)) + 1_000)
        } else if loss <= Self.highLoss {
            lossBased = target
        } else if lastLossDecrease.map({ now - $0 >= .milliseconds(300) + rateControl.rtt }) ?? true {
            lossBased = Int(Double(target) * (1 - 0.5 * loss))
            lastLossDecrease = now
        }
        lossBased = min(max(lossBased, configuration.minimum), configuration.maximum)
    }

    mutating func updateTarget(now: Duration?) {
        var t = min(rateControl.estimate, lossBased)
        if let remb { t = min(t, remb) }
        target = min(max(t, configuration.minimum), configuration.maximum)
        guard let now else { return }
        targetHistory.removeAll { now - $0.at > .seconds(1) }
        targetHistory.append((now, target))
    }
}
