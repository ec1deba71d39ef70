import NIOCore
import RTCBase

/// Why bytes are not valid RTCP, with the byte offset in the compound where it was found.
public enum RTCPParseError: Error, Hashable, Sendable {
    /// Fewer than 4 bytes left for a header.
    case truncatedHeader(offset: Int)
    /// Version is not 2.
    case badVersion(offset: Int, version: UInt8)
    /// The length field points past the end of the datagram.
    case badLength(offset: Int, length: Int, available: Int)
    /// The padding bit is set but the count is 0 or larger than the packet.
    case badPadding(offset: Int)
    /// The body is shorter than its type requires.
    case bodyTooShort(offset: Int, packetType: UInt8)
    /// A field is inconsistent with the rest of the packet.
    case malformed(offset: Int, packetType: UInt8, reason: String)
    /// The datagram holds no RTCP packet at all.
    case empty
}

/// RTCP packet types (RFC 3550 §12.1, RFC 4585, RFC 3611).
public enum RTCPPacketType {
    public static let senderReport: UInt8 = 200
    public static let receiverReport: UInt8 = 201
    public static let sourceDescription: UInt8 = 202
    public static let goodbye: UInt8 = 203
    public static let applicationDefined: UInt8 = 204
    public static let transportFeedback: UInt8 = 205
    public static let payloadFeedback: UInt8 = 206
    public static let extendedReport: UInt8 = 207
}

/// The common header of every RTCP packet (RFC 3550 §6.4.1).
///
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |V=2|P| RC/FMT  |      PT       |             length            |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
/// `length` is the packet size in 32-bit words minus one, header and padding included.
public struct RTCPHeader: Hashable, Sendable {
    public var padding: Bool
    /// Report/source count or feedback message type.
    public var count: UInt8
    public var packetType: UInt8
    /// The length field (words − 1).
    public var length: UInt16
    public init(padding: Bool, count: UInt8, packetType: UInt8, length: UInt16) {
        self.padding = padding
        self.count = count
        self.packetType = packetType
        self.length = length
    }
    /// Total bytes of the packet.
    public var packetSize: Int { 4 * (Int(length) + 1) }
}

/// A report block of SR/RR (RFC 3550 §6.4.1).
///
/// ```
/// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
/// |                 SSRC_1 (SSRC of first source)                 |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | fraction lost |       cumulative number of packets lost       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |           extended highest sequence number received           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                      interarrival jitter                      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         last SR (LSR)                         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                   delay since last SR (DLSR)                  |
/// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
/// ```
public struct RTCPReportBlock: Hashable, Sendable {
    public var ssrc: SSRC
    /// Fraction lost since the last report, in 1/256.
    public var fractionLost: UInt8
    /// Cumulative packets lost, a 24-bit signed value (-8388608 ... 8388607).
    public var cumulativeLost: Int32
    public var extendedHighestSequenceNumber: UInt32
    public var jitter: UInt32
    /// Middle 32 bits of the NTP timestamp of the last SR received.
    public var lastSenderReport: UInt32
    /// Delay since that SR, in 1/65536 s.
    public var delaySinceLastSenderReport: UInt32

    public init(ssrc: SSRC, fractionLost: UInt8, cumulativeLost: Int32, extendedHighestSequenceNumber: UInt32,
                jitter: UInt32, lastSenderReport: UInt32, delaySinceLastSenderReport: UInt32) {
        self.ssrc = ssrc
        self.fractionLost = fractionLost
        self.cumulativeLost = cumulativeLost
        self.extendedHighestSequenceNumber = extendedHighestSequenceNumber
        self.jitter = jitter
        self.lastSenderReport = lastSenderReport
        self.delaySinceLastSenderReport = delaySinceLastSenderReport
    }

    static let size = 24

    init(reading b: ByteBuffer, at o: Int) {
        ssrc = SSRC(rawValue: b.getInteger(at: o, as: UInt32.self)!)
        let word = b.getInteger(at: o + 4, as: UInt32.self)!
        fractionLost = UInt8(word >> 24)
        let raw = Int32(bitPattern: word << 8) >> 8   // sign-extend 24 bits
        cumulativeLost = raw
        extendedHighestSequenceNumber = b.getInteger(at: o + 8, as: UInt32.self)!
        jitter = b.getInteger(at: o + 12, as: UInt32.self)!
        lastSenderReport = b.getInteger(at: o + 16, as: UInt32.self)!
        delaySinceLastSenderReport = b.getInteger(at: o + 20, as: UInt32.self)!
    }

    func write(into b: inout ByteBuffer) {
        b.writeInteger(ssrc.rawValue)
        b.writeInteger(UInt32(fractionLost) << 24 | (UInt32(bitPattern: cumulativeLost) & 0x00FF_FFFF))
        b.writeInteger(extendedHighestSequenceNumber)
        b.writeInteger(jitter)
        b.writeInteger(lastSenderReport)
        b.writeInteger(delaySinceLastSenderReport)
    }
}

/// Writes an RTCP header + body + padding: `paddingLength` bytes (zeros, then the count) with P set.
@inline(__always)
func writePacket(into b: inout ByteBuffer, count: UInt8, packetType: UInt8, bodySize: Int, paddingLength: Int,
                 body: (inout ByteBuffer) -> Void) {
    let total = 4 + bodySize + paddingLength
    precondition(total % 4 == 0, "RTCP packets are a multiple of 4 bytes")
    b.writeInteger(UInt8(0x80 | (paddingLength > 0 ? 0x20 : 0) | (count & 0x1F)))
    b.writeInteger(packetType)
    b.writeInteger(UInt16(total / 4 - 1))
    let start = b.writerIndex
    body(&b)
    assert(b.writerIndex - start == bodySize, "body wrote \(b.writerIndex - start) bytes, declared \(bodySize)")
    if paddingLength > 0 {
        b.writeRepeatingByte(0, count: paddingLength - 1)
        b.writeInteger(UInt8(paddingLength))
    }
}

@inline(__always) func pad4(_ n: Int) -> Int { (n + 3) & ~3 }
