import COpenSSL

/// Why a DTLS operation failed, with OpenSSL's error queue drained into text.
public struct DTLSError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: Hashable, Sendable {
        case certificate, context, handshake, fingerprintMismatch, missingFingerprint, noSRTPProfile, keyingMaterial, closed, io
    }
    public var code: Code
    public var reason: String
    public init(code: Code, reason: String) {
        self.code = code
        self.reason = reason
    }
    public var description: String { "\(code): \(reason)" }

    static func openssl(_ code: Code, _ what: String) -> DTLSError {
        var parts: [String] = []
        while true {
            let e = ERR_get_error()
            if e == 0 { break }
            var buf = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(e, &buf, buf.count)
            parts.append(String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return DTLSError(code: code, reason: parts.isEmpty ? what : "\(what): \(parts.joined(separator: "; "))")
    }
}

/// A certificate fingerprint as signalled in SDP / mediasoup `dtlsParameters.fingerprints`
/// (`{algorithm: "sha-256", value: "AB:CD:…"}`).
public struct DTLSFingerprint: Hashable, Sendable, CustomStringConvertible {
    public var algorithm: String
    /// Uppercase hex bytes separated by colons.
    public var value: String
    public init(algorithm: String, value: String) {
        self.algorithm = algorithm.lowercased()
        self.value = value
    }
    public var description: String { "\(algorithm) \(value)" }

    /// Case-insensitive comparison of algorithm and value.
    public func matches(_ other: DTLSFingerprint) -> Bool {
        algorithm == other.algorithm && value.uppercased() == other.value.uppercased()
    }

    static func digestName(_ algorithm: String) -> String? {
        switch algorithm.lowercased() {
        case "sha-1": return "SHA1"
        case "sha-224": return "SHA224"
        case "sha-256": return "SHA256"
        case "sha-384": return "SHA384"
        case "sha-512": return "SHA512"
        default: return nil
        }
    }

    /// The fingerprint of DER certificate `x509` with `algorithm` (sha-1, sha-224, sha-256, sha-384, sha-512).
    static func of(_ x509: OpaquePointer, algorithm: String) -> DTLSFingerprint? {
        guard let name = digestName(algorithm), let md = EVP_get_digestbyname(name) else { return nil }
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var len: UInt32 = 0
        guard X509_digest(x509, md, &out, &len) == 1 else { return nil }
        let hex = out.prefix(Int(len)).map { b -> String in
            let s = String(b, radix: 16, uppercase: true)
            return s.count == 1 ? "0" + s : s
        }
        return DTLSFingerprint(algorithm: algorithm, value: hex.joined(separator: ":"))
    }
}

/// A self-signed ECDSA P-256 certificate and its key, as WebRTC endpoints use (generated at start,
/// like mediasoup's; valid for ten years, random serial, signed with SHA-256).
public final class DTLSCertificate: @unchecked Sendable {
    let x509: OpaquePointer
    let key: OpaquePointer

    /// Generates a new key pair and certificate with common name `commonName`.
    public static func generate(commonName: String = "swift-sfu") throws(DTLSError) -> DTLSCertificate {
        guard let ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, nil) else { throw .openssl(.certificate, "EVP_PKEY_CTX_new_id") }
        defer { EVP_PKEY_CTX_free(ctx) }
        var pkey: OpaquePointer?
        guard EVP_PKEY_keygen_init(ctx) == 1, EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx, NID_X9_62_prime256v1) == 1,
              EVP_PKEY_keygen(ctx, &pkey) == 1, let pkey else { throw .openssl(.certificate, "P-256 key generation") }
        guard let x = X509_new() else {
            EVP_PKEY_free(pkey)
            throw .openssl(.certificate, "X509_new")
        }
        var serial: UInt64 = 0
        withUnsafeMutableBytes(of: &serial) { _ = RAND_bytes($0.baseAddress!.assumingMemoryBound(to: UInt8.self), 8) }
        X509_set_version(x, 2)
        ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial >> 1)
        X509_gmtime_adj(X509_getm_notBefore(x), -86_400)
        X509_gmtime_adj(X509_getm_notAfter(x), 10 * 365 * 86_400)
        X509_set_pubkey(x, pkey)
        let name = X509_get_subject_name(x)
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, commonName, -1, -1, 0)
        X509_set_issuer_name(x, name)
        guard X509_sign(x, pkey, EVP_sha256()) > 0 else {
            X509_free(x)
            EVP_PKEY_free(pkey)
            throw .openssl(.certificate, "X509_sign")
        }
        return DTLSCertificate(x509: x, key: pkey)
    }

    /// Loads a certificate and its private key from PEM text.
    public static func load(certificatePEM: String, privateKeyPEM: String) throws(DTLSError) -> DTLSCertificate {
        func read(_ pem: String, _ parse: (OpaquePointer) -> OpaquePointer?) -> OpaquePointer? {
            pem.withCString { p in
                guard let bio = BIO_new_mem_buf(p, -1) else { return nil }
                defer { BIO_free(bio) }
                return parse(bio)
            }
        }
        guard let x = read(certificatePEM, { PEM_read_bio_X509($0, nil, nil, nil) }) else { throw .openssl(.certificate, "certificate PEM") }
        guard let k = read(privateKeyPEM, { PEM_read_bio_PrivateKey($0, nil, nil, nil) }) else {
            X509_free(x)
            throw .openssl(.certificate, "private key PEM")
        }
        return DTLSCertificate(x509: x, key: k)
    }

    init(x509: OpaquePointer, key: OpaquePointer) {
        self.x509 = x509
        self.key = key
    }

    deinit {
        X509_free(x509)
        EVP_PKEY_free(key)
    }

    /// This certificate's fingerprint with `algorithm` ("sha-256" unless told otherwise).
    public func fingerprint(algorithm: String = "sha-256") -> DTLSFingerprint? { DTLSFingerprint.of(x509, algorithm: algorithm) }

    /// The certificate as PEM text.
    public var pem: String {
        guard let b = BIO_new(BIO_s_mem()) else { return "" }
        defer { BIO_free(b) }
        PEM_write_bio_X509(b, x509)
        var ptr: UnsafeMutablePointer<CChar>?
        let n = BIO_ctrl(b, BIO_CTRL_INFO, 0, &ptr)
        guard let ptr, n > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: ptr, count: n), as: UTF8.self)
    }
}
