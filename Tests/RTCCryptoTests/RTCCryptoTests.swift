import RTCCrypto
import RTCTestSupport
import Testing

@Suite struct HMACTests {
    struct Vector: Sendable, CustomTestStringConvertible {
        let name: String, hash: HashFunction, key: String, data: String, mac: String
        var testDescription: String { name }
    }

    /// RFC 2202 (HMAC-SHA1) and RFC 4231 (HMAC-SHA256/512) test cases, keys and data as hex.
    static let vectors: [Vector] = [
        Vector(name: "RFC 2202 §3 case 1", hash: .sha1, key: String(repeating: "0b", count: 20),
               data: "4869205468657265", mac: "b617318655057264e28bc0b6fb378c8ef146be00"),
        Vector(name: "RFC 2202 §3 case 2", hash: .sha1, key: "4a656665",
               data: "7768617420646f2079612077616e7420666f72206e6f7468696e673f", mac: "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"),
        Vector(name: "RFC 2202 §3 case 3", hash: .sha1, key: String(repeating: "aa", count: 20),
               data: String(repeating: "dd", count: 50), mac: "125d7342b9ac11cd91a39af48aa17b4f63f175d3"),
        Vector(name: "RFC 2202 §3 case 6 (key longer than a block)", hash: .sha1, key: String(repeating: "aa", count: 80),
               data: "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a65204b6579202d2048617368204b6579204669727374",
               mac: "aa4ae5e15272d00e95705637ce8a3b55ed402112"),
        Vector(name: "RFC 4231 §4.2 case 1 SHA-256", hash: .sha256, key: String(repeating: "0b", count: 20),
               data: "4869205468657265", mac: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        Vector(name: "RFC 4231 §4.3 case 2 SHA-256", hash: .sha256, key: "4a656665",
               data: "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
               mac: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        Vector(name: "RFC 4231 §4.7 case 6 SHA-256 (131-byte key)", hash: .sha256, key: String(repeating: "aa", count: 131),
               data: "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a65204b6579202d2048617368204b6579204669727374",
               mac: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        Vector(name: "RFC 4231 §4.2 case 1 SHA-512", hash: .sha512, key: String(repeating: "0b", count: 20),
               data: "4869205468657265",
               mac: "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"),
    ]

    @Test(arguments: vectors)
    func rfcVector(_ v: Vector) {
        let key = HMACKey(hash: v.hash, key: [UInt8](hex: v.key))
        #expect(key.authenticate([UInt8](hex: v.data)) == [UInt8](hex: v.mac))
        // The precomputed state is reusable: a second MAC with the same key is identical.
        #expect(key.authenticate([UInt8](hex: v.data)) == [UInt8](hex: v.mac))
    }

    @Test func partsConcatenate() {
        let key = HMACKey(hash: .sha1, key: Array("secret".utf8))
        let whole = key.authenticate(Array("hello world".utf8))
        var out = [UInt8](repeating: 0, count: 20)
        let a = Array("hello ".utf8), b = Array("world".utf8)
        a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in out.withUnsafeMutableBytes { key.authenticate([pa, pb], into: $0) } } }
        #expect(out == whole)
    }

    @Test func digests() {
        #expect(Digest.hash(.sha256, Array("abc".utf8)) == [UInt8](hex: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"))
        #expect(Digest.hash(.sha1, Array("abc".utf8)) == [UInt8](hex: "a9993e364706816aba3e25717850c26c9cd0d89d"))
        #expect(Digest.hash(.md5, Array("abc".utf8)) == [UInt8](hex: "900150983cd24fb0d6963f7d28e17f72"))
        #expect(Digest.hash(.sha256, [UInt8]()) == [UInt8](hex: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"))
    }

    @Test func constantTimeCompare() {
        #expect(constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!constantTimeEqual([1, 2, 3], [1, 2]))
        #expect(constantTimeEqual([], []))
    }
}

@Suite struct CRC32Tests {
    @Test(arguments: [
        ("", UInt32(0)),
        ("123456789", 0xCBF4_3926),                    // the standard check value
        ("a", 0xE8B7_BE43),
        ("The quick brown fox jumps over the lazy dog", 0x414F_A339),
    ])
    func checkValues(_ text: String, _ crc: UInt32) {
        #expect(CRC32.checksum(Array(text.utf8)) == crc)
    }

    @Test func incremental() {
        let a = Array("12345".utf8), b = Array("6789".utf8)
        let partial = a.withUnsafeBytes { CRC32.update(0, $0) }
        #expect(b.withUnsafeBytes { CRC32.update(partial, $0) } == 0xCBF4_3926)
    }
}
