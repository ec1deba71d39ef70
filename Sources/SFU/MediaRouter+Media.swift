import NIOCore
import RTCBase
import RTCP
import RTP

// The media plane of ``MediaRouter``: producers (incoming streams matched by SSRC/MID/RID, receive
// statistics, NACK generation, key-frame requests, transport-wide feedback) and consumers (forwarding with
// rewriting, retransmission on NACK, sender reports), spec §7.5–§7.9.

/// Per-encoding (simulcast layer) state of a producer.
struct EncodingState {
    var ssrc: SSRC?
    var stats: RTPReceiveStats?
    var nack: NACKGenerator?
    var bitrate = BitrateMeter()
    /// The producer's packet store (video): every packet received on this layer, kept once for all consumers'
    /// retransmissions (each consumer keeps only how it rewrote them, ``ForwardRecordRing``).
    var store: RTPRetransmissionBuffer?
}

/// A producer: the browser's stream(s) arriving on a transport.
final class ProducerState {
    let id: String
    let transport: TransportID
    let kind: MediaKind
    let mimeType: String
    let clockRate: UInt32
    let extensionMap: RTPHeaderExtensionMap
    /// Producer payload type → router payload type (media codecs).
    let mediaPayloadTypes: [(producer: PayloadType, router: PayloadType)]
    /// Producer RTX payload type → producer media payload type.
    let rtxPayloadTypes: [(rtx: UInt8, media: UInt8)]
    /// PLI when the codec negotiated `nack pli`, FIR otherwise.
    let keyFrameMethod: KeyFrameRequestMethod
    var matcher: RTPStreamMatcher
    var encodings: [EncodingState]
    var paused = false
    var consumers: [ConsumerState] = []

    init(id: String, transport: TransportID, kind: MediaKind, parameters: RTPParameters, mapping: RTPParametersMapping) {
        self.id = id
        self.transport = transport
        self.kind = kind
        let media = parameters.codecs.first { !$0.isRTX }
        mimeType = media?.mimeType.lowercased() ?? ""
        clockRate = UInt32(clamping: media?.clockRate ?? 90_000)
        extensionMap = parameters.headerExtensionMap
        mediaPayloadTypes = mapping.codecs.compactMap { m in
            parameters.codecs.first { $0.payloadType == m.payloadType && !$0.isRTX }.map { _ in
                (PayloadType(rawValue: m.payloadType & 0x7F)!, PayloadType(rawValue: m.mappedPayloadType & 0x7F)!)
            }
        }
        rtxPayloadTypes = parameters.codecs.compactMap { c in c.isRTX ? c.associatedPayloadType.map { (c.payloadType, $0) } : nil }
        keyFrameMethod = (media?.rtcpFeedback.contains { $0.type == "nack" && $0.parameter == "pli" } ?? true) ? .pli : .fir
        matcher = RTPStreamMatcher(producer: parameters, mapping: mapping)
        encodings = mapping.encodings.map { EncodingState(ssrc: $0.ssrc.map(SSRC.init(rawValue:))) }
    }

    /// Bits per second received over the last second, all layers.
    func bitrate(now: Duration) -> Int { encodings.reduce(0) { $0 + $1.bitrate.bitrate(now: now) } }

    /// Whether `payload` starts a key frame for this producer's codec.
    func isKeyFrame(_ packet: RTPPacket) -> Bool {
        let payload = packet.payload
        switch mimeType {
        case "video/vp8": return (try? VP8PayloadDescriptor(parsing: payload))?.isKeyFrame ?? false
        case "video/vp9": return (try? VP9PayloadDescriptor(parsing: payload))?.isKeyFrame ?? false
        case "video/h264": return (try? H264Payload(parsing: payload))?.isKeyFrame ?? false
        default: return false
        }
    }
}

/// A consumer: one producer's stream forwarded to a browser on another transport.
final class ConsumerState {
    let id: String
    let transport: TransportID
    /// The transport itself and its sequence counter, held directly: no dictionary lookups per packet.
    let link: WebRtcTransport
    let outgoingSequence: TransportSequenceCounter
    unowned let producer: ProducerState
    var forwarder: ConsumerForwarder
    /// How each recently sent packet was made (video), to rebuild it from the producer's store on a NACK.
    var sent: ForwardRecordRing?
    var rtx: RTXEncoder?
    var report: SenderReportGenerator
    /// The consumer's negotiated header extensions (router ids).
    let extensionMap: RTPHeaderExtensionMap
    var rtt: Duration?
    var active = false

    init(id: String, transport: TransportID, link: WebRtcTransport, outgoingSequence: TransportSequenceCounter,
         producer: ProducerState, forwarder: ConsumerForwarder,
         sent: ForwardRecordRing?, rtx: RTXEncoder?, report: SenderReportGenerator,
         extensionMap: RTPHeaderExtensionMap) {
        self.extensionMap = extensionMap
        self.link = link
        self.outgoingSequence = outgoingSequence
        self.id = id
        self.transport = transport
        self.producer = producer
        self.forwarder = forwarder
        self.sent = sent
        self.rtx = rtx
        self.report = report
    }
}

/// A transport's next transport-wide sequence number, held by reference by its consumers so that forwarding
/// needs no per-packet lookup.
final class TransportSequenceCounter {
    var next: UInt16 = 1
}

/// Media state of one transport (a class: the per-packet paths reach it through one dictionary lookup,
/// never copying its arrays and generators).
final class TransportMedia {
    /// The SSRC this transport's RTCP (receiver reports, feedback) is sent from.
    let rtcpSSRC: SSRC
    var producers: [ProducerState] = []
    var consumers: [ConsumerState] = []
    var feedback: TransportCCFeedbackGenerator
    var keyFrames: KeyFrameRequestManager
    var incomingCap: IncomingBitrateCap
    var maxOutgoingBitrate: Int?
    /// What the receiving browser can take, from the loss it reports (layer budgets of its consumers).
    var outgoingEstimate = LossBasedBandwidthEstimator()
    /// Next transport-wide sequence number stamped on forwarded packets (shared with the consumers).
    let outgoingSequence = TransportSequenceCounter()
    var nextReport: Duration?

    init(rtcpSSRC: SSRC) {
        self.rtcpSSRC = rtcpSSRC
        feedback = TransportCCFeedbackGenerator(senderSSRC: rtcpSSRC)
        keyFrames = KeyFrameRequestManager(senderSSRC: rtcpSSRC)
        incomingCap = IncomingBitrateCap(senderSSRC: rtcpSSRC)
    }
}

/// Why a producer or consumer could not be created.
public enum MediaRouterError: Error, Hashable, Sendable {
    case unknownTransport(TransportID)
    case unknownProducer(String)
    case duplicateID(String)
    case invalidParameters(String)
}

extension MediaRouter {
    /// RTCP report interval (RFC 3550 for a few streams; mediasoup sends every ~1 s for video).
    static let reportInterval: Duration = .seconds(1)

    // MARK: - Producers and consumers

    /// Creates a producer on transport `transport` from the browser's parameters (INIT_PRODUCER) and the
    /// ORTC mapping to the router.
    public func createProducer(id: String, transport: TransportID, kind: MediaKind, parameters: RTPParameters,
                               mapping: RTPParametersMapping) throws(MediaRouterError) {
        guard media[transport] != nil else { throw .unknownTransport(transport) }
        guard producers[id] == nil else { throw .duplicateID(id) }
        let producer = ProducerState(id: id, transport: transport, kind: kind, parameters: parameters, mapping: mapping)
        producers[id] = producer
        media[transport]!.producers.append(producer)
    }

    /// Pauses or resumes a producer (PRODUCTION_CHANGE); resuming asks for a key frame.
    public func setProducerPaused(_ id: String, _ paused: Bool, now: Duration) {
        guard let producer = producers[id], producer.paused != paused else { return }
        producer.paused = paused
        if !paused { for layer in producer.encodings.indices { requestKeyFrame(producer, layer: layer, now: now) } }
    }

    /// Closes a producer and every consumer of it.
    public func closeProducer(_ id: String) {
        guard let producer = producers.removeValue(forKey: id) else { return }
        for consumer in producer.consumers { closeConsumer(consumer.id) }
        media[producer.transport]?.producers.removeAll { $0 === producer }
        for encoding in producer.encodings { if let ssrc = encoding.ssrc { media[producer.transport]?.keyFrames.removeStream(ssrc: ssrc) } }
    }

    /// Creates a consumer of `producerID` on transport `transport` with the consumer's parameters (as sent
    /// in INIT_CONSUMER). It starts paused: ``setConsumerActive(_:_:now:)`` starts forwarding.
    public func createConsumer(id: String, transport: TransportID, producerID: String, parameters: RTPParameters) throws(MediaRouterError) {
        guard let m = media[transport], let link = self.transport(transport) else { throw .unknownTransport(transport) }
        guard let producer = producers[producerID] else { throw .unknownProducer(producerID) }
        guard consumers[id] == nil else { throw .duplicateID(id) }
        guard let codec = parameters.codecs.first(where: { !$0.isRTX }), let ssrcValue = parameters.encodings.first?.ssrc,
              let mid = parameters.mid else {
            throw .invalidParameters("consumer parameters need a media codec, an encoding SSRC and a mid")
        }
        let ssrc = SSRC(ssrcValue)
        let rewriter = HeaderExtensionRewriter(producer: producer.extensionMap, consumer: parameters.headerExtensionMap,
                                               mid: MID(rawValue: mid))
        let isVideo = producer.kind == .video
        let configuration = ConsumerForwarder.Configuration(
            ssrc: ssrc, clockRate: UInt32(clamping: codec.clockRate),
            payloadTypes: producer.mediaPayloadTypes.filter { $0.router.rawValue == codec.payloadType },
            headerExtensions: rewriter, payloadFormat: codec.mimeType.lowercased() == "video/vp8" ? .vp8 : .opaque,
            layerCount: producer.encodings.count, waitsForKeyFrame: isVideo,
            initialSequenceNumber: RTPSequenceNumber(UInt16.random(in: 0...0x7FFF, using: &random)),
            initialTimestampOffset: UInt32.random(in: 0...UInt32.max, using: &random),
            initialPictureID: UInt16.random(in: 0...0x7FFF, using: &random), initialTL0PicIdx: UInt8.random(in: 0...255, using: &random))
        var rtx: RTXEncoder?
        if let rtxSSRC = parameters.encodings.first?.rtxSSRC, let rtxCodec = parameters.codecs.first(where: { $0.isRTX }) {
            rtx = RTXEncoder(ssrc: SSRC(rtxSSRC), payloadType: PayloadType(rawValue: rtxCodec.payloadType & 0x7F)!,
                             initialSequenceNumber: RTPSequenceNumber(UInt16.random(in: 0...0x7FFF, using: &random)))
        }
        let consumer = ConsumerState(
            id: id, transport: transport, link: link, outgoingSequence: m.outgoingSequence, producer: producer, forwarder: ConsumerForwarder(configuration: configuration),
            sent: isVideo ? ForwardRecordRing(capacity: 1_024) : nil, rtx: rtx,
            report: SenderReportGenerator(ssrc: ssrc, clockRate: UInt32(clamping: codec.clockRate), cname: parameters.rtcpCNAME ?? "", clock: clock),
            extensionMap: parameters.headerExtensionMap)
        consumers[id] = consumer
        producer.consumers.append(consumer)
        media[transport]!.consumers.append(consumer)
        rebalanceBudgets(transport)
    }

    /// Starts (with a key-frame request) or stops forwarding to a consumer.
    public func setConsumerActive(_ id: String, _ active: Bool, now: Duration) {
        guard let consumer = consumers[id], consumer.active != active else { return }
        consumer.active = active
        if active { consumer.forwarder.resume(now: now) } else { consumer.forwarder.pause() }
        rebalanceBudgets(consumer.transport)
        pollForwarder(consumer, now: now)
    }

    /// Closes a consumer (an RTCP BYE for its SSRC goes to the browser).
    public func closeConsumer(_ id: String) {
        guard let consumer = consumers.removeValue(forKey: id) else { return }
        consumer.producer.consumers.removeAll { $0 === consumer }
        media[consumer.transport]?.consumers.removeAll { $0 === consumer }
        if media[consumer.transport] != nil { send(rtcp: [consumer.report.goodbye()], on: consumer.transport, now: .zero) }
        rebalanceBudgets(consumer.transport)
    }

    /// Caps what the browser sends on `transport` (REMB, MAX_BITRATE_IN) and what is forwarded to it
    /// (MAX_BITRATE_OUT, shared by its video consumers as their layer budget).
    public func setBitrateLimits(_ transport: TransportID, maxIncoming: Int?, maxOutgoing: Int?, now: Duration) {
        guard media[transport] != nil else { return }
        media[transport]!.incomingCap.setMaxBitrate(maxIncoming.map { UInt64(max(0, $0)) }, now: now)
        media[transport]!.maxOutgoingBitrate = maxOutgoing
        if let maxOutgoing { media[transport]!.outgoingEstimate.setMaximum(maxOutgoing) }
        rebalanceBudgets(transport)
    }

    /// Sets a consumer's layer budget directly (tests, operators).
    public func setConsumerBudget(_ id: String, bitsPerSecond: Int) {
        consumers[id]?.forwarder.setBudget(bitsPerSecond)
    }

    /// Incoming bitrate of a producer over the last second, bits per second, all layers.
    public func producerBitrate(_ id: String, now: Duration) -> Int { producers[id]?.bitrate(now: now) ?? 0 }

    /// Bitrate of a producer's first RTP stream that has received packets (what odoo/sfu reports in
    /// `/v1/stats`: mediasoup's first stats entry), bits per second.
    public func producerFirstStreamBitrate(_ id: String, now: Duration) -> Int {
        guard let producer = producers[id] else { return 0 }
        return producer.encodings.first { $0.stats != nil }?.bitrate.bitrate(now: now) ?? 0
    }

    /// The spatial layer a consumer forwards now (nil before the first packet).
    public func consumerLayer(_ id: String) -> Int? { consumers[id]?.forwarder.currentLayer }

    /// Splits the transport's outgoing estimate between its active video consumers (audio first takes
    /// 64 kbps per consumer).
    private func rebalanceBudgets(_ transport: TransportID) {
        guard let m = media[transport] else { return }
        let video = m.consumers.filter { $0.producer.kind == .video && $0.active }
        let audio = m.consumers.count { $0.producer.kind == .audio && $0.active }
        let available = max(0, m.outgoingEstimate.estimate - 64_000 * audio)
        for consumer in video { consumer.forwarder.setBudget(available / max(1, video.count)) }
    }

    /// The outgoing estimate of a transport (bits per second).
    public func outgoingEstimate(_ transport: TransportID) -> Int? { media[transport]?.outgoingEstimate.estimate }

    // MARK: - Incoming RTP

    func receivedRTP(_ packet: RTPPacket, on transport: TransportID, now: Duration) {
        guard let m = media[transport], !m.producers.isEmpty else { return }
        var owner: ProducerState?
        var classification = RTPStreamMatcher.Classification.unknown
        for producer in m.producers {
            classification = producer.matcher.classify(packet)
            if classification != .unknown { owner = producer; break }
        }
        guard let producer = owner else { return }
        if packet.hasExtension { _ = m.feedback.record(packet, extensions: producer.extensionMap, arrival: now) }
        switch classification {
        case .media(let layer):
            ingest(packet, producer: producer, layer: layer, recovered: false, now: now)
        case .rtx(let layer):
            guard let ssrc = producer.matcher.mediaSSRC(ofEncoding: layer),
                  let media = producer.rtxPayloadTypes.first(where: { $0.rtx == packet.payloadType.rawValue })?.media,
                  !packet.isPaddingOnly,
                  let original = try? packet.rtxDecapsulated(originalSSRC: ssrc, originalPayloadType: PayloadType(rawValue: media & 0x7F)!) else { return }
            ingest(original, producer: producer, layer: layer, recovered: true, now: now)
        case .unknown:
            return
        }
    }

    private func ingest(_ packet: RTPPacket, producer: ProducerState, layer: Int, recovered: Bool, now: Duration) {
        let isKeyFrame = producer.isKeyFrame(packet)
        if producer.encodings[layer].ssrc == nil { producer.encodings[layer].ssrc = packet.ssrc }
        if producer.encodings[layer].stats == nil {
            producer.encodings[layer].stats = RTPReceiveStats(ssrc: packet.ssrc, clockRate: producer.clockRate)
            if producer.kind == .video {
                producer.encodings[layer].nack = NACKGenerator()
                // 2 s of a top layer at up to ~4 Mbps (the same window consumers may resend from).
                producer.encodings[layer].store = RTPRetransmissionBuffer(capacity: 1_024)
            }
        }
        // Each source packet is counted and forwarded once, whichever copy comes first. A second copy (an RTX
        // bandwidth probe repeating a packet that arrived, or an original after its RTX copy) would be counted
        // twice and would reuse the consumer's output sequence number (an SRTP index) for a second packet.
        // Only video has RTX, and the SRTP replay check already drops repeated packets of one SSRC.
        if producer.encodings[layer].store?.contains(packet.sequenceNumber) == true { return }
        if producer.encodings[layer].nack != nil {
            let arrival = producer.encodings[layer].nack!.received(sequenceNumber: packet.sequenceNumber, isKeyFrame: isKeyFrame,
                                                                   isRecovered: recovered, now: now)
            if producer.encodings[layer].nack!.pollKeyFrameRequest() { requestKeyFrame(producer, layer: layer, now: now) }
            // A retransmission is used when it fills a known gap or arrives ahead of the stream (a probe copying
            // the newest packet, whose original may well be lost: it is then the only copy). A late one for a
            // packet given up on is ignored, as mediasoup does.
            if recovered, arrival == .old { return }
        }
        producer.encodings[layer].stats!.received(packet, isRetransmission: recovered, now: now)
        if !packet.isPaddingOnly { producer.encodings[layer].bitrate.record(bytes: packet.bytes.readableBytes, now: now) }
        if isKeyFrame { media[producer.transport]?.keyFrames.keyFrameReceived(ssrc: packet.ssrc) }
        producer.encodings[layer].store?.store(packet, now: now)
        if producer.paused { return }
        for consumer in producer.consumers {
            if let out = consumer.forwarder.forward(packet, layer: layer, isKeyFrame: isKeyFrame, now: now,
                                                    transportSequence: &consumer.outgoingSequence.next) {
                // The report is updated first so that `out` has no other owner when SRTP protects it in place.
                consumer.report.sent(out, now: now)
                if send(rtp: consume out, via: consumer.link, id: consumer.transport, now: now), let record = consumer.forwarder.lastRecord {
                    consumer.sent?.store(record, now: now)
                }
            }
            pollForwarder(consumer, now: now)
        }
    }

    /// Carries out a forwarder's key-frame requests.
    private func pollForwarder(_ consumer: ConsumerState, now: Duration) {
        while let output = consumer.forwarder.pollOutput() {
            if case .keyFrameNeeded(let layer) = output { requestKeyFrame(consumer.producer, layer: layer, now: now) }
        }
    }

    /// PLI/FIR for `layer` of `producer`, coalesced per SSRC.
    func requestKeyFrame(_ producer: ProducerState, layer: Int, now: Duration) {
        guard producer.kind == .video, producer.encodings.indices.contains(layer),
              let ssrc = producer.encodings[layer].ssrc ?? producer.matcher.mediaSSRC(ofEncoding: layer),
              media[producer.transport] != nil,
              let request = media[producer.transport]!.keyFrames.request(ssrc: ssrc, method: producer.keyFrameMethod, now: now) else { return }
        send(rtcp: [request], on: producer.transport, now: now)
    }

    // MARK: - Incoming RTCP

    func receivedRTCP(_ packets: [RTCPPacket], on transport: TransportID, now: Duration) {
        guard let m = media[transport] else { return }
        for packet in packets {
            switch packet {
            case .senderReport(let sr):
                for producer in m.producers {
                    for layer in producer.encodings.indices where producer.encodings[layer].ssrc == sr.ssrc {
                        producer.encodings[layer].stats?.receivedSenderReport(ntpTime: sr.ntpTime, now: now)
                        for consumer in producer.consumers {
                            consumer.forwarder.updateTimeReference(layer: layer, RTPTimeReference(ntp: sr.ntpTime, rtp: RTPTimestamp(sr.rtpTimestamp)))
                        }
                    }
                }
                rttFromReports(sr.reports, on: transport, now: now)
            case .receiverReport(let rr):
                rttFromReports(rr.reports, on: transport, now: now)
            case .nack(let nack):
                guard let consumer = m.consumers.first(where: { $0.report.ssrc == nack.mediaSSRC }), consumer.sent != nil else { continue }
                for seq in nack.lostSequenceNumbers {
                    guard let record = consumer.sent!.record(for: RTPSequenceNumber(seq), now: now, rtt: consumer.rtt),
                          consumer.producer.encodings.indices.contains(record.layer),
                          // The producer's store applies no resend limit of its own (many consumers may ask).
                          case .packet(let source)? = consumer.producer.encodings[record.layer].store?.packet(
                              for: record.sourceSequenceNumber, now: now, rtt: .zero) else { continue }
                    // For the receiver's congestion control a retransmission is a new packet on the wire: it gets
                    // a fresh transport-wide sequence number and send time (mediasoup stamps both at egress).
                    let twcc = consumer.outgoingSequence.next
                    guard let rebuilt = consumer.forwarder.reforward(source, record, now: now, transportSequenceNumber: twcc) else { continue }
                    if consumer.extensionMap[.transportWideCC] != nil { consumer.outgoingSequence.next &+= 1 }
                    send(rtp: consumer.rtx != nil ? consumer.rtx!.encapsulate(rebuilt) : rebuilt, on: transport, now: now)
                }
            case .pictureLossIndication(let pli):
                keyFrameAsked(by: pli.mediaSSRC, on: transport, now: now)
            case .fullIntraRequest(let fir):
                for entry in fir.entries { keyFrameAsked(by: entry.ssrc, on: transport, now: now) }
            default:
                break   // transport-cc feedback and REMB from consumers: bandwidth estimation is a later step
            }
        }
    }

    func keyFrameAsked(by ssrc: SSRC, on transport: TransportID, now: Duration) {
        guard let consumer = media[transport]?.consumers.first(where: { $0.report.ssrc == ssrc }) else { return }
        consumer.forwarder.consumerRequestedKeyFrame(now: now)
        pollForwarder(consumer, now: now)
    }

    /// Round-trip times and reported loss of this transport's consumer streams; the loss feeds the
    /// transport's outgoing estimate (and so the layer budgets).
    private func rttFromReports(_ blocks: [RTCPReportBlock], on transport: TransportID, now: Duration) {
        guard let m = media[transport] else { return }
        var worstLoss: UInt8?
        var rtt: Duration?
        for block in blocks {
            guard let consumer = m.consumers.first(where: { $0.report.ssrc == block.ssrc }) else { continue }
            if let measured = consumer.report.roundTripTime(from: block, now: now) {
                consumer.rtt = measured
                rtt = measured
            }
            if consumer.producer.kind == .video { worstLoss = max(worstLoss ?? 0, block.fractionLost) }
        }
        if let worstLoss {
            media[transport]!.outgoingEstimate.reported(fractionLost: worstLoss, now: now, rtt: rtt ?? .milliseconds(100))
            rebalanceBudgets(transport)
        }
    }

    // MARK: - Timers

    func mediaDeadline(now: Duration) -> Duration? {
        var earliest: Duration?
        func consider(_ d: Duration?) { if let d, earliest.map({ d < $0 }) ?? true { earliest = d } }
        for m in media.values {
            if !m.producers.isEmpty || !m.consumers.isEmpty { consider(m.nextReport ?? now) }
            consider(m.feedback.nextDeadline)
            consider(m.keyFrames.nextDeadline)
            consider(m.incomingCap.nextDeadline)
            for producer in m.producers { for e in producer.encodings { consider(e.nack?.nextDeadline) } }
        }
        return earliest
    }

    func handleMediaTimeout(now: Duration) {
        for id in Array(media.keys) {
            guard let m = media[id] else { continue }
            var rtcp: [RTCPPacket] = []
            // NACKs towards producers.
            for producer in m.producers {
                for layer in producer.encodings.indices {
                    guard let due = producer.encodings[layer].nack?.nextDeadline, due <= now,
                          let ssrc = producer.encodings[layer].ssrc else { continue }
                    let lost = producer.encodings[layer].nack!.handleTimeout(now: now)
                    if !lost.isEmpty { rtcp.append(NACKGenerator.nackPacket(senderSSRC: m.rtcpSSRC, mediaSSRC: ssrc, lost: lost)) }
                    if producer.encodings[layer].nack!.pollKeyFrameRequest() { requestKeyFrame(producer, layer: layer, now: now) }
                }
            }
            rtcp += m.feedback.handleTimeout(now: now)
            rtcp += m.keyFrames.handleTimeout(now: now)
            if var remb = m.incomingCap.handleTimeout(now: now), case .remb(var packet) = remb {
                packet.ssrcs = m.producers.flatMap { $0.encodings.compactMap(\.ssrc) }
                remb = .remb(packet)
                rtcp.append(remb)
            }
            // Regular reports: RR for what this transport receives, SR + SDES for what it sends.
            if !m.producers.isEmpty || !m.consumers.isEmpty, now >= (m.nextReport ?? now) {
                m.nextReport = now + Self.reportInterval
                var blocks: [RTCPReportBlock] = []
                for producer in m.producers {
                    for layer in producer.encodings.indices {
                        if let block = producer.encodings[layer].stats?.receptionReport(now: now) { blocks.append(block) }
                    }
                }
                var reports: [RTCPPacket] = []
                var chunks: [RTCPSourceDescription.Chunk] = []
                for consumer in m.consumers where consumer.report.packetCount > 0 {
                    if let sr = consumer.report.senderReport(now: now) { reports.append(.senderReport(sr)) }
                    chunks.append(consumer.report.sourceDescriptionChunk)
                }
                if !blocks.isEmpty || reports.isEmpty && !chunks.isEmpty {
                    reports.insert(.receiverReport(RTCPReceiverReport(ssrc: m.rtcpSSRC, reports: Array(blocks.prefix(31)))), at: 0)
                }
                // One compound per few reports keeps datagrams well under the MTU.
                var index = 0
                while index < reports.count {
                    let slice = Array(reports[index..<min(index + 8, reports.count)])
                    let sdes = chunks.isEmpty ? [] : [RTCPPacket.sourceDescription(RTCPSourceDescription(chunks: Array(chunks.prefix(8))))]
                    if !chunks.isEmpty { chunks.removeFirst(min(8, chunks.count)) }
                    send(rtcp: slice + sdes, on: id, now: now)
                    index += 8
                }
            }
            if !rtcp.isEmpty {
                // Feedback packets may be many: send them in compounds of a few.
                var index = 0
                while index < rtcp.count {
                    send(rtcp: Array(rtcp[index..<min(index + 4, rtcp.count)]), on: id, now: now)
                    index += 4
                }
            }
        }
    }
}
