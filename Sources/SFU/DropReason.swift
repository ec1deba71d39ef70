import ICE
import RTCBase
import RTP
import SRTP

/// Why a datagram or packet was refused, as a value: counted per ``Category`` always, reported as an event
/// only when asked (``WebRtcTransport/reportsDrops``, ``MediaRouter/reportsDrops``). Building one costs no
/// allocation and no string, so a flood of bad input costs no more than the check that refused it.
public enum DropReason: Hashable, Sendable {
    /// The router found no transport for it: a STUN username fragment it does not know, or media from a tuple
    /// no transport has validated.
    case unroutable
    /// A STUN message the ICE agent did not accept (an error response was sent when one was due).
    case stun(ICERejection)
    /// DTLS, RTP or RTCP from a tuple no valid ICE check came from.
    case unvalidatedSource(DatagramKind)
    /// DTLS before signalling connected the transport (mediasoup drops these too).
    case dtlsBeforeConnect
    /// RTP or RTCP before DTLS keyed SRTP.
    case beforeSRTP(DatagramKind)
    /// SRTP/SRTCP that did not authenticate, was replayed or was malformed.
    case srtp(SRTPError)
    /// An SRTP packet from a new SSRC when the peer already uses ``WebRtcTransport/maxRemoteSSRCs``.
    case tooManySSRCs
    /// Decrypted, but not a valid RTP packet.
    case rtp(RTPParseError)
    /// Not STUN, DTLS, RTP or RTCP by its first byte (RFC 7983); nil for an empty datagram.
    case unclassifiable(firstByte: UInt8?)
    /// RTP that belongs to no producer of its transport (unknown SSRC, MID, RID or payload type).
    case unknownStream

    /// The reason without its details, for counting.
    public enum Category: Int, CaseIterable, Hashable, Sendable {
        case unroutable, stun, unvalidatedSource, dtlsBeforeConnect, beforeSRTP, srtp, tooManySSRCs, rtp, unclassifiable,
             unknownStream
    }

    /// This reason's category.
    public var category: Category {
        switch self {
        case .unroutable: .unroutable
        case .stun: .stun
        case .unvalidatedSource: .unvalidatedSource
        case .dtlsBeforeConnect: .dtlsBeforeConnect
        case .beforeSRTP: .beforeSRTP
        case .srtp: .srtp
        case .tooManySSRCs: .tooManySSRCs
        case .rtp: .rtp
        case .unclassifiable: .unclassifiable
        case .unknownStream: .unknownStream
        }
    }
}

/// Refusals counted by ``DropReason/Category``.
public struct DropCounts: Hashable, Sendable {
    private var counts = [Int](repeating: 0, count: DropReason.Category.allCases.count)

    public init() {}

    /// How many were refused for `category`.
    public subscript(category: DropReason.Category) -> Int { counts[category.rawValue] }

    /// Every refusal, whatever its reason.
    public var total: Int { counts.reduce(0, +) }

    /// Counts one refusal.
    public mutating func count(_ reason: DropReason) { counts[reason.category.rawValue] &+= 1 }

    /// Adds `other`'s counts to these.
    public mutating func add(_ other: DropCounts) {
        for i in counts.indices { counts[i] &+= other.counts[i] }
    }
}
