import DTLS
import ICE
import NIOCore
import RTCBase
import RTCP
import RTP

/// What a ``MediaRouter`` reports, for logs and statistics.
public enum MediaRouterEvent: Sendable {
    /// Something happened on a transport (ICE/DTLS state, a drop with its reason, a key-log line, a plaintext copy).
    case transport(TransportID, WebRtcTransportEvent)
    /// A datagram no transport would take (only when ``MediaRouter/reportsDrops``).
    case dropped(DropReason, from: ICETuple)
    /// A transport's estimate, desired bitrate and pacer figures changed (or a second passed).
    case congestion(TransportID, TransportCongestionReport)
    /// A probe cluster's result on a transport.
    case probe(TransportID, ProbeResult)
    /// A transport's pacer held video too long and dropped it (its consumers restart at a key frame).
    case pacerOverflow(TransportID, droppedPackets: Int)
    /// The allocation changed a video consumer's layers (`step` nil: paused for want of bandwidth).
    case consumerLayers(ConsumerID, BitrateAllocation.Allocation)
}

/// The media plane of one worker: every WebRTC transport behind one shared socket, demultiplexed like
/// mediasoup's `WebRtcServer` (``WebRtcServer``), and the producers and consumers on them.
///
/// Sans-IO (``SansIO``): ``handle(_:now:)`` takes a datagram from the socket, ``handleTimeout(now:)`` runs the
/// timers; ``pollTransmit()`` yields datagrams to send, ``pollEvent()`` events, ``nextDeadline`` when to call
/// ``handleTimeout(now:)`` next. Transports, producers and consumers are created and closed with the methods of
/// MediaRouter+Control.swift and named by the small integer ids those return.
///
/// Inside, each transport is a ``RouterTransport`` (its ``WebRtcTransport`` and media state); a producer
/// (``Producer``) does ingest, a consumer (``Consumer``) forwarding, retransmission and sender reports. Incoming
/// RTP finds its producer by an SSRC map, RTCP its consumer by another; forwarding reaches each consumer's
/// transport by reference. Deadlines are kept in a ``DeadlineQueue``: a transport touched by an input is marked
/// dirty and only dirty transports are re-examined when ``nextDeadline`` is read.
public final class MediaRouter: SansIO {
    private let dtlsContext: DTLSContext
    private var demux = WebRtcServer<TransportID>()
    var transports: [TransportID: RouterTransport] = [:]
    let output = RouterOutput()
    private var deadlines = DeadlineQueue()
    var producers: [ProducerID: Producer] = [:]
    var consumers: [ConsumerID: Consumer] = [:]
    let clock: NTPClock
    var random: any RandomNumberGenerator
    /// How the transports estimate what their peers can take.
    public let congestionControl: CongestionControlMode
    private var lastID: UInt32 = 0

    /// Report drops as events (off by default: a flood of garbage should not flood the log; drops are counted
    /// either way).
    public var reportsDrops = false {
        didSet {
            output.reportsDrops = reportsDrops
            for transport in transports.values { transport.webrtc.reportsDrops = reportsDrops }
        }
    }

    /// A router whose transports use `dtlsContext`; `clock` anchors NTP times of sender reports to the caller's
    /// time origin; `random` picks ids of RTCP senders, initial sequence numbers and timestamp offsets;
    /// `congestionControl` chooses the estimate consumers' layers are allocated from.
    public init(dtlsContext: DTLSContext, clock: NTPClock, random: any RandomNumberGenerator,
                congestionControl: CongestionControlMode = .sendSide) {
        self.dtlsContext = dtlsContext
        self.clock = clock
        self.random = random
        self.congestionControl = congestionControl
    }

    /// The next id (ids are never reused, so a stale id names nothing rather than something else).
    func makeID<Kind>() -> RouterID<Kind> {
        lastID &+= 1
        return RouterID(rawValue: lastID)
    }

    /// Number of live transports.
    public var transportCount: Int { transports.count }

    /// Whether `tuple` is bound to a live transport (validated by its ICE agent).
    public func isBound(_ tuple: ICETuple) -> Bool { demux.transport(boundTo: tuple) != nil }

    /// The transport with `id`, for inspection.
    public func transport(_ id: TransportID) -> WebRtcTransport? { transports[id]?.webrtc }

    /// Refusals of datagrams no transport took, and of RTP no producer took, by reason (each transport's own are
    /// in its ``WebRtcTransport/counters``).
    public var drops: DropCounts {
        var counts = output.drops
        for transport in transports.values { counts.add(transport.drops) }
        return counts
    }

    // MARK: - Transports

    /// Creates a transport that answers ICE checks for `credentials` at once; DTLS waits for
    /// ``connectTransport(_:remoteRole:fingerprints:now:)``. With `tapsPlaintext` the transport also emits
    /// plaintext copies of its RTP/RTCP (the debugging tap).
    public func createTransport(credentials: ICECredentials, tapsPlaintext: Bool, now: Duration) -> TransportID {
        let id: TransportID = makeID()
        let webrtc = WebRtcTransport(iceCredentials: credentials, dtlsContext: dtlsContext)
        webrtc.tapsPlaintext = tapsPlaintext
        webrtc.reportsDrops = reportsDrops
        let transport = RouterTransport(id: id, webrtc: webrtc, output: output,
                                        rtcpSSRC: SSRC(UInt32.random(in: 1...UInt32.max, using: &random)),
                                        congestionControl: congestionControl)
        transports[id] = transport
        demux.add(id, usernameFragment: credentials.usernameFragment)
        transport.markDirty()
        return id
    }

    /// Starts DTLS on a transport with the peer's signalled role and fingerprints.
    public func connectTransport(_ id: TransportID, remoteRole: WebRtcTransport.RemoteDTLSRole, fingerprints: [DTLSFingerprint],
                                 now: Duration) throws(WebRtcTransport.ConnectError) {
        guard let transport = transports[id] else { return }
        try transport.webrtc.connect(remoteRole: remoteRole, fingerprints: fingerprints, now: now)
        transport.drain(now: now)
        transport.markDirty()
    }

    /// Closes a transport (its producers and consumers first; DTLS close_notify to the peer) and forgets it.
    public func closeTransport(_ id: TransportID, now: Duration) {
        guard let transport = transports[id] else { return }
        for producer in transport.producers { closeProducer(producer.id, now: now) }
        for consumer in transport.consumers { closeConsumer(consumer.id, now: now) }
        transport.webrtc.close()
        transport.drain(now: now)
        transports[id] = nil
        deadlines.remove(id)
        demux.remove(id)
    }

    // MARK: - The sans-IO contract

    /// Handles one datagram from the shared socket.
    public func handle(_ input: consuming Datagram, now: Duration) {
        let source = input.source
        guard let id = demux.route(input.bytes, from: source), let transport = transports[id] else {
            return output.drop(.unroutable, from: source)
        }
        transport.handle(consume input, now: now)
        if transport.webrtc.ice.isValid(source) { demux.bind(source, to: id) }
    }

    /// The earliest deadline of any transport or media timer.
    public var nextDeadline: Duration? {
        for id in output.dirty {
            guard let transport = transports[id] else { continue }
            transport.isDirty = false
            deadlines.schedule(id, at: transport.nextDeadline)
        }
        output.dirty.removeAll(keepingCapacity: true)
        return deadlines.earliest()
    }

    /// Runs every timer that is due.
    public func handleTimeout(now: Duration) {
        _ = nextDeadline   // settle the transports touched since the last look
        while let id = deadlines.popDue(now: now) { transports[id]?.handleTimeout(now: now) }
    }

    public func pollTransmit() -> Transmit? { output.transmits.popFirst() }
    public func pollEvent() -> MediaRouterEvent? { output.events.popFirst() }
}
