/// What a datagram arriving on a WebRTC 5-tuple carries, told from its first byte as
/// RFC 7983 §7 (updating RFC 5764 §5.1.2) prescribes, and RTP from RTCP by the second byte
/// as RFC 5761 §4 prescribes.
///
/// ```
///                 +----------------+
///                 |        [0..3] -+--> forward to STUN
///                 |                |
///                 |      [16..19] -+--> forward to ZRTP
///                 |                |
///     packet -->  |      [20..63] -+--> forward to DTLS
///                 |                |
///                 |      [64..79] -+--> forward to TURN Channel
///                 |                |
///                 |    [128..191] -+--> forward to RTP/RTCP
///                 +----------------+
/// ```
public enum DatagramKind: Sendable, Hashable {
    case stun
    case zrtp
    case dtls
    case turnChannel
    case rtp
    case rtcp
    /// Matches none of the ranges (or is empty): drop it.
    case unknown

    /// Classifies a datagram from its first two bytes.
    @inlinable
    public static func classify(firstByte: UInt8, secondByte: UInt8?) -> DatagramKind {
        switch firstByte {
        case 0...3: return .stun
        case 16...19: return .zrtp
        case 20...63: return .dtls
        case 64...79: return .turnChannel
        case 128...191:
            // RFC 5761 §4: RTCP packet types 192..223 (FIR..APP-range) sit where RTP payload types
            // 64..95 with the marker bit set would be; those PTs are reserved for this reason.
            guard let second = secondByte else { return .unknown }
            return (192...223).contains(second) ? .rtcp : .rtp
        default: return .unknown
        }
    }

    /// Classifies a datagram given as bytes.
    @inlinable
    public static func classify<C: Collection>(_ bytes: C) -> DatagramKind where C.Element == UInt8 {
        guard let first = bytes.first else { return .unknown }
        let second = bytes.dropFirst().first
        return classify(firstByte: first, secondByte: second)
    }
}
