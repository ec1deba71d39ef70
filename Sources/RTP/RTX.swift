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

    /// A padding-only packet (no payload, only padding): what senders put on the RTX stream (or the
    /// media stream) as bandwidth probes. It carries no OSN and is never decapsulated; drop or count
    /// it. Always false for header-only parses, which do not know the padding length.
    public var isPaddingOnly: Bool { payloadLength == 0 && paddingLength > 0 }

    /// The original sequence number (OSN) of this RTX packet; nil when the payload has fewer than
    /// two bytes (padding-only probes).
    public var rtxOriginalSequenceNumber: RTPSequenceNumber? {
        guard payloadLength >= 2 else { return nil }
        return RTPSequenceNumber(rawValue: bytes.getInteger(at: bytes.readerIndex + headerLength, as: UInt16.self)!)
    }

    /// The original packet carried by this RTX packet, with the original SSRC and payload type given
    /// by the caller (from the negotiated `apt` and the RTX↔media SSRC association). Everything else
    /// (marker, timestamp, CSRCs, header extensions) is kept; the RTX packet's padding is dropped.
    /// Throws ``RTPParseError/rtxMissingOriginalSequenceNumber`` when the payload is shorter than the
    /// two-byte OSN — padding-only probes (check ``isPaddingOnly`` first to skip them cheaply).
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
