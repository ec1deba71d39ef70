import RTCBase
import RTP

/// How a ``ConsumerForwarder`` made one outgoing packet: which source packet (layer and sequence number) and
/// the header and VP8 values it wrote. Enough to make the same packet again for a retransmission.
public struct ForwardRecord: Hashable, Sendable {
    /// The spatial layer the source packet came from.
    public var layer: Int
    /// The source packet's sequence number (the producer's).
    public var sourceSequenceNumber: RTPSequenceNumber
    /// Payload type, sequence number, timestamp and SSRC written.
    public var header: RTPHeaderRewrite
    /// Picture id / TL0PICIDX written (VP8).
    public var vp8: VP8DescriptorRewrite?

    /// A record of the given values.
    public init(layer: Int, sourceSequenceNumber: RTPSequenceNumber, header: RTPHeaderRewrite, vp8: VP8DescriptorRewrite?) {
        self.layer = layer
        self.sourceSequenceNumber = sourceSequenceNumber
        self.header = header
        self.vp8 = vp8
    }
}

extension ConsumerForwarder {
    /// What the gate decided for one packet of the producer.
    enum Gate {
        /// The packet continues the forwarded segment.
        case continues
        /// The packet starts a segment: a switch to the target layer, or a restart after a pause or resume.
        case startsSegment
    }

    // MARK: Forwarding

    /// The consumer's copy of `packet` (spatial layer `layer`, `isKeyFrame` when it starts a key frame) — ready for
    /// SRTP once its transport stamped it — and how it was made (to make it again for a retransmission), or nil to
    /// drop it.
    public mutating func forward(_ packet: RTPPacket, layer: Int, isKeyFrame: Bool, now: Duration) -> (packet: RTPPacket, record: ForwardRecord)? {
        guard let routerPT = admit(packet, layer: layer, now: now), let gate = gate(packet, layer: layer, isKeyFrame: isKeyFrame, now: now) else {
            return nil
        }
        if packet.payloadLength == 0 {
            // Padding only (bandwidth probes): never forwarded, and it leaves no gap in the output numbering.
            if gate == .continues { sequence.drop(packet.sequenceNumber) }
            return nil
        }
        if gate == .startsSegment { startSegment(with: packet, layer: layer, now: now) }
        guard let record = plan(packet, layer: layer, routerPayloadType: routerPT, now: now),
              let out = Self.rewrite(packet, record, extensions: extensions, now: now) else { return nil }
        if gate == .startsSegment { chainStart = record.header.sequenceNumber }
        if record.header.sequenceNumber == sequence.highestOutput { lastForwardedHadMarker = packet.marker }
        packetsForwarded &+= 1
        payloadBytesForwarded &+= UInt32(truncatingIfNeeded: out.payloadLength)
        return (out, record)
    }

    /// The consumer's copy of `source` made again exactly as `record` says it was made the first time (same
    /// sequence number, timestamp, payload type, SSRC and VP8 picture ids) — a retransmission rebuilt from the
    /// producer's packet store, so consumers need not keep their own copies. Its transport stamps a fresh
    /// transport-wide number and send time when it leaves.
    public func reforward(_ source: RTPPacket, _ record: ForwardRecord, now: Duration) -> RTPPacket? {
        Self.rewrite(source, record, extensions: extensions, now: now)
    }

    // MARK: Steps

    /// Step 0: maps the payload type; nil when nothing is forwarded (paused, bad layer, unmapped payload type).
    mutating func admit(_ packet: RTPPacket, layer: Int, now: Duration) -> PayloadType? {
        guard layer >= 0, layer < configuration.layerCount, !isPaused else { return nil }
        let routerPT = payloadTypeTable[Int(packet.payloadType.rawValue)]
        return routerPT == 0xFF ? nil : PayloadType(rawValue: routerPT)
    }

    /// Step 1, the layer and key-frame gate. A (re)start — switching to the target layer, or resuming the current
    /// one after a pause or a resume — needs a key frame (video) that is not older than packets already dropped
    /// while waiting; until then the current layer keeps flowing and every other packet is dropped (nil).
    mutating func gate(_ packet: RTPPacket, layer: Int, isKeyFrame: Bool, now: Duration) -> Gate? {
        requestKeyFrameIfNeeded(now: now)
        guard let target = targetLayer else { return nil }
        if (layer == target && currentLayer != target) || (layer == currentLayer && syncRequired) {
            guard isKeyFrame || !configuration.waitsForKeyFrame else { return droppedWaiting(packet, layer: layer) }
            guard usableStart(packet, layer: layer, now: now) else { return nil }
            return .startsSegment
        }
        return layer == currentLayer ? .continues : nil
    }

    /// Step 2: a new segment starts with `packet`. Video: an unfinished last frame is signalled by a one-number
    /// gap (the receiver drops it instead of waiting for its missing packets); audio markers mean talkspurts,
    /// not frames. A layer switch aligns timestamps through the two layers' sender reports when known.
    mutating func startSegment(with packet: RTPPacket, layer: Int, now: Duration) {
        let incomplete = configuration.waitsForKeyFrame && sequence.highestOutput != nil && !lastForwardedHadMarker
        sequence.resync(skipping: incomplete ? 1 : 0)
        if let previous = currentLayer, previous != layer {
            var equivalent: RTPTimestamp?
            if let old = timeReferences[previous], let new = timeReferences[layer] {
                equivalent = new.timestamp(packet.timestamp, in: old, clockRate: configuration.clockRate)
            }
            timestamps.rebase(nextInput: packet.timestamp, now: now, equivalentInPreviousSource: equivalent)
        }
        vp8.resync()
        if droppedWhileWaiting.indices.contains(layer) { droppedWhileWaiting[layer] = nil }
        if currentLayer != layer { emit(.layerChanged(layer: layer)) }
        currentLayer = layer
        syncRequired = false
    }

    /// Step 3: the outgoing values for `packet` — sequence number, timestamp, VP8 picture ids — or nil when the
    /// packet is dropped here (a VP8 temporal layer above the target; its number is skipped without a gap).
    mutating func plan(_ packet: RTPPacket, layer: Int, routerPayloadType: PayloadType, now: Duration) -> ForwardRecord? {
        var vp8Rewrite: VP8DescriptorRewrite?
        if configuration.payloadFormat == .vp8, let descriptor = try? VP8PayloadDescriptor(parsing: packet.payload) {
            guard let rewrite = vp8.process(descriptor) else {
                sequence.drop(packet.sequenceNumber)
                return nil
            }
            vp8Rewrite = rewrite
        }
        guard let outSeq = sequence.rewrite(packet.sequenceNumber) else { return nil }
        let header = RTPHeaderRewrite(payloadType: routerPayloadType, sequenceNumber: outSeq,
                                      timestamp: timestamps.rewrite(packet.timestamp, now: now), ssrc: configuration.ssrc)
        return ForwardRecord(layer: layer, sourceSequenceNumber: packet.sequenceNumber, header: header, vp8: vp8Rewrite)
    }

    /// Step 4, pure: `source` rewritten as `record` says — header values, the consumer's extension block (with
    /// abs-send-time for `now` and a transport-wide number of 0, both stamped again when the packet leaves), VP8
    /// picture ids — in one new buffer.
    static func rewrite(_ source: RTPPacket, _ record: ForwardRecord, extensions: HeaderExtensionRewriter, now: Duration) -> RTPPacket? {
        guard var out = extensions.rewrite(source, header: record.header, absSendTime: HeaderExtensionRewriter.absSendTime(at: now),
                                           transportSequenceNumber: 0) else { return nil }
        if let r = record.vp8, let d = try? VP8PayloadDescriptor(parsing: source.payload) { r.apply(to: &out, descriptor: d) }
        return out
    }

    // MARK: Gate helpers

    /// Records a packet of `layer` dropped while waiting for a key frame there; returns nil (the drop).
    mutating func droppedWaiting(_ packet: RTPPacket, layer: Int) -> Gate? {
        guard configuration.waitsForKeyFrame else { return nil }
        if droppedWhileWaiting.count < configuration.layerCount {
            droppedWhileWaiting = Array(repeating: nil, count: configuration.layerCount)
        }
        if let newest = droppedWhileWaiting[layer], !(newest < packet.sequenceNumber) { return nil }
        droppedWhileWaiting[layer] = packet.sequenceNumber
        return nil
    }

    /// Whether a key frame packet may start forwarding on `layer`: not if a newer packet of that layer was
    /// already dropped while waiting (a late first packet); then a fresh key frame is asked for.
    mutating func usableStart(_ packet: RTPPacket, layer: Int, now: Duration) -> Bool {
        guard configuration.waitsForKeyFrame, droppedWhileWaiting.indices.contains(layer),
              let newest = droppedWhileWaiting[layer], !(newest < packet.sequenceNumber) else { return true }
        emit(.keyFrameNeeded(layer: layer))
        keyFrameRequestedLayer = layer
        keyFrameRequestedAt = now
        return false
    }

    mutating func requestKeyFrameIfNeeded(now: Duration) {
        guard configuration.waitsForKeyFrame, !isPaused, let target = targetLayer else { return }
        guard syncRequired || currentLayer != target else { return }
        if keyFrameRequestedLayer == target, now - keyFrameRequestedAt < configuration.keyFrameRetryInterval { return }
        emit(.keyFrameNeeded(layer: target))
        keyFrameRequestedLayer = target
        keyFrameRequestedAt = now
    }
}
