import RTCBase
import RTCP
import RTP

/// A consumer: one producer's stream forwarded to a browser on another transport. It owns the forwarding
/// plan (``ConsumerForwarder``), how it rewrote recent packets (``ForwardRecordRing``, to answer NACKs from the
/// producer's store), its RTX encoder and its sender reports.
final class Consumer {
    let id: ConsumerID
    /// The transport it sends on (held directly: no lookups per packet).
    unowned let transport: RouterTransport
    unowned let producer: Producer
    var forwarder: ConsumerForwarder
    /// How each recently sent packet was made (video), to rebuild it from the producer's store on a NACK.
    var sent: ForwardRecordRing?
    var rtx: RTXEncoder?
    var report: SenderReportGenerator
    var rtt: Duration?
    var active = false
    /// The layers the allocation gave it (nil: paused by the allocation, or not allocated yet).
    var allocated: BitrateAllocation.Step?
    /// Whether it has been allocated at least once (a first "paused" is reported too).
    var wasAllocated = false

    init(id: ConsumerID, transport: RouterTransport, producer: Producer, forwarder: ConsumerForwarder,
         sent: ForwardRecordRing?, rtx: RTXEncoder?, report: SenderReportGenerator) {
        self.id = id
        self.transport = transport
        self.producer = producer
        self.forwarder = forwarder
        self.sent = sent
        self.rtx = rtx
        self.report = report
    }

    /// The consumer's media SSRC (what its browser's RTCP names).
    var ssrc: SSRC { report.ssrc }

    /// Forwards one accepted packet of the producer's `layer`.
    func forward(_ packet: RTPPacket, layer: Int, isKeyFrame: Bool, now: Duration) {
        if case let (out, record)? = forwarder.forward(packet, layer: layer, isKeyFrame: isKeyFrame, now: now) {
            sent?.store(record, now: now)
            transport.sendPaced(out, from: self, priority: producer.kind == .audio ? .audio : .video, isRetransmission: false, now: now)
        }
        carryOutRequests(now: now)
    }

    /// Answers the consumer's NACK: every listed packet of the receiver's current decode chain
    /// (``ConsumerForwarder/mayRetransmit(_:)``) still in the producer's store, rebuilt as it was sent
    /// (RTX when negotiated), paced ahead of video. For the receiver's congestion control a retransmission is a new
    /// packet on the wire: it gets a fresh transport-wide sequence number and send time when it leaves (mediasoup
    /// stamps both at egress too).
    func answer(_ nack: RTCPGenericNACK, now: Duration) {
        guard sent != nil else { return }
        for seq in nack.lostSequenceNumbers {
            guard let record = sent!.record(for: RTPSequenceNumber(seq), now: now, rtt: rtt),
                  producer.encodings.indices.contains(record.layer), forwarder.mayRetransmit(record),
                  // The producer's store applies no resend limit of its own (many consumers may ask).
                  case .packet(let source)? = producer.encodings[record.layer].store?.packet(for: record.sourceSequenceNumber, now: now, rtt: .zero),
                  let rebuilt = forwarder.reforward(source, record, now: now) else { continue }
            transport.sendPaced(rtx != nil ? rtx!.encapsulate(rebuilt) : rebuilt, from: self, priority: .retransmission,
                                isRetransmission: true, now: now)
        }
    }

    /// The consumer's browser asked for a key frame (PLI/FIR, or its transport just keyed SRTP).
    func keyFrameAsked(now: Duration) {
        forwarder.consumerRequestedKeyFrame(now: now)
        carryOutRequests(now: now)
    }

    /// Starts or stops forwarding.
    func setActive(_ active: Bool, now: Duration) {
        self.active = active
        if active { forwarder.resume(now: now) } else { forwarder.pause() }
        carryOutRequests(now: now)
    }

    /// Takes the allocation's share: the layers to forward, or none (paused). A change is reported as an event.
    func apply(_ share: BitrateAllocation.Allocation, now: Duration) {
        let changed = !wasAllocated || share.step?.spatial != allocated?.spatial || share.step?.temporal != allocated?.temporal
        wasAllocated = true
        allocated = share.step
        let forwarding = forwarder.currentLayer
        forwarder.setTarget(layer: share.step?.spatial, temporalLayer: share.step?.temporal)
        // Down to a lower layer whose key frame has yet to come: the current layer keeps flowing meanwhile, unless it
        // costs more than twice the share — then it stops now (a short freeze beats filling the path's queue).
        if let step = share.step, let forwarding, step.spatial < forwarding,
           producer.layers.bitrate(forwarding, now: now) > 2 * step.bitrate {
            forwarder.restartAtKeyFrame(now: now)
        }
        if changed { transport.output.events.append(.consumerLayers(id, share)) }
        carryOutRequests(now: now)
    }

    /// Carries out the forwarder's key-frame requests on the producer.
    func carryOutRequests(now: Duration) {
        while let output = forwarder.pollOutput() {
            if case .keyFrameNeeded(let layer) = output { producer.requestKeyFrame(layer: layer, now: now) }
        }
    }
}
