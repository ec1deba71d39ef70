import RTCBase
import RTP

/// What a ``ConsumerForwarder`` asks of its owner, drained with ``ConsumerForwarder/pollOutput()``.
public enum ConsumerForwarderOutput: Hashable, Sendable {
    /// Request a key frame (PLI/FIR) on the producer stream of this spatial layer (protocol spec §7.8):
    /// emitted on resume (including the first), while a layer switch waits for a key frame (repeated
    /// every ``ConsumerForwarder/Configuration/keyFrameRetryInterval``), and when the consumer asks.
    case keyFrameNeeded(layer: Int)
    /// The forwarded spatial layer changed (the first forwarded packet included).
    case layerChanged(layer: Int)
}

/// How a ``ConsumerForwarder`` treats payloads.
public enum ForwardedPayloadFormat: Hashable, Sendable {
    /// VP8 (RFC 7741): picture id / TL0PICIDX continuity and temporal-layer dropping.
    case vp8
    /// Anything else: the payload is forwarded untouched.
    case opaque
}

/// One consumer's forwarding state machine (sans-IO): every packet of the producer goes in with its
/// spatial layer, the consumer's packet (or nil = drop) comes out, rewritten per protocol spec §7.5:
///
/// * payload type mapped producer → router (packets with an unmapped type are dropped);
/// * SSRC = the consumer's; sequence numbers and timestamps continuous across drops, pauses, resumes and
///   layer switches (``RTPSequenceRewriter``, ``RTPTimestampRewriter``; a switch after an incomplete
///   frame skips one sequence number so the receiver discards that frame);
/// * header extension block rebuilt for the consumer (``HeaderExtensionRewriter``), abs-send-time from
///   `now`;
/// * VP8: picture id / TL0PICIDX continuity and temporal-layer target (``VP8ContinuityRewriter``);
/// * padding-only packets are not forwarded (and leave no sequence gap).
///
/// Simulcast (``Configuration/layerCount`` > 1): exactly one spatial layer is forwarded. The target is
/// chosen by a ``SimulcastLayerSelector`` under ``budget`` (re-evaluated every
/// ``Configuration/reevaluationInterval`` and on ``setBudget(_:)``); the forwarded layer switches to the
/// target only at a key frame of the target, which is requested through ``pollOutput()``.
///
/// A forwarder starts paused — mediasoup creates consumers paused and resumes them once the client has
/// answered INIT_CONSUMER (spec §7.5 rule 7); ``resume(now:)`` starts it. While paused nothing is
/// forwarded (layers are still measured). Video (``Configuration/waitsForKeyFrame``) restarts at a key
/// frame after every resume.
///
/// Per packet: no dictionary lookups (payload types and extension ids are table-indexed), no allocation
/// besides the outgoing packet's buffer.
public struct ConsumerForwarder: Sendable {
    /// Static parameters of a consumer.
    public struct Configuration: Sendable {
        /// The consumer's SSRC (`rtpParameters.encodings[0].ssrc`).
        public var ssrc: SSRC
        /// Clock rate of the media codec, Hz.
        public var clockRate: UInt32
        /// Producer payload type → router payload type (media codec; RTX is not forwarded here).
        public var payloadTypes: [(producer: PayloadType, router: PayloadType)]
        /// The extension block rebuilder for this producer → consumer pair.
        public var headerExtensions: HeaderExtensionRewriter
        /// Payload handling.
        public var payloadFormat: ForwardedPayloadFormat
        /// Number of simulcast layers of the producer (1 = not simulcast).
        public var layerCount: Int
        /// Whether forwarding (re)starts only at a key frame (video) or at any packet (audio).
        public var waitsForKeyFrame: Bool
        /// First outgoing sequence number (random, RFC 3550 §5.1).
        public var initialSequenceNumber: RTPSequenceNumber
        /// Added to the first forwarded source's timestamps (random, or 0 to keep the producer's).
        public var initialTimestampOffset: UInt32
        /// First outgoing VP8 picture id and TL0PICIDX.
        public var initialPictureID: UInt16
        /// First outgoing VP8 TL0PICIDX.
        public var initialTL0PicIdx: UInt8
        /// A layer must have been alive this long before it is preferred (spec §7.7: 2 s).
        public var minimumLayerActiveTime: Duration
        /// Silence after which a layer counts as stopped.
        public var layerInactivityTimeout: Duration
        /// How often the target layer is re-evaluated.
        public var reevaluationInterval: Duration
        /// How often a still-pending key frame request is repeated.
        public var keyFrameRetryInterval: Duration

        /// A configuration; defaults suit a VP8 simulcast or Opus consumer as Odoo creates them.
        public init(ssrc: SSRC, clockRate: UInt32, payloadTypes: [(producer: PayloadType, router: PayloadType)],
                    headerExtensions: HeaderExtensionRewriter, payloadFormat: ForwardedPayloadFormat = .opaque,
                    layerCount: Int = 1, waitsForKeyFrame: Bool = false, initialSequenceNumber: RTPSequenceNumber = 0,
                    initialTimestampOffset: UInt32 = 0, initialPictureID: UInt16 = 0, initialTL0PicIdx: UInt8 = 0,
                    minimumLayerActiveTime: Duration = .seconds(2), layerInactivityTimeout: Duration = .milliseconds(1500),
                    reevaluationInterval: Duration = .milliseconds(500), keyFrameRetryInterval: Duration = .seconds(1)) {
            self.ssrc = ssrc
            self.clockRate = clockRate
            self.payloadTypes = payloadTypes
            self.headerExtensions = headerExtensions
            self.payloadFormat = payloadFormat
            self.layerCount = max(1, layerCount)
            self.waitsForKeyFrame = waitsForKeyFrame
            self.initialSequenceNumber = initialSequenceNumber
            self.initialTimestampOffset = initialTimestampOffset
            self.initialPictureID = initialPictureID
            self.initialTL0PicIdx = initialTL0PicIdx
            self.minimumLayerActiveTime = minimumLayerActiveTime
            self.layerInactivityTimeout = layerInactivityTimeout
            self.reevaluationInterval = reevaluationInterval
            self.keyFrameRetryInterval = keyFrameRetryInterval
        }
    }

    /// The consumer's parameters.
    public let configuration: Configuration
    /// Producer PT → router PT, 0xFF = not forwarded. 128 entries.
    let payloadTypeTable: [UInt8]
    let extensions: HeaderExtensionRewriter
    let forwardsTransportSequence: Bool

    var sequence: RTPSequenceRewriter
    var timestamps: RTPTimestampRewriter
    var vp8: VP8ContinuityRewriter
    /// Per-layer measurements and the selection rule.
    public private(set) var selector: SimulcastLayerSelector
    var timeReferences: [RTPTimeReference?]

    /// Whether nothing is forwarded.
    public private(set) var isPaused = true
    /// The consumer's bitrate budget, bits per second (the outgoing estimate; `Int.max` = unlimited).
    public private(set) var budget = Int.max
    /// The spatial layer being forwarded, nil before the first forwarded packet.
    public private(set) var currentLayer: Int?
    /// The spatial layer to switch to (equal to ``currentLayer`` when no switch is pending).
    public private(set) var targetLayer: Int?
    /// Forwarding must restart at a key frame (or, for audio, at the next packet) with new sequence
    /// and picture-id segments.
    public private(set) var syncRequired = true
    var lastForwardedHadMarker = true
    var nextEvaluation: Duration?
    var keyFrameRequestedLayer: Int?
    /// Per layer, the newest packet dropped while waiting for a key frame: a key frame starting at or before
    /// it (a late, retransmitted first packet) would leave those dropped packets as a gap no NACK can fill.
    var droppedWhileWaiting: [RTPSequenceNumber?] = []
    var keyFrameRequestedAt: Duration = .zero
    var outputs: [ConsumerForwarderOutput] = []
    var outputHead = 0

    /// Packets forwarded (for sender reports).
    public private(set) var packetsForwarded: UInt32 = 0
    /// How the last forwarded packet was made (for ``reforward(_:_:now:transportSequenceNumber:)``).
    public private(set) var lastRecord: ForwardRecord?
    /// Payload bytes forwarded (for sender reports).
    public private(set) var payloadBytesForwarded: UInt32 = 0

    /// A paused forwarder for `configuration`.
    public init(configuration: Configuration) {
        self.configuration = configuration
        var table = [UInt8](repeating: 0xFF, count: 128)
        for (p, r) in configuration.payloadTypes { table[Int(p.rawValue)] = r.rawValue }
        payloadTypeTable = table
        extensions = configuration.headerExtensions
        forwardsTransportSequence = configuration.headerExtensions.consumerMap[.transportWideCC]?.fitsOneByteForm ?? false
        sequence = RTPSequenceRewriter(initialOutput: configuration.initialSequenceNumber)
        timestamps = RTPTimestampRewriter(clockRate: configuration.clockRate, initialOffset: configuration.initialTimestampOffset)
        vp8 = VP8ContinuityRewriter(initialPictureID: configuration.initialPictureID, initialTL0PicIdx: configuration.initialTL0PicIdx)
        selector = SimulcastLayerSelector(layerCount: configuration.layerCount, minimumActiveTime: configuration.minimumLayerActiveTime,
                                          inactivityTimeout: configuration.layerInactivityTimeout)
        timeReferences = Array(repeating: nil, count: configuration.layerCount)
        if configuration.layerCount == 1 { targetLayer = 0 }
        outputs.reserveCapacity(4)
    }

    var isSimulcast: Bool { configuration.layerCount > 1 }

    // MARK: Control

    /// Stops forwarding.
    public mutating func pause() { isPaused = true }

    /// Starts (or restarts) forwarding: the next forwarded packet — a key frame for video — begins new
    /// sequence segments, and a key frame is requested.
    public mutating func resume(now: Duration) {
        guard isPaused else { return }
        isPaused = false
        syncRequired = true
        keyFrameRequestedLayer = nil
        if isSimulcast { nextEvaluation = nil }
        requestKeyFrameIfNeeded(now: now)
    }

    /// Sets the bitrate budget (bits per second); the target layer is re-evaluated at the next packet.
    public mutating func setBudget(_ bitsPerSecond: Int) {
        budget = max(0, bitsPerSecond)
        nextEvaluation = nil
    }

    /// Sets the highest VP8 temporal layer to forward (nil: all).
    public mutating func setTargetTemporalLayer(_ layer: Int?) { vp8.targetTemporalLayer = layer ?? .max }

    /// The temporal layer target (nil: all).
    public var targetTemporalLayer: Int? { vp8.targetTemporalLayer == .max ? nil : vp8.targetTemporalLayer }

    /// Records a producer layer's sender report (RFC 3550 §6.4.1) so that a switch to another layer aligns
    /// timestamps through the two layers' NTP times instead of estimating from elapsed time.
    public mutating func updateTimeReference(layer: Int, _ reference: RTPTimeReference) {
        guard layer >= 0, layer < timeReferences.count else { return }
        timeReferences[layer] = reference
    }

    /// The consumer's browser sent PLI/FIR: ask for a key frame of the forwarded (or pending) layer.
    public mutating func consumerRequestedKeyFrame(now: Duration) {
        guard !isPaused, let layer = targetLayer ?? currentLayer else { return }
        emit(.keyFrameNeeded(layer: layer))
        keyFrameRequestedLayer = layer
        keyFrameRequestedAt = now
    }

    /// The next queued output, oldest first.
    public mutating func pollOutput() -> ConsumerForwarderOutput? {
        guard outputHead < outputs.count else { return nil }
        let o = outputs[outputHead]
        outputHead += 1
        if outputHead == outputs.count {
            outputs.removeAll(keepingCapacity: true)
            outputHead = 0
        }
        return o
    }

    /// The newest outgoing timestamp and when it was sent (for sender reports), nil before the first.
    public var lastSent: (timestamp: RTPTimestamp, at: Duration)? {
        guard let t = timestamps.highestOutput, let at = timestamps.highestOutputTime else { return nil }
        return (t, at)
    }

    /// The newest outgoing sequence number.
    public var highestSequenceNumber: RTPSequenceNumber? { sequence.highestOutput }

    mutating func emit(_ o: ConsumerForwarderOutput) { outputs.append(o) }

    /// Records a packet of `layer` dropped while waiting for a key frame there; returns nil (the drop).
    mutating func droppedWaiting(_ packet: RTPPacket, layer: Int) -> RTPPacket? {
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
        keyFrameRequestedLayer = nil
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

    mutating func evaluateTarget(now: Duration) {
        if let next = nextEvaluation, now < next { return }
        nextEvaluation = now + configuration.reevaluationInterval
        guard let chosen = selector.select(budget: budget, now: now, keeping: currentLayer), chosen != targetLayer else { return }
        targetLayer = chosen
        keyFrameRequestedLayer = nil
    }

    // MARK: Forwarding

    /// The consumer's copy of `packet` (spatial layer `layer`, `isKeyFrame` when it starts a key frame),
    /// or nil to drop it. The transport-wide sequence number, if the consumer negotiated it, is a zero
    /// placeholder to stamp at send time (``HeaderExtensionRewriter``).
    public mutating func forward(_ packet: RTPPacket, layer: Int, isKeyFrame: Bool, now: Duration) -> RTPPacket? {
        forward(packet, layer: layer, isKeyFrame: isKeyFrame, now: now, transportSequenceNumber: nil)
    }

    /// Like ``forward(_:layer:isKeyFrame:now:)``, and when the consumer negotiated transport-wide
    /// sequence numbers a forwarded packet takes `transportSequence` (the transport's counter), which is
    /// then incremented; a dropped packet consumes nothing.
    public mutating func forward(_ packet: RTPPacket, layer: Int, isKeyFrame: Bool, now: Duration,
                                 transportSequence: inout UInt16) -> RTPPacket? {
        guard forwardsTransportSequence else {
            return forward(packet, layer: layer, isKeyFrame: isKeyFrame, now: now, transportSequenceNumber: nil)
        }
        let out = forward(packet, layer: layer, isKeyFrame: isKeyFrame, now: now, transportSequenceNumber: transportSequence)
        if out != nil { transportSequence &+= 1 }
        return out
    }

    mutating func forward(_ packet: RTPPacket, layer: Int, isKeyFrame: Bool, now: Duration,
                          transportSequenceNumber: UInt16?) -> RTPPacket? {
        guard layer >= 0, layer < configuration.layerCount else { return nil }
        if isSimulcast { selector.observe(layer: layer, bytes: packet.bytes.readableBytes, now: now) }
        if isPaused { return nil }
        let routerPT = payloadTypeTable[Int(packet.payloadType.rawValue)]
        guard routerPT != 0xFF else { return nil }

        if isSimulcast { evaluateTarget(now: now) }
        requestKeyFrameIfNeeded(now: now)
        guard let target = targetLayer else { return nil }

        // A (re)start — switching to the target layer, or resuming the current one after a pause or a resume —
        // needs a key frame (video) that is not older than packets already dropped while waiting; until then
        // the current layer keeps flowing and every other packet is dropped.
        let startsSegment: Bool
        if (layer == target && currentLayer != target) || (layer == currentLayer && syncRequired) {
            guard isKeyFrame || !configuration.waitsForKeyFrame else { return droppedWaiting(packet, layer: layer) }
            guard usableStart(packet, layer: layer, now: now) else { return nil }
            startsSegment = true
        } else if layer == currentLayer {
            startsSegment = false
        } else {
            return nil
        }

        if packet.payloadLength == 0 {
            if !startsSegment { sequence.drop(packet.sequenceNumber) }
            return nil
        }

        if startsSegment {
            // Video: an unfinished last frame is signalled by a one-number gap (the receiver drops it
            // instead of waiting for its missing packets). Audio markers mean talkspurts, not frames.
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

        var descriptor: VP8PayloadDescriptor?
        var vp8Rewrite: VP8DescriptorRewrite?
        if configuration.payloadFormat == .vp8, let d = try? VP8PayloadDescriptor(parsing: packet.payload) {
            guard let r = vp8.process(d) else {
                sequence.drop(packet.sequenceNumber)
                return nil
            }
            descriptor = d
            vp8Rewrite = r
        }

        guard let outSeq = sequence.rewrite(packet.sequenceNumber) else { return nil }
        let outTS = timestamps.rewrite(packet.timestamp, now: now)
        let header = RTPHeaderRewrite(payloadType: PayloadType(rawValue: routerPT)!, sequenceNumber: outSeq, timestamp: outTS,
                                      ssrc: configuration.ssrc)
        guard var out = extensions.rewrite(packet, header: header, absSendTime: HeaderExtensionRewriter.absSendTime(at: now),
                                           transportSequenceNumber: transportSequenceNumber) else { return nil }
        if let r = vp8Rewrite, let d = descriptor { r.apply(to: &out, descriptor: d) }
        if outSeq == sequence.highestOutput { lastForwardedHadMarker = packet.marker }
        lastRecord = ForwardRecord(layer: layer, sourceSequenceNumber: packet.sequenceNumber, header: header, vp8: vp8Rewrite)
        packetsForwarded &+= 1
        payloadBytesForwarded &+= UInt32(truncatingIfNeeded: out.payloadLength)
        return out
    }

    /// The consumer's copy of `source` made again exactly as ``ForwardRecord`` says it was made the first
    /// time (same sequence number, timestamp, payload type, SSRC and VP8 picture ids), with a fresh send time
    /// and `transportSequenceNumber` — a retransmission rebuilt from the producer's packet store, so consumers
    /// need not keep their own copies.
    public func reforward(_ source: RTPPacket, _ record: ForwardRecord, now: Duration, transportSequenceNumber: UInt16?) -> RTPPacket? {
        guard var out = extensions.rewrite(source, header: record.header, absSendTime: HeaderExtensionRewriter.absSendTime(at: now),
                                           transportSequenceNumber: forwardsTransportSequence ? transportSequenceNumber : nil) else { return nil }
        if let r = record.vp8, let d = try? VP8PayloadDescriptor(parsing: source.payload) { r.apply(to: &out, descriptor: d) }
        return out
    }
}

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
