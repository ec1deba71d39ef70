import NIOCore

/// RFC 4571 framing of STUN, DTLS, RTP and RTCP over TCP (used by ICE-TCP, RFC 6544 §3):
/// each packet is preceded by its length as a 16-bit big-endian integer.
///
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |             LENGTH            |  RTP or RTCP packet ...       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
/// Sans-IO: feed whatever bytes the stream delivered, take out whole packets.
public struct RFC4571Framer: Sendable {
    private var pending = ByteBuffer()
    /// Packets longer than this are refused (the peer is broken or hostile).
    public let maxPacketLength: Int

    public init(maxPacketLength: Int = 65_535) { self.maxPacketLength = maxPacketLength }

    /// Why the stream must be closed.
    public enum FramingError: Error, Hashable, Sendable {
        case zeroLength
        case tooLong(Int)
    }

    /// Appends stream bytes.
    public mutating func feed(_ bytes: ByteBuffer) {
        // Consumed bytes are dropped here, once per feed, not once per packet (a read carrying thousands of
        // tiny packets would otherwise move the remainder thousands of times).
        if pending.readableBytes == 0 { pending.clear() } else if pending.readerIndex > 0 { pending.discardReadBytes() }
        var b = bytes
        pending.writeBuffer(&b)
    }

    /// The first byte of the packet being received, as soon as it has arrived (before the packet is
    /// complete), so that a stream that is not STUN/DTLS/RTP/RTCP can be refused early; `nil` before then.
    public var nextPacketFirstByte: UInt8? { pending.getInteger(at: pending.readerIndex + 2, as: UInt8.self) }

    /// The next complete packet, `nil` if more bytes are needed.
    public mutating func nextPacket() throws(FramingError) -> ByteBuffer? {
        guard let length = pending.getInteger(at: pending.readerIndex, as: UInt16.self) else { return nil }
        guard length > 0 else { throw .zeroLength }
        guard Int(length) <= maxPacketLength else { throw .tooLong(Int(length)) }
        guard pending.readableBytes >= 2 + Int(length) else { return nil }
        pending.moveReaderIndex(forwardBy: 2)
        return pending.readSlice(length: Int(length))!
    }

    /// `packet` with its length prefix, ready to write to the stream.
    public static func frame(_ packet: ByteBuffer) -> ByteBuffer {
        precondition(packet.readableBytes <= 65_535, "RFC 4571 packets are at most 65535 bytes")
        var out = ByteBufferAllocator().buffer(capacity: packet.readableBytes + 2)
        out.writeInteger(UInt16(packet.readableBytes))
        var p = packet
        out.writeBuffer(&p)
        return out
    }
}
