import COpenSSL

/// The hash functions this stack needs, over system OpenSSL.
public enum HashFunction: Sendable, Hashable {
    case md5, sha1, sha256, sha384, sha512

    /// Digest length in bytes.
    public var digestLength: Int {
        switch self {
        case .md5: return 16
        case .sha1: return 20
        case .sha256: return 32
        case .sha384: return 48
        case .sha512: return 64
        }
    }

    /// Input block length in bytes (HMAC pads keys to it).
    public var blockLength: Int {
        switch self {
        case .md5, .sha1, .sha256: return 64
        case .sha384, .sha512: return 128
        }
    }

    /// The fetched OpenSSL implementation. Fetched once per process: OpenSSL 3's implicit fetch on
    /// every digest initialisation costs more than hashing a STUN message.
    var md: OpaquePointer {
        switch self {
        case .md5: return Fetched.md5
        case .sha1: return Fetched.sha1
        case .sha256: return Fetched.sha256
        case .sha384: return Fetched.sha384
        case .sha512: return Fetched.sha512
        }
    }
}

enum Fetched {
    nonisolated(unsafe) static let md5: OpaquePointer = EVP_MD_fetch(nil, "MD5", nil)!
    nonisolated(unsafe) static let sha1: OpaquePointer = EVP_MD_fetch(nil, "SHA1", nil)!
    nonisolated(unsafe) static let sha256: OpaquePointer = EVP_MD_fetch(nil, "SHA256", nil)!
    nonisolated(unsafe) static let sha384: OpaquePointer = EVP_MD_fetch(nil, "SHA384", nil)!
    nonisolated(unsafe) static let sha512: OpaquePointer = EVP_MD_fetch(nil, "SHA512", nil)!
}

/// One-shot message digests.
public enum Digest {
    /// The digest of `data` with `hash`.
    public static func hash(_ hash: HashFunction, _ data: UnsafeRawBufferPointer) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: hash.digestLength)
        var len: UInt32 = 0
        _ = out.withUnsafeMutableBufferPointer { o in
            EVP_Digest(data.baseAddress, data.count, o.baseAddress, &len, hash.md, nil)
        }
        return out
    }

    /// The digest of `bytes` with `hash`.
    public static func hash(_ hash: HashFunction, _ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { Self.hash(hash, $0) }
    }
}

/// An HMAC key (RFC 2104) with the keyed inner and outer hash states computed once, so that each
/// MAC costs two digest-state copies and the hashing itself — the shape ICE needs, where one password
/// authenticates every connectivity check of a session.
///
/// Not thread-safe (it owns scratch hash contexts); use one instance per thread or session.
public final class HMACKey {
    /// The hash function.
    public let hash: HashFunction
    private let inner: OpaquePointer
    private let outer: OpaquePointer
    private let scratch: OpaquePointer

    /// Prepares `key` for HMAC with `hash`.
    public init(hash: HashFunction, key: [UInt8]) {
        self.hash = hash
        var k = key.count > hash.blockLength ? Digest.hash(hash, key) : key
        k += [UInt8](repeating: 0, count: hash.blockLength - k.count)
        inner = EVP_MD_CTX_new()!
        outer = EVP_MD_CTX_new()!
        scratch = EVP_MD_CTX_new()!
        let ipad = k.map { $0 ^ 0x36 }
        let opad = k.map { $0 ^ 0x5C }
        EVP_DigestInit_ex(inner, hash.md, nil)
        EVP_DigestUpdate(inner, ipad, ipad.count)
        EVP_DigestInit_ex(outer, hash.md, nil)
        EVP_DigestUpdate(outer, opad, opad.count)
    }

    deinit {
        EVP_MD_CTX_free(inner)
        EVP_MD_CTX_free(outer)
        EVP_MD_CTX_free(scratch)
    }

    /// The MAC of the concatenation of `parts`, written to `output` (at least `hash.digestLength` bytes).
    public func authenticate(_ parts: [UnsafeRawBufferPointer], into output: UnsafeMutableRawBufferPointer) {
        precondition(output.count >= hash.digestLength)
        var innerDigest = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        var len: UInt32 = 0
        EVP_MD_CTX_copy_ex(scratch, inner)
        for p in parts where p.count > 0 { EVP_DigestUpdate(scratch, p.baseAddress, p.count) }
        withUnsafeMutableBytes(of: &innerDigest) { d in
            EVP_DigestFinal_ex(scratch, d.baseAddress!.assumingMemoryBound(to: UInt8.self), &len)
            EVP_MD_CTX_copy_ex(scratch, outer)
            EVP_DigestUpdate(scratch, d.baseAddress, Int(len))
        }
        EVP_DigestFinal_ex(scratch, output.baseAddress!.assumingMemoryBound(to: UInt8.self), &len)
    }

    /// The MAC of `data`.
    public func authenticate(_ data: UnsafeRawBufferPointer) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: hash.digestLength)
        out.withUnsafeMutableBytes { authenticate([data], into: $0) }
        return out
    }

    /// The MAC of `bytes`.
    public func authenticate(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { authenticate($0) }
    }
}

/// Compares two byte sequences in time that depends only on their lengths (for MACs and tokens).
public func constantTimeEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    guard a.count == b.count else { return false }
    var diff: UInt8 = 0
    for i in 0..<a.count { diff |= a[i] ^ b[i] }
    return diff == 0
}

/// Compares two byte arrays in time that depends only on their lengths.
public func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    a.withUnsafeBytes { x in b.withUnsafeBytes { y in constantTimeEqual(x, y) } }
}
