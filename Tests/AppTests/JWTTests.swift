import Foundation
import Testing
@testable import App

private let authKey = "u6bsUQEWrHdKIuYplirRnbBmLbrKV5PxKG7DtA71mng="
private let keyBytes = NodeBase64.decode(authKey)
private let now: Int64 = 1_764_000_000

@Suite struct NodeBase64Tests {
    @Test(arguments: [
        ("YQ", [0x61]), ("YQ=", [0x61]), ("YQ==", [0x61]), ("YQ====", [0x61]),
        ("Y", []), ("", []), ("YWI", [0x61, 0x62]), ("YWJj", [0x61, 0x62, 0x63]),
        ("ab=cd", [0x69]), ("Y Q\n", [0x61]), ("Y!Q", [0x61]),
        ("-_-_", [0xFB, 0xFF, 0xBF]), ("+/+/", [0xFB, 0xFF, 0xBF]), ("+_-/", [0xFB, 0xFF, 0xBF]),
    ] as [(String, [UInt8])])
    func decodesLikeNode(input: String, expected: [UInt8]) {
        #expect(NodeBase64.decode(input) == expected)
    }

    @Test func odoo18UUIDKeyDecodesTo27Bytes() {
        let bytes = NodeBase64.decode("2b8f0c1e-4a5b-4c6d-8e9f-0123456789ab")
        #expect(bytes.count == 27)
        #expect(bytes.map { String(format: "%02x", $0) }.joined()
            == "d9bf1fd1cd5efb86b96fee1ce9dfbc7bd7fed35db7e39ebbf3d69b")
    }

    @Test func authKeyIs32Bytes() {
        #expect(keyBytes.count == 32)
    }

    @Test(arguments: [0, 1, 2, 3, 4, 5, 31, 32, 33])
    func signerBase64RoundTrips(length: Int) {
        let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 250) }
        for urlSafe in [true, false] {
            for padded in [true, false] {
                #expect(NodeBase64.decode(JWTSigner.base64(bytes, urlSafe: urlSafe, padded: padded)) == bytes)
            }
        }
    }
}

@Suite struct JWTTests {
    let verifier = JWTVerifier(keyBytes: keyBytes)

    @Test func odoo18ChannelTokenVector() throws {
        let token = "eyJ0eXAiOiAiSldUIiwgImFsZyI6ICJIUzI1NiJ9.eyJpc3MiOiAiaHR0cHM6Ly9vZG9vLmV4YW1wbGUuY29tOmNoYW5uZWw6NDIiLCAia2V5IjogIjJiOGYwYzFlLTRhNWItNGM2ZC04ZTlmLTAxMjM0NTY3ODlhYiIsICJleHAiOiA0MTAyNDQ0ODAwfQ.YstsPkP0fZICbPm1evS2OrA7zTfrTfZfOtJQy0aPXVk"
        let claims = try verifier.verify(token, now: now)
        #expect(claims["iss"] == .string("https://odoo.example.com:channel:42"))
        #expect(claims["key"] == .string("2b8f0c1e-4a5b-4c6d-8e9f-0123456789ab"))
        #expect(claims["exp"] == .number(4_102_444_800))
    }

    @Test func odoo18SessionTokenVerifiesWithChannelKeyOnly() throws {
        let token = "eyJ0eXAiOiAiSldUIiwgImFsZyI6ICJIUzI1NiJ9.eyJzZXNzaW9uX2lkIjogNTcsICJpY2Vfc2VydmVycyI6IFtdLCAiZXhwIjogNDEwMjQ0NDgwMH0.A7t5Q6lRv67dWST3wNqJfKEvvxYeCXWUGQV_69bhK_o"
        let channelVerifier = JWTVerifier(base64Key: "2b8f0c1e-4a5b-4c6d-8e9f-0123456789ab")
        #expect(try channelVerifier.verify(token, now: now)["session_id"] == .number(57))
        #expect(throws: JWTError.invalidSignature) { try verifier.verify(token, now: now) }
    }

    @Test func odoo17SessionTokenVector() throws {
        let token = "eyJ0eXAiOiAiSldUIiwgImFsZyI6ICJIUzI1NiJ9.eyJzZnVfY2hhbm5lbF91dWlkIjogIjI2YWFhYWQ2LThlNzgtNDk0ZS05N2U2LTQ3ZWE5YWFiNTM4OCIsICJzZXNzaW9uX2lkIjogNTcsICJpY2Vfc2VydmVycyI6IG51bGwsICJleHAiOiA0MTAyNDQ0ODAwfQ.yRWqA-inq-zozTZq6hNeH2KbXGe8BmvpgW0KMBmyQx8"
        let claims = try verifier.verify(token, now: now)
        #expect(claims["sfu_channel_uuid"] == .string("26aaaad6-8e78-494e-97e6-47ea9aab5388"))
        #expect(claims["ice_servers"] == .null)
    }

    @Test func thirdPartyTokenWithWhitespaceInSignature() throws {
        let token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJkYXRhIjoidGhpcmQgcGFydHkifQ.GadSPivgAXYx\n                    ftSwH9LKEdg5hv05x1Lihln_6x01TxY"
        let claims = try JWTVerifier(base64Key: "TEST2VjcmV0S2V5VGhhdElzMzJCeXRlc0xvbmdBdExldA==").verify(token, now: now)
        #expect(claims == .object(["data": .string("third party")]))
    }

    @Test(arguments: [(true, true), (true, false), (false, true), (false, false)])
    func acceptsBothAlphabetsWithAndWithoutPadding(urlSafe: Bool, padded: Bool) throws {
        for claims in [#"{"a":"1"}"#, #"{"ab":"12"}"#, #"{"abc":"123"}"#, #"{"abcd":"1234"}"#, #"{"abcd":"12345","x":"~~~???>>>"}"#] {
            let token = JWTSigner.sign(claimsJSON: claims, keyBytes: keyBytes, urlSafe: urlSafe, padded: padded)
            #expect(try verifier.verify(token, now: now) == JSONValue.parse(Array(claims.utf8)))
        }
    }

    @Test func signatureCoversSegmentsAsReceived() throws {
        // Re-encoding the header with the other alphabet/padding changes the signed bytes → bad signature.
        let token = JWTSigner.sign(claimsJSON: #"{"x":"???>>>"}"#, keyBytes: keyBytes, urlSafe: true, padded: false)
        let parts = token.split(separator: ".")
        let reencoded = JWTSigner.base64(NodeBase64.decode(String(parts[1])), urlSafe: false, padded: true)
        #expect(reencoded != String(parts[1]))
        #expect(throws: JWTError.invalidSignature) {
            try verifier.verify("\(parts[0]).\(reencoded).\(parts[2])", now: now)
        }
    }

    @Test func wrongKeyAndTamperedPayload() {
        let token = JWTSigner.sign(claimsJSON: #"{"iss":"a"}"#, keyBytes: keyBytes)
        #expect(throws: JWTError.invalidSignature) {
            try JWTVerifier(base64Key: "TESTWx0ZXJuYXRlU2VjcmV0S2V5VGhhdElzMzJCeXRlcw==").verify(token, now: now)
        }
        let parts = token.split(separator: ".")
        let tampered = "\(parts[0]).\(JWTSigner.base64(Array(#"{"iss":"b"}"#.utf8))).\(parts[2])"
        #expect(throws: JWTError.invalidSignature) { try verifier.verify(tampered, now: now) }
        // Truncated signature: length mismatch.
        #expect(throws: JWTError.invalidSignature) { try verifier.verify(String(token.dropLast(4)), now: now) }
    }

    @Test(arguments: [
        (#"{"alg":"none","typ":"JWT"}"#, JWTError.unsupportedAlgorithm("none")),
        (#"{"alg":"HS512","typ":"JWT"}"#, .unsupportedAlgorithm("HS512")),
        (#"{"alg":"ES512","typ":"JWT"}"#, .unsupportedAlgorithm("ES512")),
        (#"{"alg":"hs256","typ":"JWT"}"#, .unsupportedAlgorithm("hs256")),
        (#"{"typ":"JWT"}"#, .unsupportedAlgorithm(nil)),
        (#"{"alg":256}"#, .unsupportedAlgorithm(nil)),
        ("5", .unsupportedAlgorithm(nil)),
    ])
    func rejectsOtherAlgorithms(header: String, expected: JWTError) {
        let token = JWTSigner.sign(claimsJSON: #"{"iss":"a"}"#, headerJSON: header, keyBytes: keyBytes)
        #expect(throws: expected) { try verifier.verify(token, now: now) }
    }

    @Test func algNoneWithEmptySignatureIsRejected() {
        let token = JWTSigner.base64(Array(#"{"alg":"none"}"#.utf8)) + "." + JWTSigner.base64(Array(#"{"iss":"a"}"#.utf8)) + "."
        #expect(throws: JWTError.unsupportedAlgorithm("none")) { try verifier.verify(token, now: now) }
    }

    @Test func typIsNotChecked() throws {
        let token = JWTSigner.sign(claimsJSON: #"{"iss":"a"}"#, headerJSON: #"{"alg":"HS256","typ":"whatever"}"#, keyBytes: keyBytes)
        #expect(try verifier.verify(token, now: now)["iss"] == .string("a"))
    }

    @Test(arguments: [
        // (claims, expected error or nil for accepted)
        ("{\"exp\":\(now - 1)}", JWTError?.some(.expired)),
        ("{\"exp\":\(now)}", nil),
        ("{\"exp\":\(now + 1)}", nil),
        (#"{"exp":0}"#, nil),
        (#"{"exp":null}"#, nil),
        ("{\"exp\":\"\(now - 1)\"}", .expired),  // JS relational comparison coerces strings
        ("{\"nbf\":\(now + 1)}", .notYetValid),
        ("{\"nbf\":\(now)}", nil),
        ("{\"nbf\":\(now - 100)}", nil),
        (#"{"nbf":0}"#, nil),
        ("{\"iat\":\(now + 61)}", .issuedInFuture),
        ("{\"iat\":\(now + 60)}", nil),
        ("{\"iat\":\(now + 30)}", nil),
        ("{\"iat\":\(now - 1000)}", nil),
        ("{\"exp\":\(now + 30),\"iat\":\(now),\"nbf\":\(now)}", nil),
    ])
    func timeChecks(claims: String, expected: JWTError?) {
        let token = JWTSigner.sign(claimsJSON: claims, keyBytes: keyBytes)
        if let expected {
            #expect(throws: expected) { try verifier.verify(token, now: now) }
        } else {
            #expect(throws: Never.self) { try verifier.verify(token, now: now) }
        }
    }

    @Test(arguments: [
        "", "true", "0x00", "string", "not.a.jwt", "not.enough.segments.here", "header.payload",
        "header..signature", "..signature", "..", "invalid-base64.payload.signature",
        "header.invalid-base64.signature", "a.b.c.d",
    ])
    func malformedTokens(token: String) {
        #expect(throws: JWTError.self) { try verifier.verify(token, now: now) }
    }

    @Test func wrongSegmentCountIsInvalidFormat() {
        let token = JWTSigner.sign(claimsJSON: #"{"iss":"a"}"#, keyBytes: keyBytes)
        #expect(throws: JWTError.invalidFormat) { try verifier.verify(token + ".x", now: now) }
        #expect(throws: JWTError.invalidFormat) { try verifier.verify(String(token.prefix { $0 != "." }), now: now) }
    }

    @Test func validSignatureOverNonJSONPayloadIsInvalidFormat() {
        let header = JWTSigner.base64(Array(#"{"alg":"HS256"}"#.utf8))
        let payload = JWTSigner.base64(Array("not json".utf8))
        let mac = JWTSigner.sign(claimsJSON: "x", headerJSON: "y", keyBytes: keyBytes)  // wrong mac, format fails first
        #expect(throws: JWTError.invalidFormat) { try verifier.verify("\(header).\(payload).\(mac.split(separator: ".")[2])", now: now) }
    }

    /// The MAC is compared by swift-crypto (constant time): one bit off in any byte, one byte short or one byte
    /// more is refused, the exact MAC accepted.
    @Test(arguments: [-1, 0, 15, 31, 32])
    func macsThatDifferAnywhereAreRefused(_ change: Int) throws {
        let token = JWTSigner.sign(claimsJSON: #"{"a":1}"#, headerJSON: #"{"alg":"HS256"}"#, keyBytes: keyBytes)
        let parts = token.split(separator: ".")
        var mac = NodeBase64.decode(utf8: parts[2].utf8)
        #expect(mac.count == 32)
        #expect((try? verifier.verify(token, now: now)) != nil)
        switch change {
        case -1: mac.removeLast()
        case 32: mac.append(0)
        default: mac[change] ^= 0x01
        }
        let altered = "\(parts[0]).\(parts[1]).\(JWTSigner.base64(mac, urlSafe: true, padded: false))"
        #expect(throws: JWTError.invalidSignature) { try verifier.verify(altered, now: now) }
    }
}
