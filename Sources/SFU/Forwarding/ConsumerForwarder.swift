import RTCBase
import RTP

/// What a ``ConsumerForwarder`` asks of its owner, drained with ``ConsumerForwarder/pollOutput()``.
public enum ConsumerForwarderOutput: Hashable, Sendable {
    /// Request a key frame (PLI/FIR) on the producer stream of this spatial layer (docs/protocol.md §7.8):
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
/// spatial layer, the consumer's packet and how it was made (or nil = drop) come out, rewritten per
/// docs/protocol.md §7.5:
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
/// Simulcast (``Configuration/layerCount`` > 1): exactly one spatial layer is forwarded. The target — spatial and
/// temporal layer — is set by the owner (the transport's ``BitrateAllocation``, ``setTarget(layer:temporalLayer:)``);
/// the forwarded layer switches to the target only at a key frame of the target, which is requested through
/// ``pollOutput()``. A target of no layer suspends forwarding until a layer is set again (restarting at a key frame).
///
/// A forwarder starts paused — mediasoup creates consumers paused and resumes them once the client has
/// answered INIT_CONSUMER (docs/protocol.md §7.5 rule 7); ``resume(now:)`` starts it. While paused nothing is
/// forwarded (layers are still measured). Video (``Configuration/waitsForKeyFrame``) restarts at a key
/// frame after every resume.
///
/// ``forward(_:layer:isKeyFrame:now:)`` runs four small steps, each in its own method of
/// ConsumerForwarder+Forwarding.swift: the layer and key-frame gate (which packets may start or continue the
/// forwarded segment), the segment start (resynchronising the rewriters), the plan (the outgoing header and VP8
/// values, as a ``ForwardRecord``) and the rewrite, a pure function of the source packet and the record that
/// ``reforward(_:_:now:)`` reuses for retransmissions. Outgoing packets carry a transport-wide sequence number of 0
/// when the consumer negotiated one: the transport stamps the real number (and the send time) when the packet leaves
/// its pacer.
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
        /// How often a still-pending key frame request is repeated.
        public var keyFrameRetryInterval: Duration

        /// A configuration; defaults suit a VP8 simulcast or Opus consumer as Odoo creates them.
        public init(ssrc: SSRC, clockRate: UInt32, payloadTypes: [(producer: PayloadType, router: PayloadType)],
                    headerExtensions: HeaderExtensionRewriter, payloadFormat: ForwardedPayloadFormat = .opaque,
                    layerCount: Int = 1, waitsForKeyFrame: Bool = false, initialSequenceNumber: RTPSequenceNumber = 0,
                    initialTimestampOffset: UInt32 = 0, initialPictureID: UInt16 = 0, initialTL0PicIdx: UInt8 = 0,
                    keyFrameRetryInterval: Duration = .seconds(1)) {
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
            self.keyFrameRetryInterval = keyFrameRetryInterval
        }
    }

    /// The consumer's parameters.
    public let configuration: Configuration
    /// Producer PT → router PT, 0xFF = not forwarded. 128 entries.
    let payloadTypeTable: [UInt8]
    let extensions: HeaderExtensionRewriter

    var sequence: RTPSequenceRewriter
    var timestamps: RTPTimestampRewriter
    var vp8: VP8ContinuityRewriter
    var timeReferences: [RTPTimeReference?]

    /// Whether nothing is forwarded.
    public private(set) var isPaused = true
    /// The spatial layer being forwarded, nil before the first forwarded packet.
    public internal(set) var currentLayer: Int?
    /// The spatial layer to switch to (equal to ``currentLayer`` when no switch is pending).
    public internal(set) var targetLayer: Int?
    /// Forwarding must restart at a key frame (or, for audio, at the next packet) with new sequence
    /// and picture-id segments.
    public internal(set) var syncRequired = true
    var lastForwardedHadMarker = true
    /// The output sequence number the receiver's current decode chain began with (the first packet of the segment
    /// being forwarded); nil while no chain is alive (before the first segment, and from a pause, suspension or
    /// restart until the next segment starts).
    public internal(set) var chainStart: RTPSequenceNumber?
    var keyFrameRequestedLayer: Int?
    /// Per layer, the newest packet dropped while waiting for a key frame: a key frame starting at or before
    /// it (a late, retransmitted first packet) would leave those dropped packets as a gap no NACK can fill.
    var droppedWhileWaiting: [RTPSequenceNumber?] = []
    var keyFrameRequestedAt: Duration = .zero
    var outputs: [ConsumerForwarderOutput] = []
    var outputHead = 0

    /// Packets forwarded (for sender reports).
    public internal(set) var packetsForwarded: UInt32 = 0
    /// Payload bytes forwarded (for sender reports).
    public internal(set) var payloadBytesForwarded: UInt32 = 0

    /// A paused forwarder for `configuration`.
    public init(configuration: Configuration) {
        self.configuration = configuration
        var table = [UInt8](repeating: 0xFF, count: 128)
        for (p, r) in configuration.payloadTypes { table[Int(p.rawValue)] = r.rawValue }
        payloadTypeTable = table
        extensions = configuration.headerExtensions
        sequence = RTPSequenceRewriter(initialOutput: configuration.initialSequenceNumber)
        timestamps = RTPTimestampRewriter(clockRate: configuration.clockRate, initialOffset: configuration.initialTimestampOffset)
        vp8 = VP8ContinuityRewriter(initialPictureID: configuration.initialPictureID, initialTL0PicIdx: configuration.initialTL0PicIdx)
        timeReferences = Array(repeating: nil, count: configuration.layerCount)
        if configuration.layerCount == 1 { targetLayer = 0 }
        outputs.reserveCapacity(4)
    }

    var isSimulcast: Bool { configuration.layerCount > 1 }

    /// Whether every packet sent to this consumer — forwarded or retransmitted — takes the next transport-wide
    /// sequence number of its transport (the consumer negotiated transport-cc, with any id). The one place the
    /// rule is stated: the transport stamps every packet ``forward(_:layer:isKeyFrame:now:)`` and
    /// ``reforward(_:_:now:)`` make exactly when this holds.
    public var stampsTransportSequence: Bool { extensions.writesTransportSequenceNumber }

    // MARK: Control

    /// Stops forwarding.
    public mutating func pause() {
        isPaused = true
        chainStart = nil
    }

    /// Starts (or restarts) forwarding: the next forwarded packet — a key frame for video — begins new
    /// sequence segments, and a key frame is requested.
    public mutating func resume(now: Duration) {
        guard isPaused else { return }
        isPaused = false
        syncRequired = true
        keyFrameRequestedLayer = nil
        requestKeyFrameIfNeeded(now: now)
    }

    /// Sets the spatial layer to forward (switched to at its next key frame; nil: suspend forwarding, which restarts
    /// at a key frame once a layer is set again) and the highest temporal layer (nil: all).
    public mutating func setTarget(layer: Int?, temporalLayer: Int?) {
        setTargetTemporalLayer(temporalLayer)
        let layer = layer.map { min(max($0, 0), configuration.layerCount - 1) }
        guard layer != targetLayer else { return }
        if layer == nil {
            syncRequired = true
            chainStart = nil
        }
        targetLayer = layer
        keyFrameRequestedLayer = nil
    }

    /// Restarts forwarding at the next key frame of the target layer (a new sequence segment), asking for one —
    /// after packets already numbered were dropped (a pacer that would have held them too long).
    public mutating func restartAtKeyFrame(now: Duration) {
        guard !isPaused else { return }
        syncRequired = true
        chainStart = nil
        keyFrameRequestedLayer = nil
        requestKeyFrameIfNeeded(now: now)
    }

    /// Whether a retransmission of the packet `record` made can still help the receiver: it belongs to the decode
    /// chain the receiver is on. Packets from before the latest segment start (a layer switch, a resume, a restart
    /// after the pacer dropped video) precede a key frame the decoder starts over from, so resending them only
    /// spends the path's capacity — the capacity a congested receiver lacks.
    public func mayRetransmit(_ record: ForwardRecord) -> Bool {
        guard let chainStart else { return false }
        return !(record.header.sequenceNumber < chainStart)
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
}
