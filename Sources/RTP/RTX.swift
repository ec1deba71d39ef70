import NIOCore
import RTCBase

/// RTP retransmission payload format (RFC 4588 §4): the original sequence number (OSN) in the
/// first two payload bytes, followed by the original payload, sent on the RTX stream's SSRC, payload
/// type and sequence numbers.
///
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         RTP Header                            |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |            OSN                |                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               |
/// |                  Original RTP Packet Payload                  |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
extension RTPPacket {
    /// This packet encapsulated for retransmission: same header (marker, timestamp, CSRCs,
    /// extensions) with the RTX SSRC, payload type and sequence number; payload = OSN + original
    /// payload; padding dropped.
    public func rtxEncapsulated(ssrc: SSRC, payloadType: PayloadType, sequenceNumber: RTPSequenceNumber) -> RTPPacket {
        var out = self
        var body = ByteBufferAllocator().buffer(capacity: payloadLength + 2)
        body.writeInteger(self.sequenceNumber.rawValue)
        var p = payload
        body.writeBuffer(&p)
        out.setPayload(body)
        out.ssrc = ssrc
        out.payloadType = payloadType
        out.sequenceNumber = sequenceNumber
        return out
    }

    /// The original packet carried by this RTX packet, with the original SSRC and payload type given
    /// by the caller (from the negotiated `apt` and the RTX↔media SSRC association). Throws
    /// ``RTPParseError/rtxMissingOriginalSequenceNumber`` for padding-only probes, which carry no OSN.
    public func rtxDecapsulated(originalSSRC: SSRC, originalPayloadType: PayloadType) throws(RTPParseError) -> RTPPacket {
        let p = payload
        guard p.readableBytes >= 2, let osn = p.getInteger(at: p.readerIndex, as: UInt16.self) else {
            throw .rtxMissingOriginalSequenceNumber
        }
        var out = self
        out.setPayload(p.getSlice(at: p.readerIndex + 2, length: p.readableBytes - 2)!)
        out.ssrc = originalSSRC
        out.payloadType = originalPayloadType
        out.sequenceNumber = RTPSequenceNumber(rawValue: osn)
        return out
    }
}
