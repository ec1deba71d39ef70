// Value types of mediasoup's ORTC model (RTP capabilities and RTP parameters), as the Odoo SFU
// protocol carries them (docs/protocol.md §6.1–§6.8). Plain data, no I/O; the App layer converts them from/to JSON.

/// The media kind of a codec, header extension, producer or consumer.
public enum MediaKind: String, Hashable, Sendable, CaseIterable {
    /// Audio (`"audio"`).
    case audio
    /// Video (`"video"`).
    case video
}

/// A codec `parameters` value (an SDP fmtp value): mediasoup only allows strings and numbers, and compares
/// them type-sensitively (`1` ≠ `"1"`), so the JSON type is kept.
public enum RTPCodecParameterValue: Hashable, Sendable, CustomStringConvertible,
    ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByStringLiteral
{
    /// A JSON number.
    case number(Double)
    /// A JSON string.
    case string(String)

    /// Wraps an integer literal as a number.
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    /// Wraps a floating-point literal as a number.
    public init(floatLiteral value: Double) { self = .number(value) }
    /// Wraps a string literal as a string.
    public init(stringLiteral value: String) { self = .string(value) }

    /// The value as text: integral numbers without a fraction (`1`, not `1.0`), like JavaScript prints them.
    public var description: String {
        switch self {
        case .string(let s): return s
        case .number(let n):
            if let i = Int64(exactly: n) { return String(i) }
            return String(n)
        }
    }

    /// The number as an integer, when it is an integral number (strings give nil).
    public var integerValue: Int? {
        if case .number(let n) = self { return Int(exactly: n) }
        return nil
    }

    /// JavaScript truthiness (`0`, `NaN` and `""` are falsy), used for mediasoup's `value || 0` defaults.
    var isTruthy: Bool {
        switch self {
        case .number(let n): return n != 0 && !n.isNaN
        case .string(let s): return !s.isEmpty
        }
    }
}

/// One RTCP feedback mechanism (`a=rtcp-fb`): `type` plus optional `parameter` (`""` when none).
public struct RTCPFeedback: Hashable, Sendable {
    /// Feedback type, e.g. `nack`, `ccm`, `goog-remb`, `transport-cc`.
    public var type: String
    /// Feedback parameter, e.g. `pli`, `fir`; empty when none.
    public var parameter: String

    /// Creates a feedback entry.
    public init(type: String, parameter: String = "") {
        self.type = type
        self.parameter = parameter
    }
}

/// A codec as a capability (router or remote endpoint): mediasoup `RtpCodecCapability`.
public struct RTPCodecCapability: Hashable, Sendable {
    /// Media kind (mediasoup overwrites it from the MIME type's first component).
    public var kind: MediaKind
    /// MIME type, e.g. `audio/opus`, `video/VP8`, `video/rtx` (compared case-insensitively).
    public var mimeType: String
    /// The payload type this side prefers (for the router: the PT used for everything).
    public var preferredPayloadType: UInt8
    /// RTP clock rate in Hz.
    public var clockRate: Int
    /// Audio channel count (1 when absent for audio); always nil for video.
    public var channels: Int?
    /// Codec-specific parameters (fmtp).
    public var parameters: [String: RTPCodecParameterValue]
    /// Supported RTCP feedback, in order.
    public var rtcpFeedback: [RTCPFeedback]

    /// Creates a codec capability.
    public init(kind: MediaKind, mimeType: String, preferredPayloadType: UInt8, clockRate: Int, channels: Int? = nil,
                parameters: [String: RTPCodecParameterValue] = [:], rtcpFeedback: [RTCPFeedback] = []) {
        self.kind = kind
        self.mimeType = mimeType
        self.preferredPayloadType = preferredPayloadType
        self.clockRate = clockRate
        self.channels = channels
        self.parameters = parameters
        self.rtcpFeedback = rtcpFeedback
    }

    /// Whether this is a retransmission codec (`*/rtx`).
    public var isRTX: Bool { ORTC.isRTXMimeType(mimeType) }
}

/// Direction of a header extension from the router's point of view.
public enum RTPHeaderExtensionDirection: String, Hashable, Sendable, CaseIterable {
    /// Received from producers and sent to consumers.
    case sendrecv
    /// Only sent to consumers.
    case sendonly
    /// Only received from producers (never appears on consumers).
    case recvonly
    /// Neither.
    case inactive
}

/// A header extension as a capability: mediasoup `RtpHeaderExtension`.
public struct RTPHeaderExtensionCapability: Hashable, Sendable {
    /// Media kind the extension applies to.
    public var kind: MediaKind
    /// Extension URI.
    public var uri: String
    /// Preferred extension id (the router's id is what consumers use).
    public var preferredID: UInt8
    /// Whether the extension is to be encrypted (RFC 6904); always false here.
    public var preferredEncrypt: Bool
    /// Direction, from the router's point of view.
    public var direction: RTPHeaderExtensionDirection

    /// Creates a header extension capability.
    public init(kind: MediaKind, uri: String, preferredID: UInt8, preferredEncrypt: Bool = false,
                direction: RTPHeaderExtensionDirection = .sendrecv) {
        self.kind = kind
        self.uri = uri
        self.preferredID = preferredID
        self.preferredEncrypt = preferredEncrypt
        self.direction = direction
    }
}

/// RTP capabilities of a router or an endpoint: mediasoup `RtpCapabilities`.
public struct RTPCapabilities: Hashable, Sendable {
    /// Codecs, media codecs each followed by their RTX codec where there is one.
    public var codecs: [RTPCodecCapability]
    /// Header extensions.
    public var headerExtensions: [RTPHeaderExtensionCapability]

    /// Creates capabilities.
    public init(codecs: [RTPCodecCapability] = [], headerExtensions: [RTPHeaderExtensionCapability] = []) {
        self.codecs = codecs
        self.headerExtensions = headerExtensions
    }
}

/// A negotiated codec of an RTP stream: mediasoup `RtpCodecParameters`.
public struct RTPCodecParameters: Hashable, Sendable {
    /// MIME type, e.g. `video/VP8`.
    public var mimeType: String
    /// Payload type on the wire.
    public var payloadType: UInt8
    /// RTP clock rate in Hz.
    public var clockRate: Int
    /// Audio channel count (1 when absent for audio); nil for video.
    public var channels: Int?
    /// Codec-specific parameters (fmtp); RTX carries `apt`.
    public var parameters: [String: RTPCodecParameterValue]
    /// Negotiated RTCP feedback.
    public var rtcpFeedback: [RTCPFeedback]

    /// Creates codec parameters.
    public init(mimeType: String, payloadType: UInt8, clockRate: Int, channels: Int? = nil,
                parameters: [String: RTPCodecParameterValue] = [:], rtcpFeedback: [RTCPFeedback] = []) {
        self.mimeType = mimeType
        self.payloadType = payloadType
        self.clockRate = clockRate
        self.channels = channels
        self.parameters = parameters
        self.rtcpFeedback = rtcpFeedback
    }

    /// Whether this is a retransmission codec (`*/rtx`).
    public var isRTX: Bool { ORTC.isRTXMimeType(mimeType) }

    /// The `apt` parameter of an RTX codec (the associated media payload type), when it is a valid PT.
    public var associatedPayloadType: UInt8? {
        guard let n = parameters["apt"]?.integerValue, (0...127).contains(n) else { return nil }
        return UInt8(n)
    }
}

/// A negotiated header extension of an RTP stream: mediasoup `RtpHeaderExtensionParameters`
/// (its `parameters` object is always empty in this protocol and is not kept).
public struct RTPHeaderExtensionParameters: Hashable, Sendable {
    /// Extension URI.
    public var uri: String
    /// Extension id on the wire.
    public var id: UInt8
    /// Whether the extension is encrypted (RFC 6904); always false here.
    public var encrypt: Bool

    /// Creates header extension parameters.
    public init(uri: String, id: UInt8, encrypt: Bool = false) {
        self.uri = uri
        self.id = id
        self.encrypt = encrypt
    }
}

/// One encoding (RTP stream) of a producer or consumer: mediasoup `RtpEncodingParameters`, reduced to the
/// fields this protocol carries. Absent JSON fields are nil.
public struct RTPEncodingParameters: Hashable, Sendable {
    /// Media SSRC (Safari / non-simulcast producers; always set on consumers).
    public var ssrc: UInt32?
    /// RTP stream id (RID simulcast producers).
    public var rid: String?
    /// SSRC of the associated RTX stream (`rtx.ssrc`).
    public var rtxSSRC: UInt32?
    /// Scalability mode, e.g. `L1T3`.
    public var scalabilityMode: String?
    /// Maximum bitrate in bps.
    public var maxBitrate: Int?
    /// Resolution divisor of a simulcast layer.
    public var scaleResolutionDownBy: Double?
    /// Whether the encoding is active.
    public var active: Bool?
    /// Discontinuous transmission flag (mediasoup fills `false`).
    public var dtx: Bool?

    /// Creates an encoding; every field defaults to absent.
    public init(ssrc: UInt32? = nil, rid: String? = nil, rtxSSRC: UInt32? = nil, scalabilityMode: String? = nil,
                maxBitrate: Int? = nil, scaleResolutionDownBy: Double? = nil, active: Bool? = nil, dtx: Bool? = nil) {
        self.ssrc = ssrc
        self.rid = rid
        self.rtxSSRC = rtxSSRC
        self.scalabilityMode = scalabilityMode
        self.maxBitrate = maxBitrate
        self.scaleResolutionDownBy = scaleResolutionDownBy
        self.active = active
        self.dtx = dtx
    }
}

/// RTP parameters of a producer, a consumer or the router-side "consumable" view of a producer:
/// mediasoup `RtpParameters` (with `rtcp` flattened into two fields).
public struct RTPParameters: Hashable, Sendable {
    /// The MID of the media section (producer: the browser's; consumer: assigned per recv transport).
    public var mid: String?
    /// Codecs: media codecs each optionally followed by their RTX codec.
    public var codecs: [RTPCodecParameters]
    /// Header extensions with their ids.
    public var headerExtensions: [RTPHeaderExtensionParameters]
    /// Encodings (RTP streams).
    public var encodings: [RTPEncodingParameters]
    /// RTCP CNAME (`rtcp.cname`), nil when absent.
    public var rtcpCNAME: String?
    /// Reduced-size RTCP (`rtcp.reducedSize`); mediasoup forces true.
    public var rtcpReducedSize: Bool

    /// Creates RTP parameters.
    public init(mid: String? = nil, codecs: [RTPCodecParameters] = [], headerExtensions: [RTPHeaderExtensionParameters] = [],
                encodings: [RTPEncodingParameters] = [], rtcpCNAME: String? = nil, rtcpReducedSize: Bool = true) {
        self.mid = mid
        self.codecs = codecs
        self.headerExtensions = headerExtensions
        self.encodings = encodings
        self.rtcpCNAME = rtcpCNAME
        self.rtcpReducedSize = rtcpReducedSize
    }
}

/// How a producer's encodings are organised (docs/protocol.md §6.5 step 6).
public enum ProducerType: String, Hashable, Sendable {
    /// One encoding, at most one spatial layer.
    case simple
    /// Several encodings (one per spatial layer).
    case simulcast
    /// One encoding whose scalability mode has more than one spatial layer.
    case svc
}

/// Why ORTC negotiation failed. Messages follow mediasoup's wording where there is one.
public enum ORTCError: Error, Hashable, Sendable {
    /// A producer media codec matches no router codec ("unsupported codec").
    case unsupportedCodec(mimeType: String, payloadType: UInt8)
    /// A producer RTX codec whose `apt` names no media codec of the producer.
    case missingMediaCodecForRTX(payloadType: UInt8)
    /// The router has no RTX codec for the media codec a producer RTX codec refers to.
    case noRTXCodecInRouter(payloadType: UInt8)
    /// No consumable media codec matches the remote capabilities ("no compatible media codecs").
    case noCompatibleMediaCodecs
    /// A field is missing or has a wrong value/type.
    case invalid(field: String, reason: String)
}

/// A producer's `RtpMapping`: how its payload types and encodings map onto the router's.
public struct RTPParametersMapping: Hashable, Sendable {
    /// One payload-type pair.
    public struct CodecMapping: Hashable, Sendable {
        /// The producer's payload type.
        public var payloadType: UInt8
        /// The router's payload type.
        public var mappedPayloadType: UInt8

        /// Creates a mapping entry.
        public init(payloadType: UInt8, mappedPayloadType: UInt8) {
            self.payloadType = payloadType
            self.mappedPayloadType = mappedPayloadType
        }
    }

    /// One encoding: what identifies the incoming stream, and the SSRC it gets inside the router.
    public struct EncodingMapping: Hashable, Sendable {
        /// Media SSRC announced by the producer, if any.
        public var ssrc: UInt32?
        /// RID announced by the producer, if any.
        public var rid: String?
        /// RTX SSRC announced by the producer, if any.
        public var rtxSSRC: UInt32?
        /// The producer's scalability mode, if any.
        public var scalabilityMode: String?
        /// The SSRC this encoding has in the consumable parameters.
        public var mappedSSRC: UInt32

        /// Creates an encoding mapping.
        public init(ssrc: UInt32? = nil, rid: String? = nil, rtxSSRC: UInt32? = nil, scalabilityMode: String? = nil, mappedSSRC: UInt32) {
            self.ssrc = ssrc
            self.rid = rid
            self.rtxSSRC = rtxSSRC
            self.scalabilityMode = scalabilityMode
            self.mappedSSRC = mappedSSRC
        }
    }

    /// Payload-type pairs: media codecs first (producer order), then RTX codecs.
    public var codecs: [CodecMapping]
    /// Encodings, in the producer's order (index = spatial layer for simulcast).
    public var encodings: [EncodingMapping]

    /// Creates a mapping.
    public init(codecs: [CodecMapping], encodings: [EncodingMapping]) {
        self.codecs = codecs
        self.encodings = encodings
    }

    /// The router payload type for a producer payload type, if mapped (linear scan: a handful of entries).
    public func mappedPayloadType(for payloadType: UInt8) -> UInt8? {
        for entry in codecs where entry.payloadType == payloadType { return entry.mappedPayloadType }
        return nil
    }
}

/// The RTCP CNAME of a transport's producers (docs/protocol.md §6.5 step 2): the first producer fixes it — its own
/// non-empty `rtcp.cname`, else the injected fallback (mediasoup: 8 random characters) — and every producer
/// of the transport is then overridden with it.
public struct ProducerCNAME: Hashable, Sendable {
    /// The value once fixed by the first producer.
    public private(set) var value: String?
    /// Used when the first producer offers no CNAME.
    public let fallback: String

    /// Creates the rule with the fallback to use if the first producer has no CNAME (inject randomness here).
    public init(fallback: String) {
        self.fallback = fallback
    }

    /// The CNAME for a new producer offering `offered`; the first call fixes it for all later ones.
    public mutating func resolve(offered: String?) -> String {
        if let value { return value }
        let chosen: String
        if let offered, !offered.isEmpty { chosen = offered } else { chosen = fallback }
        value = chosen
        return chosen
    }
}
