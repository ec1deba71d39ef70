import ICE
import NIOCore
import RTCBase
import RTCP
import RTP

/// What every transport of one router writes into: the router's transmit and event queues, the transports whose
/// deadlines must be recomputed, and the router-wide drop counts. One instance per ``MediaRouter``, shared by
/// reference so that forwarding from one transport to the consumers of another needs no lookups.
final class RouterOutput {
    var transmits = CircularBuffer<Transmit>(initialCapacity: 256)
    var events = CircularBuffer<MediaRouterEvent>(initialCapacity: 64)
    /// Transports touched since the router last computed its deadline.
    var dirty: [TransportID] = []
    /// Report drops as events (``MediaRouter/reportsDrops``).
    var reportsDrops = false
    /// Refusals that belong to no transport (``DropReason/unroutable``).
    var drops = DropCounts()

    func drop(_ reason: DropReason, from source: ICETuple) {
        drops.count(reason)
        if reportsDrops { events.append(.dropped(reason, from: source)) }
    }
}

/// The router's record of one transport: the ``WebRtcTransport`` itself and the media state around it — its
/// producers and consumers, the SSRC maps incoming packets are routed by, transport-wide feedback, key-frame
/// requests, the REMB cap, congestion control towards the peer (RouterTransport+Congestion.swift), and its RTCP
/// schedule.
///
/// Receiving (RTP and RTCP dispatch) is in RouterTransport+Receive.swift.
final class RouterTransport {
    let id: TransportID
    let webrtc: WebRtcTransport
    unowned let output: RouterOutput
    /// The SSRC this transport's RTCP (receiver reports, feedback) is sent from.
    let rtcpSSRC: SSRC
    var producers: [Producer] = []
    var consumers: [Consumer] = []
    /// Incoming streams by SSRC, media and RTX (filled when a producer's matcher first identifies an SSRC).
    var streams: [SSRC: StreamRoute] = [:]
    /// Consumers by their media SSRC (what the receiving browser's RTCP names).
    var consumersBySSRC: [SSRC: Consumer] = [:]
    var feedback: TransportCCFeedbackGenerator
    /// Where incoming packets carry their transport-wide sequence number: the id of the first producer announcing
    /// one. The number is transport-wide, and a browser gives each extension one id across its BUNDLE; before any
    /// producer names it, packets are not counted (nothing says which element holds the number).
    var feedbackExtensions = RTPHeaderExtensionMap()
    var keyFrames: KeyFrameRequestManager
    var incomingCap: IncomingBitrateCap
    /// The estimate of what the receiving browser can take, the pacer, probes and the allocation over consumers.
    var congestion: TransportCongestion
    /// Next transport-wide sequence number stamped on packets sent here (forwarded or retransmitted).
    var transportSequence: UInt16 = 1
    var rtcp = RTCPScheduler(interval: RTCPScheduler.reportInterval)
    /// Whether the router must recompute this transport's deadline.
    var isDirty = false
    /// Where the datagram being handled came from (for drop reports).
    private var source: ICETuple?
    /// Media-plane refusals on this transport (the transport's own are in its ``WebRtcTransport/counters``).
    private(set) var drops = DropCounts()

    init(id: TransportID, webrtc: WebRtcTransport, output: RouterOutput, rtcpSSRC: SSRC, congestionControl: CongestionControlMode) {
        self.id = id
        congestion = TransportCongestion(mode: congestionControl)
        self.webrtc = webrtc
        self.output = output
        self.rtcpSSRC = rtcpSSRC
        feedback = TransportCCFeedbackGenerator(senderSSRC: rtcpSSRC)
        keyFrames = KeyFrameRequestManager(senderSSRC: rtcpSSRC)
        incomingCap = IncomingBitrateCap(senderSSRC: rtcpSSRC)
    }

    /// Asks the router to recompute this transport's deadline.
    func markDirty() {
        guard !isDirty else { return }
        isDirty = true
        output.dirty.append(id)
    }

    // MARK: I/O

    /// Hands a datagram to the transport and acts on what comes out.
    func handle(_ datagram: consuming Datagram, now: Duration) {
        source = datagram.source
        webrtc.handle(consume datagram, now: now)
        drain(now: now)
        markDirty()
    }

    /// Moves the transport's transmits to the router and acts on its events: decrypted RTP and RTCP are routed,
    /// everything else is reported.
    func drain(now: Duration) {
        while let event = webrtc.pollEvent() {
            switch event {
            case .rtp(let packet):
                receivedRTP(packet, now: now)
            case .rtcp(let packets):
                receivedRTCP(packets, now: now)
            case .dtlsConnected:
                output.events.append(.transport(id, event))
                // Anything forwarded before SRTP was ready never left: restart the consumers at a key frame.
                for consumer in consumers where consumer.active { consumer.keyFrameAsked(now: now) }
            default:
                output.events.append(.transport(id, event))
            }
        }
        while let t = webrtc.pollTransmit() { output.transmits.append(t) }
    }

    /// Counts a media-plane refusal (reported as an event when the router reports drops).
    func drop(_ reason: DropReason) {
        drops.count(reason)
        if output.reportsDrops, let source { output.events.append(.transport(id, .dropped(reason, from: source))) }
    }

    /// Protects and queues an RTP packet (consumed: SRTP protects its buffer in place when nothing else holds it).
    @discardableResult
    func send(rtp packet: consuming RTPPacket, now: Duration) -> Bool {
        guard webrtc.sendRTP(packet) else { return false }
        if webrtc.tapsPlaintext { drain(now: now) } else { while let t = webrtc.pollTransmit() { output.transmits.append(t) } }
        return true
    }

    /// Protects and queues an RTCP compound.
    @discardableResult
    func send(rtcp packets: [RTCPPacket], now: Duration) -> Bool {
        guard !packets.isEmpty, webrtc.sendRTCP(packets) else { return false }
        if webrtc.tapsPlaintext { drain(now: now) } else { while let t = webrtc.pollTransmit() { output.transmits.append(t) } }
        return true
    }

    // MARK: Timers

    /// The earliest of the transport's own timers (ICE consent, DTLS retransmission) and its media timers.
    var nextDeadline: Duration? {
        var d = earliest(webrtc.nextDeadline, rtcp.nextDeadline)
        d = earliest(d, feedback.nextDeadline)
        d = earliest(d, keyFrames.nextDeadline)
        d = earliest(d, incomingCap.nextDeadline)
        d = earliest(d, congestionDeadline)
        for producer in producers { d = earliest(d, producer.nextDeadline) }
        return d
    }

    /// Runs every timer of this transport that is due at `now`: ICE and DTLS, NACKs towards producers, transport-wide
    /// feedback, key-frame retries, REMB, and the regular reports.
    func handleTimeout(now: Duration) {
        if let due = webrtc.nextDeadline, due <= now {
            webrtc.handleTimeout(now: now)
            drain(now: now)
        }
        handleCongestionTimeout(now: now)
        var feedbackPackets: [RTCPPacket] = []
        for producer in producers { feedbackPackets += producer.nacksDue(now: now, senderSSRC: rtcpSSRC) }
        feedbackPackets += feedback.handleTimeout(now: now)
        feedbackPackets += keyFrames.handleTimeout(now: now)
        if case .remb(var remb)? = incomingCap.handleTimeout(now: now) {
            remb.ssrcs = producers.flatMap { $0.encodings.compactMap(\.ssrc) }
            feedbackPackets.append(.remb(remb))
        }
        for compound in rtcp.due(now: now, feedback: feedbackPackets, reports: { reportSet(now: now) }) {
            send(rtcp: compound, now: now)
        }
        markDirty()
    }

    /// What the regular reports say at `now`: a block per received stream, an SR and an SDES chunk per
    /// consumer stream that has sent something.
    func reportSet(now: Duration) -> RTCPScheduler.ReportSet {
        var set = RTCPScheduler.ReportSet(rtcpSSRC: rtcpSSRC)
        for producer in producers {
            for layer in producer.encodings.indices {
                if let block = producer.encodings[layer].stats?.receptionReport(now: now) { set.blocks.append(block) }
            }
        }
        for consumer in consumers where consumer.report.packetCount > 0 {
            if let sr = consumer.report.senderReport(now: now) { set.senderReports.append(sr) }
            set.chunks.append(consumer.report.sourceDescriptionChunk)
        }
        return set
    }

    /// Starts or stops the regular reports as producers and consumers come and go.
    func updateReportSchedule(now: Duration) {
        if producers.isEmpty && consumers.isEmpty { rtcp.stop() } else { rtcp.start(now: now) }
        markDirty()
    }
}
