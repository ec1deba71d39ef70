import NIOCore
import RTCBase
import STUN

/// A minimal controlling ICE agent for the project's own test peers and load generator: it sends
/// connectivity checks to one remote candidate, nominates it with USE-CANDIDATE, retransmits
/// unanswered checks (RFC 8489 §6.2.1: RTO doubling from 250 ms, here up to 7 tries), verifies
/// responses with the remote password, and sends consent checks every 5 s once connected
/// (RFC 7675 §5.1 randomises 4–6 s; a fixed interval keeps tests deterministic).
///
/// Sans-IO: ``poll(now:)`` returns the next check to send (or nil), ``handleResponse(_:now:)`` takes
/// a response, ``nextDeadline`` says when to poll again.
public final class ICEControllingAgent {
    public let local: ICECredentials
    public let remote: ICECredentials
    public let tieBreaker: UInt64
    public let priority: UInt32
    private let remoteKey: STUNIntegrityKey
    private var transactionIDs: [STUNTransactionID: Duration] = [:]
    private var current: (id: STUNTransactionID, sentAt: Duration, tries: Int, rto: Duration)?
    private var nextConsent: Duration?
    private var idCounter: UInt64 = 0
    public private(set) var connected = false
    public private(set) var failed = false

    public init(local: ICECredentials, remote: ICECredentials, tieBreaker: UInt64, priority: UInt32 = 0x6E00_1EFF) {
        self.local = local
        self.remote = remote
        self.tieBreaker = tieBreaker
        self.priority = priority
        self.remoteKey = STUNIntegrityKey(shortTermPassword: remote.password)
    }

    private func makeCheck(id: STUNTransactionID) -> ByteBuffer {
        var b = STUNMessageBuilder(type: .bindingRequest, transactionID: id)
        b.appendUsername("\(remote.usernameFragment):\(local.usernameFragment)")
        b.appendPriority(priority)
        b.appendICEControlling(tieBreaker: tieBreaker)
        b.appendUseCandidate()
        b.appendMessageIntegrity(key: remoteKey)
        b.appendFingerprint()
        return b.message.bytes
    }

    /// The check due at `now`, if any.
    public func poll(now: Duration) -> ByteBuffer? {
        guard !failed else { return nil }
        if var c = current {
            guard now - c.sentAt >= c.rto else { return nil }
            guard c.tries < 7 else {
                failed = true
                current = nil
                return nil
            }
            c.tries += 1
            c.sentAt = now
            c.rto = c.rto * 2
            current = c
            return makeCheck(id: c.id)
        }
        if let due = nextConsent, now < due { return nil }
        idCounter += 1
        let id = STUNTransactionID(high: UInt32(truncatingIfNeeded: tieBreaker), low: idCounter)
        current = (id, now, 1, .milliseconds(250))
        return makeCheck(id: id)
    }

    /// When ``poll(now:)`` may return something next.
    public var nextDeadline: Duration? {
        if failed { return nil }
        if let c = current { return c.sentAt + c.rto }
        return nextConsent
    }

    /// Takes a response; returns true if it answered the outstanding check and authenticated.
    @discardableResult
    public func handleResponse(_ bytes: ByteBuffer, now: Duration) -> Bool {
        guard let m = try? STUNMessage(parsing: bytes), let c = current, m.transactionID == c.id,
              m.type == .bindingSuccess, m.verifyFingerprint(), m.verifyMessageIntegrity(key: remoteKey) else { return false }
        current = nil
        connected = true
        nextConsent = now + .seconds(5)
        return true
    }
}
