import RTCBase
import RTCP
import RTP

/// Where an incoming RTP stream goes: a producer's encoding (simulcast layer), as media or as its RTX.
struct StreamRoute {
    unowned let producer: Producer
    let layer: Int
    let isRTX: Bool
}

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

/// A producer: the browser's stream(s) arriving on a transport — ingest only. It matches packets to its
/// encodings (``RTPStreamMatcher``; the transport caches the result by SSRC), unwraps RTX, drops duplicates,
/// keeps receive statistics, generates NACKs and keeps the packet store consumers retransmit from. What it
/// accepts, the router fans out to ``consumers``.
final class Producer {
    let id: ProducerID
    unowned let transport: RouterTransport
    let kind: MediaKind
    let mimeType: String
    let clockRate: UInt32
    let extensionMap: RTPHeaderExtensionMap
    /// Producer payload type → router payload type (media codecs).
    let mediaPayloadTypes: [(producer: PayloadType, router: PayloadType)]
    /// Producer RTX payload type → producer media payload type, 0xFF = not RTX. 128 entries.
    let rtxMediaPayloadType: [UInt8]
    /// Per payload type: 1 = media, 2 = RTX, 0 = neither. 128 entries.
    let payloadKind: [UInt8]
    /// PLI when the codec negotiated `nack pli`, FIR otherwise.
    let keyFrameMethod: KeyFrameRequestMethod
    var matcher: RTPStreamMatcher
    var encodings: [EncodingState]
    var paused = false
    var consumers: [Consumer] = []
    /// Camera or screen share (the allocation serves screen shares first).
    let source: BitrateAllocation.Source
    /// Per-layer (and per temporal layer) bitrates and liveness, what its consumers' allocation reads (video).
    var layers: SimulcastLayerSelector

    init(id: ProducerID, transport: RouterTransport, kind: MediaKind, source: BitrateAllocation.Source, parameters: RTPParameters,
         mapping: RTPParametersMapping) {
        self.id = id
        self.transport = transport
        self.kind = kind
        self.source = source
        let media = parameters.codecs.first { !$0.isRTX }
        mimeType = media?.mimeType.lowercased() ?? ""
        clockRate = UInt32(clamping: media?.clockRate ?? 90_000)
        extensionMap = parameters.headerExtensionMap
        mediaPayloadTypes = mapping.codecs.compactMap { m in
            parameters.codecs.first { $0.payloadType == m.payloadType && !$0.isRTX }.map { _ in
                (PayloadType(rawValue: m.payloadType & 0x7F)!, PayloadType(rawValue: m.mappedPayloadType & 0x7F)!)
            }
        }
        var rtx = [UInt8](repeating: 0xFF, count: 128), kinds = [UInt8](repeating: 0, count: 128)
        for codec in parameters.codecs {
            let pt = Int(codec.payloadType & 0x7F)
            if codec.isRTX {
                kinds[pt] = 2
                if let apt = codec.associatedPayloadType { rtx[pt] = apt & 0x7F }
            } else {
                kinds[pt] = 1
            }
        }
        rtxMediaPayloadType = rtx
        payloadKind = kinds
        keyFrameMethod = (media?.rtcpFeedback.contains { $0.type == "nack" && $0.parameter == "pli" } ?? true) ? .pli : .fir
        matcher = RTPStreamMatcher(producer: parameters, mapping: mapping)
        encodings = mapping.encodings.map { EncodingState(ssrc: $0.ssrc.map(SSRC.init(rawValue:))) }
        layers = SimulcastLayerSelector(layerCount: max(1, encodings.count))
    }

    /// Whether a packet with `payloadType` may be on the stream `route` names (media PTs on media SSRCs, RTX PTs
    /// on RTX SSRCs), as ``RTPStreamMatcher`` decides for a known SSRC.
    func accepts(_ payloadType: PayloadType, on route: StreamRoute) -> Bool {
        payloadKind[Int(payloadType.rawValue)] == (route.isRTX ? 2 : 1)
    }

    /// Bits per second received over the last second, all layers.
    func bitrate(now: Duration) -> Int { encodings.reduce(0) { $0 + $1.bitrate.bitrate(now: now) } }

    /// Whether `packet` starts a key frame for this producer's codec, and its temporal layer id (VP8 TID) if any.
    func describe(_ packet: RTPPacket) -> (isKeyFrame: Bool, temporalLayer: Int?) {
        let payload = packet.payload
        switch mimeType {
        case "video/vp8":
            guard let d = try? VP8PayloadDescriptor(parsing: payload) else { return (false, nil) }
            return (d.isKeyFrame, d.temporalLayer.map(Int.init))
        case "video/vp9": return ((try? VP9PayloadDescriptor(parsing: payload))?.isKeyFrame ?? false, nil)
        case "video/h264": return ((try? H264Payload(parsing: payload))?.isKeyFrame ?? false, nil)
        default: return (false, nil)
        }
    }

    /// The media packet inside `packet` on `route`: the packet itself, or its RTX payload decapsulated (nil for
    /// padding-only RTX, an RTX payload type without an associated media type, or an RTX stream whose media
    /// SSRC is not known yet).
    func media(of packet: RTPPacket, on route: StreamRoute) -> RTPPacket? {
        guard route.isRTX else { return packet }
        let media = rtxMediaPayloadType[Int(packet.payloadType.rawValue)]
        guard media != 0xFF, !packet.isPaddingOnly, let ssrc = matcher.mediaSSRC(ofEncoding: route.layer) else { return nil }
        return try? packet.rtxDecapsulated(originalSSRC: ssrc, originalPayloadType: PayloadType(rawValue: media)!)
    }

    /// Takes a media packet of `layer` (`recovered`: it came as RTX) at `now`. Returns whether it is a key frame
    /// start, or nil when it must not be forwarded (a duplicate, or a retransmission too late to use).
    func ingest(_ packet: RTPPacket, layer: Int, recovered: Bool, now: Duration) -> Bool? {
        let (isKeyFrame, temporalLayer) = describe(packet)
        if encodings[layer].ssrc == nil { encodings[layer].ssrc = packet.ssrc }
        if encodings[layer].stats == nil {
            encodings[layer].stats = RTPReceiveStats(ssrc: packet.ssrc, clockRate: clockRate)
            if kind == .video {
                encodings[layer].nack = NACKGenerator()
                // 2 s of a top layer at up to ~4 Mbps (the same window consumers may resend from).
                encodings[layer].store = RTPRetransmissionBuffer(capacity: 1_024)
            }
        }
        // Each source packet is counted and forwarded once, whichever copy comes first. A second copy (an RTX
        // bandwidth probe repeating a packet that arrived, or an original after its RTX copy) would be counted
        // twice and would reuse the consumer's output sequence number (an SRTP index) for a second packet.
        // Only video has RTX, and the SRTP replay check already drops repeated packets of one SSRC.
        if let store = encodings[layer].store {
            if store.contains(packet.sequenceNumber) { return nil }
            // Older than the store holds, a copy can no longer be told from a first arrival: forwarding it could
            // reuse an output number (found by FuzzSFU). An RTX copy from further ahead than the store spans is
            // no copy of anything recent.
            if let age = store.age(of: packet.sequenceNumber), age >= Int64(store.capacity) || (recovered && age <= -Int64(store.capacity)) {
                return nil
            }
        }
        if encodings[layer].nack != nil {
            let arrival = encodings[layer].nack!.received(sequenceNumber: packet.sequenceNumber, isKeyFrame: isKeyFrame,
                                                          isRecovered: recovered, now: now)
            if encodings[layer].nack!.pollKeyFrameRequest() { requestKeyFrame(layer: layer, now: now) }
            // A retransmission is used when it fills a known gap or arrives ahead of the stream (a probe copying
            // the newest packet, whose original may well be lost: it is then the only copy). A late one for a
            // packet given up on is ignored, as mediasoup does.
            if recovered, arrival == .old { return nil }
        }
        encodings[layer].stats!.received(packet, isRetransmission: recovered, now: now)
        if !packet.isPaddingOnly {
            encodings[layer].bitrate.record(bytes: packet.bytes.readableBytes, now: now)
            if kind == .video,
               layers.observe(layer: layer, temporalLayer: temporalLayer, bytes: packet.bytes.readableBytes + TransportPacketHistory.wireOverhead, now: now) {
                // A layer (re)started: the consumers' transports may now choose it.
                for consumer in consumers { consumer.transport.allocate(now: now) }
            }
        }
        if isKeyFrame { transport.keyFrames.keyFrameReceived(ssrc: packet.ssrc) }
        encodings[layer].store?.store(packet, now: now)
        return isKeyFrame
    }

    /// PLI/FIR for `layer`, coalesced per SSRC by the transport's ``KeyFrameRequestManager``.
    func requestKeyFrame(layer: Int, now: Duration) {
        guard kind == .video, encodings.indices.contains(layer),
              let ssrc = encodings[layer].ssrc ?? matcher.mediaSSRC(ofEncoding: layer),
              let request = transport.keyFrames.request(ssrc: ssrc, method: keyFrameMethod, now: now) else { return }
        transport.send(rtcp: [request], now: now)
        transport.markDirty()
    }

    /// Asks every layer for a key frame (a resumed producer).
    func requestKeyFrames(now: Duration) {
        for layer in encodings.indices { requestKeyFrame(layer: layer, now: now) }
    }

    /// A sender report of this producer's stream `ssrc`: statistics and the consumers' time references.
    func receivedSenderReport(_ sr: RTCPSenderReport, layer: Int, now: Duration) {
        guard encodings.indices.contains(layer), encodings[layer].ssrc == sr.ssrc else { return }
        encodings[layer].stats?.receivedSenderReport(ntpTime: sr.ntpTime, now: now)
        let reference = RTPTimeReference(ntp: sr.ntpTime, rtp: RTPTimestamp(sr.rtpTimestamp))
        for consumer in consumers { consumer.forwarder.updateTimeReference(layer: layer, reference) }
    }

    /// NACKs due at `now` (one packet per layer with losses), and key-frame requests for layers given up on.
    func nacksDue(now: Duration, senderSSRC: SSRC) -> [RTCPPacket] {
        var out: [RTCPPacket] = []
        for layer in encodings.indices {
            guard let due = encodings[layer].nack?.nextDeadline, due <= now, let ssrc = encodings[layer].ssrc else { continue }
            let lost = encodings[layer].nack!.handleTimeout(now: now)
            if !lost.isEmpty { out.append(NACKGenerator.nackPacket(senderSSRC: senderSSRC, mediaSSRC: ssrc, lost: lost)) }
            if encodings[layer].nack!.pollKeyFrameRequest() { requestKeyFrame(layer: layer, now: now) }
        }
        return out
    }

    /// The earliest NACK timer of any layer.
    var nextDeadline: Duration? {
        var earliest: Duration?
        for encoding in encodings { earliest = RTCBase.earliest(earliest, encoding.nack?.nextDeadline) }
        return earliest
    }
}
