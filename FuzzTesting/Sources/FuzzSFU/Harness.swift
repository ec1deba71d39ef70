#if canImport(Glibc)
import Glibc
#endif
import ICE
import NIOCore
import RTCBase
import RTP
import SFU
import SFUTestSupport

/// The SFU's whole packet input path under fuzzing: one ``RouterHarness`` (built once, kept across inputs)
/// with three connected peers — peer 0 produces Opus and RID-simulcast VP8 (three encodings), peers 1 and 2
/// consume both, active.
///
/// Input: byte 0 selects the path (low 3 bits) and a time step (high 5 bits); the rest is the payload.
///
/// | mode | the payload enters as                                                                      |
/// |------|-------------------------------------------------------------------------------------------|
/// | 0, 1 | a raw datagram from peer 0's / peer 1's validated tuple (STUN, DTLS, SRTP that fails auth) |
/// | 2    | a raw datagram from an unknown tuple                                                       |
/// | 3    | plaintext RTP protected with peer 0's SRTP (the producer: matching, stats, NACK, forwarding) |
/// | 4, 5 | plaintext RTCP protected with peer 1's / peer 2's SRTCP (a consumer: NACK, PLI, RR, ...)   |
/// | 6    | plaintext RTCP protected with peer 0's SRTCP (the producer: SR, ...)                      |
/// | 7    | plaintext RTP protected with peer 1's SRTP (a transport without producers)                |
///
/// Protected payloads are adjusted so that SRTP lets them through, as it would a real peer's: the SSRC
/// (RTP bytes 8–11, RTCP bytes 4–7) is folded onto a small pool of SSRCs (the harness's own and a few
/// strangers), so that libsrtp's per-SSRC state stays bounded; an RTP sequence number is, after a
/// stream's first packet, read as a signed step from that stream's highest one (−1000…+3000), so that the
/// SRTP replay check does not drop most inputs. A time step of 24…31 then runs the link for 50…400 ms of
/// virtual time (timers: NACKs, reports, key-frame retries, consent).
///
/// Invariants (a trap is a bug): every transmit goes to a peer's tuple; every datagram a peer gets from
/// the router is STUN, DTLS, or SRTP/SRTCP that decrypts with its keys (no replayed index) and parses;
/// RTP reaches only consumer peers and carries the SSRC or RTX SSRC of one of that peer's consumers.
final class FuzzSFUHarness {
    let harness: RouterHarness
    /// Media and RTX SSRCs of each peer's consumers.
    let consumerSSRCs: [Set<UInt32>]
    let pool: [UInt32]
    var highest: [UInt32: UInt16] = [:]
    /// The input being run and, per (peer, SSRC, sequence number) of RTP delivered, the input that caused it: when
    /// a peer gets a replayed index, both inputs are printed (the harness keeps state across inputs, so a crash
    /// file alone does not reproduce).
    var currentInput = ""
    var deliveredBy: [String: String] = [:]
    let strangerTuple = ICETuple(remote: .v4(address: 0x7F00_0001, port: 40_404))

    init() {
        do {
            harness = try RouterHarness(peerCount: 3, seed: 7)
            let audio = try harness.addAudioProducer()
            let video = try harness.addVP8Producer(simulcast: true)
            try harness.addConsumers(of: audio)
            try harness.addConsumers(of: video)
        } catch {
            fatalError("FuzzSFU: harness setup failed: \(error)")
        }
        guard harness.isConnected else { fatalError("FuzzSFU: peers did not connect") }
        var ssrcs = Array(repeating: Set<UInt32>(), count: harness.peers.count)
        for c in harness.consumers {
            for e in c.parameters.encodings { ssrcs[c.peer].formUnion([e.ssrc, e.rtxSSRC].compactMap { $0 }) }
        }
        consumerSSRCs = ssrcs
        // The producer's SSRCs (audio, the RID layers' as RouterHarness.Producer.packet sends them, their RTX
        // SSRCs), the consumers' (as media SSRCs of RTCP), the peers' RTCP sender SSRC 1, and strangers.
        let base = RouterHarness.ridSSRCBase
        pool = [0xA0D10, base, base + 1, base + 2, base + 0x10, base + 0x11, base + 0x12, 1, 0xDEAD_BEEF, 0x1234_5678]
            + harness.consumers.flatMap { c in c.parameters.encodings.flatMap { [$0.ssrc, $0.rtxSSRC].compactMap { $0 } } }
        for peer in harness.peers { peer.retainsPackets = false }
        harness.onTransmit = { [unowned self, consumerSSRCs] transmit, peer, reception in
            guard let peer, let reception else { fatalError("FuzzSFU: transmit to \(transmit.destination), no peer's tuple") }
            switch reception {
            case .stun, .dtls, .rtcp:
                break
            case .rtp(let packet):
                guard consumerSSRCs[peer].contains(packet.ssrc.rawValue) else {
                    fatalError("FuzzSFU: RTP with SSRC \(packet.ssrc) to peer \(peer), whose consumers send \(consumerSSRCs[peer])")
                }
                if deliveredBy.count > 100_000 { deliveredBy.removeAll() }
                deliveredBy["\(peer)/\(packet.ssrc.rawValue)/\(packet.sequenceNumber.rawValue)"] = currentInput
            case .undecryptable(let error):
                if error == .replayTooOld { break }   // late for the browser's window: dropped there, not a fault
                var origin = ""
                if error == .replay, let header = try? RTPPacket(parsingHeaderOf: transmit.bytes) {
                    let key = "\(peer)/\(header.ssrc.rawValue)/\(header.sequenceNumber.rawValue)"
                    origin = "\n  first copy made by input: \(deliveredBy[key] ?? "?")\n  this copy made by input: \(currentInput)"
                }
                fatalError("FuzzSFU: datagram to peer \(peer) does not decrypt: \(String(describing: error)) \(transmit.bytes.hexString)\(origin)")
            case .unparsable:
                fatalError("FuzzSFU: datagram to peer \(peer) decrypts but does not parse")
            case .unknown:
                fatalError("FuzzSFU: datagram to peer \(peer) is no protocol: \(transmit.bytes.hexString)")
            }
        }
    }

    /// Folds the 4 bytes at `offset` onto ``pool`` (kept when already in it).
    func foldSSRC(_ bytes: inout ByteBuffer, at offset: Int) -> UInt32? {
        guard let raw = bytes.getInteger(at: bytes.readerIndex + offset, as: UInt32.self) else { return nil }
        let ssrc = pool.contains(raw) ? raw : pool[Int(raw % UInt32(pool.count))]
        bytes.setInteger(ssrc, at: bytes.readerIndex + offset)
        return ssrc
    }

    func sendRTP(_ payload: ByteBuffer, from peer: Int) {
        var bytes = payload
        guard bytes.readableBytes >= 12, let ssrc = foldSSRC(&bytes, at: 8),
              let seq = bytes.getInteger(at: bytes.readerIndex + 2, as: UInt16.self) else { return }
        if let top = highest[ssrc] {
            let step = max(-1000, min(3000, Int(Int16(bitPattern: seq))))
            let mapped = UInt16(truncatingIfNeeded: Int(top) + step)
            bytes.setInteger(mapped, at: bytes.readerIndex + 2)
            if step > 0 { highest[ssrc] = mapped }
        } else {
            highest[ssrc] = seq
        }
        currentInput += " → SSRC \(ssrc) seq \(bytes.getInteger(at: bytes.readerIndex + 2, as: UInt16.self)!)"
        guard let datagram = try? harness.peers[peer].protect(rtpBytes: bytes) else { return }
        harness.router.handle(Datagram(datagram, from: harness.tuples[peer]), now: harness.now)
    }

    func sendRTCP(_ payload: ByteBuffer, from peer: Int) {
        var bytes = payload
        guard bytes.readableBytes >= 8, foldSSRC(&bytes, at: 4) != nil,
              let datagram = try? harness.peers[peer].protect(rtcpBytes: bytes) else { return }
        harness.router.handle(Datagram(datagram, from: harness.tuples[peer]), now: harness.now)
    }

    func run(_ input: UnsafeBufferPointer<UInt8>) {
        guard let first = input.first else { return }
        let payload = ByteBuffer(bytes: input.dropFirst())
        currentInput = "mode \(first & 7) step \(first >> 3) at \(harness.now): \(payload.hexString)"
        switch first & 7 {
        case 0: harness.router.handle(Datagram(payload, from: harness.tuples[0]), now: harness.now)
        case 1: harness.router.handle(Datagram(payload, from: harness.tuples[1]), now: harness.now)
        case 2: harness.router.handle(Datagram(payload, from: strangerTuple), now: harness.now)
        case 3: sendRTP(payload, from: 0)
        case 4: sendRTCP(payload, from: 1)
        case 5: sendRTCP(payload, from: 2)
        case 6: sendRTCP(payload, from: 0)
        default: sendRTP(payload, from: 1)
        }
        harness.deliver()
        while harness.router.pollEvent() != nil {}
        let step = Int(first >> 3)
        if step >= 24 { harness.run(for: .milliseconds(50 * (step - 23))) }
        if highest.count > 64 { highest.removeAll() }
    }
}

nonisolated(unsafe) let fuzzHarness: FuzzSFUHarness = {
    let h = FuzzSFUHarness()
    #if canImport(Glibc)
    // FUZZ_SFU_STATS=1: print what the peers received at exit (is the corpus reaching forwarding?).
    if getenv("FUZZ_SFU_STATS") != nil {
        atexit {
            for (i, peer) in fuzzHarness.harness.peers.enumerated() { print("FuzzSFU peer \(i): \(peer.counters)") }
        }
    }
    #endif
    return h
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzHarness.run(UnsafeBufferPointer(start: data, count: data == nil ? 0 : size))
    return 0
}
