import DTLS
import ICE
import NIOCore
import RTCBase
import RTCP
import RTP

/// A transport's identifier (mediasoup names transports with UUIDv4 strings).
public struct TransportID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }
}

/// What a ``MediaRouter`` reports, for logs and statistics.
public enum MediaRouterEvent: Sendable {
    /// Something happened on a transport (ICE/DTLS state, a drop with its reason, a key-log line).
    case transport(TransportID, WebRtcTransportEvent)
}

/// The media plane of one worker: every WebRTC transport behind one shared socket, demultiplexed like
/// mediasoup's `WebRtcServer` (``WebRtcServer``), and the producers and consumers on them.
///
/// Sans-IO: ``handle(_:from:now:)`` takes a datagram from the socket, ``handleTimeout(now:)`` runs the
/// timers; ``pollTransmit()`` yields datagrams to send, ``pollEvent()`` events, ``nextDeadline`` when to
/// call ``handleTimeout(now:)`` next.
public final class MediaRouter {
    private let dtlsContext: DTLSContext
    private var demux = WebRtcServer<TransportID>()
    private var transports: [TransportID: WebRtcTransport] = [:]
    private var transmits = CircularBuffer<Transmit>(initialCapacity: 256)
    private var events = CircularBuffer<MediaRouterEvent>(initialCapacity: 64)
    /// Forward drop events (off by default: a flood of garbage should not flood the log).
    public var reportsDrops = false

    // Media state (MediaRouter+Media.swift).
    var producers: [String: ProducerState] = [:]
    var consumers: [String: ConsumerState] = [:]
    var media: [TransportID: TransportMedia] = [:]
    let clock: NTPClock
    var random: any RandomNumberGenerator

    /// A router whose transports use `dtlsContext`; `clock` anchors NTP times of sender reports to the
    /// caller's time origin; `random` picks initial sequence numbers and RTCP sender SSRCs.
    public init(dtlsContext: DTLSContext, clock: NTPClock = NTPClock(unixTimeAtOrigin: .zero),
                random: any RandomNumberGenerator = SystemRandomNumberGenerator()) {
        self.dtlsContext = dtlsContext
        self.clock = clock
        self.random = random
    }

    /// Number of live transports.
    public var transportCount: Int { transports.count }

    /// Whether `tuple` is bound to a live transport (validated by its ICE agent).
    public func isBound(_ tuple: ICETuple) -> Bool { demux.transport(boundTo: tuple) != nil }

    /// The transport with `id`, for inspection.
    public func transport(_ id: TransportID) -> WebRtcTransport? { transports[id] }

    /// Creates a transport that answers ICE checks for `credentials` at once; DTLS waits for
    /// ``connectTransport(_:remoteRole:fingerprints:now:)``. With `tapsPlaintext` the transport also emits
    /// plaintext copies of its RTP/RTCP (the debugging tap).
    public func createTransport(_ id: TransportID, credentials: ICECredentials, tapsPlaintext: Bool = false) {
        let transport = WebRtcTransport(iceCredentials: credentials, dtlsContext: dtlsContext)
        transport.tapsPlaintext = tapsPlaintext
        transports[id] = transport
        media[id] = TransportMedia(rtcpSSRC: SSRC(UInt32.random(in: 1...UInt32.max, using: &random)))
        demux.add(id, usernameFragment: credentials.usernameFragment)
    }

    /// Starts DTLS on a transport with the peer's signalled role and fingerprints.
    public func connectTransport(_ id: TransportID, remoteRole: WebRtcTransport.RemoteDTLSRole, fingerprints: [DTLSFingerprint],
                                 now: Duration) throws(WebRtcTransport.ConnectError) {
        guard let transport = transports[id] else { return }
        try transport.connect(remoteRole: remoteRole, fingerprints: fingerprints, now: now)
        drain(id, transport)
    }

    /// Closes a transport (DTLS close_notify to the peer) and forgets it.
    public func closeTransport(_ id: TransportID) {
        guard let transport = transports.removeValue(forKey: id) else { return }
        for producer in media[id]?.producers ?? [] { closeProducer(producer.id) }
        for consumer in media[id]?.consumers ?? [] { closeConsumer(consumer.id) }
        media[id] = nil
        transport.close()
        drain(id, transport)
        demux.remove(id)
    }

    /// Handles one datagram from the shared socket; returns whether it belonged to a transport whose ICE
    /// agent now considers `source` valid (the caller may then remember the socket address of `source`).
    @discardableResult
    public func handle(_ datagram: ByteBuffer, from source: ICETuple, now: Duration) -> Bool {
        guard let id = demux.route(datagram, from: source), let transport = transports[id] else { return false }
        transport.handle(datagram, from: source, now: now)
        let valid = transport.ice.isValid(source)
        if valid { demux.bind(source, to: id) }
        drain(id, transport, now: now)
        return valid
    }

    /// The earliest deadline of any transport or media timer.
    public func nextDeadline(now: Duration) -> Duration? {
        var earliest: Duration?
        for transport in transports.values {
            if let d = transport.nextDeadline(now: now), earliest.map({ d < $0 }) ?? true { earliest = d }
        }
        if let d = mediaDeadline(now: now), earliest.map({ d < $0 }) ?? true { earliest = d }
        return earliest
    }

    /// Runs every timer that is due.
    public func handleTimeout(now: Duration) {
        for (id, transport) in transports {
            if let deadline = transport.nextDeadline(now: now), deadline <= now {
                transport.handleTimeout(now: now)
                drain(id, transport, now: now)
            }
        }
        handleMediaTimeout(now: now)
    }

    /// Protects and queues an RTP packet on transport `id`.
    @discardableResult
    func send(rtp packet: consuming RTPPacket, on id: TransportID, now: Duration) -> Bool {
        guard let transport = transports[id] else { return false }
        return send(rtp: consume packet, via: transport, id: id, now: now)
    }

    /// ``send(rtp:on:now:)`` for a caller that holds the transport already (the forwarding loop).
    @discardableResult
    func send(rtp packet: consuming RTPPacket, via transport: WebRtcTransport, id: TransportID, now: Duration) -> Bool {
        guard transport.sendRTP(consume packet) else { return false }
        if transport.tapsPlaintext { drain(id, transport, now: now) } else { while let t = transport.pollTransmit() { transmits.append(t) } }
        return true
    }

    /// Protects and queues an RTCP compound on transport `id`.
    @discardableResult
    func send(rtcp packets: [RTCPPacket], on id: TransportID, now: Duration) -> Bool {
        guard !packets.isEmpty, let transport = transports[id], transport.sendRTCP(packets) else { return false }
        if transport.tapsPlaintext { drain(id, transport, now: now) } else { while let t = transport.pollTransmit() { transmits.append(t) } }
        return true
    }

    public func pollTransmit() -> Transmit? { transmits.popFirst() }
    public func pollEvent() -> MediaRouterEvent? { events.popFirst() }

    private func drain(_ id: TransportID, _ transport: WebRtcTransport, now: Duration = .zero) {
        while let event = transport.pollEvent() {
            switch event {
            case .rtp(let packet):
                receivedRTP(packet, on: id, now: now)
            case .rtcp(let packets):
                receivedRTCP(packets, on: id, now: now)
            case .dropped:
                if reportsDrops { events.append(.transport(id, event)) }
            case .dtlsConnected:
                events.append(.transport(id, event))
                // Anything forwarded before SRTP was ready never left: restart the consumers at a key frame.
                for consumer in media[id]?.consumers ?? [] where consumer.active { keyFrameAsked(by: consumer.report.ssrc, on: id, now: now) }
            default:
                events.append(.transport(id, event))
            }
        }
        while let t = transport.pollTransmit() { transmits.append(t) }
    }
}
