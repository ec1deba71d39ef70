@testable import App
import DTLS
import ICE
import SFU
import SFUTestSupport
import Testing

/// The connect flow of docs/protocol.md §5.1 through the hub, in virtual time: INIT_TRANSPORTS, CONNECT_*,
/// INIT_PRODUCER, INIT_CONSUMER, pause/resume, PING and the timers.
@Suite struct SessionHubMediaTests {
    static let chromeCapabilities = #"""
    {"codecs":[
      {"mimeType":"audio/opus","kind":"audio","preferredPayloadType":100,"clockRate":48000,"channels":2,
       "parameters":{"minptime":10,"useinbandfec":1},"rtcpFeedback":[{"type":"transport-cc","parameter":""},{"type":"nack","parameter":""}]},
      {"mimeType":"video/VP8","kind":"video","preferredPayloadType":101,"clockRate":90000,"parameters":{},
       "rtcpFeedback":[{"type":"goog-remb","parameter":""},{"type":"transport-cc","parameter":""},{"type":"ccm","parameter":"fir"},
                       {"type":"nack","parameter":""},{"type":"nack","parameter":"pli"}]},
      {"mimeType":"video/rtx","kind":"video","preferredPayloadType":102,"clockRate":90000,"parameters":{"apt":101},"rtcpFeedback":[]}],
     "headerExtensions":[
      {"kind":"audio","uri":"urn:ietf:params:rtp-hdrext:sdes:mid","preferredId":1,"preferredEncrypt":false,"direction":"sendrecv"},
      {"kind":"video","uri":"urn:ietf:params:rtp-hdrext:sdes:mid","preferredId":1,"preferredEncrypt":false,"direction":"sendrecv"},
      {"kind":"audio","uri":"http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time","preferredId":4,"preferredEncrypt":false,"direction":"sendrecv"},
      {"kind":"video","uri":"http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time","preferredId":4,"preferredEncrypt":false,"direction":"sendrecv"},
      {"kind":"video","uri":"http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01","preferredId":5,"preferredEncrypt":false,"direction":"sendrecv"},
      {"kind":"audio","uri":"urn:ietf:params:rtp-hdrext:ssrc-audio-level","preferredId":10,"preferredEncrypt":false,"direction":"sendrecv"}]}
    """#

    static let audioProducer = #"""
    {"type":"audio","kind":"audio","rtpParameters":{"mid":"0",
      "codecs":[{"mimeType":"audio/opus","payloadType":111,"clockRate":48000,"channels":2,"parameters":{"minptime":10,"useinbandfec":1},
                 "rtcpFeedback":[{"type":"transport-cc","parameter":""},{"type":"nack","parameter":""}]}],
      "headerExtensions":[{"uri":"urn:ietf:params:rtp-hdrext:sdes:mid","id":4,"encrypt":false,"parameters":{}},
                          {"uri":"urn:ietf:params:rtp-hdrext:ssrc-audio-level","id":1,"encrypt":false,"parameters":{}}],
      "encodings":[{"ssrc":3841247884,"dtx":false}],"rtcp":{"cname":"tn3kPyX+njvlMrR7","reducedSize":true}}}
    """#

    static let cameraProducer = #"""
    {"type":"camera","kind":"video","rtpParameters":{"mid":"1",
      "codecs":[{"mimeType":"video/VP8","payloadType":96,"clockRate":90000,"parameters":{},
                 "rtcpFeedback":[{"type":"goog-remb","parameter":""},{"type":"transport-cc","parameter":""},{"type":"ccm","parameter":"fir"},
                                 {"type":"nack","parameter":""},{"type":"nack","parameter":"pli"}]},
                {"mimeType":"video/rtx","payloadType":97,"clockRate":90000,"parameters":{"apt":96},"rtcpFeedback":[]}],
      "headerExtensions":[{"uri":"urn:ietf:params:rtp-hdrext:sdes:mid","id":4,"encrypt":false,"parameters":{}},
                          {"uri":"urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id","id":10,"encrypt":false,"parameters":{}},
                          {"uri":"urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id","id":11,"encrypt":false,"parameters":{}},
                          {"uri":"http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01","id":3,"encrypt":false,"parameters":{}}],
      "encodings":[{"active":true,"scaleResolutionDownBy":4,"maxBitrate":1000000,"rid":"r1","scalabilityMode":"L1T3","dtx":false},
                   {"active":true,"scaleResolutionDownBy":2,"maxBitrate":2000000,"rid":"r2","scalabilityMode":"L1T3","dtx":false},
                   {"active":true,"scaleResolutionDownBy":1,"maxBitrate":4000000,"rid":"r3","scalabilityMode":"L1T3","dtx":false}],
      "rtcp":{"cname":"","reducedSize":true}}}
    """#

    static func environment() -> SessionHub.Environment {
        SessionHub.Environment(
            routerCapabilities: ORTC.routerCapabilities(audioCodecs: ["opus", "PCMU", "PCMA"], videoCodecs: ["VP8", "VP9", "H264", "H264_1_2cb", "H264_1_3ch"]),
            producerOptionsByKind: .object([:]), announcedAddress: "203.0.113.10", udpPort: 40003, tcpPort: nil,
            fingerprints: [DTLSFingerprint(algorithm: "sha-256", value: "AB:CD")], maxBitrateIn: 8_000_000, maxBitrateOut: 10_000_000)
    }

    /// A hub, its outputs split by kind, and helpers to find requests.
    struct Harness {
        var hub = SessionHub(environment: SessionHubMediaTests.environment(), random: SplitMix64(seed: 42))
        var now: Duration = .zero

        static func sent(_ out: [SessionHub.Output], to connection: UInt64) -> [JSONValue] {
            out.compactMap { if case .send(connection, let text) = $0, case .array(let items)? = JSONValue.parse(Array(text.utf8)) { return items } else { return nil } }.flatMap { $0 }
        }
        static func media(_ out: [SessionHub.Output]) -> [MediaCommand] {
            out.compactMap { if case .media(let m) = $0 { return m } else { return nil } }
        }
        static func request(_ name: String, in items: [JSONValue]) -> (id: String, payload: JSONValue?)? {
            for item in items {
                if case .string(name)? = item["message"]?["name"], case .string(let id)? = item["needResponse"] { return (id, item["message"]?["payload"]) }
            }
            return nil
        }
        mutating func frame(_ text: String, from c: UInt64) -> [SessionHub.Output] { hub.handleFrame(Array(text.utf8), from: c, now: now) }
        mutating func answer(_ id: String, _ message: String? = nil, from c: UInt64) -> [SessionHub.Output] {
            frame(message.map { #"[{"responseTo":"\#(id)","message":\#($0)}]"# } ?? #"[{"responseTo":"\#(id)"}]"#, from: c)
        }
        /// Joins and answers INIT_TRANSPORTS with Chrome's capabilities.
        mutating func connect(_ c: UInt64, session: Double) -> [SessionHub.Output] {
            let joined = hub.join(channel: "ch", sessionID: .number(session), connection: c, capacity: 10, webRTC: true, now: now)
            let (id, _) = Self.request("INIT_TRANSPORTS", in: Self.sent(joined, to: c))!
            return joined + answer(id, SessionHubMediaTests.chromeCapabilities, from: c)
        }
    }

    @Test func initTransportsCarriesTheRouterAndTwoTransportConfigs() throws {
        var h = Harness()
        let out = h.hub.join(channel: "ch", sessionID: .number(57), connection: 1, capacity: 10, webRTC: true, now: .zero)
        let creates = Harness.media(out).compactMap { if case .createTransport(let id, let ice, _, _) = $0 { return (id, ice) } else { return nil } }
        #expect(creates.count == 2)
        let (_, payload) = try #require(Harness.request("INIT_TRANSPORTS", in: Harness.sent(out, to: 1)))
        #expect(payload?["capabilities"] == h.hub.environment!.routerCapabilities.json)
        for (key, index) in [("stcConfig", 0), ("ctsConfig", 1)] {
            let config = try #require(payload?[key])
            #expect(config["id"] == .string(creates[index].0))
            #expect(config["iceParameters"]?["usernameFragment"] == .string(creates[index].1.usernameFragment))
            #expect(config["iceParameters"]?["iceLite"] == .bool(true))
            guard case .array(let candidates)? = config["iceCandidates"] else { Issue.record("no candidates"); return }
            #expect(candidates.first?["ip"] == "203.0.113.10" && candidates.first?["address"] == "203.0.113.10")
            #expect(candidates.first?["port"] == .number(40003) && candidates.first?["protocol"] == "udp")
            #expect(config["dtlsParameters"]?["role"] == "auto" && config["sctpParameters"] == nil)
        }
        #expect(creates[0].1.usernameFragment.count == 32 && creates[0].1.usernameFragment != creates[1].1.usernameFragment)
    }

    @Test func unansweredInitTransportsTimesOutWith4107AfterTenSeconds() {
        var h = Harness()
        _ = h.hub.join(channel: "ch", sessionID: .number(1), connection: 1, capacity: 10, webRTC: true, now: .zero)
        #expect(h.hub.timeout(now: .milliseconds(9_999)).allSatisfy { if case .close = $0 { return false } else { return true } })
        let out = h.hub.timeout(now: .seconds(10))
        #expect(out.contains(.close(1, .timeout)))
        #expect(Harness.media(out).filter { if case .closeTransport = $0 { return true } else { return false } }.count == 2)
        #expect(h.hub.count(in: "ch") == 0)
    }

    @Test func unusableCapabilitiesCloseWith1011() {
        var h = Harness()
        let joined = h.hub.join(channel: "ch", sessionID: .number(1), connection: 1, capacity: 10, webRTC: true, now: .zero)
        let (id, _) = Harness.request("INIT_TRANSPORTS", in: Harness.sent(joined, to: 1))!
        #expect(h.answer(id, #"{"codecs":[{"mimeType":"nonsense"}]}"#, from: 1).contains(.close(1, .error)))
    }

    @Test func pingEverySixtySecondsAndTimeoutAfterTen() {
        var h = Harness()
        _ = h.connect(1, session: 1)
        #expect(h.hub.nextDeadline == .seconds(60))
        let ping = h.hub.timeout(now: .seconds(60))
        let (id, _) = Harness.request("PING", in: Harness.sent(ping, to: 1))!
        h.now = .seconds(61)
        #expect(h.answer(id, from: 1).isEmpty)
        #expect(!h.hub.timeout(now: .seconds(75)).contains(.close(1, .timeout)))
        _ = h.hub.timeout(now: .seconds(120))   // second PING, never answered
        #expect(h.hub.timeout(now: .seconds(130)).contains(.close(1, .timeout)))
    }

    @Test func connectTransportsOnceEach() {
        var h = Harness()
        _ = h.connect(1, session: 1)
        let dtls = #"{"dtlsParameters":{"role":"client","fingerprints":[{"algorithm":"sha-256","value":"98:3A"}]}}"#
        let first = h.frame(#"[{"message":{"name":"CONNECT_CTS_TRANSPORT","payload":\#(dtls)},"needResponse":"c_0_0"}]"#, from: 1)
        guard case .connectTransport(_, .client, let fps)? = Harness.media(first).first else { Issue.record("no connect"); return }
        #expect(fps == [DTLSFingerprint(algorithm: "sha-256", value: "98:3A")])
        #expect(first.last == .send(1, #"[{"responseTo":"c_0_0"}]"#))
        // connect() already called: no answer; an empty fingerprint list: no answer.
        #expect(h.frame(#"[{"message":{"name":"CONNECT_CTS_TRANSPORT","payload":\#(dtls)},"needResponse":"c_0_1"}]"#, from: 1).isEmpty)
        #expect(h.frame(#"[{"message":{"name":"CONNECT_STC_TRANSPORT","payload":{"dtlsParameters":{"fingerprints":[]}}},"needResponse":"c_0_2"}]"#, from: 1).isEmpty)
        #expect(Harness.media(h.frame(#"[{"message":{"name":"CONNECT_STC_TRANSPORT","payload":\#(dtls)},"needResponse":"c_0_3"}]"#, from: 1)).count == 1)
    }

    @Test func producerIsConsumedByTheOtherSessionWhichResumesAfterAnswering() throws {
        var h = Harness()
        _ = h.connect(1, session: 57)
        _ = h.connect(2, session: 58)
        let produced = h.frame(#"[{"message":{"name":"INIT_PRODUCER","payload":\#(SessionHubMediaTests.audioProducer)},"needResponse":"c_0_1"}]"#, from: 1)
        let reply = try #require(Harness.sent(produced, to: 1).first { $0["responseTo"] == "c_0_1" })
        guard case .string(let producerID)? = reply["message"]?["id"] else { Issue.record("no id"); return }
        let (consumerRequest, payload) = try #require(Harness.request("INIT_CONSUMER", in: Harness.sent(produced, to: 2)))
        #expect(payload?["producerId"] == .string(producerID) && payload?["sessionId"] == .number(57))
        #expect(payload?["kind"] == "audio" && payload?["type"] == "audio" && payload?["active"] == .bool(true))
        let parameters = try #require(payload?["rtpParameters"])
        #expect(parameters["mid"] == "0")
        #expect(parameters["codecs"]?.arrayValue?.first?["payloadType"] == .number(100))
        #expect(parameters["rtcp"]?["cname"] == "tn3kPyX+njvlMrR7")
        // Created paused; forwarding starts only once the client answered.
        #expect(Harness.media(produced).contains { if case .createConsumer = $0 { return true } else { return false } })
        #expect(!Harness.media(produced).contains { if case .setConsumerActive = $0 { return true } else { return false } })
        let answered = h.answer(consumerRequest, from: 2)
        guard case .setConsumerActive(let consumerID, true)? = Harness.media(answered).first else { Issue.record("not resumed"); return }
        #expect(payload?["id"] == .string(consumerID))
        // The producer pauses: the consumer stops; CONSUMPTION_CHANGE resumes are then held by the producer.
        let paused = h.frame(#"[{"message":{"name":"PRODUCTION_CHANGE","payload":{"type":"audio","active":false}}}]"#, from: 1)
        #expect(Harness.media(paused).contains(.setConsumerActive(consumerID, false)))
        #expect(Harness.media(h.frame(#"[{"message":{"name":"CONSUMPTION_CHANGE","payload":{"sessionId":57,"states":{"audio":true}}}}]"#, from: 2)).isEmpty)
        let resumed = h.frame(#"[{"message":{"name":"PRODUCTION_CHANGE","payload":{"type":"audio","active":true}}}]"#, from: 1)
        #expect(Harness.media(resumed).contains(.setConsumerActive(consumerID, true)))
        #expect(Harness.media(h.frame(#"[{"message":{"name":"CONSUMPTION_CHANGE","payload":{"sessionId":57,"states":{"audio":false,"bogus":true}}}}]"#, from: 2))
                == [.setConsumerActive(consumerID, false)])
        // The producer's session leaves: the consumer is closed and SESSION_LEAVE reaches the other.
        h.now = .seconds(5)
        let left = h.hub.leave(connection: 1, now: h.now)
        #expect(Harness.media(left).contains(.closeConsumer(consumerID)))
        #expect(Harness.sent(left, to: 2).contains { $0["message"]?["name"] == "SESSION_LEAVE" })
    }

    @Test func simulcastCameraConsumerIsL3T3WithRTXAndALaterJoinerGetsIt() throws {
        var h = Harness()
        _ = h.connect(1, session: 1)
        let produced = h.frame(#"[{"message":{"name":"INIT_PRODUCER","payload":\#(SessionHubMediaTests.cameraProducer)},"needResponse":"c_0_1"}]"#, from: 1)
        #expect(Harness.sent(produced, to: 1).contains { $0["responseTo"] == "c_0_1" })
        // isCameraOn was set by the producer.
        #expect(h.hub.sessions(in: "ch").first?.infoIsOn("isCameraOn") == true)
        let joined = h.connect(2, session: 2)
        let (_, payload) = try #require(Harness.request("INIT_CONSUMER", in: Harness.sent(joined, to: 2)))
        let encoding = try #require(payload?["rtpParameters"]?["encodings"]?.arrayValue?.first)
        #expect(encoding["scalabilityMode"] == "L3T3" && encoding["maxBitrate"] == .number(4_000_000))
        guard case .number(let ssrc)? = encoding["ssrc"] else { Issue.record("no ssrc"); return }
        #expect(encoding["rtx"]?["ssrc"] == .number(ssrc + 1))
        #expect(payload?["rtpParameters"]?["codecs"]?.arrayValue?.map { $0["payloadType"] } == [.number(101), .number(102)])
    }

    @Test func aTimedOutInitConsumerIsRetriedWithANewMidAndTooManyErrorsClose() throws {
        var h = Harness()
        _ = h.connect(1, session: 1)
        _ = h.connect(2, session: 2)
        let produced = h.frame(#"[{"message":{"name":"INIT_PRODUCER","payload":\#(SessionHubMediaTests.audioProducer)},"needResponse":"c_0_1"}]"#, from: 1)
        #expect(Harness.request("INIT_CONSUMER", in: Harness.sent(produced, to: 2))?.payload?["rtpParameters"]?["mid"] == "0")
        var mids: [JSONValue?] = []
        var closedWithError = false
        var t = Duration.zero
        for _ in 0..<80 where !closedWithError {
            t += .seconds(1)
            let out = h.hub.timeout(now: t)
            if let request = Harness.request("INIT_CONSUMER", in: Harness.sent(out, to: 2)) { mids.append(request.payload?["rtpParameters"]?["mid"]) }
            closedWithError = out.contains(.close(2, .error))
        }
        #expect(mids.first == "1")   // mids are never reused
        #expect(closedWithError)      // the 7th failure closes the session with 1011
    }
}

extension JSONValue {
    var arrayValue: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
}
