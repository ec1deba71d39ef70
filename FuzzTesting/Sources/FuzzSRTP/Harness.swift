import NIOCore
import SRTP

/// Differential fuzzing of the two SRTP backends: whatever the input, the OpenSSL backend and libsrtp2 must agree —
/// the same protected bytes for the same plaintext, and the same verdict (and plaintext) for the same datagram.
///
/// Input: byte 0 selects the profile (bits 0–1), RTP or RTCP (bit 2), and whether the payload is sent as is
/// (bit 3 clear: a datagram that must be refused alike) or first protected by both outbound sessions (bit 3 set;
/// bits 4–7 then flip one byte of the result at the offset the next byte gives, 0 = none). Sessions persist across
/// inputs so that rollover counters and replay windows evolve; SSRCs are folded onto four values to bound state.
final class FuzzSRTPHarness {
    struct Pair {
        let out: [SRTPSession]
        let inb: [SRTPSession]
    }
    let pairs: [Pair]

    init() {
        pairs = SRTPProfile.allCases.map { profile in
            let m = SRTPKeyingMaterial(profile: profile, key: (0..<profile.keyLength).map { UInt8(truncatingIfNeeded: $0 &* 13) },
                                       salt: (0..<profile.saltLength).map { UInt8($0 &+ 0x40) })
            let backends = SRTPSession.Backend.allCases
            do {
                return Pair(out: try backends.map { try SRTPSession(direction: .outbound, material: m, backend: $0) },
                            inb: try backends.map { try SRTPSession(direction: .inbound, material: m, backend: $0) })
            } catch {
                fatalError("FuzzSRTP: sessions: \(error)")
            }
        }
    }

    func run(_ input: UnsafeBufferPointer<UInt8>) {
        guard input.count >= 2 else { return }
        let control = input[0], pair = pairs[Int(control & 3)], isRTCP = control & 4 != 0
        var payload = ByteBuffer(bytes: input.dropFirst(2))
        let ssrcAt = isRTCP ? 4 : 8
        if let raw = payload.getInteger(at: ssrcAt, as: UInt32.self) { payload.setInteger([1, 2, 0xDEAD_BEEF, 0x1234][Int(raw % 4)], at: ssrcAt) }
        var datagrams = [payload, payload]
        if control & 8 != 0 {
            let verdicts = Self.both(&datagrams) { i, d throws(SRTPError) in
                if isRTCP { try pair.out[i].protectRTCP(&d) } else { try pair.out[i].protectRTP(&d) }
            }
            guard verdicts[0] == verdicts[1] else { fatalError("FuzzSRTP: protect disagrees: \(verdicts)") }
            guard datagrams[0] == datagrams[1] else { fatalError("FuzzSRTP: protected bytes differ") }
            let flip = Int(control >> 4)
            if flip != 0, datagrams[0].readableBytes > 0 {
                let at = Int(input[1]) % datagrams[0].readableBytes
                for i in 0..<2 { datagrams[i].setInteger(datagrams[i].getInteger(at: at, as: UInt8.self)! ^ UInt8(flip), at: at) }
            }
        }
        let verdicts = Self.both(&datagrams) { i, d throws(SRTPError) in
            if isRTCP { try pair.inb[i].unprotectRTCP(&d) } else { try pair.inb[i].unprotectRTP(&d) }
        }
        // libsrtp reports some malformed packets as authentication failures where the OpenSSL backend reports a bad
        // parameter; both refuse, and that is what matters.
        let refused = verdicts.map { $0 != nil }
        guard refused[0] == refused[1] else { fatalError("FuzzSRTP: unprotect disagrees: \(verdicts)") }
        if !refused[0], datagrams[0] != datagrams[1] { fatalError("FuzzSRTP: unprotected bytes differ") }
    }

    /// Runs `op` on each backend's copy of the datagram; the error each threw, if any.
    static func both(_ datagrams: inout [ByteBuffer], _ op: (Int, inout ByteBuffer) throws(SRTPError) -> Void) -> [SRTPError?] {
        (0..<2).map { i in
            do throws(SRTPError) {
                try op(i, &datagrams[i])
                return nil
            } catch {
                return error
            }
        }
    }
}

nonisolated(unsafe) let fuzzHarness = FuzzSRTPHarness()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzHarness.run(UnsafeBufferPointer(start: data, count: data == nil ? 0 : size))
    return 0
}
