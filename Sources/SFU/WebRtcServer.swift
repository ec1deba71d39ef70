import ICE
import NIOCore
import RTCBase
import STUN

/// Routes datagrams that arrive on one shared socket to the transport they belong to, like mediasoup's
/// `WebRtcServer`: a STUN message goes to the transport whose local ICE username fragment opens its
/// USERNAME (`<local ufrag>:<remote ufrag>`); everything else goes by the 5-tuple, which is bound to a
/// transport once that transport's ICE agent has validated it.
///
/// Sans-IO and generic over the caller's transport identifier. The caller delivers the datagram to the
/// routed transport and then calls ``bind(_:to:)`` if that transport now considers the tuple valid.
public struct WebRtcServer<TransportID: Hashable & Sendable>: Sendable {
    private var byUfrag: [String: TransportID] = [:]
    private var byTuple: [ICETuple: TransportID] = [:]
    private var tuplesOf: [TransportID: [ICETuple]] = [:]

    public init() {}

    /// Number of registered transports.
    public var transportCount: Int { byUfrag.count }

    /// Registers a transport under its local ICE username fragment.
    public mutating func add(_ id: TransportID, usernameFragment: String) {
        byUfrag[usernameFragment] = id
    }

    /// Forgets a transport, its username fragment and every tuple bound to it.
    public mutating func remove(_ id: TransportID) {
        byUfrag = byUfrag.filter { $0.value != id }
        for tuple in tuplesOf.removeValue(forKey: id) ?? [] where byTuple[tuple] == id { byTuple[tuple] = nil }
    }

    /// The transport a datagram from `source` belongs to, or `nil` (unknown ufrag or unbound tuple).
    public func route(_ datagram: ByteBuffer, from source: ICETuple) -> TransportID? {
        if DatagramKind.classify(datagram.readableBytesView) == .stun {
            guard let message = try? STUNMessage(parsing: datagram), let username = message.username else {
                return byTuple[source]
            }
            let local = username.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            return byUfrag[local]
        }
        return byTuple[source]
    }

    /// Binds `tuple` to transport `id` (after `id`'s ICE agent validated it); a tuple moves when a later
    /// valid check for another transport comes from it.
    public mutating func bind(_ tuple: ICETuple, to id: TransportID) {
        if let old = byTuple[tuple] {
            if old == id { return }
            tuplesOf[old]?.removeAll { $0 == tuple }
        }
        byTuple[tuple] = id
        tuplesOf[id, default: []].append(tuple)
    }

    /// The transport `tuple` is bound to.
    public func transport(boundTo tuple: ICETuple) -> TransportID? { byTuple[tuple] }
}
