import NIOCore
import RTCBase
import STUN

/// What a ``ICEControllingAgent`` reports.
public enum ICEControllingEvent: Hashable, Sendable {
    /// The first check was answered and authenticated: the pair works.
    case connected
    /// A check went unanswered after every retransmission.
    case failed
}

/// A minimal controlling ICE agent for the project's own test peers and load generator: it sends
/// connectivity checks to one remote candidate, nominates it with USE-CANDIDATE, retransmits
/// unanswered checks (RFC 8489 §6.2.1: RTO doubling from 250 ms, here up to 7 tries), verifies
/// responses with the remote password, and sends consent checks every 5 s once connected
/// (RFC 7675 §5.1 randomises 4–6 s; a fixed interval keeps tests deterministic).
///
/// Sans-IO (``SansIO``): ``start(now:)`` queues the first check; ``handle(_:now:)`` takes a response;
/// ``handleTimeout(now:)`` queues retransmissions and consent checks; ``pollTransmit()`` yields the checks
/// (for the one remote candidate), ``pollEvent()`` ``ICEControllingEvent``s, ``nextDeadline`` the next timer.
public final class ICEControllingAgent: SansIO {
    public let local: ICECredentials
    public let remote: ICECredentials
    public let tieBreaker: UInt64
    public let priority: UInt32
    private let remoteKey: STUNIntegrityKey
    private var current: (id: STUNTransactionID, sentAt: Duration, tries: Int, rto: Duration)?
    private var nextConsent: Duration?
    private var idCounter: UInt64 = 0
    private var transmits = CircularBuffer<ByteBuffer>(initialCapacity: 2)
    private var events = CircularBuffer<ICEControllingEvent>(initialCapacity: 2)
    public private(set) var connected = false
    public private(set) var failed = false
    private var started = false

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

    /// Queues the first check (once).
    public func start(now: Duration) {
        guard !started else { return }
        started = true
        sendNewCheck(now: now)
    }

    private func sendNewCheck(now: Duration) {
        idCounter += 1
        let id = STUNTransactionID(high: UInt32(truncatingIfNeeded: tieBreaker), low: idCounter)
        current = (id, now, 1, .milliseconds(250))
        transmits.append(makeCheck(id: id))
    }

    /// Retransmits an unanswered check whose RTO passed (failing after 7 tries) and sends the consent check
    /// that is due.
    public func handleTimeout(now: Duration) {
        guard started, !failed else { return }
        if var c = current {
            guard now - c.sentAt >= c.rto else { return }
            guard c.tries < 7 else {
                failed = true
                current = nil
                events.append(.failed)
                return
            }
            c.tries += 1
            c.sentAt = now
            c.rto = c.rto * 2
            current = c
            transmits.append(makeCheck(id: c.id))
            return
        }
        if let due = nextConsent, now >= due { sendNewCheck(now: now) }
    }

    /// When ``handleTimeout(now:)`` has a retransmission or a consent check to send.
    public var nextDeadline: Duration? {
        if failed || !started { return nil }
        if let c = current { return c.sentAt + c.rto }
        return nextConsent
    }

    /// Takes a datagram from the remote candidate: a response that answers the outstanding check and
    /// authenticates completes it (the first one reports ``ICEControllingEvent/connected``); anything
    /// else is ignored.
    public func handle(_ input: consuming ByteBuffer, now: Duration) {
        guard let m = try? STUNMessage(parsing: input), let c = current, m.transactionID == c.id,
              m.type == .bindingSuccess, m.verifyFingerprint(), m.verifyMessageIntegrity(key: remoteKey) else { return }
        current = nil
        if !connected { events.append(.connected) }
        connected = true
        nextConsent = now + .seconds(5)
    }

    /// The next check to send to the remote candidate.
    public func pollTransmit() -> ByteBuffer? { transmits.popFirst() }

    /// The next event.
    public func pollEvent() -> ICEControllingEvent? { events.popFirst() }
}
