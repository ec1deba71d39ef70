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
        var b = bytes
        pending.writeBuffer(&b)
    }

    /// The next complete packet, `nil` if more bytes are needed.
    public mutating func nextPacket() throws(FramingError) -> ByteBuffer? {
        guard let length = pending.getInteger(at: pending.readerIndex, as: UInt16.self) else { return nil }
        guard length > 0 else { throw .zeroLength }
        guard Int(length) <= maxPacketLength else { throw .tooLong(Int(length)) }
        guard pending.readableBytes >= 2 + Int(length) else { return nil }
        pending.moveReaderIndex(forwardBy: 2)
        let packet = pending.readSlice(length: Int(length))!
        if pending.readableBytes == 0 { pending.clear() } else { pending.discardReadBytes() }
        return packet
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
