@testable import App
import SFU
import Testing

/// The JSON examples of docs/protocol.md §6.1, §6.2, §6.5 and §6.6, verbatim (the "…same five…" elisions expanded).
enum SpecJSON {
    static let videoFeedback = """
        [ { "type": "nack", "parameter": "" }, { "type": "nack", "parameter": "pli" },
          { "type": "ccm", "parameter": "fir" }, { "type": "goog-remb", "parameter": "" },
          { "type": "transport-cc", "parameter": "" } ]
        """

    /// §6.1 "codecs".
    static let routerCodecs = """
        [
          { "kind": "audio", "mimeType": "audio/opus", "preferredPayloadType": 100, "clockRate": 48000, "channels": 2,
            "parameters": {},
            "rtcpFeedback": [ { "type": "nack", "parameter": "" }, { "type": "transport-cc", "parameter": "" } ] },
          { "kind": "audio", "mimeType": "audio/PCMU", "preferredPayloadType": 0, "clockRate": 8000, "channels": 1,
            "parameters": {}, "rtcpFeedback": [ { "type": "transport-cc", "parameter": "" } ] },
          { "kind": "audio", "mimeType": "audio/PCMA", "preferredPayloadType": 8, "clockRate": 8000, "channels": 1,
            "parameters": {}, "rtcpFeedback": [ { "type": "transport-cc", "parameter": "" } ] },
          { "kind": "video", "mimeType": "video/VP8", "preferredPayloadType": 101, "clockRate": 90000,
            "parameters": {}, "rtcpFeedback": \(videoFeedback) },
          { "kind": "video", "mimeType": "video/rtx", "preferredPayloadType": 102, "clockRate": 90000,
            "parameters": { "apt": 101 }, "rtcpFeedback": [] },
          { "kind": "video", "mimeType": "video/VP9", "preferredPayloadType": 103, "clockRate": 90000,
            "parameters": { "profile-id": 2 }, "rtcpFeedback": \(videoFeedback) },
          { "kind": "video", "mimeType": "video/rtx", "preferredPayloadType": 104, "clockRate": 90000,
            "parameters": { "apt": 103 }, "rtcpFeedback": [] },
          { "kind": "video", "mimeType": "video/H264", "preferredPayloadType": 105, "clockRate": 90000,
            "parameters": { "level-asymmetry-allowed": 1, "packetization-mode": 1, "profile-level-id": "640028" },
            "rtcpFeedback": \(videoFeedback) },
          { "kind": "video", "mimeType": "video/rtx", "preferredPayloadType": 106, "clockRate": 90000,
            "parameters": { "apt": 105 }, "rtcpFeedback": [] },
          { "kind": "video", "mimeType": "video/H264", "preferredPayloadType": 107, "clockRate": 90000,
            "parameters": { "level-asymmetry-allowed": 1, "packetization-mode": 1, "profile-level-id": "42e00c" },
            "rtcpFeedback": \(videoFeedback) },
          { "kind": "video", "mimeType": "video/rtx", "preferredPayloadType": 108, "clockRate": 90000,
            "parameters": { "apt": 107 }, "rtcpFeedback": [] },
          { "kind": "video", "mimeType": "video/H264", "preferredPayloadType": 109, "clockRate": 90000,
            "parameters": { "level-asymmetry-allowed": 1, "packetization-mode": 1, "profile-level-id": "640c0d" },
            "rtcpFeedback": \(videoFeedback) },
          { "kind": "video", "mimeType": "video/rtx", "preferredPayloadType": 110, "clockRate": 90000,
            "parameters": { "apt": 109 }, "rtcpFeedback": [] }
        ]
        """

    /// §6.1 "headerExtensions" without framemarking (6, 7) and abs-capture-time (13), which this router omits.
    static let routerHeaderExtensions = """
        [
          { "kind": "audio", "uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "preferredId": 1, "preferredEncrypt": false, "direction": "sendrecv" },
          { "kind": "video", "uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "preferredId": 1, "preferredEncrypt": false, "direction": "sendrecv" },
          { "kind": "video", "uri": "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id", "preferredId": 2, "preferredEncrypt": false, "direction": "recvonly" },
          { "kind": "video", "uri": "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id", "preferredId": 3, "preferredEncrypt": false, "direction": "recvonly" },
          { "kind": "audio", "uri": "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", "preferredId": 4, "preferredEncrypt": false, "direction": "sendrecv" },
          { "kind": "video", "uri": "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", "preferredId": 4, "preferredEncrypt": false, "direction": "sendrecv" },
          { "kind": "audio", "uri": "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", "preferredId": 5, "preferredEncrypt": false, "direction": "recvonly" },
          { "kind": "video", "uri": "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", "preferredId": 5, "preferredEncrypt": false, "direction": "sendrecv" },
          { "kind": "audio", "uri": "urn:ietf:params:rtp-hdrext:ssrc-audio-level", "preferredId": 10, "preferredEncrypt": false, "direction": "sendrecv" },
          { "kind": "video", "uri": "urn:3gpp:video-orientation", "preferredId": 11, "preferredEncrypt": false, "direction": "sendrecv" },
          { "kind": "video", "uri": "urn:ietf:params:rtp-hdrext:toffset", "preferredId": 12, "preferredEncrypt": false, "direction": "sendrecv" },
          { "kind": "audio", "uri": "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay", "preferredId": 14, "preferredEncrypt": false, "direction": "sendrecv" },
          { "kind": "video", "uri": "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay", "preferredId": 14, "preferredEncrypt": false, "direction": "sendrecv" }
        ]
        """

    /// §6.2 Chrome reply.
    static let chromeCapabilities = """
        {
          "codecs": [
            { "mimeType": "audio/opus", "kind": "audio", "preferredPayloadType": 100, "clockRate": 48000, "channels": 2,
              "parameters": { "minptime": 10, "useinbandfec": 1 },
              "rtcpFeedback": [ { "type": "transport-cc", "parameter": "" }, { "type": "nack", "parameter": "" } ] },
            { "mimeType": "audio/PCMU", "kind": "audio", "preferredPayloadType": 0, "clockRate": 8000, "channels": 1, "parameters": {}, "rtcpFeedback": [] },
            { "mimeType": "audio/PCMA", "kind": "audio", "preferredPayloadType": 8, "clockRate": 8000, "channels": 1, "parameters": {}, "rtcpFeedback": [] },
            { "mimeType": "video/VP8", "kind": "video", "preferredPayloadType": 101, "clockRate": 90000, "parameters": {},
              "rtcpFeedback": [ { "type": "goog-remb", "parameter": "" }, { "type": "transport-cc", "parameter": "" },
                                { "type": "ccm", "parameter": "fir" }, { "type": "nack", "parameter": "" }, { "type": "nack", "parameter": "pli" } ] },
            { "mimeType": "video/rtx", "kind": "video", "preferredPayloadType": 102, "clockRate": 90000, "parameters": { "apt": 101 }, "rtcpFeedback": [] },
            { "mimeType": "video/VP9", "kind": "video", "preferredPayloadType": 103, "clockRate": 90000, "parameters": { "profile-id": 2 },
              "rtcpFeedback": [ { "type": "goog-remb", "parameter": "" }, { "type": "transport-cc", "parameter": "" },
                                { "type": "ccm", "parameter": "fir" }, { "type": "nack", "parameter": "" }, { "type": "nack", "parameter": "pli" } ] },
            { "mimeType": "video/rtx", "kind": "video", "preferredPayloadType": 104, "clockRate": 90000, "parameters": { "apt": 103 }, "rtcpFeedback": [] },
            { "mimeType": "video/H264", "kind": "video", "preferredPayloadType": 105, "clockRate": 90000,
              "parameters": { "level-asymmetry-allowed": 1, "packetization-mode": 1, "profile-level-id": "64001f" },
              "rtcpFeedback": [ { "type": "goog-remb", "parameter": "" }, { "type": "transport-cc", "parameter": "" },
                                { "type": "ccm", "parameter": "fir" }, { "type": "nack", "parameter": "" }, { "type": "nack", "parameter": "pli" } ] },
            { "mimeType": "video/rtx", "kind": "video", "preferredPayloadType": 106, "clockRate": 90000, "parameters": { "apt": 105 }, "rtcpFeedback": [] }
          ],
          "headerExtensions": [
            { "kind": "audio", "uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "preferredId": 1, "preferredEncrypt": false, "direction": "sendrecv" },
            { "kind": "video", "uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "preferredId": 1, "preferredEncrypt": false, "direction": "sendrecv" },
            { "kind": "audio", "uri": "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", "preferredId": 4, "preferredEncrypt": false, "direction": "sendrecv" },
            { "kind": "video", "uri": "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", "preferredId": 4, "preferredEncrypt": false, "direction": "sendrecv" },
            { "kind": "video", "uri": "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", "preferredId": 5, "preferredEncrypt": false, "direction": "sendrecv" },
            { "kind": "audio", "uri": "urn:ietf:params:rtp-hdrext:ssrc-audio-level", "preferredId": 10, "preferredEncrypt": false, "direction": "sendrecv" },
            { "kind": "video", "uri": "urn:3gpp:video-orientation", "preferredId": 11, "preferredEncrypt": false, "direction": "sendrecv" },
            { "kind": "video", "uri": "urn:ietf:params:rtp-hdrext:toffset", "preferredId": 12, "preferredEncrypt": false, "direction": "sendrecv" },
            { "kind": "video", "uri": "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay", "preferredId": 14, "preferredEncrypt": false, "direction": "sendrecv" }
          ]
        }
        """

    /// §6.5 audio INIT_PRODUCER payload.
    static let audioProducer = """
        {
          "type": "audio", "kind": "audio",
          "rtpParameters": {
            "mid": "0",
            "codecs": [ { "mimeType": "audio/opus", "payloadType": 111, "clockRate": 48000, "channels": 2,
                          "parameters": { "minptime": 10, "useinbandfec": 1 },
                          "rtcpFeedback": [ { "type": "transport-cc", "parameter": "" }, { "type": "nack", "parameter": "" } ] } ],
            "headerExtensions": [
              { "uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "id": 4, "encrypt": false, "parameters": {} },
              { "uri": "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", "id": 2, "encrypt": false, "parameters": {} },
              { "uri": "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", "id": 3, "encrypt": false, "parameters": {} },
              { "uri": "urn:ietf:params:rtp-hdrext:ssrc-audio-level", "id": 1, "encrypt": false, "parameters": {} }
            ],
            "encodings": [ { "ssrc": 3841247884, "dtx": false } ],
            "rtcp": { "cname": "tn3kPyX+njvlMrR7", "reducedSize": true }
          }
        }
        """

    /// §6.5 camera INIT_PRODUCER payload (Chrome ≥ 111, simulcast).
    static let cameraProducer = """
        {
          "type": "camera", "kind": "video",
          "rtpParameters": {
            "mid": "1",
            "codecs": [
              { "mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000, "parameters": {},
                "rtcpFeedback": [ { "type": "goog-remb", "parameter": "" }, { "type": "transport-cc", "parameter": "" },
                                  { "type": "ccm", "parameter": "fir" }, { "type": "nack", "parameter": "" }, { "type": "nack", "parameter": "pli" } ] },
              { "mimeType": "video/rtx", "payloadType": 97, "clockRate": 90000, "parameters": { "apt": 96 }, "rtcpFeedback": [] }
            ],
            "headerExtensions": [
              { "uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "id": 4, "encrypt": false, "parameters": {} },
              { "uri": "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id", "id": 10, "encrypt": false, "parameters": {} },
              { "uri": "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id", "id": 11, "encrypt": false, "parameters": {} },
              { "uri": "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", "id": 2, "encrypt": false, "parameters": {} },
              { "uri": "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", "id": 3, "encrypt": false, "parameters": {} },
              { "uri": "urn:3gpp:video-orientation", "id": 13, "encrypt": false, "parameters": {} },
              { "uri": "urn:ietf:params:rtp-hdrext:toffset", "id": 14, "encrypt": false, "parameters": {} },
              { "uri": "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay", "id": 5, "encrypt": false, "parameters": {} }
            ],
            "encodings": [
              { "active": true, "scaleResolutionDownBy": 4, "maxBitrate": 1000000, "rid": "r1", "scalabilityMode": "L1T3", "dtx": false },
              { "active": true, "scaleResolutionDownBy": 2, "maxBitrate": 2000000, "rid": "r2", "scalabilityMode": "L1T3", "dtx": false },
              { "active": true, "scaleResolutionDownBy": 1, "maxBitrate": 4000000, "rid": "r3", "scalabilityMode": "L1T3", "dtx": false }
            ],
            "rtcp": { "cname": "", "reducedSize": true }
          }
        }
        """

    /// §6.6 audio consumer.
    static let audioConsumer = """
        {
          "codecs": [ { "mimeType": "audio/opus", "payloadType": 100, "clockRate": 48000, "channels": 2,
                        "parameters": { "minptime": 10, "useinbandfec": 1 }, "rtcpFeedback": [] } ],
          "headerExtensions": [
            { "uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "id": 1, "encrypt": false, "parameters": {} },
            { "uri": "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", "id": 4, "encrypt": false, "parameters": {} },
            { "uri": "urn:ietf:params:rtp-hdrext:ssrc-audio-level", "id": 10, "encrypt": false, "parameters": {} }
          ],
          "encodings": [ { "ssrc": 513487261 } ],
          "rtcp": { "cname": "tn3kPyX+njvlMrR7", "reducedSize": true },
          "mid": "0"
        }
        """

    /// §6.6 video consumer.
    static let videoConsumer = """
        {
          "codecs": [
            { "mimeType": "video/VP8", "payloadType": 101, "clockRate": 90000, "parameters": {},
              "rtcpFeedback": [ { "type": "transport-cc", "parameter": "" }, { "type": "ccm", "parameter": "fir" },
                                { "type": "nack", "parameter": "" }, { "type": "nack", "parameter": "pli" } ] },
            { "mimeType": "video/rtx", "payloadType": 102, "clockRate": 90000, "parameters": { "apt": 101 }, "rtcpFeedback": [] }
          ],
          "headerExtensions": [
            { "uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "id": 1, "encrypt": false, "parameters": {} },
            { "uri": "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", "id": 4, "encrypt": false, "parameters": {} },
            { "uri": "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", "id": 5, "encrypt": false, "parameters": {} },
            { "uri": "urn:3gpp:video-orientation", "id": 11, "encrypt": false, "parameters": {} },
            { "uri": "urn:ietf:params:rtp-hdrext:toffset", "id": 12, "encrypt": false, "parameters": {} },
            { "uri": "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay", "id": 14, "encrypt": false, "parameters": {} }
          ],
          "encodings": [ { "ssrc": 722339140, "rtx": { "ssrc": 722339141 }, "scalabilityMode": "L3T3", "maxBitrate": 4000000 } ],
          "rtcp": { "cname": "tn3kPyX+njvlMrR7", "reducedSize": true },
          "mid": "1"
        }
        """

    static func parse(_ text: String) -> JSONValue {
        guard let value = JSONValue.parse(Array(text.utf8)) else {
            Issue.record("spec example does not parse")
            return .null
        }
        return value
    }
}

@Suite struct ORTCJSONTests {
    static let router = ORTC.routerCapabilities(audioCodecs: ORTC.defaultAudioCodecNames, videoCodecs: ORTC.defaultVideoCodecNames)

    @Test func routerCapabilitiesJSONMatchesSpec() {
        let json = Self.router.json
        #expect(json["codecs"] == SpecJSON.parse(SpecJSON.routerCodecs))
        #expect(json["headerExtensions"] == SpecJSON.parse(SpecJSON.routerHeaderExtensions))
        // Value types survive into the text: numbers stay numbers, profile-level-id stays a string.
        let text = json.jsonText
        #expect(text.contains(#""apt":101"#))
        #expect(text.contains(#""profile-id":2"#))
        #expect(text.contains(#""packetization-mode":1"#))
        #expect(text.contains(#""profile-level-id":"640028""#))
        #expect(text.contains(#""preferredPayloadType":100"#))
        #expect(!text.contains("101.0"))
    }

    @Test func routerCapabilitiesRoundTrip() throws {
        #expect(try RTPCapabilities(json: Self.router.json) == Self.router)
        #expect(try RTPCapabilities(json: SpecJSON.parse("{" + #""codecs":"# + SpecJSON.routerCodecs + "}")).codecs == Self.router.codecs)
    }

    @Test func chromeReplyParses() throws {
        let caps = try RTPCapabilities(json: SpecJSON.parse(SpecJSON.chromeCapabilities))
        #expect(caps.codecs.count == 9)
        #expect(caps.codecs[0] == RTPCodecCapability(kind: .audio, mimeType: "audio/opus", preferredPayloadType: 100, clockRate: 48000, channels: 2,
                                                     parameters: ["minptime": 10, "useinbandfec": 1],
                                                     rtcpFeedback: [RTCPFeedback(type: "transport-cc"), RTCPFeedback(type: "nack")]))
        #expect(caps.codecs[4].parameters["apt"] == .number(101))
        #expect(caps.codecs[7].parameters["profile-level-id"] == .string("64001f"))
        #expect(caps.codecs[7].channels == nil)
        #expect(caps.headerExtensions.count == 9)
        #expect(caps.headerExtensions[4] == RTPHeaderExtensionCapability(kind: .video, uri: ORTC.URI.transportWideCC, preferredID: 5))
        #expect(try ORTC.validateCapabilities(caps) == caps)
    }

    @Test func producersParse() throws {
        let audio = try RTPParameters(json: SpecJSON.parse(SpecJSON.audioProducer)["rtpParameters"] ?? .null)
        #expect(audio == RTPParameters(
            mid: "0",
            codecs: [RTPCodecParameters(mimeType: "audio/opus", payloadType: 111, clockRate: 48000, channels: 2,
                                        parameters: ["minptime": 10, "useinbandfec": 1],
                                        rtcpFeedback: [RTCPFeedback(type: "transport-cc"), RTCPFeedback(type: "nack")])],
            headerExtensions: [.init(uri: ORTC.URI.mid, id: 4), .init(uri: ORTC.URI.absSendTime, id: 2),
                               .init(uri: ORTC.URI.transportWideCC, id: 3), .init(uri: ORTC.URI.audioLevel, id: 1)],
            encodings: [RTPEncodingParameters(ssrc: 3_841_247_884, dtx: false)],
            rtcpCNAME: "tn3kPyX+njvlMrR7", rtcpReducedSize: true))
        let camera = try RTPParameters(json: SpecJSON.parse(SpecJSON.cameraProducer)["rtpParameters"] ?? .null)
        #expect(camera.mid == "1")
        #expect(camera.codecs.map(\.payloadType) == [96, 97])
        #expect(camera.codecs[1].parameters == ["apt": 96])
        #expect(camera.headerExtensions.map(\.id) == [4, 10, 11, 2, 3, 13, 14, 5])
        #expect(camera.encodings[2] == RTPEncodingParameters(rid: "r3", scalabilityMode: "L1T3", maxBitrate: 4_000_000,
                                                             scaleResolutionDownBy: 1, active: true, dtx: false))
        #expect(camera.rtcpCNAME == "")
        // Round trip through the output form.
        #expect(try RTPParameters(json: camera.json) == camera)
        #expect(try RTPParameters(json: audio.json) == audio)
    }

    /// Full chain: router caps → INIT_PRODUCER → mapping → consumable → INIT_CONSUMER, against §6.6.
    @Test func fullChainGivesSpecConsumers() throws {
        let router = try RTPCapabilities(json: Self.router.json)   // what the client was sent
        let chrome = try RTPCapabilities(json: SpecJSON.parse(SpecJSON.chromeCapabilities))
        var cname = ProducerCNAME(fallback: "unused00")
        func consumable(_ payload: String, kind: MediaKind, ssrcBase: UInt32) throws -> RTPParameters {
            var p = try ORTC.validateParameters(try RTPParameters(json: SpecJSON.parse(payload)["rtpParameters"] ?? .null))
            p.rtcpCNAME = cname.resolve(offered: p.rtcpCNAME)
            let mapping = try ORTC.producerMapping(parameters: p, kind: kind, router: router, ssrcBase: ssrcBase)
            return ORTC.consumableParameters(kind: kind, producer: p, router: router, mapping: mapping)
        }
        let audio = try consumable(SpecJSON.audioProducer, kind: .audio, ssrcBase: 111_111_111)
        let video = try consumable(SpecJSON.cameraProducer, kind: .video, ssrcBase: 222_222_222)
        #expect(ORTC.canConsume(audio, capabilities: chrome))
        #expect(ORTC.canConsume(video, capabilities: chrome))
        let audioConsumer = try ORTC.consumerParameters(consumable: audio, kind: .audio, remoteCapabilities: chrome, ssrc: 513_487_261, mid: "0")
        let videoConsumer = try ORTC.consumerParameters(consumable: video, kind: .video, remoteCapabilities: chrome, ssrc: 722_339_140, mid: "1")
        #expect(audioConsumer.json == SpecJSON.parse(SpecJSON.audioConsumer))
        #expect(videoConsumer.json == SpecJSON.parse(SpecJSON.videoConsumer))
        #expect(videoConsumer.json.jsonText.contains(#""rtx":{"ssrc":722339141}"#))
    }

    // MARK: §6.8 type rules

    static func codecCaps(_ codec: String) -> String { #"{"codecs":["# + codec + "]}" }
    static let opus = #""mimeType":"audio/opus","preferredPayloadType":100,"clockRate":48000"#

    @Test(arguments: [
        // RTX apt as a string.
        (#"{"codecs":[{"mimeType":"video/rtx","preferredPayloadType":102,"clockRate":90000,"parameters":{"apt":"101"}}]}"#, "codecs[0].parameters.apt"),
        // Parameter values must be strings or numbers.
        (codecCaps("{" + opus + #","parameters":{"stereo":true}}"#), "codecs[0].parameters.stereo"),
        (codecCaps("{" + opus + #","parameters":{"stereo":null}}"#), "codecs[0].parameters.stereo"),
        (codecCaps("{" + opus + #","parameters":{"x":{}}}"#), "codecs[0].parameters.x"),
        // clockRate / preferredPayloadType must be numbers.
        (codecCaps(#"{"mimeType":"audio/opus","preferredPayloadType":100,"clockRate":"48000"}"#), "codecs[0].clockRate"),
        (codecCaps(#"{"mimeType":"audio/opus","preferredPayloadType":"100","clockRate":48000}"#), "codecs[0].preferredPayloadType"),
        (codecCaps(#"{"mimeType":"audio/opus","clockRate":48000}"#), "codecs[0].preferredPayloadType"),
        (codecCaps(#"{"mimeType":"audio/opus","preferredPayloadType":300,"clockRate":48000}"#), "codecs[0].preferredPayloadType"),
        (codecCaps(#"{"mimeType":"audio/opus","preferredPayloadType":100.5,"clockRate":48000}"#), "codecs[0].preferredPayloadType"),
        // MIME type.
        (codecCaps(#"{"mimeType":"opus","preferredPayloadType":100,"clockRate":48000}"#), "codecs[0].mimeType"),
        (codecCaps(#"{"mimeType":"text/plain","preferredPayloadType":100,"clockRate":48000}"#), "codecs[0].mimeType"),
        (codecCaps(#"{"preferredPayloadType":100,"clockRate":48000}"#), "codecs[0].mimeType"),
        // Feedback needs a type.
        (codecCaps("{" + opus + #","rtcpFeedback":[{"parameter":"pli"}]}"#), "codecs[0].rtcpFeedback[0].type"),
        (codecCaps("{" + opus + #","rtcpFeedback":[{"type":""}]}"#), "codecs[0].rtcpFeedback[0].type"),
        // Header extensions.
        (#"{"headerExtensions":[{"kind":"data","uri":"x","preferredId":1}]}"#, "headerExtensions[0].kind"),
        (#"{"headerExtensions":[{"uri":"x","preferredId":1}]}"#, "headerExtensions[0].kind"),
        (#"{"headerExtensions":[{"kind":"audio","uri":"x","preferredId":"1"}]}"#, "headerExtensions[0].preferredId"),
        (#"{"headerExtensions":[{"kind":"audio","uri":"","preferredId":1}]}"#, "headerExtensions[0].uri"),
        (#"{"headerExtensions":[{"kind":"audio","uri":"x","preferredId":1,"preferredEncrypt":"yes"}]}"#, "headerExtensions[0].preferredEncrypt"),
        (#"{"headerExtensions":[{"kind":"audio","uri":"x","preferredId":1,"direction":5}]}"#, "headerExtensions[0].direction"),
        // Containers.
        (#"{"codecs":{}}"#, "codecs"), (#"[]"#, ""), (#"{"headerExtensions":"x"}"#, "headerExtensions"),
    ])
    func invalidCapabilities(_ json: String, _ field: String) {
        #expect { try RTPCapabilities(json: SpecJSON.parse(json)) } throws: { error in
            guard case ORTCError.invalid(let f, _) = error else { return false }
            return f == field
        }
    }

    @Test func capabilityDefaults() throws {
        let caps = try RTPCapabilities(json: SpecJSON.parse(#"""
            {"codecs":[{"kind":"video","mimeType":"audio/opus","preferredPayloadType":100,"clockRate":48000,"rtcpFeedback":[{"type":"nack"}]},
                       {"mimeType":"video/VP8","preferredPayloadType":101,"clockRate":90000,"channels":2,"rtcpFeedback":"bogus"}],
             "headerExtensions":[{"kind":"audio","uri":"urn:x","preferredId":3}]}
            """#))
        // kind comes from the MIME type; opus without channels is mono (and would no longer match stereo opus).
        #expect(caps.codecs[0].kind == .audio)
        #expect(caps.codecs[0].channels == 1)
        #expect(caps.codecs[0].parameters == [:])
        #expect(caps.codecs[0].rtcpFeedback == [RTCPFeedback(type: "nack", parameter: "")])
        #expect(caps.codecs[1].channels == nil)
        #expect(caps.codecs[1].rtcpFeedback == [])
        #expect(caps.headerExtensions == [RTPHeaderExtensionCapability(kind: .audio, uri: "urn:x", preferredID: 3, preferredEncrypt: false, direction: .sendrecv)])
        #expect(try RTPCapabilities(json: SpecJSON.parse("{}")) == RTPCapabilities())
        // level-asymmetry-allowed may be "1" or 1; the type is kept.
        let h264 = try RTPCapabilities(json: SpecJSON.parse(Self.codecCaps(
            #"{"mimeType":"video/H264","preferredPayloadType":105,"clockRate":90000,"parameters":{"level-asymmetry-allowed":"1","profile-level-id":"42e01f"}}"#)))
        #expect(h264.codecs[0].parameters == ["level-asymmetry-allowed": "1", "profile-level-id": "42e01f"])
    }

    static let minimalCodecs = #""codecs":[{"mimeType":"audio/opus","payloadType":111,"clockRate":48000}]"#

    @Test(arguments: [
        (#"{}"#, "codecs"),
        (#"{"codecs":{}}"#, "codecs"),
        (#"{"codecs":[{"mimeType":"audio/opus","clockRate":48000}]}"#, "codecs[0].payloadType"),
        (#"{"codecs":[{"mimeType":"audio/opus","payloadType":"111","clockRate":48000}]}"#, "codecs[0].payloadType"),
        (#"{"codecs":[{"mimeType":"video/rtx","payloadType":97,"clockRate":90000,"parameters":{"apt":"96"}}]}"#, "codecs[0].parameters.apt"),
        ("{" + minimalCodecs + #","mid":5}"#, "mid"),
        ("{" + minimalCodecs + #","headerExtensions":[{"uri":"urn:x","id":"4"}]}"#, "headerExtensions[0].id"),
        ("{" + minimalCodecs + #","headerExtensions":[{"id":4}]}"#, "headerExtensions[0].uri"),
        ("{" + minimalCodecs + #","encodings":[{"ssrc":"1234"}]}"#, "encodings[0].ssrc"),
        ("{" + minimalCodecs + #","encodings":[{"ssrc":-1}]}"#, "encodings[0].ssrc"),
        ("{" + minimalCodecs + #","encodings":[{"rid":1}]}"#, "encodings[0].rid"),
        ("{" + minimalCodecs + #","encodings":[{"rtx":{}}]}"#, "encodings[0].rtx.ssrc"),
        ("{" + minimalCodecs + #","encodings":[{"rtx":{"ssrc":"5"}}]}"#, "encodings[0].rtx.ssrc"),
        ("{" + minimalCodecs + #","encodings":[{"scalabilityMode":3}]}"#, "encodings[0].scalabilityMode"),
        ("{" + minimalCodecs + #","encodings":"x"}"#, "encodings"),
        ("{" + minimalCodecs + #","rtcp":{"cname":5}}"#, "rtcp.cname"),
        ("{" + minimalCodecs + #","rtcp":"x"}"#, "rtcp"),
    ])
    func invalidParameters(_ json: String, _ field: String) {
        #expect { try RTPParameters(json: SpecJSON.parse(json)) } throws: { error in
            guard case ORTCError.invalid(let f, _) = error else { return false }
            return f == field
        }
    }

    @Test func parameterDefaults() throws {
        let p = try RTPParameters(json: SpecJSON.parse("{" + Self.minimalCodecs +
            #","mid":"","encodings":[{"ssrc":0,"rid":"","rtx":null,"dtx":"no"}],"rtcp":{"reducedSize":false}}"#))
        #expect(p.codecs[0].channels == 1)
        #expect(p.mid == "")
        #expect(p.encodings == [RTPEncodingParameters(ssrc: 0, rid: "", dtx: false)])
        #expect(p.rtcpCNAME == nil)
        #expect(p.rtcpReducedSize == true)
        #expect(p.headerExtensions == [])
        // Falsy wrong-typed optional values are ignored like mediasoup does (`if (x && typeof x !== …)`).
        let q = try RTPParameters(json: SpecJSON.parse("{" + Self.minimalCodecs + #","mid":0,"rtcp":{"cname":false}}"#))
        #expect(q.mid == nil)
        #expect(q.rtcpCNAME == nil)
        // The output form: no mid when absent, rtcp always present.
        #expect(q.json["mid"] == nil)
        #expect(q.json["rtcp"] == .object(["reducedSize": .bool(true)]))
    }
}
