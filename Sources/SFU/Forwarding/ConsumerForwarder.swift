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
/// Simulcast (``Configuration/layerCount`` > 1): exactly one spatial layer is forwarded. The target is
/// chosen by a ``SimulcastLayerSelector`` under ``budget`` (re-evaluated every
/// ``Configuration/reevaluationInterval`` and on ``setBudget(_:)``); the forwarded layer switches to the
/// target only at a key frame of the target, which is requested through ``pollOutput()``.
///
/// A forwarder starts paused — mediasoup creates consumers paused and resumes them once the client has
/// answered INIT_CONSUMER (docs/protocol.md §7.5 rule 7); ``resume(now:)`` starts it. While paused nothing is
/// forwarded (layers are still measured). Video (``Configuration/waitsForKeyFrame``) restarts at a key
/// frame after every resume.
///
/// ``forward(_:layer:isKeyFrame:now:transportSequence:)`` runs four small steps, each in its own method of
/// ConsumerForwarder+Forwarding.swift: the layer and key-frame gate (which packets may start or continue the
/// forwarded segment), the segment start (resynchronising the rewriters), the plan (the outgoing header and VP8
/// values, as a ``ForwardRecord``) and the rewrite, a pure function of the source packet and the record that
/// ``reforward(_:_:now:transportSequence:)`` reuses for retransmissions.
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
        /// A layer must have been alive this long before it is preferred (docs/protocol.md §7.7: 2 s).
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

    var sequence: RTPSequenceRewriter
    var timestamps: RTPTimestampRewriter
    var vp8: VP8ContinuityRewriter
    /// Per-layer measurements and the selection rule.
    public internal(set) var selector: SimulcastLayerSelector
    var timeReferences: [RTPTimeReference?]

    /// Whether nothing is forwarded.
    public private(set) var isPaused = true
    /// The consumer's bitrate budget, bits per second (the outgoing estimate; `Int.max` = unlimited).
    public private(set) var budget = Int.max
    /// The spatial layer being forwarded, nil before the first forwarded packet.
    public internal(set) var currentLayer: Int?
    /// The spatial layer to switch to (equal to ``currentLayer`` when no switch is pending).
    public internal(set) var targetLayer: Int?
    /// Forwarding must restart at a key frame (or, for audio, at the next packet) with new sequence
    /// and picture-id segments.
    public internal(set) var syncRequired = true
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
        selector = SimulcastLayerSelector(layerCount: configuration.layerCount, minimumActiveTime: configuration.minimumLayerActiveTime,
                                          inactivityTimeout: configuration.layerInactivityTimeout)
        timeReferences = Array(repeating: nil, count: configuration.layerCount)
        if configuration.layerCount == 1 { targetLayer = 0 }
        outputs.reserveCapacity(4)
    }

    var isSimulcast: Bool { configuration.layerCount > 1 }

    /// Whether every packet sent to this consumer — forwarded or retransmitted — takes the next transport-wide
    /// sequence number of its transport (the consumer negotiated transport-cc, with any id). The one place the
    /// rule is stated: both ``forward(_:layer:isKeyFrame:now:transportSequence:)`` and
    /// ``reforward(_:_:now:transportSequence:)`` stamp and advance the counter exactly when this holds.
    public var stampsTransportSequence: Bool { extensions.writesTransportSequenceNumber }

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
}
