import RTCBase
import RTCP
import RTP

/// Why a producer or consumer could not be created.
public enum MediaRouterError: Error, Hashable, Sendable {
    case unknownTransport(TransportID)
    case unknownProducer(ProducerID)
    case invalidParameters(String)
}

// Producers and consumers: what the signalling layer asks of the media plane (INIT_PRODUCER, INIT_CONSUMER,
// PRODUCTION_CHANGE, CONSUMPTION_CHANGE, session close), and what it reads back for statistics.
extension MediaRouter {
    // MARK: - Producers

    /// Creates a producer on `transport` from the browser's parameters (INIT_PRODUCER) and the ORTC mapping to the
    /// router; `source` (camera or screen share, INIT_PRODUCER `type`) sets its consumers' priority.
    public func createProducer(on transportID: TransportID, kind: MediaKind, source: BitrateAllocation.Source = .camera,
                               parameters: RTPParameters, mapping: RTPParametersMapping, now: Duration) throws(MediaRouterError) -> ProducerID {
        guard let transport = transports[transportID] else { throw .unknownTransport(transportID) }
        let id: ProducerID = makeID()
        let producer = Producer(id: id, transport: transport, kind: kind, source: source, parameters: parameters, mapping: mapping)
        producers[id] = producer
        transport.producers.append(producer)
        if transport.feedbackExtensions[.transportWideCC] == nil {
            transport.feedbackExtensions[.transportWideCC] = producer.extensionMap[.transportWideCC]
        }
        transport.updateReportSchedule(now: now)
        return id
    }

    /// Pauses or resumes a producer (PRODUCTION_CHANGE); resuming asks for a key frame.
    public func setProducerPaused(_ id: ProducerID, _ paused: Bool, now: Duration) {
        guard let producer = producers[id], producer.paused != paused else { return }
        producer.paused = paused
        if !paused { producer.requestKeyFrames(now: now) }
        var reallocated: Set<ObjectIdentifier> = []
        for consumer in producer.consumers where reallocated.insert(ObjectIdentifier(consumer.transport)).inserted {
            consumer.transport.allocate(now: now)
        }
    }

    /// Closes a producer and every consumer of it.
    public func closeProducer(_ id: ProducerID, now: Duration) {
        guard let producer = producers.removeValue(forKey: id) else { return }
        for consumer in producer.consumers { closeConsumer(consumer.id, now: now) }
        let transport = producer.transport
        transport.producers.removeAll { $0 === producer }
        transport.streams = transport.streams.filter { $0.value.producer !== producer }
        for encoding in producer.encodings { if let ssrc = encoding.ssrc { transport.keyFrames.removeStream(ssrc: ssrc) } }
        transport.updateReportSchedule(now: now)
    }

    // MARK: - Consumers

    /// Creates a consumer of `producerID` on `transport` with the consumer's parameters (as sent in INIT_CONSUMER).
    /// It starts paused: ``setConsumerActive(_:_:now:)`` starts forwarding.
    public func createConsumer(on transportID: TransportID, of producerID: ProducerID, parameters: RTPParameters,
                               now: Duration) throws(MediaRouterError) -> ConsumerID {
        guard let transport = transports[transportID] else { throw .unknownTransport(transportID) }
        guard let producer = producers[producerID] else { throw .unknownProducer(producerID) }
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
        let id: ConsumerID = makeID()
        let consumer = Consumer(
            id: id, transport: transport, producer: producer, forwarder: ConsumerForwarder(configuration: configuration),
            sent: isVideo ? ForwardRecordRing(capacity: 1_024) : nil, rtx: rtx,
            report: SenderReportGenerator(ssrc: ssrc, clockRate: UInt32(clamping: codec.clockRate), cname: parameters.rtcpCNAME ?? "", clock: clock))
        consumers[id] = consumer
        producer.consumers.append(consumer)
        transport.consumers.append(consumer)
        // First one wins should two consumers of a transport draw the same random SSRC.
        if transport.consumersBySSRC[ssrc] == nil { transport.consumersBySSRC[ssrc] = consumer }
        transport.allocate(now: now)
        transport.updateReportSchedule(now: now)
        return id
    }

    /// Starts (with a key-frame request) or stops forwarding to a consumer.
    public func setConsumerActive(_ id: ConsumerID, _ active: Bool, now: Duration) {
        guard let consumer = consumers[id], consumer.active != active else { return }
        consumer.setActive(active, now: now)
        consumer.transport.allocate(now: now)
    }

    /// Closes a consumer (an RTCP BYE for its SSRC goes to the browser).
    public func closeConsumer(_ id: ConsumerID, now: Duration) {
        guard let consumer = consumers.removeValue(forKey: id) else { return }
        let transport = consumer.transport
        consumer.producer.consumers.removeAll { $0 === consumer }
        transport.consumers.removeAll { $0 === consumer }
        if transport.consumersBySSRC[consumer.ssrc] === consumer {
            transport.consumersBySSRC[consumer.ssrc] = transport.consumers.first { $0.ssrc == consumer.ssrc }
        }
        transport.congestion.pacer.removeAll { $0.consumer === consumer }
        transport.send(rtcp: [consumer.report.goodbye()], now: now)
        transport.allocate(now: now)
        transport.updateReportSchedule(now: now)
    }

    // MARK: - Limits and budgets

    /// Caps what the browser sends on `transport` (REMB, MAX_BITRATE_IN) and what is forwarded to it
    /// (MAX_BITRATE_OUT, the ceiling of its estimate).
    public func setBitrateLimits(_ id: TransportID, maxIncoming: Int?, maxOutgoing: Int?, now: Duration) {
        guard let transport = transports[id] else { return }
        transport.incomingCap.setMaxBitrate(maxIncoming.map { UInt64(max(0, $0)) }, now: now)
        transport.setMaximumOutgoing(maxOutgoing, now: now)
        transport.markDirty()
    }

    // MARK: - Statistics

    /// Incoming bitrate of a producer over the last second, bits per second, all layers.
    public func producerBitrate(_ id: ProducerID, now: Duration) -> Int { producers[id]?.bitrate(now: now) ?? 0 }

    /// Bitrate of a producer's first RTP stream that has received packets (what odoo/sfu reports in
    /// `/v1/stats`: mediasoup's first stats entry), bits per second.
    public func producerFirstStreamBitrate(_ id: ProducerID, now: Duration) -> Int {
        guard let producer = producers[id] else { return 0 }
        return producer.encodings.first { $0.stats != nil }?.bitrate.bitrate(now: now) ?? 0
    }

    /// The spatial layer a consumer forwards now (nil before the first packet).
    public func consumerLayer(_ id: ConsumerID) -> Int? { consumers[id]?.forwarder.currentLayer }

    /// The outgoing estimate of a transport (bits per second).
    public func outgoingEstimate(_ id: TransportID) -> Int? { transports[id]?.congestion.target }

    /// The congestion figures of a transport now.
    public func congestionReport(_ id: TransportID) -> TransportCongestionReport? { transports[id]?.congestionReport }

    /// The layers the allocation gave a video consumer (nil: paused for want of bandwidth, or not allocated yet).
    public func consumerAllocation(_ id: ConsumerID) -> BitrateAllocation.Step? { consumers[id]?.allocated }
}
