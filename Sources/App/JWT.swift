import Crypto

/// Why a JSON Web Token was rejected (docs/protocol.md §2.1). Every case is an authentication failure.
enum JWTError: Error, Equatable, Sendable {
    /// Not exactly three `.`-separated segments, or header/claims not JSON after lenient base64 decoding.
    case invalidFormat
    /// `header.alg` is not exactly `"HS256"` (carries what was found, `nil` when absent or not a string).
    case unsupportedAlgorithm(String?)
    /// The signature does not match HMAC-SHA256 over the received `header.payload`.
    case invalidSignature
    /// `exp` is truthy and `exp < now`.
    case expired
    /// `nbf` is truthy and `nbf > now`.
    case notYetValid
    /// `iat` is truthy and `iat > now + 60`.
    case issuedInFuture
}

/// HS256 JSON Web Token verification with odoo/sfu's exact semantics (docs/protocol.md §2.1–§2.2).
struct JWTVerifier: Sendable {
    /// The HMAC key bytes.
    let key: SymmetricKey

    /// A verifier for raw key bytes.
    init(keyBytes: [UInt8]) {
        self.key = SymmetricKey(data: keyBytes)
    }

    /// A verifier for a key given as a (Node-lenient) base64 string, like `AUTH_KEY` or the `key` claim.
    init(base64Key: String) {
        self.init(keyBytes: NodeBase64.decode(base64Key))
    }

    /// Verifies `token` and returns its claims.
    ///
    /// - Parameter now: the current Unix time in whole seconds (`floor(ms / 1000)`), injected for tests.
    func verify(_ token: String, now: Int64) throws(JWTError) -> JSONValue {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .invalidFormat }
        guard let header = JSONValue.parse(Self.decodeSegment(parts[0])),
              let claims = JSONValue.parse(Self.decodeSegment(parts[1])) else {
            throw .invalidFormat
        }
        let signature = Self.decodeSegment(parts[2])
        guard case .object = header else {
            // JSON `null` header: odoo/sfu throws a TypeError reading `alg`; other scalars have no `alg`.
            if header == .null { throw .invalidFormat }
            throw .unsupportedAlgorithm(nil)
        }
        guard case .string("HS256") = header["alg"] else {
            if case .string(let alg) = header["alg"] { throw .unsupportedAlgorithm(alg) }
            throw .unsupportedAlgorithm(nil)
        }
        let signedData = Array(parts[0].utf8) + [UInt8(ascii: ".")] + Array(parts[1].utf8)
        // swift-crypto compares in constant time (and refuses a MAC of the wrong length).
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: signedData, using: key) else { throw .invalidSignature }
        if claims == .null { throw .invalidFormat }  // reading `claims.exp` of null throws in odoo/sfu
        let nowValue = Double(now)
        if let exp = claims["exp"], exp.isTruthy, exp.jsNumber < nowValue { throw .expired }
        if let nbf = claims["nbf"], nbf.isTruthy, nbf.jsNumber > nowValue { throw .notYetValid }
        if let iat = claims["iat"], iat.isTruthy, iat.jsNumber > nowValue + 60 { throw .issuedInFuture }
        return claims
    }

    /// Lenient decoding of one segment (odoo/sfu pads to a multiple of 4 first, which Node then ignores anyway).
    static func decodeSegment(_ segment: Substring) -> [UInt8] {
        NodeBase64.decode(utf8: segment.utf8)
    }
}

/// Builds HS256 tokens (used by tests and tools; the server itself only verifies).
enum JWTSigner {
    /// Encodes `bytes` as base64 (`urlSafe`: `-`/`_`), with or without `=` padding.
    static func base64(_ bytes: [UInt8], urlSafe: Bool = true, padded: Bool = false) -> String {
        let alphabet = Array((urlSafe
            ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
            : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/").utf8)
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let chunk = Array(bytes[index..<min(index + 3, bytes.count)])
            let value = (UInt32(chunk[0]) << 16) | (chunk.count > 1 ? UInt32(chunk[1]) << 8 : 0)
                | (chunk.count > 2 ? UInt32(chunk[2]) : 0)
            for position in 0..<(chunk.count + 1) {
                out.append(alphabet[Int((value >> (18 - 6 * UInt32(position))) & 63)])
            }
            if padded { out += Array(repeating: UInt8(ascii: "="), count: 3 - chunk.count) }
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `base64(header).base64(claims).base64(HMAC-SHA256(key, first two segments))`.
    static func sign(claimsJSON: String, headerJSON: String = #"{"typ": "JWT", "alg": "HS256"}"#,
                     keyBytes: [UInt8], urlSafe: Bool = true, padded: Bool = false) -> String {
        let signingInput = base64(Array(headerJSON.utf8), urlSafe: urlSafe, padded: padded) + "."
            + base64(Array(claimsJSON.utf8), urlSafe: urlSafe, padded: padded)
        let mac = HMAC<SHA256>.authenticationCode(for: Array(signingInput.utf8), using: SymmetricKey(data: keyBytes))
        return signingInput + "." + base64(Array(mac), urlSafe: urlSafe, padded: padded)
    }
}
