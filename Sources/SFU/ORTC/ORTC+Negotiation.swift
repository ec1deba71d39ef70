// Producer → router mapping, consumable parameters and consumer parameters (docs/protocol.md §6.5–§6.7),
// following mediasoup's getProducerRtpParametersMapping / getConsumableRtpParameters / canConsume /
// getConsumerRtpParameters.

/// A parsed scalability mode (`^[LS](\d{1,2})T(\d{1,2})(_KEY)?`, W3C webrtc-svc); anything else is L1T1.
public struct ScalabilityMode: Hashable, Sendable {
    /// Number of spatial layers (1 when unparseable).
    public var spatialLayers: Int
    /// Number of temporal layers (1 when unparseable).
    public var temporalLayers: Int
    /// Whether it is a K-SVC mode (`_KEY` suffix).
    public var ksvc: Bool

    /// Parses a mode like mediasoup's `parseScalabilityMode` (prefix match; nil or invalid → L1T1).
    public init(parsing mode: String?) {
        spatialLayers = 1
        temporalLayers = 1
        ksvc = false
        guard let mode else { return }
        let b = Array(mode.utf8)
        guard let first = b.first, first == UInt8(ascii: "L") || first == UInt8(ascii: "S") else { return }
        // One or two digits, the first non-zero.
        func number(at i: Int) -> (value: Int, end: Int)? {
            guard i < b.count, b[i] >= UInt8(ascii: "1"), b[i] <= UInt8(ascii: "9") else { return nil }
            var value = Int(b[i] - UInt8(ascii: "0"))
            var end = i + 1
            if end < b.count, b[end] >= UInt8(ascii: "0"), b[end] <= UInt8(ascii: "9") {
                value = value * 10 + Int(b[end] - UInt8(ascii: "0"))
                end += 1
            }
            return (value, end)
        }
        // The spatial count must be followed by "T" (a two-digit count backtracks to one digit if needed).
        guard var s = number(at: 1) else { return }
        if s.end >= b.count || b[s.end] != UInt8(ascii: "T") {
            guard s.value >= 10, s.end - 1 < b.count, b[s.end - 1] == UInt8(ascii: "T") else { return }
            s = (s.value / 10, s.end - 1)
        }
        guard let t = number(at: s.end + 1) else { return }
        spatialLayers = s.value
        temporalLayers = t.value
        let rest = b[t.end...]
        ksvc = rest.starts(with: Array("_KEY".utf8))
    }
}

extension ORTC {
    // MARK: Producer (§6.5)

    /// Maps a producer's codecs and encodings onto the router (mediasoup `getProducerRtpParametersMapping`).
    ///
    /// Every media codec of the producer must be of `kind` and strictly match a router codec, else
    /// ``ORTCError/unsupportedCodec(mimeType:payloadType:)``; each RTX codec maps to the router RTX codec
    /// whose `apt` is the router PT of its media codec. Encoding `i` gets `mappedSSRC = ssrcBase + i`
    /// (wrapping); `rid`, `ssrc`, `rtx.ssrc` and `scalabilityMode` are kept (empty/zero values count as
    /// absent, like mediasoup's truthiness tests). An empty encoding list counts as one empty encoding.
    public static func producerMapping(parameters: RTPParameters, kind: MediaKind, router: RTPCapabilities,
                                       ssrcBase: UInt32) throws(ORTCError) -> RTPParametersMapping {
        var media: [RTPParametersMapping.CodecMapping] = []
        var rtx: [RTPParametersMapping.CodecMapping] = []
        for codec in parameters.codecs where !codec.isRTX {
            guard ORTC.kind(ofMimeType: codec.mimeType) == kind else {
                throw .invalid(field: "codecs", reason: "codec \(codec.mimeType) is not \(kind.rawValue)")
            }
            guard let cap = router.codecs.first(where: { matches(codec, $0, strict: true) }) else {
                throw .unsupportedCodec(mimeType: codec.mimeType, payloadType: codec.payloadType)
            }
            media.append(.init(payloadType: codec.payloadType, mappedPayloadType: cap.preferredPayloadType))
        }
        guard !media.isEmpty else { throw .invalid(field: "codecs", reason: "no media codec") }
        for codec in parameters.codecs where codec.isRTX {
            guard let apt = codec.associatedPayloadType,
                  let mediaEntry = media.first(where: { $0.payloadType == apt }) else {
                throw .missingMediaCodecForRTX(payloadType: codec.payloadType)
            }
            guard let capRTX = router.codecs.first(where: { $0.isRTX && $0.parameters["apt"] == .number(Double(mediaEntry.mappedPayloadType)) }) else {
                throw .noRTXCodecInRouter(payloadType: mediaEntry.mappedPayloadType)
            }
            rtx.append(.init(payloadType: codec.payloadType, mappedPayloadType: capRTX.preferredPayloadType))
        }
        let encodings = parameters.encodings.isEmpty ? [RTPEncodingParameters()] : parameters.encodings
        var mapped: [RTPParametersMapping.EncodingMapping] = []
        for (i, e) in encodings.enumerated() {
            mapped.append(.init(ssrc: e.ssrc == 0 ? nil : e.ssrc,
                                rid: e.rid?.isEmpty == false ? e.rid : nil,
                                rtxSSRC: e.rtxSSRC == 0 ? nil : e.rtxSSRC,
                                scalabilityMode: e.scalabilityMode?.isEmpty == false ? e.scalabilityMode : nil,
                                mappedSSRC: ssrcBase &+ UInt32(truncatingIfNeeded: i)))
        }
        return RTPParametersMapping(codecs: media + rtx, encodings: mapped)
    }

    /// The router-side view every consumer of a producer derives from (mediasoup
    /// `getConsumableRtpParameters`, §6.5 step 5): router codecs (router PT, MIME spelling, channels and
    /// feedback) with the producer's codec parameters (H264 `profile-level-id` negotiated like mediasoup
    /// does when mapping), each followed by the router's RTX codec; the router's extensions of `kind`
    /// with direction sendrecv/sendonly and router ids; the producer's encodings without rid/rtx and with
    /// `ssrc = mappedSSRC`; rtcp `{cname: producer's, reducedSize: true}`; no mid.
    public static func consumableParameters(kind: MediaKind, producer: RTPParameters, router: RTPCapabilities,
                                            mapping: RTPParametersMapping) -> RTPParameters {
        var out = RTPParameters(rtcpCNAME: producer.rtcpCNAME, rtcpReducedSize: true)
        for codec in producer.codecs where !codec.isRTX {
            guard let pt = mapping.mappedPayloadType(for: codec.payloadType),
                  let cap = router.codecs.first(where: { $0.preferredPayloadType == pt }) else { continue }
            var parameters = codec.parameters
            let lower = codec.mimeType.lowercased()
            if lower == "video/h264" || lower == "video/h264-svc",
               case .success(let answer) = H264ProfileLevelID.answer(local: codec.parameters, remote: cap.parameters) {
                parameters["profile-level-id"] = answer.map { .string($0) }
            }
            out.codecs.append(RTPCodecParameters(mimeType: cap.mimeType, payloadType: cap.preferredPayloadType, clockRate: cap.clockRate,
                                                 channels: cap.channels, parameters: parameters, rtcpFeedback: cap.rtcpFeedback))
            if let capRTX = router.codecs.first(where: { $0.isRTX && $0.parameters["apt"] == .number(Double(cap.preferredPayloadType)) }) {
                out.codecs.append(RTPCodecParameters(mimeType: capRTX.mimeType, payloadType: capRTX.preferredPayloadType, clockRate: capRTX.clockRate,
                                                     channels: capRTX.channels, parameters: capRTX.parameters, rtcpFeedback: capRTX.rtcpFeedback))
            }
        }
        for ext in router.headerExtensions where ext.kind == kind && (ext.direction == .sendrecv || ext.direction == .sendonly) {
            out.headerExtensions.append(RTPHeaderExtensionParameters(uri: ext.uri, id: ext.preferredID, encrypt: ext.preferredEncrypt))
        }
        let encodings = producer.encodings.isEmpty ? [RTPEncodingParameters()] : producer.encodings
        for (i, var e) in encodings.enumerated() where i < mapping.encodings.count {
            e.rid = nil
            e.rtxSSRC = nil
            e.ssrc = mapping.encodings[i].mappedSSRC
            out.encodings.append(e)
        }
        return out
    }

    /// Producer type (§6.5 step 6): simulcast with more than one encoding, svc with one encoding whose
    /// scalability mode has several spatial layers, else simple.
    public static func producerType(_ parameters: RTPParameters) -> ProducerType {
        if parameters.encodings.count > 1 { return .simulcast }
        if let only = parameters.encodings.first, ScalabilityMode(parsing: only.scalabilityMode).spatialLayers > 1 { return .svc }
        return .simple
    }

    // MARK: Consumer (§6.6, §6.7)

    /// mediasoup `canConsume` (§6.7): true iff some consumable codec strictly matches a remote codec and
    /// the first such codec is a media codec. Invalid remote capabilities give false.
    public static func canConsume(_ consumable: RTPParameters, capabilities: RTPCapabilities) -> Bool {
        guard let caps = try? validateCapabilities(capabilities) else { return false }
        for codec in consumable.codecs where caps.codecs.contains(where: { matches($0, codec, strict: true) }) {
            return !codec.isRTX
        }
        return false
    }

    /// mediasoup `getConsumerRtpParameters` for a non-pipe consumer (§6.6).
    ///
    /// RTX is enabled for video only. Codecs: consumable codecs strictly matching a remote codec, each with
    /// the remote codec's feedback (plain `nack` removed without RTX); RTX codecs whose `apt` media codec
    /// did not survive are removed; the first codec must be a media codec, else
    /// ``ORTCError/noCompatibleMediaCodecs``. Extensions: consumable ones whose (id, uri) the remote
    /// offers for this kind. Feedback reduction: transport-cc extension ⇒ no goog-remb; else abs-send-time ⇒ no
    /// transport-cc; else neither. One encoding: `ssrc`, `rtx.ssrc = ssrc + 1` when RTX survived, the
    /// scalability mode (`L<N>T<t>` for N > 1 simulcast encodings) and the largest `maxBitrate`.
    public static func consumerParameters(consumable: RTPParameters, kind: MediaKind, remoteCapabilities: RTPCapabilities,
                                          ssrc: UInt32, mid: String) throws(ORTCError) -> RTPParameters {
        let caps = try validateCapabilities(remoteCapabilities)
        let enableRTX = kind == .video
        var codecs: [RTPCodecParameters] = []
        for var codec in consumable.codecs {
            if !enableRTX && codec.isRTX { continue }
            guard let cap = caps.codecs.first(where: { matches($0, codec, strict: true) }) else { continue }
            codec.rtcpFeedback = cap.rtcpFeedback.filter { enableRTX || $0.type != "nack" || !$0.parameter.isEmpty }
            codecs.append(codec)
        }
        let mediaPayloadTypes = codecs.filter { !$0.isRTX }.map { RTPCodecParameterValue.number(Double($0.payloadType)) }
        var rtxSupported = false
        codecs.removeAll { codec in
            guard codec.isRTX else { return false }
            let kept = codec.parameters["apt"].map(mediaPayloadTypes.contains) ?? false
            if kept { rtxSupported = true }
            return !kept
        }
        guard let first = codecs.first, !first.isRTX else { throw .noCompatibleMediaCodecs }

        // mediasoup compares (id, uri) only; the kind is compared too so that an extension the remote
        // declares for the other kind only (e.g. Chrome's video-only playout-delay) stays off (docs/protocol.md §6.6
        // audio example).
        let extensions = consumable.headerExtensions.filter { ext in
            caps.headerExtensions.contains { $0.kind == kind && $0.preferredID == ext.id && $0.uri == ext.uri }
        }
        let uris = extensions.map(\.uri)
        let drop: (RTCPFeedback) -> Bool
        if uris.contains(URI.transportWideCC) {
            drop = { $0.type == "goog-remb" }
        } else if uris.contains(URI.absSendTime) {
            drop = { $0.type == "transport-cc" }
        } else {
            drop = { $0.type == "transport-cc" || $0.type == "goog-remb" }
        }
        for i in codecs.indices { codecs[i].rtcpFeedback.removeAll(where: drop) }

        var encoding = RTPEncodingParameters(ssrc: ssrc)
        if rtxSupported { encoding.rtxSSRC = ssrc &+ 1 }
        var mode = consumable.encodings.first(where: { $0.scalabilityMode?.isEmpty == false })?.scalabilityMode
        if consumable.encodings.count > 1 {
            mode = "L\(consumable.encodings.count)T\(ScalabilityMode(parsing: mode).temporalLayers)"
        }
        encoding.scalabilityMode = mode
        let maxBitrate = consumable.encodings.reduce(0) { max($0, $1.maxBitrate ?? 0) }
        if maxBitrate > 0 { encoding.maxBitrate = maxBitrate }

        return RTPParameters(mid: mid, codecs: codecs, headerExtensions: extensions, encodings: [encoding],
                             rtcpCNAME: consumable.rtcpCNAME, rtcpReducedSize: consumable.rtcpReducedSize)
    }
}
