// mediasoup's ORTC rules (node/src/ortc.ts semantics, docs/protocol.md §6.1–§6.8): router capabilities, validation,
// producer → router mapping, consumable parameters, canConsume and consumer parameters.
// Pure functions over the value types of ORTCTypes.swift; randomness (SSRCs, CNAME fallback) is injected.

/// Namespace of the ORTC negotiation functions.
public enum ORTC {
    /// Dynamic payload types in mediasoup's allocation order: 100…127, then 96…99.
    public static let dynamicPayloadTypes: [UInt8] = Array(100...127) + Array(96...99)

    /// Header extension URIs used by the rules.
    public enum URI {
        /// sdes:mid.
        public static let mid = "urn:ietf:params:rtp-hdrext:sdes:mid"
        /// rtp-stream-id.
        public static let rid = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
        /// repaired-rtp-stream-id.
        public static let repairedRID = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
        /// abs-send-time.
        public static let absSendTime = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
        /// transport-wide-cc-01.
        public static let transportWideCC = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
        /// ssrc-audio-level.
        public static let audioLevel = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
        /// video-orientation (CVO).
        public static let videoOrientation = "urn:3gpp:video-orientation"
        /// toffset.
        public static let timeOffset = "urn:ietf:params:rtp-hdrext:toffset"
        /// playout-delay.
        public static let playoutDelay = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"
    }

    // MARK: Router capabilities (§6.1)

    /// The odoo/sfu codec names (`src/config.ts audioCodecs`/`videoCodecs`) in their default order.
    public static let defaultAudioCodecNames = ["opus", "PCMU", "PCMA"]
    /// See ``defaultAudioCodecNames``.
    public static let defaultVideoCodecNames = ["VP8", "VP9", "H264", "H264_1_2cb", "H264_1_3ch"]

    /// One configured codec: odoo/sfu's media codec merged over mediasoup's supported entry
    /// (mediasoup's rtcpFeedback and parameters, the configured parameters on top).
    struct ConfiguredCodec {
        var kind: MediaKind
        var mimeType: String
        var clockRate: Int
        var channels: Int?
        var staticPayloadType: UInt8?
        var parameters: [String: RTPCodecParameterValue]
        var rtcpFeedback: [RTCPFeedback]
    }

    static let videoFeedback = [
        RTCPFeedback(type: "nack"), RTCPFeedback(type: "nack", parameter: "pli"), RTCPFeedback(type: "ccm", parameter: "fir"),
        RTCPFeedback(type: "goog-remb"), RTCPFeedback(type: "transport-cc"),
    ]

    static func h264(_ profileLevelID: String) -> ConfiguredCodec {
        ConfiguredCodec(kind: .video, mimeType: "video/H264", clockRate: 90000, channels: nil, staticPayloadType: nil,
                        parameters: ["level-asymmetry-allowed": 1, "packetization-mode": 1, "profile-level-id": .string(profileLevelID)],
                        rtcpFeedback: videoFeedback)
    }

    static func configuredAudioCodec(_ name: String) -> ConfiguredCodec? {
        switch name {
        case "opus":
            return ConfiguredCodec(kind: .audio, mimeType: "audio/opus", clockRate: 48000, channels: 2, staticPayloadType: nil,
                                   parameters: [:], rtcpFeedback: [RTCPFeedback(type: "nack"), RTCPFeedback(type: "transport-cc")])
        case "PCMU", "PCMA":
            return ConfiguredCodec(kind: .audio, mimeType: "audio/" + name, clockRate: 8000, channels: 1,
                                   staticPayloadType: name == "PCMU" ? 0 : 8, parameters: [:], rtcpFeedback: [RTCPFeedback(type: "transport-cc")])
        default:
            return nil
        }
    }

    static func configuredVideoCodec(_ name: String) -> ConfiguredCodec? {
        switch name {
        case "VP8":
            return ConfiguredCodec(kind: .video, mimeType: "video/VP8", clockRate: 90000, channels: nil, staticPayloadType: nil,
                                   parameters: [:], rtcpFeedback: videoFeedback)
        case "VP9":
            return ConfiguredCodec(kind: .video, mimeType: "video/VP9", clockRate: 90000, channels: nil, staticPayloadType: nil,
                                   parameters: ["profile-id": 2], rtcpFeedback: videoFeedback)
        case "H264": return h264("640028")
        case "H264_1_2cb": return h264("42e00c")
        case "H264_1_3ch": return h264("640c0d")
        default: return nil
        }
    }

    /// The header extensions the router publishes: a subset of mediasoup's list (only what the forwarding
    /// path handles, docs/protocol.md §6.1 notes / §7.5), with mediasoup's ids and directions, in mediasoup's order.
    public static let routerHeaderExtensions: [RTPHeaderExtensionCapability] = [
        .init(kind: .audio, uri: URI.mid, preferredID: 1),
        .init(kind: .video, uri: URI.mid, preferredID: 1),
        .init(kind: .video, uri: URI.rid, preferredID: 2, direction: .recvonly),
        .init(kind: .video, uri: URI.repairedRID, preferredID: 3, direction: .recvonly),
        .init(kind: .audio, uri: URI.absSendTime, preferredID: 4),
        .init(kind: .video, uri: URI.absSendTime, preferredID: 4),
        .init(kind: .audio, uri: URI.transportWideCC, preferredID: 5, direction: .recvonly),
        .init(kind: .video, uri: URI.transportWideCC, preferredID: 5),
        .init(kind: .audio, uri: URI.audioLevel, preferredID: 10),
        .init(kind: .video, uri: URI.videoOrientation, preferredID: 11),
        .init(kind: .video, uri: URI.timeOffset, preferredID: 12),
        .init(kind: .audio, uri: URI.playoutDelay, preferredID: 14),
        .init(kind: .video, uri: URI.playoutDelay, preferredID: 14),
    ]

    /// Router RTP capabilities for odoo/sfu codec names (mediasoup `generateRouterRtpCapabilities`, §6.1).
    ///
    /// Audio names then video names, in the given order; unknown names (or a name in the wrong list) are
    /// skipped like odoo/sfu does, and a repeated name is skipped too (mediasoup would reject a repeated
    /// static payload type). Static PTs for PCMU (0) and PCMA (8); every other codec takes the next dynamic
    /// PT (100…127, then 96…99) and every video codec is followed by its RTX codec with the next one.
    public static func routerCapabilities(audioCodecs: [String], videoCodecs: [String]) -> RTPCapabilities {
        var configured: [ConfiguredCodec] = []
        var seen: [String] = []
        for name in audioCodecs where !seen.contains(name) {
            if let c = configuredAudioCodec(name) { configured.append(c); seen.append(name) }
        }
        for name in videoCodecs where !seen.contains(name) {
            if let c = configuredVideoCodec(name) { configured.append(c); seen.append(name) }
        }
        var free = dynamicPayloadTypes[...]
        var codecs: [RTPCodecCapability] = []
        for c in configured {
            let pt: UInt8
            if let s = c.staticPayloadType {
                pt = s
            } else if let next = free.popFirst() {
                pt = next
            } else {
                break  // unreachable with the eight known names (at most 13 dynamic PTs are needed)
            }
            codecs.append(RTPCodecCapability(kind: c.kind, mimeType: c.mimeType, preferredPayloadType: pt, clockRate: c.clockRate,
                                             channels: c.channels, parameters: c.parameters, rtcpFeedback: c.rtcpFeedback))
            if c.kind == .video, let rtxPT = free.popFirst() {
                codecs.append(RTPCodecCapability(kind: .video, mimeType: "video/rtx", preferredPayloadType: rtxPT, clockRate: c.clockRate,
                                                 parameters: ["apt": .number(Double(pt))], rtcpFeedback: []))
            }
        }
        return RTPCapabilities(codecs: codecs, headerExtensions: routerHeaderExtensions)
    }

    // MARK: Validation (mediasoup validateRtpCapabilities / validateRtpParameters)

    /// Whether a MIME type names a retransmission codec (`<anything>/rtx`, case-insensitive).
    public static func isRTXMimeType(_ mimeType: String) -> Bool {
        let lower = mimeType.lowercased()
        return lower.utf8.count > 4 && lower.hasSuffix("/rtx")
    }

    /// The kind of `^(audio|video)/(.+)` (case-insensitive), nil when the MIME type does not match.
    public static func kind(ofMimeType mimeType: String) -> MediaKind? {
        let lower = mimeType.lowercased()
        if lower.hasPrefix("audio/") && lower.utf8.count > 6 { return .audio }
        if lower.hasPrefix("video/") && lower.utf8.count > 6 { return .video }
        return nil
    }

    static func validateCodecFields(mimeType: String, parameters: [String: RTPCodecParameterValue], rtcpFeedback: [RTCPFeedback],
                                    field: String) throws(ORTCError) -> MediaKind {
        guard let kind = kind(ofMimeType: mimeType) else { throw .invalid(field: field + ".mimeType", reason: "invalid mimeType \(mimeType)") }
        if let apt = parameters["apt"], case .string = apt {
            throw .invalid(field: field + ".parameters.apt", reason: "apt must be a number")
        }
        for fb in rtcpFeedback where fb.type.isEmpty {
            throw .invalid(field: field + ".rtcpFeedback", reason: "missing type")
        }
        return kind
    }

    /// Validates and normalises capabilities like mediasoup: each codec's `kind` is overwritten from its
    /// MIME type, audio `channels` default to 1, video `channels` are removed, `apt` must be a number,
    /// feedback types and extension URIs must be non-empty.
    public static func validateCapabilities(_ capabilities: RTPCapabilities) throws(ORTCError) -> RTPCapabilities {
        var caps = capabilities
        for i in caps.codecs.indices {
            let c = caps.codecs[i]
            let kind = try validateCodecFields(mimeType: c.mimeType, parameters: c.parameters, rtcpFeedback: c.rtcpFeedback, field: "codecs[\(i)]")
            caps.codecs[i].kind = kind
            caps.codecs[i].channels = kind == .audio ? (c.channels ?? 1) : nil
        }
        for (i, ext) in caps.headerExtensions.enumerated() where ext.uri.isEmpty {
            throw .invalid(field: "headerExtensions[\(i)].uri", reason: "missing uri")
        }
        return caps
    }

    /// Validates and normalises RTP parameters like mediasoup's `validateRtpParameters` plus
    /// `Transport.produce`'s defaults: audio `channels` default to 1, video `channels` removed, `apt` must
    /// be a number, encodings' `dtx` default to false, empty encodings become one empty encoding,
    /// `rtcp.reducedSize` is forced true.
    public static func validateParameters(_ parameters: RTPParameters) throws(ORTCError) -> RTPParameters {
        var p = parameters
        for i in p.codecs.indices {
            let c = p.codecs[i]
            let kind = try validateCodecFields(mimeType: c.mimeType, parameters: c.parameters, rtcpFeedback: c.rtcpFeedback, field: "codecs[\(i)]")
            p.codecs[i].channels = kind == .audio ? (c.channels ?? 1) : nil
        }
        for (i, ext) in p.headerExtensions.enumerated() where ext.uri.isEmpty {
            throw .invalid(field: "headerExtensions[\(i)].uri", reason: "missing uri")
        }
        if p.encodings.isEmpty { p.encodings = [RTPEncodingParameters()] }
        for i in p.encodings.indices where p.encodings[i].dtx == nil { p.encodings[i].dtx = false }
        p.rtcpReducedSize = true
        return p
    }

    // MARK: Codec matching

    /// mediasoup `matchCodecs`: MIME type (case-insensitive), clock rate and channels; multiopus stream
    /// counts; when `strict`, H264 packetization-mode (default 0) and profile (level must be answerable),
    /// VP9 profile-id (default 0). Values compare type-sensitively (`1` ≠ `"1"`).
    static func matches(mimeType aMime: String, clockRate aRate: Int, channels aCh: Int?, parameters a: [String: RTPCodecParameterValue],
                        mimeType bMime: String, clockRate bRate: Int, channels bCh: Int?, parameters b: [String: RTPCodecParameterValue],
                        strict: Bool) -> Bool {
        let mime = aMime.lowercased()
        guard mime == bMime.lowercased(), aRate == bRate, aCh == bCh else { return false }
        switch mime {
        case "audio/multiopus":
            return a["num_streams"] == b["num_streams"] && a["coupled_streams"] == b["coupled_streams"]
        case "video/h264", "video/h264-svc":
            guard strict else { return true }
            guard orZero(a["packetization-mode"]) == orZero(b["packetization-mode"]) else { return false }
            guard H264ProfileLevelID.isSameProfile(a, b) else { return false }
            if case .failure = H264ProfileLevelID.answer(local: a, remote: b) { return false }
            return true
        case "video/vp9":
            guard strict else { return true }
            return orZero(a["profile-id"]) == orZero(b["profile-id"])
        default:
            return true
        }
    }

    /// JavaScript `value || 0`.
    static func orZero(_ value: RTPCodecParameterValue?) -> RTPCodecParameterValue {
        if let value, value.isTruthy { return value }
        return .number(0)
    }

    static func matches(_ a: RTPCodecParameters, _ b: RTPCodecCapability, strict: Bool) -> Bool {
        matches(mimeType: a.mimeType, clockRate: a.clockRate, channels: a.channels, parameters: a.parameters,
                mimeType: b.mimeType, clockRate: b.clockRate, channels: b.channels, parameters: b.parameters, strict: strict)
    }

    static func matches(_ a: RTPCodecCapability, _ b: RTPCodecParameters, strict: Bool) -> Bool {
        matches(mimeType: a.mimeType, clockRate: a.clockRate, channels: a.channels, parameters: a.parameters,
                mimeType: b.mimeType, clockRate: b.clockRate, channels: b.channels, parameters: b.parameters, strict: strict)
    }
}
