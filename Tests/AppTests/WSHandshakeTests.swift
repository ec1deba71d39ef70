import Testing
@testable import App

private let globalKey = NodeBase64.decode("u6bsUQEWrHdKIuYplirRnbBmLbrKV5PxKG7DtA71mng=")
private let channelKeyString = "2b8f0c1e-4a5b-4c6d-8e9f-0123456789ab"
private let now: Int64 = 1_764_000_000

@Suite struct WSHandshakeTests {
    /// Registry with a key-less channel (Odoo 17) and a keyed channel (Odoo 18+).
    let registry: ChannelRegistry
    let plain: String
    let keyed: String

    init() {
        var registry = ChannelRegistry()
        plain = registry.createOrReuse(remoteAddress: "r", issuer: "17", key: nil, webRTC: true, nowMilliseconds: 0).0.uuid
        keyed = registry.createOrReuse(remoteAddress: "r", issuer: "18", key: NodeBase64.decode(channelKeyString),
                                       webRTC: true, nowMilliseconds: 0).0.uuid
        self.registry = registry
    }

    func run(_ message: String) -> Result<WSHandshake.Accepted, WSCloseCode> {
        WSHandshake.authenticate(firstMessage: Array(message.utf8), registry: registry,
                                 globalVerifier: JWTVerifier(keyBytes: globalKey), now: now)
    }

    func quoted(_ token: String) -> String { "\"\(token)\"" }

    @Test func odoo17BareJWTString() {
        let token = JWTSigner.sign(claimsJSON: "{\"sfu_channel_uuid\":\"\(plain)\",\"session_id\":57,\"ice_servers\":null}", keyBytes: globalKey)
        #expect(run(quoted(token)) == .success(.init(channelUUID: plain, sessionID: .number(57))))
    }

    @Test func odoo18CredentialsObjectWithChannelKey() {
        let token = JWTSigner.sign(claimsJSON: #"{"session_id":57,"ice_servers":[]}"#, keyBytes: NodeBase64.decode(channelKeyString))
        #expect(run("{\"channelUUID\":\"\(keyed)\",\"jwt\":\"\(token)\"}") == .success(.init(channelUUID: keyed, sessionID: .number(57))))
        // the same token signed with the global key is refused for the keyed channel
        let global = JWTSigner.sign(claimsJSON: #"{"session_id":57}"#, keyBytes: globalKey)
        #expect(run("{\"channelUUID\":\"\(keyed)\",\"jwt\":\"\(global)\"}") == .failure(.authenticationFailed))
    }

    @Test func keyedChannelIsNotReachableThroughLegacyPath() {
        let global = JWTSigner.sign(claimsJSON: "{\"sfu_channel_uuid\":\"\(keyed)\",\"session_id\":1}", keyBytes: globalKey)
        #expect(run(quoted(global)) == .failure(.authenticationFailed))
    }

    @Test func stringSessionIDKeepsItsType() {
        let token = JWTSigner.sign(claimsJSON: "{\"sfu_channel_uuid\":\"\(plain)\",\"session_id\":\"57\"}", keyBytes: globalKey)
        #expect(run(quoted(token)) == .success(.init(channelUUID: plain, sessionID: .string("57"))))
    }

    @Test(arguments: [
        ("not json", WSCloseCode.error), ("null", .error), ("", .error), ("eyJ.raw.unquoted", .error),
        ("5", .authenticationFailed), ("{}", .authenticationFailed), (#"{"jwt":5}"#, .authenticationFailed),
        (#""a.b.c""#, .authenticationFailed), ("[]", .authenticationFailed), ("true", .authenticationFailed),
    ] as [(String, WSCloseCode)])
    func malformedCredentials(message: String, code: WSCloseCode) {
        #expect(run(message) == .failure(code))
    }

    @Test(arguments: [
        #"{"sfu_channel_uuid":"PLAIN","session_id":0}"#, #"{"sfu_channel_uuid":"PLAIN"}"#,
        #"{"sfu_channel_uuid":"PLAIN","session_id":""}"#, #"{"sfu_channel_uuid":"unknown","session_id":1}"#,
        #"{"session_id":1}"#, #"{"sfu_channel_uuid":5,"session_id":1}"#,
        "{\"sfu_channel_uuid\":\"PLAIN\",\"session_id\":1,\"exp\":\(now - 1)}",
    ])
    func rejectedClaims(claims: String) {
        let token = JWTSigner.sign(claimsJSON: claims.replacingOccurrences(of: "PLAIN", with: plain), keyBytes: globalKey)
        #expect(run(quoted(token)) == .failure(.authenticationFailed))
    }

    @Test func unknownChannelUUIDInCredentialsDoesNotFallBackToLegacyClaim() {
        let token = JWTSigner.sign(claimsJSON: "{\"sfu_channel_uuid\":\"\(plain)\",\"session_id\":1}", keyBytes: globalKey)
        #expect(run("{\"channelUUID\":\"nope\",\"jwt\":\"\(token)\"}") == .failure(.authenticationFailed))
        // HEAD does not check that sfu_channel_uuid matches a given channelUUID
        #expect(run("{\"channelUUID\":\"\(plain)\",\"jwt\":\"\(token)\"}") == .success(.init(channelUUID: plain, sessionID: .number(1))))
    }

    @Test func closeCodes() {
        #expect([WSCloseCode.clean, .leaving, .error, .authenticationFailed, .timeout, .kicked, .channelFull].map(\.rawValue)
            == [1000, 1001, 1011, 4106, 4107, 4108, 4109])
    }
}
