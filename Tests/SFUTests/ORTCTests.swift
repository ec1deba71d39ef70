import SFU
import Testing

/// Golden values of spec §6.1 (router capabilities built from odoo/sfu's default codec names).
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
