import NIOCore
import RTCBase
import RTCTestSupport
import SRTP
import Testing

/// Buffer handling, replay-window configuration, repeated transmission, tampering of tags and SRTCP, and the
/// per-profile constants — the parts of the contract the round-trip tests in `SRTPSessionTests` do not pin.
@Suite struct SRTPSessionBehaviourTests {
    static func material(_ p: SRTPProfile, seed: UInt8 = 1) -> SRTPKeyingMaterial {
        SRTPKeyingMaterial(profile: p, key: (0..<p.keyLength).map { UInt8($0) &+ seed }, salt: (0..<p.saltLength).map { UInt8($0) &+ 0x50 })
    }

    static func rtp(seq: UInt16, ssrc: UInt32 = 0xCAFE_0001, payload: Int) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeBytes([0x80, 0x6F])
        b.writeInteger(seq)
        b.writeInteger(UInt32(seq) &* 960)
        b.writeInteger(ssrc)
        b.writeBytes((0..<payload).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 5) })
        return b
    }

    /// An RTCP APP packet (RFC 3550 §6.7) with `words` 32-bit words of application data.
    static func rtcpApp(ssrc: UInt32 = 0xCAFE_0001, words: Int) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeBytes([0x80, 204])
        b.writeInteger(UInt16(2 + words))
        b.writeInteger(ssrc)
        b.writeBytes(Array("TEST".utf8))
        b.writeBytes((0..<(4 * words)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        return b
    }

    /// The address of a buffer's storage, to tell an in-place transform from a reallocation.
    static func storage(_ b: ByteBuffer) -> UInt {
        b.withVeryUnsafeBytes { UInt(bitPattern: $0.baseAddress) }
    }

    /// A buffer holding exactly `bytes` with `room` spare bytes after them (and nothing else referencing it).
    static func exact(_ bytes: ByteBuffer, room: Int) -> ByteBuffer {
        var b = ByteBufferAllocator().buffer(capacity: bytes.readableBytes + room)
        b.writeImmutableBuffer(bytes)
        return b
    }

    // MARK: profiles

    @Test(arguments: [
        (SRTPProfile.aeadAES256GCM, UInt16(0x0008), 32, 12, 16, 20),
        (.aeadAES128GCM, 0x0007, 16, 12, 16, 20),
        (.aesCM128HMACSHA1_80, 0x0001, 16, 14, 10, 14),
        (.aesCM128HMACSHA1_32, 0x0002, 16, 14, 4, 14),
    ])
    func profileConstants(_ p: SRTPProfile, id: UInt16, key: Int, salt: Int, rtpTag: Int, rtcpTrailer: Int) {
        #expect(p.ianaID == id && SRTPProfile(ianaID: id) == p)
        #expect(p.keyLength == key && p.saltLength == salt)
        #expect(p.rtpOverhead == rtpTag && p.rtcpOverhead == rtcpTrailer)
        #expect(p.rtpOverhead <= SRTPSession.rtpTrailerCapacity && p.rtcpOverhead <= SRTPSession.rtcpTrailerCapacity)
    }

    // MARK: every payload size, in place

    @Test(arguments: SRTPProfile.allCases, SRTPSession.Backend.allCases)
    func everyPayloadSizeRoundTrips(_ profile: SRTPProfile, _ backend: SRTPSession.Backend) throws {
        let out = try SRTPSession(direction: .outbound, material: Self.material(profile), backend: backend)
        let inb = try SRTPSession(direction: .inbound, material: Self.material(profile), backend: backend)
        for size in 0...1200 {
            let plain = Self.rtp(seq: UInt16(size), ssrc: 0xCAFE_0000 | UInt32(size % 3), payload: size)
            var p = plain
            try out.protectRTP(&p)
            #expect(p.readableBytes == plain.readableBytes + profile.rtpOverhead)
            try inb.unprotectRTP(&p)
            #expect(p == plain, "RTP payload \(size)")
        }
        for words in 0...300 {
            let plain = Self.rtcpApp(words: words)
            var c = plain
            try out.protectRTCP(&c)
            #expect(c.readableBytes == plain.readableBytes + profile.rtcpOverhead)
            try inb.unprotectRTCP(&c)
            #expect(c == plain, "RTCP APP with \(words) words")
        }
    }

    @Test(arguments: SRTPProfile.allCases, SRTPSession.Backend.allCases)
    func protectUsesTheRoomAlreadyThere(_ profile: SRTPProfile, _ backend: SRTPSession.Backend) throws {
        let out = try SRTPSession(direction: .outbound, material: Self.material(profile), backend: backend)
        var p = Self.exact(Self.rtp(seq: 9, payload: 1200), room: SRTPSession.rtpTrailerCapacity)
        let (address, capacity) = (Self.storage(p), p.capacity)
        try out.protectRTP(&p)
        #expect(p.capacity == capacity)
        #expect(Self.storage(p) == address)

        var c = Self.exact(Self.rtcpApp(words: 10), room: SRTPSession.rtcpTrailerCapacity)
        let (cAddress, cCapacity) = (Self.storage(c), c.capacity)
        try out.protectRTCP(&c)
        #expect(c.capacity == cCapacity)
        #expect(Self.storage(c) == cAddress)
    }

    @Test(arguments: SRTPProfile.allCases, SRTPSession.Backend.allCases)
    func protectGrowsATightBuffer(_ profile: SRTPProfile, _ backend: SRTPSession.Backend) throws {
        let out = try SRTPSession(direction: .outbound, material: Self.material(profile), backend: backend)
        let inb = try SRTPSession(direction: .inbound, material: Self.material(profile), backend: backend)
        let plain = Self.rtp(seq: 9, payload: 100)
        var p = Self.exact(plain, room: 0)
        try out.protectRTP(&p)
        #expect(p.readableBytes == plain.readableBytes + profile.rtpOverhead)
        try inb.unprotectRTP(&p)
        #expect(p == plain)
    }

    @Test(arguments: SRTPProfile.allCases, SRTPSession.Backend.allCases)
    func unprotectNeverReallocates(_ profile: SRTPProfile, _ backend: SRTPSession.Backend) throws {
        let out = try SRTPSession(direction: .outbound, material: Self.material(profile), backend: backend)
        let inb = try SRTPSession(direction: .inbound, material: Self.material(profile), backend: backend)
        // 1024 bytes once protected: NIO allocates power-of-two capacities, so the buffer is really full.
        let plain = Self.rtp(seq: 3, payload: 1024 - 12 - profile.rtpOverhead)
        var protected = plain
        try out.protectRTP(&protected)
        var p = Self.exact(protected, room: 0)   // as a datagram arrives: no spare room
        try #require(p.writableBytes < SRTPSession.rtpTrailerCapacity)
        let (address, capacity) = (Self.storage(p), p.capacity)
        try inb.unprotectRTP(&p)
        #expect(p == plain)
        #expect(p.capacity == capacity)
        #expect(Self.storage(p) == address)

        let rtcpPlain = Self.rtcpApp(words: (128 - 12 - profile.rtcpOverhead) / 4)
        var rtcpProtected = rtcpPlain
        try out.protectRTCP(&rtcpProtected)
        var c = Self.exact(rtcpProtected, room: 0)
        try #require(c.writableBytes < SRTPSession.rtcpTrailerCapacity)
        let (cAddress, cCapacity) = (Self.storage(c), c.capacity)
        try inb.unprotectRTCP(&c)
        #expect(c == rtcpPlain)
        #expect(c.capacity == cCapacity)
        #expect(Self.storage(c) == cAddress)
    }

    @Test(arguments: SRTPSession.Backend.allCases) func packetsInTheMiddleOfABuffer(_ backend: SRTPSession.Backend) throws {
        let m = Self.material(.aesCM128HMACSHA1_80)
        let out = try SRTPSession(direction: .outbound, material: m, backend: backend)
        let inb = try SRTPSession(direction: .inbound, material: m, backend: backend)
        let plain = Self.rtp(seq: 77, payload: 33)
        var b = ByteBuffer(bytes: [0xEE, 0xEE, 0xEE])
        b.writeImmutableBuffer(plain)
        b.moveReaderIndex(forwardBy: 3)
        try out.protectRTP(&b)
        #expect(b.readerIndex == 3 && b.readableBytes == plain.readableBytes + 10)
        #expect(b.withVeryUnsafeBytes { Array($0.prefix(3)) } == [0xEE, 0xEE, 0xEE])
        try inb.unprotectRTP(&b)
        #expect(b == plain)
    }

    @Test(arguments: SRTPSession.Backend.allCases) func emptyAndHeaderlessInputIsRejectedNotTrapped(_ backend: SRTPSession.Backend) throws {
        let m = Self.material(.aeadAES128GCM)
        let out = try SRTPSession(direction: .outbound, material: m, backend: backend)
        let inb = try SRTPSession(direction: .inbound, material: m, backend: backend)
        for bytes: [UInt8] in [[], [0x80], Array(repeating: 0x80, count: 11)] {
            var a = ByteBuffer(bytes: bytes)
            #expect(throws: SRTPError.self) { try inb.unprotectRTP(&a) }
            var b = ByteBuffer(bytes: bytes)
            #expect(throws: SRTPError.self) { try inb.unprotectRTCP(&b) }
            var c = ByteBuffer(bytes: bytes)
            #expect(throws: SRTPError.self) { try out.protectRTP(&c) }
        }
    }

    // MARK: tampering and replay, RTP and RTCP

    @Test(arguments: SRTPProfile.allCases, SRTPSession.Backend.allCases)
    func tamperedTagsFailAuthentication(_ profile: SRTPProfile, _ backend: SRTPSession.Backend) throws {
        let out = try SRTPSession(direction: .outbound, material: Self.material(profile), backend: backend)
        let inb = try SRTPSession(direction: .inbound, material: Self.material(profile), backend: backend)
        var p = Self.rtp(seq: 40, payload: 60)
        try out.protectRTP(&p)
        var lastTagByte = p
        lastTagByte.setInteger(p.getInteger(at: p.writerIndex - 1, as: UInt8.self)! ^ 0x80, at: p.writerIndex - 1)
        #expect(throws: SRTPError.authenticationFailure) { try inb.unprotectRTP(&lastTagByte) }
        var header = p   // the header is authenticated too
        header.setInteger(UInt8(0x6E), at: 1)
        #expect(throws: SRTPError.authenticationFailure) { try inb.unprotectRTP(&header) }
        var intact = p
        try inb.unprotectRTP(&intact)   // the failures did not poison the stream

        var c = Self.rtcpApp(words: 6)
        try out.protectRTCP(&c)
        for offset in [9, c.writerIndex - 1, c.writerIndex - profile.rtcpOverhead] {   // payload, tag, E|index
            var t = c
            t.setInteger(c.getInteger(at: offset, as: UInt8.self)! ^ 0x01, at: offset)
            #expect(throws: SRTPError.authenticationFailure, "SRTCP byte \(offset)") { try inb.unprotectRTCP(&t) }
        }
        var first = c
        try inb.unprotectRTCP(&first)
        var again = c
        #expect(throws: SRTPError.replay) { try inb.unprotectRTCP(&again) }
    }

    @Test(arguments: SRTPSession.Backend.allCases) func srtcpPacketsOlderThanTheWindowAreRefused(_ backend: SRTPSession.Backend) throws {
        // libsrtp's SRTCP window is fixed at 128 indices (the configurable window is SRTP's).
        let m = Self.material(.aesCM128HMACSHA1_80)
        let out = try SRTPSession(direction: .outbound, material: m, backend: backend)
        let inb = try SRTPSession(direction: .inbound, material: m, backend: backend)
        var old = Self.rtcpApp(words: 1)
        try out.protectRTCP(&old)
        for _ in 0..<200 {
            var c = Self.rtcpApp(words: 1)
            try out.protectRTCP(&c)
            try inb.unprotectRTCP(&c)
        }
        #expect(throws: SRTPError.replayTooOld) { try inb.unprotectRTCP(&old) }
    }

    // MARK: replay window size

    @Test(arguments: [0, 10, 63, 0x8000, -1, Int.max], SRTPSession.Backend.allCases)
    func unusableWindowSizesAreRefused(_ size: Int, _ backend: SRTPSession.Backend) {
        #expect(throws: SRTPError.badParameter) {
            _ = try SRTPSession(direction: .inbound, material: Self.material(.aeadAES128GCM), replayWindowSize: size, backend: backend)
        }
    }

    @Test(arguments: [(64, false), (1024, false), (8192, true), (0x7FFF, true)], SRTPSession.Backend.allCases)
    func lateArrivalWithinALargeWindow(_ row: (window: Int, accepted: Bool), _ backend: SRTPSession.Backend) throws {
        let (window, accepted) = row
        let m = Self.material(.aeadAES128GCM)
        let out = try SRTPSession(direction: .outbound, material: m, backend: backend)
        let inb = try SRTPSession(direction: .inbound, material: m, replayWindowSize: window, backend: backend)
        var late: ByteBuffer?
        for seq in UInt16(1)...6000 {
            var p = Self.rtp(seq: seq, payload: 8)
            try out.protectRTP(&p)
            if seq == 500 { late = p } else { try inb.unprotectRTP(&p) }
        }
        var p = try #require(late)   // 5500 packets behind the newest
        if accepted {
            try inb.unprotectRTP(&p)
            #expect(p == Self.rtp(seq: 500, payload: 8))
        } else {
            #expect(throws: SRTPError.replayTooOld) { try inb.unprotectRTP(&p) }
        }
    }

    // MARK: repeated transmission (plain NACK retransmission without RTX)

    @Test(arguments: SRTPProfile.allCases, SRTPSession.Backend.allCases)
    func repeatedTransmissionOfTheSamePacket(_ profile: SRTPProfile, _ backend: SRTPSession.Backend) throws {
        let out = try SRTPSession(direction: .outbound, material: Self.material(profile), backend: backend)
        let inb = try SRTPSession(direction: .inbound, material: Self.material(profile), backend: backend)
        var first = Self.rtp(seq: 1000, payload: 90)
        try out.protectRTP(&first)
        var next = Self.rtp(seq: 1001, payload: 90)
        try out.protectRTP(&next)
        var resent = Self.rtp(seq: 1000, payload: 90)
        try out.protectRTP(&resent)   // allowed by default...
        #expect(resent == first)      // ...and byte-identical: same index, same plaintext, same keystream
        var a = first
        try inb.unprotectRTP(&a)
        #expect(throws: SRTPError.replay) { try inb.unprotectRTP(&resent) }   // the receiver still drops a duplicate

        let strict = try SRTPSession(direction: .outbound, material: Self.material(profile), allowRepeatTransmission: false, backend: backend)
        var once = Self.rtp(seq: 1000, payload: 90)
        try strict.protectRTP(&once)
        var twice = Self.rtp(seq: 1000, payload: 90)
        #expect(throws: SRTPError.replay) { try strict.protectRTP(&twice) }
    }

    // MARK: keying material

    @Test(arguments: SRTPSession.Backend.allCases) func keyingMaterialSplitForTheAEADProfiles(_ backend: SRTPSession.Backend) throws {
        // RFC 5764 §4.2 with hand-laid blocks: AEAD_AES_128_GCM is 16 + 16 key bytes then 12 + 12 salt bytes,
        // AEAD_AES_256_GCM 32 + 32 then 12 + 12.
        let gcm128 = [UInt8](hex: "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf" + "505152535455565758595a5b5c5d5e5f"
                                 + "a0a1a2a3a4a5a6a7a8a9aaab" + "b0b1b2b3b4b5b6b7b8b9babb")
        let asServer = try #require(SRTPKeyingMaterial.split(exported: gcm128, profile: .aeadAES128GCM, isDTLSClient: false))
        #expect(asServer.local == SRTPKeyingMaterial(profile: .aeadAES128GCM, key: [UInt8](hex: "505152535455565758595a5b5c5d5e5f"),
                                                     salt: [UInt8](hex: "b0b1b2b3b4b5b6b7b8b9babb")))
        #expect(asServer.remote == SRTPKeyingMaterial(profile: .aeadAES128GCM, key: [UInt8](hex: "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf"),
                                                      salt: [UInt8](hex: "a0a1a2a3a4a5a6a7a8a9aaab")))

        let gcm256 = (0..<88).map { UInt8($0) }
        let asClient = try #require(SRTPKeyingMaterial.split(exported: gcm256, profile: .aeadAES256GCM, isDTLSClient: true))
        #expect(asClient.local.key == Array(0..<32) && asClient.local.salt == Array(64..<76))
        #expect(asClient.remote.key == Array(32..<64) && asClient.remote.salt == Array(76..<88))
        #expect(SRTPKeyingMaterial.split(exported: Array(gcm256.dropLast()), profile: .aeadAES256GCM, isDTLSClient: true) == nil)

        // The split feeds sessions that talk to each other: DTLS client's local = DTLS server's remote.
        let client = try #require(SRTPKeyingMaterial.split(exported: gcm128, profile: .aeadAES128GCM, isDTLSClient: true))
        let sender = try SRTPSession(direction: .outbound, material: client.local, backend: backend)
        let receiver = try SRTPSession(direction: .inbound, material: asServer.remote, backend: backend)
        var p = Self.rtp(seq: 1, payload: 10)
        try sender.protectRTP(&p)
        try receiver.unprotectRTP(&p)
        #expect(p == Self.rtp(seq: 1, payload: 10))
    }
}
