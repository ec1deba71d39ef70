import Foundation
import Testing
@testable import App

private let keyBytes = NodeBase64.decode("u6bsUQEWrHdKIuYplirRnbBmLbrKV5PxKG7DtA71mng=")
private let nowMs: Int64 = 1_764_000_000_123
private let nowS: Int64 = 1_764_000_000

private func token(_ claims: String, key: [UInt8] = keyBytes) -> String {
    JWTSigner.sign(claimsJSON: claims, keyBytes: key)
}

private func makeAPI(proxy: Bool = false) -> HTTPAPI {
    HTTPAPI(publicIP: "203.0.113.10", port: 8070, proxy: proxy, authKeyBytes: keyBytes)
}

private func get(_ uri: String, auth: String? = nil, headers: [(name: String, value: String)] = [],
                 peer: String = "127.0.0.1") -> APIRequest {
    APIRequest(method: "GET", uri: uri, headers: (auth.map { [("Authorization", $0)] } ?? []) + headers, peerAddress: peer)
}

private func parseObject(_ response: APIResponse) -> JSONValue? { JSONValue.parse(response.body) }

@Suite struct HTTPAPITests {
    @Test(arguments: [
        ("GET", "/v1/noop", 200), ("GET", "/v1/stats", 200), ("GET", "/v1/channel", 401),
        ("POST", "/v1/disconnect", 422),
        ("POST", "/v1/channel", 404), ("POST", "/v1/noop", 404), ("POST", "/v1/stats", 404),
        ("GET", "/v1/disconnect", 404), ("GET", "/", 404), ("GET", "/v1/channel/", 404), ("GET", "/v1/NOOP", 404),
        ("GET", "/v1/src/server.js", 404), ("GET", "/v2/noop", 404), ("GET", "/v1", 404), ("GET", "/v1/noop/x", 404),
        ("OPTIONS", "/v1/noop", 404), ("OPTIONS", "/v1/channel", 404), ("OPTIONS", "*", 404),
        ("PUT", "/v1/noop", 405), ("DELETE", "/v1/channel", 405), ("HEAD", "/v1/noop", 405),
        ("PATCH", "/nowhere", 405), ("CONNECT", "/v1/noop", 405),
        ("GET", "/v1/noop?x=1", 200), ("GET", "/v1/noop#frag", 200), ("GET", "/v1/./noop", 200),
        ("GET", "/v1/x/../noop", 200), ("GET", "http://example.com/v1/noop", 200), ("GET", "/v1\\noop", 200),
    ] as [(String, String, Int)])
    func routing(method: String, uri: String, status: Int) {
        var api = makeAPI()
        let (response, _) = api.handle(APIRequest(method: method, uri: uri), nowMilliseconds: nowMs)
        #expect(response.status == status)
        if status != 200 { #expect(response.body.isEmpty) }
        #expect(response.headers.keys.allSatisfy { !$0.lowercased().hasPrefix("access-control") })
    }

    @Test func noop() {
        var api = makeAPI()
        let (response, _) = api.handle(get("/v1/noop"), nowMilliseconds: nowMs)
        #expect(response.bodyString == #"{"result":"ok"}"#)
        #expect(response.headers == ["content-type": "application/json"])
    }

    @Test func statsEmptyAndWithChannels() {
        var api = makeAPI()
        #expect(api.handle(get("/v1/stats"), nowMilliseconds: nowMs).0.bodyString == "[]")
        _ = api.handle(get("/v1/channel?webRTC=false", auth: "jwt " + token(#"{"iss":"a"}"#)), nowMilliseconds: 1_736_241_164_103)
        _ = api.handle(get("/v1/channel", auth: "jwt " + token(#"{"iss":"b"}"#)), nowMilliseconds: nowMs)
        let (response, _) = api.handle(get("/v1/stats"), nowMilliseconds: nowMs)
        #expect(response.headers == ["content-type": "application/json"])
        guard case .array(let stats)? = JSONValue.parse(response.body), stats.count == 2 else {
            Issue.record("not a 2-element array: \(response.bodyString)"); return
        }
        #expect(stats[0]["createDate"] == .string("2025-01-07T09:12:44.103Z"))
        #expect(stats[0]["remoteAddress"] == .string("127.0.0.1"))
        #expect(stats[0]["webRtcEnabled"] == .bool(false))
        #expect(stats[1]["webRtcEnabled"] == .bool(true))
        #expect(stats[0]["sessionsStats"] == JSONValue.parse(Array(#"{"count":0,"cameraCount":0,"screenCount":0,"incomingBitRate":{"audio":0,"camera":0,"screen":0,"total":0}}"#.utf8)))
        #expect(response.bodyString.hasPrefix(#"[{"createDate":"2025-01-07T09:12:44.103Z","uuid":""#))
    }

    @Test func channelSuccess() {
        var api = makeAPI()
        let (response, _) = api.handle(get("/v1/channel", auth: "jwt " + token(#"{"iss":"https://odoo:channel:1"}"#)), nowMilliseconds: nowMs)
        #expect(response.status == 200)
        #expect(response.headers == ["content-type": "application/json"])
        guard case .object(let body)? = parseObject(response), case .string(let uuid)? = body["uuid"] else {
            Issue.record("bad body \(response.bodyString)"); return
        }
        #expect(Set(body.keys) == ["uuid", "url"])
        #expect(body["url"] == .string("http://203.0.113.10:8070"))
        #expect(uuid.count == 36 && uuid == uuid.lowercased())
        #expect(Array(uuid)[14] == "4")
        let channel = api.registry.channel(uuid: uuid)
        #expect(channel?.issuer == "https://odoo:channel:1")
        #expect(channel?.webRTC == true)
        #expect(channel?.key == nil)
        #expect(channel?.createdAtMilliseconds == nowMs)
    }

    @Test(arguments: [
        (nil, 401), ("jwt", 401), ("jwt ", 401), ("jwt  TOKEN", 401), ("TOKEN", 401),
        ("jwt TOKEN", 200), ("Bearer TOKEN", 200), ("anything TOKEN trailing", 200), ("jwt not.a.token", 500),
    ] as [(String?, Int)])
    func authorizationHeader(header: String?, status: Int) {
        var api = makeAPI()
        let value = header?.replacingOccurrences(of: "TOKEN", with: token(#"{"iss":"a"}"#))
        #expect(api.handle(get("/v1/channel", auth: value), nowMilliseconds: nowMs).0.status == status)
    }

    @Test(arguments: [
        (#"{"iss":"a"}"#, 200), (#"{}"#, 403), (#"{"iss":""}"#, 403), (#"{"iss":null}"#, 403), (#"{"iss":0}"#, 403),
        (#"{"iss":false}"#, 403), (#"{"iss":7}"#, 200), ("5", 403), (#""str""#, 403), ("[]", 403), ("null", 500),
        ("{\"iss\":\"a\",\"exp\":\(nowS - 1)}", 500), ("{\"iss\":\"a\",\"exp\":\(nowS)}", 200),
        ("{\"iss\":\"a\",\"nbf\":\(nowS + 1)}", 500), ("{\"iss\":\"a\",\"iat\":\(nowS + 61)}", 500),
        (#"{"iss":"a","key":5}"#, 500), (#"{"iss":"a","key":""}"#, 200),
    ] as [(String, Int)])
    func channelClaims(claims: String, status: Int) {
        var api = makeAPI()
        let (response, _) = api.handle(get("/v1/channel", auth: "jwt " + token(claims)), nowMilliseconds: nowMs)
        #expect(response.status == status)
        if status != 200 { #expect(response.body.isEmpty && response.headers.isEmpty) }
    }

    @Test func channelRejectsOtherKeysAndAlgorithms() {
        var api = makeAPI()
        let wrongKey = token(#"{"iss":"a"}"#, key: Array(repeating: 1, count: 32))
        #expect(api.handle(get("/v1/channel", auth: "jwt " + wrongKey), nowMilliseconds: nowMs).0.status == 500)
        let none = JWTSigner.sign(claimsJSON: #"{"iss":"a"}"#, headerJSON: #"{"alg":"none"}"#, keyBytes: keyBytes)
        #expect(api.handle(get("/v1/channel", auth: "jwt " + none), nowMilliseconds: nowMs).0.status == 500)
        #expect(api.registry.channels.isEmpty)
    }

    @Test func odoo18TokenCreatesKeyedChannel() throws {
        var api = makeAPI()
        let odoo = "eyJ0eXAiOiAiSldUIiwgImFsZyI6ICJIUzI1NiJ9.eyJpc3MiOiAiaHR0cHM6Ly9vZG9vLmV4YW1wbGUuY29tOmNoYW5uZWw6NDIiLCAia2V5IjogIjJiOGYwYzFlLTRhNWItNGM2ZC04ZTlmLTAxMjM0NTY3ODlhYiIsICJleHAiOiA0MTAyNDQ0ODAwfQ.YstsPkP0fZICbPm1evS2OrA7zTfrTfZfOtJQy0aPXVk"
        let (response, _) = api.handle(get("/v1/channel", auth: "jwt " + odoo), nowMilliseconds: nowMs)
        #expect(response.status == 200)
        let channel = try #require(api.registry.channels.first)
        #expect(channel.key == NodeBase64.decode("2b8f0c1e-4a5b-4c6d-8e9f-0123456789ab"))
        #expect(channel.key?.count == 27)
        #expect(channel.issuer == "https://odoo.example.com:channel:42")
    }

    @Test func idempotencePerRemoteAddressAndIssuer() {
        var api = makeAPI()
        func uuid(_ claims: String, _ query: String = "", peer: String = "127.0.0.1") -> JSONValue? {
            parseObject(api.handle(get("/v1/channel" + query, auth: "jwt " + token(claims), peer: peer), nowMilliseconds: nowMs).0)?["uuid"]
        }
        let first = uuid(#"{"iss":"UUID-CHANNEL_ID"}"#)
        #expect(first != nil)
        #expect(uuid(#"{"iss":"UUID-CHANNEL_ID"}"#) == first)
        // key claim and webRTC flag of a later request are ignored for the existing channel
        #expect(uuid(#"{"iss":"UUID-CHANNEL_ID","key":"c2VjcmV0"}"#, "?webRTC=false") == first)
        #expect(api.registry.channels.count == 1)
        #expect(api.registry.channels[0].key == nil && api.registry.channels[0].webRTC)
        #expect(uuid(#"{"iss":"DIFFERENT_UUID-CHANNEL_ID"}"#) != first)
        #expect(uuid(#"{"iss":"UUID-CHANNEL_ID"}"#, peer: "10.0.0.2") != first)
        #expect(api.registry.channels.count == 3)
        // closing forgets the issuer entry: a new channel is created
        if case .string(let u)? = first { api.registry.close(uuid: u) }
        #expect(uuid(#"{"iss":"UUID-CHANNEL_ID"}"#) != first)
    }

    @Test(arguments: [
        ("?webRTC=false", false), ("", true), ("?webRTC=true", true), ("?webRTC=False", true), ("?webRTC=0", true),
        ("?webRTC=fals%65", false), ("?x=1&webRTC=false", false), ("?webRTC=true&webRTC=false", true),
        ("?webRTC", true),
    ] as [(String, Bool)])
    func webRTCFlag(query: String, expected: Bool) {
        var api = makeAPI()
        _ = api.handle(get("/v1/channel" + query, auth: "jwt " + token(#"{"iss":"a"}"#)), nowMilliseconds: nowMs)
        #expect(api.registry.channels.first?.webRTC == expected)
    }

    /// `?tap=true` (not in odoo/sfu) marks the channel for the plaintext tap; the response is unchanged and a
    /// reused channel keeps the flag it was created with.
    @Test(arguments: [("?tap=true", true), ("", false), ("?tap=1", false), ("?webRTC=false&tap=true", true)] as [(String, Bool)])
    func tapFlag(query: String, expected: Bool) {
        var api = makeAPI()
        _ = api.handle(get("/v1/channel" + query, auth: "jwt " + token(#"{"iss":"a"}"#)), nowMilliseconds: nowMs)
        #expect(api.registry.channels.first?.tapped == expected)
        _ = api.handle(get("/v1/channel" + (expected ? "" : "?tap=true"), auth: "jwt " + token(#"{"iss":"a"}"#)), nowMilliseconds: nowMs)
        #expect(api.registry.channels.count == 1 && api.registry.channels.first?.tapped == expected)
    }

    @Test func proxyHeaders() {
        var api = makeAPI(proxy: true)
        let headers: [(name: String, value: String)] = [
            ("X-Forwarded-Host", "sfu.example.com,other"), ("X-Forwarded-Proto", "https,http"),
            ("X-Forwarded-For", "198.51.100.7, 10.0.0.1"),
        ]
        let (response, _) = api.handle(get("/v1/channel", auth: "jwt " + token(#"{"iss":"a"}"#), headers: headers), nowMilliseconds: nowMs)
        #expect(parseObject(response)?["url"] == .string("https://sfu.example.com"))
        #expect(api.registry.channels.first?.remoteAddress == "198.51.100.7")
    }

    @Test(arguments: [
        ([("x-forwarded-proto", "HTTPS")], "http://203.0.113.10:8070", "127.0.0.1"),
        ([("x-forwarded-proto", " https")], "http://203.0.113.10:8070", "127.0.0.1"),
        ([("x-forwarded-host", " h:1")], "http:// h:1", "127.0.0.1"),
        ([("x-forwarded-for", "a,b")], "http://203.0.113.10:8070", "a"),
        ([], "http://203.0.113.10:8070", "127.0.0.1"),
    ] as [([(name: String, value: String)], String, String)])
    func proxyHeaderEdges(headers: [(name: String, value: String)], url: String, remote: String) {
        var api = makeAPI(proxy: true)
        let info = api.requestInfo(get("/v1/channel", headers: headers))
        #expect("\(info.protocol)://\(info.host)" == url)
        #expect(info.remoteAddress == remote)
        _ = api.handle(get("/v1/noop"), nowMilliseconds: nowMs)
    }

    @Test func proxyHeadersIgnoredWithoutProxy() {
        var api = makeAPI(proxy: false)
        let headers: [(name: String, value: String)] = [("x-forwarded-host", "evil"), ("x-forwarded-proto", "https"), ("x-forwarded-for", "1.1.1.1")]
        let (response, _) = api.handle(get("/v1/channel", auth: "jwt " + token(#"{"iss":"a"}"#), headers: headers, peer: "::1"), nowMilliseconds: nowMs)
        #expect(parseObject(response)?["url"] == .string("http://203.0.113.10:8070"))
        #expect(api.registry.channels.first?.remoteAddress == "::1")
    }

    private func post(_ body: String, peer: String = "127.0.0.1") -> APIRequest {
        APIRequest(method: "POST", uri: "/v1/disconnect", headers: [("Content-Type", "application/json")],
                   body: Array(body.utf8), peerAddress: peer)
    }

    @Test(arguments: [
        (#"{"sessionIdsByChannel":{"wrong":[5]}}"#, 200),
        (#"{"sessionIdsByChannel":{}}"#, 200),
        (#"{"sessionIdsByChannel":[]}"#, 200),
        (#"{"sessionIdsByChannel":5}"#, 200),
        (#"{"sessionIdsByChannel":null}"#, 422),
        (#"{"exp":1}"#, 422),
        (#"{}"#, 422),
        ("{\"sessionIdsByChannel\":{},\"exp\":\(nowS - 1)}", 422),
        ("{\"sessionIdsByChannel\":{},\"exp\":\(nowS + 20)}", 200),
    ] as [(String, Int)])
    func disconnect(claims: String, status: Int) {
        var api = makeAPI()
        let (response, _) = api.handle(post(token(claims)), nowMilliseconds: nowMs)
        #expect(response.status == status)
        #expect(response.body.isEmpty && response.headers.isEmpty)
    }

    @Test func disconnectBadBodies() {
        var api = makeAPI()
        for body in ["", "garbage", "a.b.c", token(#"{"sessionIdsByChannel":{}}"#, key: [1, 2, 3])] {
            #expect(api.handle(post(body), nowMilliseconds: nowMs).0.status == 422)
        }
    }

    @Test func disconnectOwnership() throws {
        var api = makeAPI()
        let created = api.handle(get("/v1/channel", auth: "jwt " + token(#"{"iss":"a"}"#), peer: "10.0.0.1"), nowMilliseconds: nowMs).0
        guard case .string(let uuid)? = parseObject(created)?["uuid"] else { Issue.record("no uuid"); return }
        let kick = token("{\"sessionIdsByChannel\":{\"\(uuid)\":[57,58]}}")
        let (other, otherLog) = api.handle(post(kick, peer: "10.0.0.2"), nowMilliseconds: nowMs)
        #expect(other.status == 200)
        #expect(otherLog.contains { if case .warn(let m) = $0 { m.contains("not the owner") } else { false } })
        let (owner, ownerLog) = api.handle(post(kick, peer: "10.0.0.1"), nowMilliseconds: nowMs)
        #expect(owner.status == 200)
        #expect(!ownerLog.contains { if case .warn = $0 { true } else { false } })
        // a non-iterable session list for an owned channel throws in odoo/sfu → 422
        let bad = token("{\"sessionIdsByChannel\":{\"\(uuid)\":57}}")
        #expect(api.handle(post(bad, peer: "10.0.0.1"), nowMilliseconds: nowMs).0.status == 422)
        #expect(api.handle(post(bad, peer: "10.0.0.2"), nowMilliseconds: nowMs).0.status == 200)
    }

    @Test func methodNotAllowedIsLogged() {
        var api = makeAPI()
        let (_, log) = api.handle(APIRequest(method: "PUT", uri: "/v1/noop"), nowMilliseconds: nowMs)
        #expect(log.contains(.warn("[127.0.0.1] PUT is not allowed on /v1/noop")))
    }
}

@Suite struct ChannelRegistryTests {
    @Test func emptyChannelCloseTimeout() {
        var registry = ChannelRegistry()
        let (a, createdA) = registry.createOrReuse(remoteAddress: "r", issuer: "a", key: nil, webRTC: true, nowMilliseconds: 1_000)
        let (b, _) = registry.createOrReuse(remoteAddress: "r", issuer: "b", key: [1], webRTC: false, nowMilliseconds: 5_000)
        #expect(createdA)
        #expect(registry.createOrReuse(remoteAddress: "r", issuer: "a", key: nil, webRTC: true, nowMilliseconds: 2_000).created == false)
        #expect(registry.channel(remoteAddress: "r", issuer: "a") == a)
        #expect(registry.channel(remoteAddress: "r2", issuer: "a") == nil)
        #expect(a.closeDeadlineMilliseconds == Int64(3_601_000))
        #expect(registry.expire(nowMilliseconds: 3_600_999).isEmpty)
        #expect(registry.expire(nowMilliseconds: 3_601_000).map(\.uuid) == [a.uuid])
        #expect(registry.channel(uuid: a.uuid) == nil)
        #expect(registry.channels.map(\.uuid) == [b.uuid])
        #expect(registry.createOrReuse(remoteAddress: "r", issuer: "a", key: nil, webRTC: true, nowMilliseconds: 3_700_000).created)
        #expect(registry.closeAll().count == 2)
        #expect(registry.channels.isEmpty)
    }

    @Test func uuidsAreRandomV4() {
        var registry = ChannelRegistry()
        var seen = Set<String>()
        for index in 0..<50 {
            let (channel, _) = registry.createOrReuse(remoteAddress: "r", issuer: "\(index)", key: nil, webRTC: true, nowMilliseconds: 0)
            #expect(channel.uuid.range(of: "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", options: .regularExpression) != nil)
            seen.insert(channel.uuid)
        }
        #expect(seen.count == 50)
    }
}

@Suite struct ChannelLifetimeTests {
    @Test func closeTimerFollowsTheSessionCount() {
        var registry = ChannelRegistry()
        let (channel, _) = registry.createOrReuse(remoteAddress: "a", issuer: "i", key: nil, webRTC: true, nowMilliseconds: 0, makeUUID: { "u" })
        #expect(channel.closeDeadlineMilliseconds == ChannelRegistry.emptyChannelTimeoutMilliseconds)
        registry.sessionCountChanged(uuid: "u", count: 2, nowMilliseconds: 1_000)
        #expect(registry.channel(uuid: "u")?.closeDeadlineMilliseconds == nil)
        #expect(registry.expire(nowMilliseconds: 10 * ChannelRegistry.emptyChannelTimeoutMilliseconds).isEmpty)
        registry.sessionCountChanged(uuid: "u", count: 1, nowMilliseconds: 5_000)
        #expect(registry.channel(uuid: "u")?.closeDeadlineMilliseconds == 5_000 + ChannelRegistry.emptyChannelTimeoutMilliseconds)
        registry.sessionCountChanged(uuid: "u", count: 0, nowMilliseconds: 9_000)   // already armed: unchanged
        #expect(registry.channel(uuid: "u")?.closeDeadlineMilliseconds == 5_000 + ChannelRegistry.emptyChannelTimeoutMilliseconds)
        #expect(registry.expire(nowMilliseconds: 5_000 + ChannelRegistry.emptyChannelTimeoutMilliseconds).map(\.uuid) == ["u"])
    }
}
