/// The one contract every stateful layer of this stack follows (ICE agents, the DTLS connection, a WebRTC
/// transport, the media router, the signalling hub): no sockets, no timers, no clock inside.
///
/// The caller owns the I/O and the time. It pushes one input with the current time, then pulls until both
/// queues are empty, then waits until ``nextDeadline`` or the next input, whichever comes first:
///
/// ```swift
/// machine.handle(input, now: now)            // or machine.handleTimeout(now: now) when the deadline passed
/// while let out = machine.pollTransmit() { socket.send(out) }
/// while let event = machine.pollEvent() { react(to: event) }
/// schedule(at: machine.nextDeadline)
/// ```
///
/// Rules every conformer keeps:
/// - Time is a `Duration` since an origin the caller chooses (monotonic, never wall-clock), passed to every
///   call that may need it. No parameter named `now` has a default value anywhere: a forgotten clock does not
///   compile, it never silently becomes t = 0.
/// - ``handle(_:now:)`` and ``handleTimeout(now:)`` never block, never throw for bad input from the network
///   (bad input becomes a typed event or is counted), and queue everything they produce.
/// - ``nextDeadline`` is a plain read: it never advances state. Calling ``handleTimeout(now:)`` early, or when
///   nothing is due, is harmless.
/// - Outputs come out in the order they were produced.
///
/// Control operations that are not inputs from the network (creating a transport, starting a handshake,
/// closing) are ordinary methods of each type; they too take `now` when they may start a timer.
public protocol SansIO {
    /// What the network (or the layer above) hands in: a datagram with its source, a bus frame, …
    associatedtype Input
    /// What the caller must send: a datagram with its destination, a frame for a connection, …
    associatedtype Transmit
    /// What the layer tells its owner: state changes, decrypted packets, commands for another layer, …
    associatedtype Event

    /// Handles one input at `now`. The input is consumed: a layer that transforms bytes in place (SRTP) then owns
    /// the only reference to them and needs no copy.
    mutating func handle(_ input: consuming Input, now: Duration)
    /// Runs every timer that is due at `now`.
    mutating func handleTimeout(now: Duration)
    /// The oldest queued transmit, if any.
    mutating func pollTransmit() -> Transmit?
    /// The oldest queued event, if any.
    mutating func pollEvent() -> Event?
    /// When ``handleTimeout(now:)`` has work to do next (nil: no timer is running).
    var nextDeadline: Duration? { get }
}

extension SansIO {
    /// Every queued transmit, oldest first (tests and simple drivers).
    public mutating func drainTransmits() -> [Transmit] {
        var out: [Transmit] = []
        while let t = pollTransmit() { out.append(t) }
        return out
    }

    /// Every queued event, oldest first (tests and simple drivers).
    public mutating func drainEvents() -> [Event] {
        var out: [Event] = []
        while let e = pollEvent() { out.append(e) }
        return out
    }
}

/// The earlier of two optional deadlines (nil = no timer).
@inlinable
public func earliest(_ a: Duration?, _ b: Duration?) -> Duration? {
    guard let a else { return b }
    guard let b else { return a }
    return a < b ? a : b
}
