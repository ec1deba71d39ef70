import Foundation
import NIOCore
import RTCBase
import RTCTestSupport
import SRTP
import Testing

@Suite struct SRTPSessionTests {
    static func material(_ p: SRTPProfile, seed: UInt8 = 1) -> SRTPKeyingMaterial {
        SRTPKeyingMaterial(profile: p, key: (0..<p.keyLength).map { UInt8($0) &+ seed }, salt: (0..<p.saltLength).map { UInt8($0) &+ 0xA0 })
    }

    static func rtp(seq: UInt16, ssrc: UInt32 = 0x1122_3344, payload: Int) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeBytes([0x80, 0x60])
        b.writeInteger(seq)
        b.writeInteger(UInt32(seq) &* 3000)
        b.writeInteger(ssrc)
        b.writeBytes((0..<payload).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        return b
    }

    static let rr = ByteBuffer(hex: "81c90007" + "11223344" + "55667788" + "00000001" + "00000010" + "00000002" + "00000000" + "00000000")

    @Test(arguments: SRTPProfile.allCases, SRTPSession.Backend.allCases)
    func roundTripRTPAndRTCP(_ profile: SRTPProfile, _ backend: SRTPSession.Backend) throws {
        let out = try SRTPSession(direction: .outbound, material: Self.material(profile), backend: backend)
        let inb = try SRTPSession(direction: .inbound, material: Self.material(profile), backend: backend)
        for (i, size) in [0, 1, 100, 1000, 1200].enumerated() {
            for ssrc: UInt32 in [1, 0xDEAD_BEEF] {   // several SSRCs: streams appear on first sight
                let plain = Self.rtp(seq: UInt16(10 + i), ssrc: ssrc, payload: size)
                var p = plain
                try out.protectRTP(&p)
                #expect(p.readableBytes == plain.readableBytes + profile.rtpOverhead)
                #expect(p != plain)
                try inb.unprotectRTP(&p)
                #expect(p == plain)
            }
        }
        var c = Self.rr
        try out.protectRTCP(&c)
        #expect(c.readableBytes == Self.rr.readableBytes + profile.rtcpOverhead)
        try inb.unprotectRTCP(&c)
        #expect(c == Self.rr)
    }

    @Test(arguments: SRTPProfile.allCases, SRTPSession.Backend.allCases)
    func tamperingAndReplay(_ profile: SRTPProfile, _ backend: SRTPSession.Backend) throws {
        let out = try SRTPSession(direction: .outbound, material: Self.material(profile), backend: backend)
        let inb = try SRTPSession(direction: .inbound, material: Self.material(profile), backend: backend)
        var p = Self.rtp(seq: 100, payload: 50)
        try out.protectRTP(&p)
        var tampered = p
        tampered.setInteger(tampered.getInteger(at: 20, as: UInt8.self)! ^ 1, at: 20)
        #expect(throws: SRTPError.authenticationFailure) { try inb.unprotectRTP(&tampered) }
        var first = p
        try inb.unprotectRTP(&first)
        var again = p
        #expect(throws: SRTPError.replay) { try inb.unprotectRTP(&again) }
        // wrong key
        let other = try SRTPSession(direction: .inbound, material: Self.material(profile, seed: 9), backend: backend)
        var q = Self.rtp(seq: 101, payload: 50)
        try out.protectRTP(&q)
        #expect(throws: SRTPError.authenticationFailure) { try other.unprotectRTP(&q) }
        // garbage too short to be SRTP
        var junk = ByteBuffer(hex: "8060")
        #expect(throws: SRTPError.self) { try inb.unprotectRTP(&junk) }
    }

    @Test(arguments: SRTPSession.Backend.allCases) func oldPacketsOutsideTheWindow(_ backend: SRTPSession.Backend) throws {
        let m = Self.material(.aeadAES128GCM)
        let out = try SRTPSession(direction: .outbound, material: m, backend: backend)
        let inb = try SRTPSession(direction: .inbound, material: m, replayWindowSize: 64, backend: backend)
        var old = Self.rtp(seq: 1, payload: 10)
        try out.protectRTP(&old)
        for seq in 2...200 {
            var p = Self.rtp(seq: UInt16(seq), payload: 10)
            try out.protectRTP(&p)
            try inb.unprotectRTP(&p)
        }
        #expect(throws: SRTPError.replayTooOld) { try inb.unprotectRTP(&old) }
    }

    @Test(arguments: SRTPSession.Backend.allCases) func rolloverAcrossSequenceWrap(_ backend: SRTPSession.Backend) throws {
        let m = Self.material(.aesCM128HMACSHA1_80)
        let out = try SRTPSession(direction: .outbound, material: m, backend: backend)
        let inb = try SRTPSession(direction: .inbound, material: m, backend: backend)
        var seq: UInt16 = 65_500
        for _ in 0..<100 {
            let plain = Self.rtp(seq: seq, payload: 30)
            var p = plain
            try out.protectRTP(&p)
            try inb.unprotectRTP(&p)
            #expect(p == plain)
            seq &+= 1
        }
    }

    @Test(arguments: SRTPSession.Backend.allCases) func removeStreamForgetsReplayState(_ backend: SRTPSession.Backend) throws {
        let m = Self.material(.aeadAES128GCM)
        let out = try SRTPSession(direction: .outbound, material: m, backend: backend)
        let inb = try SRTPSession(direction: .inbound, material: m, backend: backend)
        var p = Self.rtp(seq: 5, payload: 10)
        try out.protectRTP(&p)
        var a = p
        try inb.unprotectRTP(&a)
        inb.removeStream(ssrc: 0x1122_3344)
        var b = p
        try inb.unprotectRTP(&b)   // a fresh stream accepts it again
        #expect(a == b)
    }

    @Test(arguments: SRTPSession.Backend.allCases) func keyingMaterialSplit(_ backend: SRTPSession.Backend) throws {
        // RFC 5764 §4.2 layout for AES_CM_128_HMAC_SHA1_80: 16 + 16 key bytes, 14 + 14 salt bytes.
        let exported = (0..<60).map { UInt8($0) }
        let client = try #require(SRTPKeyingMaterial.split(exported: exported, profile: .aesCM128HMACSHA1_80, isDTLSClient: true))
        #expect(client.local.key == Array(0..<16) && client.local.salt == Array(32..<46))
        #expect(client.remote.key == Array(16..<32) && client.remote.salt == Array(46..<60))
        let server = try #require(SRTPKeyingMaterial.split(exported: exported, profile: .aesCM128HMACSHA1_80, isDTLSClient: false))
        #expect(server.local == client.remote && server.remote == client.local)
        #expect(SRTPKeyingMaterial.split(exported: exported, profile: .aeadAES256GCM, isDTLSClient: true) == nil)
        #expect(SRTPKeyingMaterial.split(exported: Array(repeating: 0, count: 88), profile: .aeadAES256GCM, isDTLSClient: true) != nil)
        #expect(SRTPProfile(ianaID: 0x0007) == .aeadAES128GCM && SRTPProfile(ianaID: 0x0005) == nil)
    }
}

/// Cross-checks with pylibsrtp (a libsrtp built on OpenSSL crypto, independent of the Debian build linked
/// here): the same key, salt and plaintext give the same ciphertext, and its ciphertexts decrypt here.
@Suite struct SRTPVectorTests {
    struct Vector: Decodable {
        struct Pair: Decodable { let plain: String; let protected: String }
        let profile: String, key: String, salt: String
        let rtp: [Pair], rtcp: [Pair]
    }

    static let vectors: [Vector] = {
        let path = String(#filePath).split(separator: "/").dropLast().joined(separator: "/")
        let data = try! Data(contentsOf: URL(fileURLWithPath: "/" + path + "/Vectors/srtp-vectors.json"))
        return try! JSONDecoder().decode([Vector].self, from: data)
    }()

    static let profiles: [String: SRTPProfile] = [
        "AEAD_AES_256_GCM": .aeadAES256GCM, "AEAD_AES_128_GCM": .aeadAES128GCM,
        "AES_CM_128_HMAC_SHA1_80": .aesCM128HMACSHA1_80, "AES_CM_128_HMAC_SHA1_32": .aesCM128HMACSHA1_32,
    ]

    @Test(arguments: SRTPSession.Backend.allCases) func matchesPylibsrtp(_ backend: SRTPSession.Backend) throws {
        #expect(Self.vectors.count == 4)
        for v in Self.vectors {
            let m = SRTPKeyingMaterial(profile: Self.profiles[v.profile]!, key: [UInt8](hex: v.key), salt: [UInt8](hex: v.salt))
            let out = try SRTPSession(direction: .outbound, material: m, backend: backend)
            let inb = try SRTPSession(direction: .inbound, material: m, backend: backend)
            #expect(v.rtp.count == 7 && v.rtcp.count == 2)   // the last four RTP packets cross the seq wrap (ROC 0 -> 1)
            for pair in v.rtp {
                var p = ByteBuffer(hex: pair.plain)
                try out.protectRTP(&p)
                #expect(p.hexString == pair.protected, "\(v.profile) SRTP")
                var c = ByteBuffer(hex: pair.protected)
                try inb.unprotectRTP(&c)
                #expect(c.hexString == pair.plain)
            }
            for pair in v.rtcp {
                var p = ByteBuffer(hex: pair.plain)
                try out.protectRTCP(&p)
                #expect(p.hexString == pair.protected, "\(v.profile) SRTCP")
                var c = ByteBuffer(hex: pair.protected)
                try inb.unprotectRTCP(&c)
                #expect(c.hexString == pair.plain)
            }
        }
    }
}
