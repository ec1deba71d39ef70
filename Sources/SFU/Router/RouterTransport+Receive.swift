import RTCBase
import RTCP
import RTP

// What a transport does with the RTP and RTCP its peer sends (docs/protocol.md §7.5–§7.8).
extension RouterTransport {
    // MARK: RTP

    /// A decrypted RTP packet from the peer: counted for transport-wide feedback, routed to its producer's encoding
    /// by SSRC, ingested, and forwarded to the producer's consumers.
    ///
    /// Counted before routing: a packet of a stream no producer has claimed yet reached us all the same. A browser
    /// starts sending a new camera as soon as its answer is applied, before its INIT_PRODUCER arrives; a feedback
    /// calling those packets lost makes the browser's loss-based estimate cut its uplink (issue #14). mediasoup's
    /// transport feeds its feedback server before the producer lookup too.
    func receivedRTP(_ packet: RTPPacket, now: Duration) {
        if packet.hasExtension { _ = feedback.record(packet, extensions: feedbackExtensions, arrival: now) }
        guard let route = route(packet) else { return drop(.unknownStream) }
        let producer = route.producer
        guard let media = producer.media(of: packet, on: route),
              let isKeyFrame = producer.ingest(media, layer: route.layer, recovered: route.isRTX, now: now),
              !producer.paused else { return }
        for consumer in producer.consumers { consumer.forward(media, layer: route.layer, isKeyFrame: isKeyFrame, now: now) }
    }

    /// The stream `packet` belongs to: a known SSRC with a payload type of the right kind (one dictionary lookup), or
    /// else the producers' matchers (MID/RID and latching, docs/protocol.md §7.5 rule 1), whose answer is
    /// remembered for the SSRC.
    func route(_ packet: RTPPacket) -> StreamRoute? {
        if let known = streams[packet.ssrc], known.producer.accepts(packet.payloadType, on: known) { return known }
        for producer in producers {
            let route: StreamRoute
            switch producer.matcher.classify(packet) {
            case .media(let layer): route = StreamRoute(producer: producer, layer: layer, isRTX: false)
            case .rtx(let layer): route = StreamRoute(producer: producer, layer: layer, isRTX: true)
            case .unknown: continue
            }
            streams[packet.ssrc] = route
            return route
        }
        return nil
    }

    // MARK: RTCP

    /// A decrypted RTCP compound from the peer: sender reports of its producers' streams, and the receiving
    /// browser's reports and feedback about this transport's consumers (found by SSRC).
    func receivedRTCP(_ packets: [RTCPPacket], now: Duration) {
        for packet in packets {
            switch packet {
            case .senderReport(let sr):
                if let (producer, layer) = senderReportTarget(sr.ssrc) { producer.receivedSenderReport(sr, layer: layer, now: now) }
                reportBlocks(sr.reports, now: now)
            case .receiverReport(let rr):
                reportBlocks(rr.reports, now: now)
            case .nack(let nack):
                consumersBySSRC[nack.mediaSSRC]?.answer(nack, now: now)
            case .pictureLossIndication(let pli):
                consumersBySSRC[pli.mediaSSRC]?.keyFrameAsked(now: now)
            case .fullIntraRequest(let fir):
                for entry in fir.entries { consumersBySSRC[entry.ssrc]?.keyFrameAsked(now: now) }
            case .transportFeedback(let feedback):
                receivedTransportFeedback(feedback, now: now)
            case .remb(let remb):
                receivedREMB(Int(clamping: remb.bitrate), now: now)
            default:
                break
            }
        }
    }

    /// The producer encoding whose media SSRC is `ssrc`: from the stream map, or — for an SSRC announced in
    /// INIT_PRODUCER whose RTP has not arrived yet — from the producers' encodings.
    func senderReportTarget(_ ssrc: SSRC) -> (Producer, Int)? {
        if let route = streams[ssrc], !route.isRTX { return (route.producer, route.layer) }
        for producer in producers {
            if let layer = producer.encodings.firstIndex(where: { $0.ssrc == ssrc }) { return (producer, layer) }
        }
        return nil
    }

    /// Round-trip times and reported loss of this transport's consumer streams, for congestion control.
    func reportBlocks(_ blocks: [RTCPReportBlock], now: Duration) {
        var worstLoss: UInt8?
        var rtt: Duration?
        for block in blocks {
            guard let consumer = consumersBySSRC[block.ssrc] else { continue }
            if let measured = consumer.report.roundTripTime(from: block, now: now) {
                consumer.rtt = measured
                rtt = measured
            }
            if consumer.producer.kind == .video { worstLoss = max(worstLoss ?? 0, block.fractionLost) }
        }
        receivedLoss(worstLoss, rtt: rtt, now: now)
    }
}
