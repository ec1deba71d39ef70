import SFU
import Testing

/// Golden values of docs/protocol.md §6.1 (router capabilities built from odoo/sfu's default codec names).
enum ORTCGolden {
    static let videoFeedback = [
        RTCPFeedback(type: "nack"), RTCPFeedback(type: "nack", parameter: "pli"), RTCPFeedback(type: "ccm", parameter: "fir"),
        RTCPFeedback(type: "goog-remb"), RTCPFeedback(type: "transport-cc"),
    ]

    static func rtx(_ pt: UInt8, apt: Int) -> RTPCodecCapability {
        RTPCodecCapability(kind: .video, mimeType: "video/rtx", preferredPayloadType: pt, clockRate: 90000, parameters: ["apt": .number(Double(apt))])
    }

    static func h264(_ pt: UInt8, _ profileLevelID: String) -> RTPCodecCapability {
        RTPCodecCapability(kind: .video, mimeType: "video/H264", preferredPayloadType: pt, clockRate: 90000,
                           parameters: ["level-asymmetry-allowed": 1, "packetization-mode": 1, "profile-level-id": .string(profileLevelID)],
                           rtcpFeedback: videoFeedback)
    }

    /// §6.1 "codecs", verbatim.
    static let routerCodecs: [RTPCodecCapability] = [
        RTPCodecCapability(kind: .audio, mimeType: "audio/opus", preferredPayloadType: 100, clockRate: 48000, channels: 2,
                           rtcpFeedback: [RTCPFeedback(type: "nack"), RTCPFeedback(type: "transport-cc")]),
        RTPCodecCapability(kind: .audio, mimeType: "audio/PCMU", preferredPayloadType: 0, clockRate: 8000, channels: 1,
                           rtcpFeedback: [RTCPFeedback(type: "transport-cc")]),
        RTPCodecCapability(kind: .audio, mimeType: "audio/PCMA", preferredPayloadType: 8, clockRate: 8000, channels: 1,
                           rtcpFeedback: [RTCPFeedback(type: "transport-cc")]),
        RTPCodecCapability(kind: .video, mimeType: "video/VP8", preferredPayloadType: 101, clockRate: 90000, rtcpFeedback: videoFeedback),
        rtx(102, apt: 101),
        RTPCodecCapability(kind: .video, mimeType: "video/VP9", preferredPayloadType: 103, clockRate: 90000,
                           parameters: ["profile-id": 2], rtcpFeedback: videoFeedback),
        rtx(104, apt: 103),
        h264(105, "640028"), rtx(106, apt: 105),
        h264(107, "42e00c"), rtx(108, apt: 107),
        h264(109, "640c0d"), rtx(110, apt: 109),
    ]

    /// The header extension subset the router publishes (§6.1's list minus framemarking and abs-capture-time).
    static let routerHeaderExtensions: [RTPHeaderExtensionCapability] = [
        .init(kind: .audio, uri: "urn:ietf:params:rtp-hdrext:sdes:mid", preferredID: 1, preferredEncrypt: false, direction: .sendrecv),
        .init(kind: .video, uri: "urn:ietf:params:rtp-hdrext:sdes:mid", preferredID: 1, preferredEncrypt: false, direction: .sendrecv),
        .init(kind: .video, uri: "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id", preferredID: 2, preferredEncrypt: false, direction: .recvonly),
        .init(kind: .video, uri: "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id", preferredID: 3, preferredEncrypt: false, direction: .recvonly),
        .init(kind: .audio, uri: "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", preferredID: 4, preferredEncrypt: false, direction: .sendrecv),
        .init(kind: .video, uri: "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", preferredID: 4, preferredEncrypt: false, direction: .sendrecv),
        .init(kind: .audio, uri: "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", preferredID: 5, preferredEncrypt: false, direction: .recvonly),
        .init(kind: .video, uri: "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", preferredID: 5, preferredEncrypt: false, direction: .sendrecv),
        .init(kind: .audio, uri: "urn:ietf:params:rtp-hdrext:ssrc-audio-level", preferredID: 10, preferredEncrypt: false, direction: .sendrecv),
        .init(kind: .video, uri: "urn:3gpp:video-orientation", preferredID: 11, preferredEncrypt: false, direction: .sendrecv),
        .init(kind: .video, uri: "urn:ietf:params:rtp-hdrext:toffset", preferredID: 12, preferredEncrypt: false, direction: .sendrecv),
        .init(kind: .audio, uri: "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay", preferredID: 14, preferredEncrypt: false, direction: .sendrecv),
        .init(kind: .video, uri: "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay", preferredID: 14, preferredEncrypt: false, direction: .sendrecv),
    ]

    static let router = ORTC.routerCapabilities(audioCodecs: ORTC.defaultAudioCodecNames, videoCodecs: ORTC.defaultVideoCodecNames)
}

@Suite struct ORTCRouterCapabilitiesTests {
    @Test func defaultNamesGiveSpecCodecsExactly() {
        let caps = ORTC.routerCapabilities(audioCodecs: ["opus", "PCMU", "PCMA"], videoCodecs: ["VP8", "VP9", "H264", "H264_1_2cb", "H264_1_3ch"])
        #expect(caps.codecs.count == ORTCGolden.routerCodecs.count)
        for (got, want) in zip(caps.codecs, ORTCGolden.routerCodecs) { #expect(got == want) }
        #expect(caps.codecs == ORTCGolden.routerCodecs)
    }

    @Test func headerExtensionsAreTheHandledSubsetWithMediasoupIDs() {
        #expect(ORTCGolden.router.headerExtensions == ORTCGolden.routerHeaderExtensions)
        // No framemarking (6, 7) nor abs-capture-time (13): the forwarding path does not handle them.
        #expect(!ORTCGolden.router.headerExtensions.contains { [6, 7, 13].contains($0.preferredID) })
    }

    struct Row: Sendable, CustomTestStringConvertible {
        var audio: [String], video: [String]
        /// (mimeType, preferredPayloadType, apt for RTX, profile-level-id for H264)
        var expected: [(String, UInt8, Int?, String?)]
        var testDescription: String { "\(audio) \(video)" }
    }

    @Test(arguments: [
        // Restricted and reordered sets: dynamic PTs are allocated in caller order.
        Row(audio: ["opus"], video: ["H264_1_2cb", "VP8"],
            expected: [("audio/opus", 100, nil, nil), ("video/H264", 101, nil, "42e00c"), ("video/rtx", 102, 101, nil),
                       ("video/VP8", 103, nil, nil), ("video/rtx", 104, 103, nil)]),
        // Static PTs do not consume dynamic ones.
        Row(audio: ["PCMA", "PCMU", "opus"], video: ["VP9"],
            expected: [("audio/PCMA", 8, nil, nil), ("audio/PCMU", 0, nil, nil), ("audio/opus", 100, nil, nil),
                       ("video/VP9", 101, nil, nil), ("video/rtx", 102, 101, nil)]),
        // Unknown names, names in the wrong list and repeated names are skipped.
        Row(audio: ["opus", "VP8", "G722", "opus"], video: ["PCMU", "VP8", "vp8", "VP8"],
            expected: [("audio/opus", 100, nil, nil), ("video/VP8", 101, nil, nil), ("video/rtx", 102, 101, nil)]),
        Row(audio: [], video: [], expected: []),
    ])
    func payloadTypeAllocation(_ row: Row) {
        let caps = ORTC.routerCapabilities(audioCodecs: row.audio, videoCodecs: row.video)
        #expect(caps.codecs.count == row.expected.count)
        for (codec, (mime, pt, apt, plid)) in zip(caps.codecs, row.expected) {
            #expect(codec.mimeType == mime)
            #expect(codec.preferredPayloadType == pt)
            #expect(codec.parameters["apt"] == apt.map { .number(Double($0)) })
            if let plid { #expect(codec.parameters["profile-level-id"] == .string(plid)) }
            #expect(codec.isRTX == (apt != nil))
            #expect(codec.kind == (mime.hasPrefix("audio") ? .audio : .video))
        }
    }

    @Test func dynamicPayloadTypeOrder() {
        #expect(ORTC.dynamicPayloadTypes.count == 32)
        #expect(ORTC.dynamicPayloadTypes.prefix(3) == [100, 101, 102])
        #expect(ORTC.dynamicPayloadTypes.suffix(5) == [127, 96, 97, 98, 99])
    }

    @Test(arguments: [
        (RTPCodecParameterValue.number(1), "1"), (.number(90000), "90000"), (.number(0.5), "0.5"), (.number(-3), "-3"),
        (.string("42e01f"), "42e01f"),
    ])
    func parameterValueText(_ value: RTPCodecParameterValue, _ text: String) {
        #expect(value.description == text)
    }

    @Test func parameterValuesAreTypeSensitive() {
        #expect(RTPCodecParameterValue.number(1) != .string("1"))
        #expect(RTPCodecParameterValue(integerLiteral: 2) == .number(2))
        #expect(RTPCodecParameterValue.number(2).integerValue == 2)
        #expect(RTPCodecParameterValue.number(2.5).integerValue == nil)
        #expect(RTPCodecParameterValue.string("2").integerValue == nil)
    }

    @Test(arguments: [
        ("video/rtx", true), ("VIDEO/RTX", true), ("audio/rtx", true), ("/rtx", false), ("video/rtx2", false), ("video/VP8", false),
    ])
    func rtxMimeTypes(_ mime: String, _ isRTX: Bool) {
        #expect(ORTC.isRTXMimeType(mime) == isRTX)
    }

    @Test func cnameFirstProducerFixesIt() {
        var rule = ProducerCNAME(fallback: "abcdefgh")
        #expect(rule.resolve(offered: "tn3kPyX+njvlMrR7") == "tn3kPyX+njvlMrR7")
        #expect(rule.resolve(offered: "") == "tn3kPyX+njvlMrR7")
        #expect(rule.resolve(offered: "other") == "tn3kPyX+njvlMrR7")

        var noName = ProducerCNAME(fallback: "abcdefgh")
        #expect(noName.resolve(offered: "") == "abcdefgh")
        #expect(noName.resolve(offered: "late") == "abcdefgh")   // mediasoup: the first producer decides
        var absent = ProducerCNAME(fallback: "zyxwvuts")
        #expect(absent.resolve(offered: nil) == "zyxwvuts")
        #expect(absent.value == "zyxwvuts")
    }
}

/// Golden values of docs/protocol.md §6.2 (Chrome's reply), §6.5 (producers) and §6.6 (consumers), built by hand.
enum ORTCSpecExamples {
    static let chromeVideoFeedback = [
        RTCPFeedback(type: "goog-remb"), RTCPFeedback(type: "transport-cc"), RTCPFeedback(type: "ccm", parameter: "fir"),
        RTCPFeedback(type: "nack"), RTCPFeedback(type: "nack", parameter: "pli"),
    ]

    /// §6.2 Chrome reply (`device.rtpCapabilities`).
    static let chromeCapabilities = RTPCapabilities(
        codecs: [
            RTPCodecCapability(kind: .audio, mimeType: "audio/opus", preferredPayloadType: 100, clockRate: 48000, channels: 2,
                               parameters: ["minptime": 10, "useinbandfec": 1],
                               rtcpFeedback: [RTCPFeedback(type: "transport-cc"), RTCPFeedback(type: "nack")]),
            RTPCodecCapability(kind: .audio, mimeType: "audio/PCMU", preferredPayloadType: 0, clockRate: 8000, channels: 1),
            RTPCodecCapability(kind: .audio, mimeType: "audio/PCMA", preferredPayloadType: 8, clockRate: 8000, channels: 1),
            RTPCodecCapability(kind: .video, mimeType: "video/VP8", preferredPayloadType: 101, clockRate: 90000, rtcpFeedback: chromeVideoFeedback),
            ORTCGolden.rtx(102, apt: 101),
            RTPCodecCapability(kind: .video, mimeType: "video/VP9", preferredPayloadType: 103, clockRate: 90000,
                               parameters: ["profile-id": 2], rtcpFeedback: chromeVideoFeedback),
            ORTCGolden.rtx(104, apt: 103),
            RTPCodecCapability(kind: .video, mimeType: "video/H264", preferredPayloadType: 105, clockRate: 90000,
                               parameters: ["level-asymmetry-allowed": 1, "packetization-mode": 1, "profile-level-id": "64001f"],
                               rtcpFeedback: chromeVideoFeedback),
            ORTCGolden.rtx(106, apt: 105),
        ],
        headerExtensions: [
            .init(kind: .audio, uri: ORTC.URI.mid, preferredID: 1),
            .init(kind: .video, uri: ORTC.URI.mid, preferredID: 1),
            .init(kind: .audio, uri: ORTC.URI.absSendTime, preferredID: 4),
            .init(kind: .video, uri: ORTC.URI.absSendTime, preferredID: 4),
            .init(kind: .video, uri: ORTC.URI.transportWideCC, preferredID: 5),
            .init(kind: .audio, uri: ORTC.URI.audioLevel, preferredID: 10),
            .init(kind: .video, uri: ORTC.URI.videoOrientation, preferredID: 11),
            .init(kind: .video, uri: ORTC.URI.timeOffset, preferredID: 12),
            .init(kind: .video, uri: ORTC.URI.playoutDelay, preferredID: 14),
        ])

    /// §6.5 audio producer (Chrome).
    static let audioProducer = RTPParameters(
        mid: "0",
        codecs: [RTPCodecParameters(mimeType: "audio/opus", payloadType: 111, clockRate: 48000, channels: 2,
                                    parameters: ["minptime": 10, "useinbandfec": 1],
                                    rtcpFeedback: [RTCPFeedback(type: "transport-cc"), RTCPFeedback(type: "nack")])],
        headerExtensions: [
            .init(uri: ORTC.URI.mid, id: 4), .init(uri: ORTC.URI.absSendTime, id: 2),
            .init(uri: ORTC.URI.transportWideCC, id: 3), .init(uri: ORTC.URI.audioLevel, id: 1),
        ],
        encodings: [RTPEncodingParameters(ssrc: 3_841_247_884, dtx: false)],
        rtcpCNAME: "tn3kPyX+njvlMrR7", rtcpReducedSize: true)

    /// §6.5 camera producer (Chrome ≥ 111, RID simulcast).
    static let cameraProducer = RTPParameters(
        mid: "1",
        codecs: [
            RTPCodecParameters(mimeType: "video/VP8", payloadType: 96, clockRate: 90000, rtcpFeedback: chromeVideoFeedback),
            RTPCodecParameters(mimeType: "video/rtx", payloadType: 97, clockRate: 90000, parameters: ["apt": 96]),
        ],
        headerExtensions: [
            .init(uri: ORTC.URI.mid, id: 4), .init(uri: ORTC.URI.rid, id: 10), .init(uri: ORTC.URI.repairedRID, id: 11),
            .init(uri: ORTC.URI.absSendTime, id: 2), .init(uri: ORTC.URI.transportWideCC, id: 3),
            .init(uri: ORTC.URI.videoOrientation, id: 13), .init(uri: ORTC.URI.timeOffset, id: 14), .init(uri: ORTC.URI.playoutDelay, id: 5),
        ],
        encodings: [
            RTPEncodingParameters(rid: "r1", scalabilityMode: "L1T3", maxBitrate: 1_000_000, scaleResolutionDownBy: 4, active: true, dtx: false),
            RTPEncodingParameters(rid: "r2", scalabilityMode: "L1T3", maxBitrate: 2_000_000, scaleResolutionDownBy: 2, active: true, dtx: false),
            RTPEncodingParameters(rid: "r3", scalabilityMode: "L1T3", maxBitrate: 4_000_000, scaleResolutionDownBy: 1, active: true, dtx: false),
        ],
        rtcpCNAME: "", rtcpReducedSize: true)

    /// §6.6 audio consumer.
    static let audioConsumer = RTPParameters(
        mid: "0",
        codecs: [RTPCodecParameters(mimeType: "audio/opus", payloadType: 100, clockRate: 48000, channels: 2,
                                    parameters: ["minptime": 10, "useinbandfec": 1], rtcpFeedback: [])],
        headerExtensions: [.init(uri: ORTC.URI.mid, id: 1), .init(uri: ORTC.URI.absSendTime, id: 4), .init(uri: ORTC.URI.audioLevel, id: 10)],
        encodings: [RTPEncodingParameters(ssrc: 513_487_261)],
        rtcpCNAME: "tn3kPyX+njvlMrR7", rtcpReducedSize: true)

    /// §6.6 video consumer (simulcast VP8 camera).
    static let videoConsumer = RTPParameters(
        mid: "1",
        codecs: [
            RTPCodecParameters(mimeType: "video/VP8", payloadType: 101, clockRate: 90000,
                               rtcpFeedback: [RTCPFeedback(type: "transport-cc"), RTCPFeedback(type: "ccm", parameter: "fir"),
                                              RTCPFeedback(type: "nack"), RTCPFeedback(type: "nack", parameter: "pli")]),
            RTPCodecParameters(mimeType: "video/rtx", payloadType: 102, clockRate: 90000, parameters: ["apt": 101]),
        ],
        headerExtensions: [
            .init(uri: ORTC.URI.mid, id: 1), .init(uri: ORTC.URI.absSendTime, id: 4), .init(uri: ORTC.URI.transportWideCC, id: 5),
            .init(uri: ORTC.URI.videoOrientation, id: 11), .init(uri: ORTC.URI.timeOffset, id: 12), .init(uri: ORTC.URI.playoutDelay, id: 14),
        ],
        encodings: [RTPEncodingParameters(ssrc: 722_339_140, rtxSSRC: 722_339_141, scalabilityMode: "L3T3", maxBitrate: 4_000_000)],
        rtcpCNAME: "tn3kPyX+njvlMrR7", rtcpReducedSize: true)
}

@Suite struct ORTCNegotiationTests {
    let router = ORTCGolden.router

    /// Producer → mapping → consumable with the transport CNAME rule applied, as mediasoup's produce() does.
    func consumable(_ producer: RTPParameters, kind: MediaKind, cname: inout ProducerCNAME, ssrcBase: UInt32) throws -> (RTPParametersMapping, RTPParameters) {
        var p = try ORTC.validateParameters(producer)
        p.rtcpCNAME = cname.resolve(offered: p.rtcpCNAME)
        let mapping = try ORTC.producerMapping(parameters: p, kind: kind, router: router, ssrcBase: ssrcBase)
        return (mapping, ORTC.consumableParameters(kind: kind, producer: p, router: router, mapping: mapping))
    }

    @Test func audioMappingAndConsumable() throws {
        var cname = ProducerCNAME(fallback: "fallback")
        let (mapping, consumable) = try consumable(ORTCSpecExamples.audioProducer, kind: .audio, cname: &cname, ssrcBase: 100_000_000)
        #expect(mapping == RTPParametersMapping(codecs: [.init(payloadType: 111, mappedPayloadType: 100)],
                                                encodings: [.init(ssrc: 3_841_247_884, mappedSSRC: 100_000_000)]))
        #expect(consumable == RTPParameters(
            codecs: [RTPCodecParameters(mimeType: "audio/opus", payloadType: 100, clockRate: 48000, channels: 2,
                                        parameters: ["minptime": 10, "useinbandfec": 1],
                                        rtcpFeedback: [RTCPFeedback(type: "nack"), RTCPFeedback(type: "transport-cc")])],
            headerExtensions: [.init(uri: ORTC.URI.mid, id: 1), .init(uri: ORTC.URI.absSendTime, id: 4),
                               .init(uri: ORTC.URI.audioLevel, id: 10), .init(uri: ORTC.URI.playoutDelay, id: 14)],
            encodings: [RTPEncodingParameters(ssrc: 100_000_000, dtx: false)],
            rtcpCNAME: "tn3kPyX+njvlMrR7", rtcpReducedSize: true))
        #expect(ORTC.producerType(ORTCSpecExamples.audioProducer) == .simple)
    }

    @Test func cameraMappingAndConsumable() throws {
        var cname = ProducerCNAME(fallback: "fallback")
        _ = cname.resolve(offered: "tn3kPyX+njvlMrR7")   // the audio producer came first
        let (mapping, consumable) = try consumable(ORTCSpecExamples.cameraProducer, kind: .video, cname: &cname, ssrcBase: 999_999_998)
        #expect(mapping.codecs == [.init(payloadType: 96, mappedPayloadType: 101), .init(payloadType: 97, mappedPayloadType: 102)])
        #expect(mapping.encodings == [
            .init(rid: "r1", scalabilityMode: "L1T3", mappedSSRC: 999_999_998),
            .init(rid: "r2", scalabilityMode: "L1T3", mappedSSRC: 999_999_999),
            .init(rid: "r3", scalabilityMode: "L1T3", mappedSSRC: 1_000_000_000),
        ])
        #expect(consumable.codecs == [
            RTPCodecParameters(mimeType: "video/VP8", payloadType: 101, clockRate: 90000, rtcpFeedback: ORTCGolden.videoFeedback),
            RTPCodecParameters(mimeType: "video/rtx", payloadType: 102, clockRate: 90000, parameters: ["apt": 101]),
        ])
        // recvonly rid/rrid and the audio-only/recvonly extensions never reach consumers.
        #expect(consumable.headerExtensions.map(\.id) == [1, 4, 5, 11, 12, 14])
        #expect(consumable.encodings.map(\.ssrc) == [999_999_998, 999_999_999, 1_000_000_000])
        #expect(consumable.encodings.allSatisfy { $0.rid == nil && $0.rtxSSRC == nil && $0.scalabilityMode == "L1T3" })
        #expect(consumable.encodings.map(\.maxBitrate) == [1_000_000, 2_000_000, 4_000_000])
        #expect(consumable.rtcpCNAME == "tn3kPyX+njvlMrR7")
        #expect(ORTC.producerType(ORTCSpecExamples.cameraProducer) == .simulcast)
    }

    @Test func consumersMatchSpecExamples() throws {
        var cname = ProducerCNAME(fallback: "fallback")
        let (_, audio) = try consumable(ORTCSpecExamples.audioProducer, kind: .audio, cname: &cname, ssrcBase: 123_456_789)
        let (_, video) = try consumable(ORTCSpecExamples.cameraProducer, kind: .video, cname: &cname, ssrcBase: 223_456_789)
        let caps = ORTCSpecExamples.chromeCapabilities
        #expect(ORTC.canConsume(audio, capabilities: caps))
        #expect(ORTC.canConsume(video, capabilities: caps))
        let audioConsumer = try ORTC.consumerParameters(consumable: audio, kind: .audio, remoteCapabilities: caps, ssrc: 513_487_261, mid: "0")
        let videoConsumer = try ORTC.consumerParameters(consumable: video, kind: .video, remoteCapabilities: caps, ssrc: 722_339_140, mid: "1")
        #expect(audioConsumer == ORTCSpecExamples.audioConsumer)
        #expect(videoConsumer == ORTCSpecExamples.videoConsumer)
    }

    @Test func cnameFallbackWhenFirstProducerHasNone() throws {
        var cname = ProducerCNAME(fallback: "Ab3dE6gH")
        let (_, video) = try consumable(ORTCSpecExamples.cameraProducer, kind: .video, cname: &cname, ssrcBase: 1)
        let (_, audio) = try consumable(ORTCSpecExamples.audioProducer, kind: .audio, cname: &cname, ssrcBase: 5)
        #expect(video.rtcpCNAME == "Ab3dE6gH")
        #expect(audio.rtcpCNAME == "Ab3dE6gH")
    }

    // MARK: Producer mapping errors and edge cases

    @Test func unsupportedCodecIsRejected() {
        var p = ORTCSpecExamples.audioProducer
        p.codecs[0].mimeType = "audio/G722"
        #expect(throws: ORTCError.unsupportedCodec(mimeType: "audio/G722", payloadType: 111)) {
            try ORTC.producerMapping(parameters: p, kind: .audio, router: router, ssrcBase: 1)
        }
        // opus must be stereo to match the router's opus/48000/2.
        var mono = ORTCSpecExamples.audioProducer
        mono.codecs[0].channels = 1
        #expect(throws: ORTCError.unsupportedCodec(mimeType: "audio/opus", payloadType: 111)) {
            try ORTC.producerMapping(parameters: mono, kind: .audio, router: router, ssrcBase: 1)
        }
    }

    @Test func codecOfTheWrongKindOrNoMediaCodecIsInvalid() {
        #expect(throws: ORTCError.self) {
            try ORTC.producerMapping(parameters: ORTCSpecExamples.audioProducer, kind: .video, router: router, ssrcBase: 1)
        }
        var onlyRTX = ORTCSpecExamples.cameraProducer
        onlyRTX.codecs.removeFirst()
        #expect(throws: ORTCError.invalid(field: "codecs", reason: "no media codec")) {
            try ORTC.producerMapping(parameters: onlyRTX, kind: .video, router: router, ssrcBase: 1)
        }
    }

    @Test func rtxWithoutMediaCodecOrRouterRTX() {
        var dangling = ORTCSpecExamples.cameraProducer
        dangling.codecs[1].parameters["apt"] = 98
        #expect(throws: ORTCError.missingMediaCodecForRTX(payloadType: 97)) {
            try ORTC.producerMapping(parameters: dangling, kind: .video, router: router, ssrcBase: 1)
        }
        var noRouterRTX = router
        noRouterRTX.codecs.removeAll { $0.isRTX }
        #expect(throws: ORTCError.noRTXCodecInRouter(payloadType: 101)) {
            try ORTC.producerMapping(parameters: ORTCSpecExamples.cameraProducer, kind: .video, router: noRouterRTX, ssrcBase: 1)
        }
    }

    @Test func safariSSRCSimulcastKeepsSSRCsAndRTX() throws {
        var p = ORTCSpecExamples.cameraProducer
        for i in 0..<3 {
            p.encodings[i].rid = nil
            p.encodings[i].ssrc = 1000 + UInt32(i)
            p.encodings[i].rtxSSRC = 2000 + UInt32(i)
        }
        let mapping = try ORTC.producerMapping(parameters: p, kind: .video, router: router, ssrcBase: .max)
        #expect(mapping.encodings.map(\.ssrc) == [1000, 1001, 1002])
        #expect(mapping.encodings.map(\.rtxSSRC) == [2000, 2001, 2002])
        #expect(mapping.encodings.map(\.rid) == [nil, nil, nil])
        #expect(mapping.encodings.map(\.mappedSSRC) == [.max, 0, 1])   // wraps instead of trapping
    }

    @Test func emptyEncodingsCountAsOne() throws {
        var p = ORTCSpecExamples.audioProducer
        p.encodings = []
        let mapping = try ORTC.producerMapping(parameters: p, kind: .audio, router: router, ssrcBase: 7)
        #expect(mapping.encodings == [.init(mappedSSRC: 7)])
        #expect(try ORTC.validateParameters(p).encodings == [RTPEncodingParameters(dtx: false)])
        #expect(ORTC.consumableParameters(kind: .audio, producer: p, router: router, mapping: mapping).encodings == [RTPEncodingParameters(ssrc: 7)])
    }

    // MARK: H264 / VP9 strict matching

    static func h264(_ plid: RTPCodecParameterValue?, mode: RTPCodecParameterValue? = 1, asymmetry: Bool = true, pt: UInt8 = 102) -> RTPCodecParameters {
        var params: [String: RTPCodecParameterValue] = [:]
        if let plid { params["profile-level-id"] = plid }
        if let mode { params["packetization-mode"] = mode }
        if asymmetry { params["level-asymmetry-allowed"] = 1 }
        return RTPCodecParameters(mimeType: "video/H264", payloadType: pt, clockRate: 90000, parameters: params)
    }

    struct H264Row: Sendable, CustomTestStringConvertible {
        var producer: RTPCodecParameters
        var routerPT: UInt8?
        var consumablePLID: RTPCodecParameterValue?
        var testDescription: String { "\(producer.parameters) → \(routerPT.map(String.init) ?? "unsupported")" }
    }

    @Test(arguments: [
        // Constrained baseline 3.1 (Chrome's usual) → router H264_1_2cb (42e00c); level kept (asymmetry allowed).
        H264Row(producer: h264("42e01f"), routerPT: 107, consumablePLID: "42e01f"),
        // 4d40 is Main (profile_iop 0x40 fails 1xxx0000, matches 0x0x0000): no router codec has it.
        H264Row(producer: h264("4d401f"), routerPT: nil, consumablePLID: nil),
        // 42c0 is constrained baseline too (x1xx0000): same profile as the router's 42e00c.
        H264Row(producer: h264("42c01f"), routerPT: 107, consumablePLID: "42e01f"),
        // 4200 is plain baseline: not the constrained baseline of the router.
        H264Row(producer: h264("42001f"), routerPT: nil, consumablePLID: nil),
        // High 3.1 → router H264 (640028), first High entry.
        H264Row(producer: h264("64001f"), routerPT: 105, consumablePLID: "64001f"),
        // Constrained high → H264_1_3ch (640c0d).
        H264Row(producer: h264("640c1f"), routerPT: 109, consumablePLID: "640c1f"),
        // Without level asymmetry the answer takes the lower level (router 42e00c is level 1.2).
        H264Row(producer: h264("42e01f", asymmetry: false), routerPT: 107, consumablePLID: "42e00c"),
        // packetization-mode must match (absent = 0 ≠ 1).
        H264Row(producer: h264("42e01f", mode: nil), routerPT: nil, consumablePLID: nil),
        // "1" is not 1 (type-sensitive like mediasoup).
        H264Row(producer: h264("42e01f", mode: "1"), routerPT: nil, consumablePLID: nil),
        // Absent profile-level-id = constrained baseline 3.1.
        H264Row(producer: h264(nil), routerPT: 107, consumablePLID: "42e01f"),
        // A numeric profile-level-id does not parse.
        H264Row(producer: h264(.number(640028)), routerPT: nil, consumablePLID: nil),
        // Unknown level.
        H264Row(producer: h264("42e0ff"), routerPT: nil, consumablePLID: nil),
    ])
    func h264Mapping(_ row: H264Row) throws {
        let p = RTPParameters(mid: "2", codecs: [row.producer], encodings: [RTPEncodingParameters(ssrc: 5)])
        guard let pt = row.routerPT else {
            #expect(throws: ORTCError.unsupportedCodec(mimeType: "video/H264", payloadType: 102)) {
                try ORTC.producerMapping(parameters: p, kind: .video, router: router, ssrcBase: 1)
            }
            return
        }
        let mapping = try ORTC.producerMapping(parameters: p, kind: .video, router: router, ssrcBase: 1)
        #expect(mapping.mappedPayloadType(for: 102) == pt)
        let consumable = ORTC.consumableParameters(kind: .video, producer: p, router: router, mapping: mapping)
        #expect(consumable.codecs.first?.payloadType == pt)
        #expect(consumable.codecs.first?.parameters["profile-level-id"] == row.consumablePLID)
        #expect(consumable.codecs.last?.parameters["apt"] == .number(Double(pt)))
    }

    @Test(arguments: [
        (RTPCodecParameterValue?.some(2), true), (nil, false), (.some(0), false), (.some("2"), false),
    ])
    func vp9ProfileID(_ profile: RTPCodecParameterValue?, _ supported: Bool) {
        var params: [String: RTPCodecParameterValue] = [:]
        if let profile { params["profile-id"] = profile }
        let p = RTPParameters(codecs: [RTPCodecParameters(mimeType: "video/vp9", payloadType: 98, clockRate: 90000, parameters: params)],
                              encodings: [RTPEncodingParameters(ssrc: 9)])
        let mapping = try? ORTC.producerMapping(parameters: p, kind: .video, router: router, ssrcBase: 1)
        #expect((mapping?.mappedPayloadType(for: 98) == 103) == supported)
    }

    // MARK: canConsume / consumer parameters

    func videoConsumable() throws -> RTPParameters {
        let mapping = try ORTC.producerMapping(parameters: ORTCSpecExamples.cameraProducer, kind: .video, router: router, ssrcBase: 10)
        var p = ORTCSpecExamples.cameraProducer
        p.rtcpCNAME = "cname"
        return ORTC.consumableParameters(kind: .video, producer: p, router: router, mapping: mapping)
    }

    @Test func canConsumeNeedsAMatchingMediaCodecFirst() throws {
        let video = try videoConsumable()
        var caps = ORTCSpecExamples.chromeCapabilities
        #expect(ORTC.canConsume(video, capabilities: caps))
        caps.codecs.removeAll { $0.mimeType == "video/VP8" }
        // Only the RTX codec still matches (RTX matching ignores apt) → first match is RTX → false.
        #expect(!ORTC.canConsume(video, capabilities: caps))
        #expect(throws: ORTCError.noCompatibleMediaCodecs) {
            try ORTC.consumerParameters(consumable: video, kind: .video, remoteCapabilities: caps, ssrc: 1, mid: "0")
        }
        #expect(!ORTC.canConsume(video, capabilities: RTPCapabilities()))
        // Invalid capabilities (apt as a string) → false, like mediasoup's throwing validation.
        var bad = ORTCSpecExamples.chromeCapabilities
        bad.codecs[4].parameters["apt"] = "101"
        #expect(!ORTC.canConsume(video, capabilities: bad))
    }

    @Test func audioCapabilitiesWithoutChannelsDefaultToMono() throws {
        // A capability opus without channels is opus/48000/1 after validation: it cannot receive stereo opus.
        var caps = ORTCSpecExamples.chromeCapabilities
        caps.codecs[0].channels = nil
        let audio = RTPParameters(codecs: [RTPCodecParameters(mimeType: "audio/opus", payloadType: 100, clockRate: 48000, channels: 2)],
                                  encodings: [RTPEncodingParameters(ssrc: 1)])
        #expect(!ORTC.canConsume(audio, capabilities: caps))
        #expect(try ORTC.validateCapabilities(caps).codecs[0].channels == 1)
        #expect(try ORTC.validateCapabilities(caps).codecs[3].channels == nil)
    }

    @Test func rtxDroppedWhenRemoteHasNone() throws {
        let video = try videoConsumable()
        var caps = ORTCSpecExamples.chromeCapabilities
        caps.codecs.removeAll { $0.isRTX }
        let consumer = try ORTC.consumerParameters(consumable: video, kind: .video, remoteCapabilities: caps, ssrc: 4_294_967_295, mid: "3")
        #expect(consumer.codecs.map(\.payloadType) == [101])
        #expect(consumer.encodings == [RTPEncodingParameters(ssrc: 4_294_967_295, scalabilityMode: "L3T3", maxBitrate: 4_000_000)])
        // With RTX the rtx ssrc is ssrc + 1, wrapping.
        let withRTX = try ORTC.consumerParameters(consumable: video, kind: .video, remoteCapabilities: ORTCSpecExamples.chromeCapabilities,
                                                  ssrc: 4_294_967_295, mid: "3")
        #expect(withRTX.encodings[0].rtxSSRC == 0)
    }

    struct FeedbackRow: Sendable, CustomTestStringConvertible {
        /// Remote extensions as (uri, id), in the remote's order.
        var remote: [(String, UInt8)]
        /// Consumer extension URIs (consumable order).
        var extensions: [String]
        var feedback: [String]
        var testDescription: String { "\(remote.count) exts → \(feedback)" }
    }

    @Test(arguments: [
        FeedbackRow(remote: [(ORTC.URI.transportWideCC, 5), (ORTC.URI.absSendTime, 4)], extensions: [ORTC.URI.absSendTime, ORTC.URI.transportWideCC],
                    feedback: ["transport-cc", "ccm fir", "nack", "nack pli"]),
        FeedbackRow(remote: [(ORTC.URI.absSendTime, 4)], extensions: [ORTC.URI.absSendTime], feedback: ["goog-remb", "ccm fir", "nack", "nack pli"]),
        FeedbackRow(remote: [(ORTC.URI.mid, 1)], extensions: [ORTC.URI.mid], feedback: ["ccm fir", "nack", "nack pli"]),
        FeedbackRow(remote: [], extensions: [], feedback: ["ccm fir", "nack", "nack pli"]),
    ])
    func feedbackReduction(_ row: FeedbackRow) throws {
        let video = try videoConsumable()
        var caps = ORTCSpecExamples.chromeCapabilities
        caps.headerExtensions = row.remote.map { RTPHeaderExtensionCapability(kind: .video, uri: $0.0, preferredID: $0.1) }
        let consumer = try ORTC.consumerParameters(consumable: video, kind: .video, remoteCapabilities: caps, ssrc: 1, mid: "0")
        #expect(consumer.codecs[0].rtcpFeedback.map { $0.parameter.isEmpty ? $0.type : $0.type + " " + $0.parameter } == row.feedback)
        #expect(consumer.headerExtensions.map(\.uri) == row.extensions)
    }

    @Test func headerExtensionsNeedSameIDAndURI() throws {
        let video = try videoConsumable()
        var caps = ORTCSpecExamples.chromeCapabilities
        caps.headerExtensions = [RTPHeaderExtensionCapability(kind: .video, uri: ORTC.URI.mid, preferredID: 9),
                                 RTPHeaderExtensionCapability(kind: .video, uri: ORTC.URI.timeOffset, preferredID: 12)]
        let consumer = try ORTC.consumerParameters(consumable: video, kind: .video, remoteCapabilities: caps, ssrc: 1, mid: "0")
        #expect(consumer.headerExtensions == [RTPHeaderExtensionParameters(uri: ORTC.URI.timeOffset, id: 12)])
        // An extension the remote declares only for the other kind does not count.
        caps.headerExtensions = [RTPHeaderExtensionCapability(kind: .audio, uri: ORTC.URI.timeOffset, preferredID: 12)]
        #expect(try ORTC.consumerParameters(consumable: video, kind: .video, remoteCapabilities: caps, ssrc: 1, mid: "0").headerExtensions == [])
    }

    struct ScalabilityRow: Sendable, CustomTestStringConvertible {
        var modes: [String?]
        var bitrates: [Int?]
        var expectedMode: String?
        var expectedBitrate: Int?
        var testDescription: String { "\(modes) → \(expectedMode ?? "nil")" }
    }

    @Test(arguments: [
        ScalabilityRow(modes: ["L1T3", "L1T3", "L1T3"], bitrates: [1, 3, 2], expectedMode: "L3T3", expectedBitrate: 3),
        ScalabilityRow(modes: [nil, nil], bitrates: [nil, nil], expectedMode: "L2T1", expectedBitrate: nil),
        ScalabilityRow(modes: [nil, "L1T2"], bitrates: [nil, 5], expectedMode: "L2T2", expectedBitrate: 5),
        ScalabilityRow(modes: ["L3T3_KEY"], bitrates: [nil], expectedMode: "L3T3_KEY", expectedBitrate: nil),
        ScalabilityRow(modes: [nil], bitrates: [0], expectedMode: nil, expectedBitrate: nil),
        ScalabilityRow(modes: [""], bitrates: [7], expectedMode: nil, expectedBitrate: 7),
    ])
    func consumerEncoding(_ row: ScalabilityRow) throws {
        var video = try videoConsumable()
        video.encodings = zip(row.modes, row.bitrates).enumerated().map { i, pair in
            RTPEncodingParameters(ssrc: UInt32(i + 1), scalabilityMode: pair.0, maxBitrate: pair.1)
        }
        let consumer = try ORTC.consumerParameters(consumable: video, kind: .video, remoteCapabilities: ORTCSpecExamples.chromeCapabilities,
                                                   ssrc: 50, mid: "4")
        #expect(consumer.encodings == [RTPEncodingParameters(ssrc: 50, rtxSSRC: 51, scalabilityMode: row.expectedMode, maxBitrate: row.expectedBitrate)])
        #expect(consumer.mid == "4")
        #expect(consumer.rtcpCNAME == "cname")
    }

    @Test(arguments: [
        ("L1T3", 1, 3, false), ("L3T3", 3, 3, false), ("S3T3", 3, 3, false), ("L2T2_KEY", 2, 2, true), ("L12T3", 12, 3, false),
        ("L123T3", 1, 1, false), ("L0T3", 1, 1, false), ("X1T1", 1, 1, false), ("", 1, 1, false), ("L1T", 1, 1, false), ("L2T10", 2, 10, false),
    ])
    func scalabilityModeParsing(_ text: String, _ spatial: Int, _ temporal: Int, _ ksvc: Bool) {
        let mode = ScalabilityMode(parsing: text)
        #expect(mode.spatialLayers == spatial)
        #expect(mode.temporalLayers == temporal)
        #expect(mode.ksvc == ksvc)
    }

    @Test func producerTypes() {
        #expect(ORTC.producerType(RTPParameters(encodings: [RTPEncodingParameters(scalabilityMode: "L3T3")])) == .svc)
        #expect(ORTC.producerType(RTPParameters(encodings: [RTPEncodingParameters(scalabilityMode: "L1T3")])) == .simple)
        #expect(ORTC.producerType(RTPParameters(encodings: [])) == .simple)
        #expect(ORTC.producerType(RTPParameters(encodings: [RTPEncodingParameters(), RTPEncodingParameters()])) == .simulcast)
    }

    @Test func validationRejectsBadValues() {
        var caps = ORTCSpecExamples.chromeCapabilities
        caps.codecs[0].mimeType = "opus"
        #expect(throws: ORTCError.self) { try ORTC.validateCapabilities(caps) }
        caps = ORTCSpecExamples.chromeCapabilities
        caps.codecs[0].rtcpFeedback.append(RTCPFeedback(type: ""))
        #expect(throws: ORTCError.self) { try ORTC.validateCapabilities(caps) }
        caps = ORTCSpecExamples.chromeCapabilities
        caps.headerExtensions[0].uri = ""
        #expect(throws: ORTCError.self) { try ORTC.validateCapabilities(caps) }
        // kind follows the MIME type.
        caps = ORTCSpecExamples.chromeCapabilities
        caps.codecs[3].kind = .audio
        caps.codecs[3].channels = 2
        let fixed = try? ORTC.validateCapabilities(caps)
        #expect(fixed?.codecs[3].kind == .video)
        #expect(fixed?.codecs[3].channels == nil)
        var params = ORTCSpecExamples.cameraProducer
        params.codecs[1].parameters["apt"] = "96"
        #expect(throws: ORTCError.self) { try ORTC.validateParameters(params) }
    }
}
