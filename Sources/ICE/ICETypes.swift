import NIOCore
import STUN

/// Local or remote ICE credentials (RFC 8445 §5.3): username fragment and password.
public struct ICECredentials: Hashable, Sendable {
    public var usernameFragment: String
    public var password: String
    public init(usernameFragment: String, password: String) {
        self.usernameFragment = usernameFragment
        self.password = password
    }

    /// Random credentials: a 16-character ufrag and a 32-character password from the ICE character set
    /// (RFC 8445 §5.3 requires at least 24 bits and 128 bits of randomness).
    public static func random<G: RandomNumberGenerator>(using g: inout G) -> ICECredentials {
        let chars = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        func pick(_ n: Int) -> String { String((0..<n).map { _ in chars[Int(g.next(upperBound: UInt64(chars.count)))] }) }
        return ICECredentials(usernameFragment: pick(16), password: pick(32))
    }
}

/// Transport of a candidate pair.
public enum ICETransportProtocol: Hashable, Sendable {
    case udp
    /// Passive ICE-TCP (RFC 6544), framed with RFC 4571.
    case tcp
}

/// The remote end of a 5-tuple as the agent sees it (the local end is the socket it arrived on).
public struct ICETuple: Hashable, Sendable, CustomStringConvertible {
    public var remote: STUNAddress
    public var transport: ICETransportProtocol
    public init(remote: STUNAddress, transport: ICETransportProtocol = .udp) {
        self.remote = remote
        self.transport = transport
    }
    public var description: String { "\(transport == .udp ? "udp" : "tcp") \(remote)" }
}

/// A datagram that arrived: its bytes and the remote end of the 5-tuple it came from.
public struct Datagram: Sendable {
    public var bytes: ByteBuffer
    public var source: ICETuple
    public init(_ bytes: ByteBuffer, from source: ICETuple) {
        self.bytes = bytes
        self.source = source
    }
}

/// A datagram to send: its bytes and the remote end of the 5-tuple it goes to.
public struct Transmit: Sendable {
    public var destination: ICETuple
    public var bytes: ByteBuffer
    public init(destination: ICETuple, bytes: ByteBuffer) {
        self.destination = destination
        self.bytes = bytes
    }
}

/// ICE connection state of an ICE-lite agent (the subset mediasoup reports).
public enum ICEState: Hashable, Sendable {
    /// No valid check yet.
    case new
    /// A valid check arrived; media may flow on the selected tuple, not yet nominated.
    case connected
    /// The controlling agent nominated a tuple.
    case completed
    /// No valid check for the consent timeout on any tuple (RFC 7675).
    case disconnected
}

/// What the ICE-lite agent tells its owner.
public enum ICEEvent: Hashable, Sendable {
    case stateChanged(ICEState)
    /// Media now goes to this tuple (`nil`: none is usable any more).
    case selectedTupleChanged(ICETuple?)
    /// A datagram got no success response, and why (an error response, if one was due, is queued as a
    /// transmit). Responses and indications give ``ICERejection/notARequest``.
    case rejected(ICERejection, from: ICETuple)
}

/// Why a datagram produced no success response.
public enum ICERejection: Hashable, Sendable {
    /// Not STUN, or STUN that does not parse.
    case malformed(STUNParseError?)
    /// Indications and responses are not answered by an ICE-lite agent.
    case notARequest
    /// FINGERPRINT present but wrong: corrupted, dropped silently.
    case badFingerprint
    /// No MESSAGE-INTEGRITY: unauthenticated, dropped silently (no amplification).
    case unauthenticated
    /// Answered with an error response carrying this code.
    case errorResponse(STUNErrorCode)
}
