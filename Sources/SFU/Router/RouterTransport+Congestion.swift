import NIOCore
import RTCBase
import RTCP
import RTP

/// Which estimate a router's transports split between their consumers.
public enum CongestionControlMode: String, Hashable, Sendable, CaseIterable {
    /// Send-side estimation from transport-cc feedback (``SendSideBandwidthEstimator``), probing and pacing.
    case sendSide = "send-side"
    /// The estimate from receiver-reported loss alone (``LossBasedBandwidthEstimator``), unpaced and without
    /// probes: what the router did before send-side estimation, kept for side-by-side comparison.
    case lossOnly = "loss-only"
}

/// A transport's congestion figures, reported as an event when they change (and at least every second while the
/// transport sends media).
public struct TransportCongestionReport: Hashable, Sendable {
    /// The estimate and its parts (in loss-only mode only `target` and `lossBased` mean anything).
    public var estimate: BandwidthEstimate
    /// What the consumers would take with an unlimited estimate (probing aims there).
    public var desired: Int
    /// The longest a packet waited in the pacer since the previous report.
    public var pacerMaxQueueTime: Duration
    /// Bytes waiting in the pacer.
    public var pacerQueuedBytes: Int
}

/// A packet waiting in a transport's pacer, with the consumer that made it.
struct PacedPacket {
    var packet: RTPPacket
    let consumer: Consumer
    /// A retransmission (RTX or not): not counted in sender reports.
    let isRetransmission: Bool
}

/// The send side of a transport's congestion control: the estimator (or the loss-only one), the pacer every RTP
/// packet to the peer goes through, probes, and the allocation of the estimate over the consumers.
struct TransportCongestion {
    let mode: CongestionControlMode
    var estimator = SendSideBandwidthEstimator()
    var lossOnly = LossBasedBandwidthEstimator()
    var pacer = Pacer<PacedPacket>(estimate: SendSideBandwidthEstimator.Configuration().initial)
    var probes = ProbeController()
    /// When the consumers are next re-allocated (their layers' bitrates drift; layers come and go).
    var nextAllocation: Duration?
    var desired = 0
    /// The newest probe result, lowered whenever the estimate falls below it.
    var lastProbe: Int?
    /// The rate the path proved it carries twice — the smaller of the two newest probe results, so that one
    /// over-read (a shaper's burst, arrival times the receiver batched) buys no spatial layer — lowered likewise.
    var confirmed: Int?
    var maximum = SendSideBandwidthEstimator.Configuration().maximum
    var lastReported: TransportCongestionReport?
    var lastReportAt: Duration?
    var maxQueueTime = Duration.zero

    init(mode: CongestionControlMode) { self.mode = mode }

    /// The estimate the allocation splits.
    var target: Int { mode == .sendSide ? estimator.target : lossOnly.estimate }

    /// What raises above a consumer's current layers must fit (send-side only): the newest probe result or what the
    /// receiver acknowledged, whichever is higher (nil, the estimate itself, before either is known).
    var upgradeLimit: Int? {
        guard mode == .sendSide, lastProbe != nil || estimator.acknowledged.bitrate != nil else { return nil }
        return max(lastProbe ?? 0, estimator.acknowledged.bitrate ?? 0)
    }

    /// What raises to a higher spatial layer must fit (send-side only): the confirmed probe rate or what the receiver
    /// measurably got (never raised by a probe), whichever is higher.
    var spatialUpgradeLimit: Int? {
        guard mode == .sendSide else { return nil }
        return max(confirmed ?? 0, estimator.delivered.bitrate ?? 0)
    }

    /// Takes a probe result: it confirms the smaller of itself and the result before.
    mutating func probed(_ bitrate: Int) {
        if let last = lastProbe { confirmed = min(last, bitrate) }
        lastProbe = bitrate
    }

    static let allocationInterval = Duration.milliseconds(500)
    static let reportInterval = Duration.seconds(1)
}

extension RouterTransport {
    // MARK: Sending

    /// Sends a consumer's packet through the pacer: at once when nothing of its priority waits and the budget
    /// allows (audio always), else queued.
    func sendPaced(_ packet: consuming RTPPacket, from consumer: Consumer, priority: PacingPriority, isRetransmission: Bool, now: Duration) {
        if congestion.mode == .lossOnly || congestion.pacer.mayBypass(priority, now: now) {
            transmit(packet, from: consumer, isRetransmission: isRetransmission, probeCluster: congestion.pacer.probeCluster, arrival: now, now: now)
            return
        }
        let bytes = packet.bytes.readableBytes + TransportPacketHistory.wireOverhead
        congestion.pacer.enqueue(PacedPacket(packet: packet, consumer: consumer, isRetransmission: isRetransmission),
                                 bytes: bytes, priority: priority, now: now)
        if congestion.pacer.overflowed(now: now) { pacerOverflowed(now: now) }
        markDirty()
    }

    /// A packet leaves: the transport-wide number and abs-send-time are stamped now (so the receiver's feedback
    /// measures the path, not the pacer), the estimator and pacer account it, and SRTP protects it. `arrival` is when
    /// its media reached the router (the sender report's clock: pacing must not shift lip sync).
    func transmit(_ packet: consuming RTPPacket, from consumer: Consumer, isRetransmission: Bool, probeCluster: Int?,
                  arrival: Duration, now: Duration) {
        var p = packet
        let rewriter = consumer.forwarder.configuration.headerExtensions
        if let id = rewriter.absSendTimeExtensionID {
            p.overwriteHeaderExtension(id: id, bigEndian: UInt64(HeaderExtensionRewriter.absSendTime(at: now)), width: 3)
        }
        let rtpBytes = p.bytes.readableBytes
        let stamped = consumer.forwarder.stampsTransportSequence && rewriter.transportWideCCExtensionID != nil
        if stamped, let id = rewriter.transportWideCCExtensionID {
            p.overwriteHeaderExtension(id: id, bigEndian: UInt64(transportSequence), width: 2)
            congestion.estimator.sent(sequence: transportSequence, rtpBytes: rtpBytes, at: now, probeCluster: probeCluster)
            transportSequence &+= 1
        } else {
            congestion.estimator.sentUnstamped(rtpBytes: rtpBytes, at: now, probeCluster: probeCluster)
        }
        if congestion.mode == .sendSide { congestion.pacer.sent(bytes: rtpBytes + TransportPacketHistory.wireOverhead, now: now, inProbe: stamped) }
        // The report reads the packet before SRTP protects its buffer in place.
        if !isRetransmission { consumer.report.sent(p, arrival: arrival) }
        send(rtp: consume p, now: now)
    }

    /// Sends what the pacer lets out at `now`, padding for a probe included.
    func drainPacer(now: Duration) {
        guard congestion.mode == .sendSide else { return }
        while let release = congestion.pacer.poll(now: now) {
            switch release {
            case .item(let paced, let queued, let cluster):
                if queued > congestion.maxQueueTime { congestion.maxQueueTime = queued }
                transmit(paced.packet, from: paced.consumer, isRetransmission: paced.isRetransmission, probeCluster: cluster,
                         arrival: now - queued, now: now)
            case .padding(let bytes, let cluster):
                guard let (consumer, padding) = makePadding(bytes: bytes, now: now) else {
                    congestion.pacer.cancelProbe()
                    return
                }
                transmit(padding, from: consumer, isRetransmission: true, probeCluster: cluster, arrival: now, now: now)
            }
        }
    }

    /// A padding-only packet of about `bytes` on the RTX stream of an active video consumer (what browsers send to
    /// probe, and accept), nil when no active consumer has RTX.
    func makePadding(bytes: Int, now: Duration) -> (Consumer, RTPPacket)? {
        guard let consumer = consumers.first(where: { $0.active && $0.rtx != nil }) else { return nil }
        let sequence = consumer.rtx!.takeSequenceNumber()
        let bare = RTPPacket(payloadType: consumer.rtx!.payloadType, sequenceNumber: sequence,
                             timestamp: consumer.forwarder.lastSent?.timestamp ?? RTPTimestamp(0),
                             ssrc: consumer.rtx!.ssrc, payload: ByteBuffer())
        guard var padding = consumer.forwarder.configuration.headerExtensions.rewrite(bare, absSendTime: 0, transportSequenceNumber: 0) else {
            return nil
        }
        padding.setPadding(UInt8(clamping: max(1, min(bytes, Pacer<PacedPacket>.maxPaddingBytes))))
        return (consumer, padding)
    }

    /// Queued video would wait too long: drop it and restart its consumers at a key frame.
    func pacerOverflowed(now: Duration) {
        let dropped = congestion.pacer.dropVideo()
        var restarted: [ObjectIdentifier] = []
        for paced in dropped where !restarted.contains(ObjectIdentifier(paced.consumer)) {
            restarted.append(ObjectIdentifier(paced.consumer))
            paced.consumer.forwarder.restartAtKeyFrame(now: now)
            paced.consumer.carryOutRequests(now: now)
        }
        output.events.append(.pacerOverflow(id, droppedPackets: dropped.count))
    }

    // MARK: Feedback

    /// The receiving browser's transport-cc feedback.
    func receivedTransportFeedback(_ feedback: RTCPTransportFeedback, now: Duration) {
        guard congestion.mode == .sendSide else { return }
        for result in congestion.estimator.received(feedback, now: now) {
            congestion.probes.received(result, now: now)
            congestion.probed(result.bitrate)
            output.events.append(.probe(id, result))
        }
        estimateChanged(now: now)
    }

    /// The receiving browser's REMB: a cap on what it is sent.
    func receivedREMB(_ bitrate: Int, now: Duration) {
        guard congestion.mode == .sendSide else { return }
        congestion.estimator.receivedREMB(bitrate: bitrate, now: now)
        estimateChanged(now: now)
    }

    /// Loss and RTT the receiving browser reported on video (`worstLoss` nil: no video block).
    func receivedLoss(_ worstLoss: UInt8?, rtt: Duration?, now: Duration) {
        if let rtt { congestion.estimator.updateRTT(rtt) }
        guard let worstLoss else { return }
        switch congestion.mode {
        case .lossOnly: congestion.lossOnly.reported(fractionLost: worstLoss, now: now, rtt: rtt ?? .milliseconds(100))
        case .sendSide: congestion.estimator.receivedReport(fractionLost: worstLoss, now: now)
        }
        estimateChanged(now: now)
    }

    /// Changes the ceiling (MAX_BITRATE_OUT).
    func setMaximumOutgoing(_ maximum: Int?, now: Duration) {
        let value = maximum ?? SendSideBandwidthEstimator.Configuration().maximum
        congestion.maximum = value
        congestion.estimator.setMaximum(value)
        congestion.lossOnly.setMaximum(value)
        estimateChanged(now: now)
    }

    /// Follows a new estimate: pacing rate, allocation, a report when it moved.
    func estimateChanged(now: Duration) {
        congestion.pacer.setEstimate(congestion.target, now: now)
        if let last = congestion.lastProbe, last > congestion.target { congestion.lastProbe = congestion.target }
        if let confirmed = congestion.confirmed, confirmed > congestion.target { congestion.confirmed = congestion.target }
        allocate(now: now)
        report(now: now, force: false)
        markDirty()
    }

    /// Emits the congestion report when the estimate moved by 3 % or more, the detector changed state, or a second
    /// passed (`force`: always).
    func report(now: Duration, force: Bool) {
        let r = congestionReport
        if !force, let last = congestion.lastReported, let at = congestion.lastReportAt, now - at < TransportCongestion.reportInterval,
           last.estimate.usage == r.estimate.usage,
           abs(Double(last.estimate.target - r.estimate.target)) < 0.03 * Double(max(1, last.estimate.target)) {
            return
        }
        congestion.lastReported = r
        congestion.lastReportAt = now
        congestion.maxQueueTime = .zero
        output.events.append(.congestion(id, r))
    }

    /// The congestion figures now.
    var congestionReport: TransportCongestionReport {
        TransportCongestionReport(estimate: congestion.mode == .sendSide ? congestion.estimator.estimate : lossOnlyEstimate,
                                  desired: congestion.desired, pacerMaxQueueTime: congestion.maxQueueTime,
                                  pacerQueuedBytes: congestion.pacer.queuedBytes)
    }

    var lossOnlyEstimate: BandwidthEstimate {
        let e = congestion.lossOnly.estimate
        return BandwidthEstimate(target: e, delayBased: e, lossBased: e, acknowledged: nil, usage: .normal, loss: 0, inALR: false)
    }

    // MARK: Allocation and probes

    /// Splits the estimate over the consumers (``BitrateAllocation``) and hands the video ones their layers; starts a
    /// probe when they would take more.
    func allocate(now: Duration) {
        let demands = consumers.map { demand(of: $0, now: now) }
        let shares = BitrateAllocation.allocate(estimate: congestion.target, upgradeLimit: congestion.upgradeLimit,
                                                spatialUpgradeLimit: congestion.spatialUpgradeLimit, among: demands)
        congestion.desired = min(BitrateAllocation.desired(demands), congestion.maximum)
        for (consumer, share) in zip(consumers, shares) where consumer.producer.kind == .video && demands.count > 0 {
            guard consumer.active, !consumer.producer.paused else { continue }
            consumer.apply(share, now: now)
        }
        congestion.nextAllocation = consumers.isEmpty ? nil : now + TransportCongestion.allocationInterval
        probeIfUseful(now: now)
        markDirty()
    }

    func demand(of consumer: Consumer, now: Duration) -> BitrateAllocation.Demand {
        let producer = consumer.producer
        let active = consumer.active && !producer.paused
        if producer.kind == .audio {
            let measured = producer.bitrate(now: now)
            // 50 packets a second (Opus in 20 ms frames) of wire overhead on top of the RTP bytes measured.
            return BitrateAllocation.Demand(kind: .audio, active: active,
                                            audioBitrate: measured > 0 ? measured + 50 * 8 * TransportPacketHistory.wireOverhead : nil)
        }
        let steps = producer.layers.steps(now: now, keeping: consumer.forwarder.targetLayer ?? consumer.forwarder.currentLayer)
        return BitrateAllocation.Demand(kind: .video, active: active, source: producer.source, steps: steps, current: consumer.allocated,
                                        pausable: producer.encodings.count > 1)
    }

    /// Starts a probe cluster when the consumers would take more than the estimate and a video consumer can carry
    /// padding. The probe starts from what is proved, not from an estimate that drifted up unproved (it buys no
    /// upgrade); once a single result covers what the consumers want, the next probe starts from the confirmed rate,
    /// to confirm it (a spatial upgrade needs two).
    func probeIfUseful(now: Duration) {
        guard congestion.mode == .sendSide, congestion.pacer.probeCluster == nil,
              consumers.contains(where: { $0.active && $0.rtx != nil }) else { return }
        guard let cluster = congestion.probes.update(estimate: min(congestion.target, congestion.upgradeLimit ?? congestion.target),
                                                     confirmed: congestion.spatialUpgradeLimit, desired: congestion.desired,
                                                     maximum: congestion.maximum, now: now) else { return }
        congestion.estimator.probeStarted(cluster)
        congestion.pacer.startProbe(cluster, now: now)
        drainPacer(now: now)
        markDirty()
    }

    // MARK: Timers

    /// The earliest congestion timer: the pacer's next release, the next allocation.
    var congestionDeadline: Duration? { earliest(congestion.pacer.nextDeadline, congestion.nextAllocation) }

    /// Runs the congestion timers due at `now`.
    func handleCongestionTimeout(now: Duration) {
        drainPacer(now: now)
        if let due = congestion.nextAllocation, due <= now {
            allocate(now: now)
            report(now: now, force: false)
        }
    }
}
