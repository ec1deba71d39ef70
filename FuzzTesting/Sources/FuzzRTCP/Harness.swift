import NIOCore
import RTCP

/// Parses arbitrary bytes as an RTCP compound, strictly and leniently. A strict parse must re-encode
/// byte-identically and re-parse equal; the lenient parse must agree with the strict one when that
/// succeeds; every accessor (routing SSRCs, transport-cc decoding) runs on whatever parsed.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: data == nil ? 0 : size))
    let (lenient, _) = RTCPPacket.parseCompoundLeniently(bytes)
    for p in lenient { _ = (p.senderSSRC, p.mediaSSRCs, p.packetType, p.paddingLength) }
    guard let packets = try? RTCPPacket.parseCompound(bytes) else { return 0 }
    guard packets == lenient else { fatalError("strict and lenient parses disagree") }
    // (Lenient parsing may accept what strict parsing refuses — non-zero padding octets — but never the
    // reverse, and where both succeed they agree.)
    let encoded = RTCPPacket.encodeCompound(packets)
    guard encoded == bytes else { fatalError("re-encoding differs") }
    guard (try? RTCPPacket.parseCompound(encoded)) == packets else { fatalError("re-parse differs") }
    for p in packets {
        switch p {
        case .transportFeedback(let t):
            _ = (t.packets, t.statuses)
            // The estimator's non-allocating walk agrees with the arrays.
            var walked: [(UInt16, Int64)] = []
            t.forEachPacket { offset, time in if let time { walked.append((t.baseSequenceNumber &+ UInt16(truncatingIfNeeded: offset), time)) } }
            let arrivals = t.arrivalTimesMicroseconds
            guard walked.map(\.0) == arrivals.map(\.sequenceNumber), walked.map(\.1) == arrivals.map(\.time) else {
                fatalError("forEachPacket differs from arrivalTimesMicroseconds")
            }
        case .nack(let n): _ = RTCPGenericNACK(senderSSRC: n.senderSSRC, mediaSSRC: n.mediaSSRC, lost: n.lostSequenceNumbers)
        case .remb(let r): _ = RTCPREMB(senderSSRC: r.senderSSRC, bitrate: r.bitrate, ssrcs: r.ssrcs)
        default: break
        }
    }
    return 0
}
