import NIOCore
import RTCBase
import RTCTestSupport
import SRTP
import Testing

/// The OpenSSL backend against libsrtp2, byte for byte: the same keys and packets must give the same SRTP/SRTCP,
/// and each must take the other's — across CSRCs, header extensions, padding, every payload size up to a full
/// datagram, the sequence-number wrap (rollover counter), several SSRCs and repeated indices.
@Suite struct BackendEquivalenceTests {
    static func rtp(seq: UInt16, ssrc: UInt32, using g: inout SplitMix64) -> ByteBuffer {
        var b = ByteBuffer()
        let csrcs = Int.random(in: 0...2, using: &g), ext = Bool.random(using: &g), padding = Int.random(in: 0...3, using: &g) == 0
        b.writeInteger(UInt8(0x80 | (padding ? 0x20 : 0) | (ext ? 0x10 : 0) | UInt8(csrcs)))
        b.writeInteger(UInt8.random(in: 0...127, using: &g))
        b.writeInteger(seq)
        b.writeInteger(UInt32.random(in: 0...UInt32.max, using: &g))
        b.writeInteger(ssrc)
        for _ in 0..<csrcs { b.writeInteger(UInt32.random(in: 0...UInt32.max, using: &g)) }
        if ext {
            let words = Int.random(in: 0...3, using: &g)
            b.writeInteger(UInt16(0xBEDE)); b.writeInteger(UInt16(words))
            for _ in 0..<(4 * words) { b.writeInteger(UInt8.random(in: 0...255, using: &g)) }
        }
        for _ in 0..<Int.random(in: 0...1200, using: &g) { b.writeInteger(UInt8.random(in: 0...255, using: &g)) }
        if padding { b.writeRepeatingByte(0, count: 3); b.writeInteger(UInt8(4)) }
        return b
    }

    static func rtcp(ssrc: UInt32, using g: inout SplitMix64) -> ByteBuffer {
        var b = ByteBuffer()
        let words = Int.random(in: 1...40, using: &g)
        b.writeBytes([0x81, 0xC9]); b.writeInteger(UInt16(words)); b.writeInteger(ssrc)
        for _ in 0..<(4 * (words - 1)) { b.writeInteger(UInt8.random(in: 0...255, using: &g)) }
        return b
    }

    @Test(arguments: SRTPProfile.allCases)
    func bothBackendsProduceAndAcceptTheSameBytes(_ profile: SRTPProfile) throws {
        var g = SplitMix64.announced("BackendEquivalenceTests \(profile)")
        let material = SRTPKeyingMaterial(profile: profile, key: (0..<profile.keyLength).map { _ in .random(in: 0...255, using: &g) },
                                          salt: (0..<profile.saltLength).map { _ in .random(in: 0...255, using: &g) })
        let sessions = try SRTPSession.Backend.allCases.map { backend in
            (out: try SRTPSession(direction: .outbound, material: material, backend: backend),
             inb: try SRTPSession(direction: .inbound, material: material, backend: backend))
        }
        let ssrcs: [UInt32] = [0x1111_1111, 0xDEAD_BEEF, 7]
        var seqs: [UInt32: UInt16] = [0x1111_1111: 65_000, 0xDEAD_BEEF: 1, 7: 40_000]
        var sent: [ByteBuffer] = []
        for i in 0..<3_000 {
            let ssrc = ssrcs[i % ssrcs.count]
            // Mostly in order; sometimes a repeat (retransmission without RTX) or a jump.
            var seq = seqs[ssrc]! &+ 1
            let roll = Int.random(in: 0..<20, using: &g)
            if roll == 0, let back = Optional(seqs[ssrc]! &- UInt16.random(in: 0...20, using: &g)) { seq = back } else { seqs[ssrc] = seq }
            if roll == 1 { seq = seqs[ssrc]! &+ 50; seqs[ssrc] = seq }
            let plain = Self.rtp(seq: seq, ssrc: ssrc, using: &g)
            var a = plain, b = plain
            let ra = Result { () throws(SRTPError) in try sessions[0].out.protectRTP(&a) }
            let rb = Result { () throws(SRTPError) in try sessions[1].out.protectRTP(&b) }
            #expect(ra.isSuccess == rb.isSuccess, "packet \(i) seq \(seq): \(ra) vs \(rb)")
            guard ra.isSuccess, rb.isSuccess else { continue }
            #expect(a == b, "packet \(i) seq \(seq) differs")
            sent.append(a)
            // Each inbound session takes what the other backend produced, and both refuse the same duplicates.
            var x = a, y = b
            let ua = Result { () throws(SRTPError) in try sessions[0].inb.unprotectRTP(&y) }
            let ub = Result { () throws(SRTPError) in try sessions[1].inb.unprotectRTP(&x) }
            #expect(ua.errorValue == ub.errorValue, "packet \(i) seq \(seq): \(ua) vs \(ub)")
            if ua.isSuccess { #expect(y == plain && x == plain) }
        }
        #expect(sent.count > 2_500)
        for i in 0..<300 {
            let plain = Self.rtcp(ssrc: ssrcs[i % ssrcs.count], using: &g)
            var a = plain, b = plain
            try sessions[0].out.protectRTCP(&a)
            try sessions[1].out.protectRTCP(&b)
            #expect(a == b, "RTCP \(i) differs")
            var x = a, y = b
            try sessions[0].inb.unprotectRTCP(&y)
            try sessions[1].inb.unprotectRTCP(&x)
            #expect(x == plain && y == plain)
            var again = a
            #expect(throws: SRTPError.replay) { try sessions[0].inb.unprotectRTCP(&again) }
        }
    }
}

extension Result {
    var isSuccess: Bool { if case .success = self { true } else { false } }
    var errorValue: Failure? { if case .failure(let e) = self { e } else { nil } }
}
