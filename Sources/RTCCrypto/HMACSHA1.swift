import COpenSSL

/// HMAC-SHA1 (RFC 2104) with the keyed inner and outer states computed once and kept as plain `SHA_CTX` values:
/// each MAC copies two small structs and hashes, allocating nothing. This is what SRTP's AES-CM profiles
/// (RFC 3711 §4.2) and STUN's MESSAGE-INTEGRITY need per packet; `HMACKey`'s EVP path allocates on every
/// state copy under OpenSSL 3.0.
public struct HMACSHA1: Sendable {
    /// Digest length in bytes.
    public static let digestLength = 20
    private var inner = SHA_CTX()
    private var outer = SHA_CTX()

    /// Prepares `key` (hashed first when longer than the 64-byte block).
    public init(key: [UInt8]) {
        var k = key.count > 64 ? Digest.hash(.sha1, key) : key
        k += [UInt8](repeating: 0, count: 64 - k.count)
        let ipad = k.map { $0 ^ 0x36 }, opad = k.map { $0 ^ 0x5C }
        sfu_SHA1_Init(&inner)
        sfu_SHA1_Update(&inner, ipad, ipad.count)
        sfu_SHA1_Init(&outer)
        sfu_SHA1_Update(&outer, opad, opad.count)
    }

    /// The MAC of `first` followed by `second`, written to `output` (at least ``digestLength`` bytes).
    public func authenticate(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
                             into output: UnsafeMutableRawPointer) {
        var state = inner
        if first.count > 0 { sfu_SHA1_Update(&state, first.baseAddress, first.count) }
        if second.count > 0 { sfu_SHA1_Update(&state, second.baseAddress, second.count) }
        var digest = (UInt64(0), UInt64(0), UInt32(0))
        withUnsafeMutableBytes(of: &digest) { d in
            let bytes = d.baseAddress!.assumingMemoryBound(to: UInt8.self)
            sfu_SHA1_Final(bytes, &state)
            state = outer
            sfu_SHA1_Update(&state, bytes, Self.digestLength)
        }
        sfu_SHA1_Final(output.assumingMemoryBound(to: UInt8.self), &state)
    }

    /// The MAC of `bytes`.
    public func authenticate(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Self.digestLength)
        bytes.withUnsafeBytes { b in out.withUnsafeMutableBytes { authenticate(b, into: $0.baseAddress!) } }
        return out
    }
}
