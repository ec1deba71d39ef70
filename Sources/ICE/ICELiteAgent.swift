import NIOCore
import RTCBase
import STUN

/// An ICE-lite agent (RFC 8445 §2.5, §7.3) as an SFU runs it: it never sends checks; it answers the
/// controlling peer's Binding requests, learns tuples from where valid checks come from (including
/// peer-reflexive sources no candidate announced), follows nomination, and enforces consent freshness
/// (RFC 7675).
///
/// Sans-IO (``SansIO``): ``handle(_:now:)`` takes a datagram with its source and the current time (any
/// monotonic `Duration` since an origin the caller chooses); the response to that source comes out of
/// ``pollTransmit()``, state changes and rejections out of ``pollEvent()``; ``nextDeadline`` says when
/// ``handleTimeout(now:)`` is due (consent expiry).
///
/// Request policy (after mediasoup's IceServer, see the Odoo SFU protocol notes §7.2):
/// 1. not a Binding request → ignored (indications, responses) or 400 (other methods);
/// 2. no FINGERPRINT → 400; a wrong FINGERPRINT → dropped silently;
/// 3. no MESSAGE-INTEGRITY → dropped silently (unauthenticated: no amplification);
/// 4. no USERNAME → 400; USERNAME not `<local ufrag>:…` or integrity wrong with the local password → 401;
/// 5. no PRIORITY → 400; ICE-CONTROLLED (the peer thinks it is controlled too) → 487;
/// 6. unknown comprehension-required attributes → 420 with UNKNOWN-ATTRIBUTES;
/// 7. otherwise a success response with XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY and FINGERPRINT.
/// Error responses carry ERROR-CODE and FINGERPRINT only.
///
/// Not thread-safe; one agent per transport, driven from one event loop.
public final class ICELiteAgent: SansIO {
    /// Local credentials (change with ``restart(credentials:)``).
    public private(set) var credentials: ICECredentials
    private var key: STUNIntegrityKey
    /// Consent freshness timeout (RFC 7675 §5.1: 30 s).
    public let consentTimeout: Duration
    /// At most this many tuples are remembered; the least recently checked is forgotten first.
    public let maxTuples: Int

    public private(set) var state: ICEState = .new
    public private(set) var selectedTuple: ICETuple?
    /// Valid tuples and when each last had a valid check.
    public private(set) var tuples: [ICETuple: Duration] = [:]
    private var lastNomination: UInt32 = 0
    private var events = CircularBuffer<ICEEvent>(initialCapacity: 4)
    private var transmits = CircularBuffer<Transmit>(initialCapacity: 4)

    static let known: Set<STUNAttributeType> = [.username, .messageIntegrity, .messageIntegritySHA256, .fingerprint,
                                                .priority, .useCandidate, .iceControlling, .iceControlled]

    public init(credentials: ICECredentials, consentTimeout: Duration = .seconds(30), maxTuples: Int = 8) {
        self.credentials = credentials
        self.key = STUNIntegrityKey(shortTermPassword: credentials.password)
        self.consentTimeout = consentTimeout
        self.maxTuples = maxTuples
    }

    /// Whether datagrams from `tuple` belong to this transport (it sent a valid check recently).
    public func isValid(_ tuple: ICETuple) -> Bool { tuples[tuple] != nil }

    /// Handles a STUN datagram from `input.source` at `now`: a response (success or error) for the source is
    /// queued for ``pollTransmit()``; a datagram that gets no success response is reported as
    /// ``ICEEvent/rejected(_:from:)``.
    public func handle(_ input: consuming Datagram, now: Duration) {
        let (response, rejection) = answer(input.bytes, from: input.source, now: now)
        if let response { transmits.append(Transmit(destination: input.source, bytes: response)) }
        if let rejection { events.append(.rejected(rejection, from: input.source)) }
    }

    private func answer(_ datagram: ByteBuffer, from tuple: ICETuple, now: Duration) -> (ByteBuffer?, ICERejection?) {
        let request: STUNMessage
        do {
            request = try STUNMessage(parsing: datagram)
        } catch {
            return (nil, .malformed(error))
        }
        guard request.type.messageClass == .request else { return (nil, .notARequest) }
        func fail(_ code: STUNErrorCode, unknown: [STUNAttributeType] = []) -> (ByteBuffer?, ICERejection?) {
            (STUNMessage.bindingError(to: request, error: code, unknown: unknown).bytes, .errorResponse(code))
        }
        guard request.type.method == .binding else { return fail(.badRequest) }
        guard request.fingerprint != nil else { return fail(.badRequest) }
        guard request.verifyFingerprint() else { return (nil, .badFingerprint) }
        guard request.contains(.messageIntegrity) else { return (nil, .unauthenticated) }
        guard let username = request.username else { return fail(.badRequest) }
        let prefix = credentials.usernameFragment + ":"
        guard username.hasPrefix(prefix), username.count > prefix.count else { return fail(.unauthorized) }
        guard request.verifyMessageIntegrity(key: key) else { return fail(.unauthorized) }
        guard request.priority != nil else { return fail(.badRequest) }
        if request.contains(.iceControlled) { return fail(.roleConflict) }
        let unknown = request.unknownComprehensionRequired(known: Self.known)
        if !unknown.isEmpty { return fail(.unknownAttribute, unknown: unknown) }

        accept(tuple: tuple, request: request, now: now)
        return (STUNMessage.bindingSuccess(to: request, source: tuple.remote, key: key).bytes, nil)
    }

    private func accept(tuple: ICETuple, request: STUNMessage, now: Duration) {
        tuples[tuple] = now
        if tuples.count > maxTuples, let oldest = tuples.filter({ $0.key != selectedTuple && $0.key != tuple }).min(by: { $0.value < $1.value })?.key {
            tuples[oldest] = nil
        }
        // Nomination: USE-CANDIDATE (regular nomination), or a NOMINATION value above the last one
        // (libwebrtc renomination). A browser may nominate several pairs; the latest wins.
        var nominated = request.useCandidate
        if let n = request.nomination {
            nominated = n > lastNomination
            if nominated { lastNomination = n }
        }
        if nominated {
            select(tuple)
            setState(.completed)
        } else if selectedTuple == nil {
            select(tuple)
            setState(.connected)
        }
    }

    private func select(_ tuple: ICETuple?) {
        guard tuple != selectedTuple else { return }
        selectedTuple = tuple
        events.append(.selectedTupleChanged(tuple))
    }

    private func setState(_ s: ICEState) {
        guard s != state else { return }
        // Completed is not downgraded to connected by a later non-nominating check.
        if s == .connected && state == .completed { return }
        state = s
        events.append(.stateChanged(s))
    }

    /// The next event, if any.
    public func pollEvent() -> ICEEvent? { events.popFirst() }

    /// The next response to send, if any.
    public func pollTransmit() -> Transmit? { transmits.popFirst() }

    /// When the oldest remembered tuple loses consent (``handleTimeout(now:)`` is due then).
    public var nextDeadline: Duration? { tuples.values.min().map { $0 + consentTimeout } }

    /// Expires tuples without a valid check for ``consentTimeout``. When the selected one expires, the
    /// most recently checked remaining tuple takes over; with none left the agent is disconnected.
    public func handleTimeout(now: Duration) {
        let expired = tuples.filter { now - $0.value >= consentTimeout }.map(\.key)
        guard !expired.isEmpty else { return }
        for t in expired { tuples[t] = nil }
        if let s = selectedTuple, tuples[s] == nil {
            let next = tuples.max(by: { $0.value < $1.value })?.key
            select(next)
        }
        if tuples.isEmpty {
            selectedTuple = nil
            setState(.disconnected)
        }
    }

    /// ICE restart: new local credentials; checks must use them from now on. Tuples and the selected
    /// tuple are kept (media keeps flowing) and age out by consent freshness unless re-validated.
    public func restart(credentials: ICECredentials) {
        self.credentials = credentials
        self.key = STUNIntegrityKey(shortTermPassword: credentials.password)
        lastNomination = 0
    }
}
