import DTLS
import ICE
import NIOCore
import RTCBase
import RTCP
import RTP
import SRTP
import STUN

/// What a ``WebRtcTransport`` reports.
public enum WebRtcTransportEvent: Sendable {
    case iceStateChanged(ICEState)
    case iceSelectedTupleChanged(ICETuple?)
    case dtlsConnected(DTLSHandshakeResult)
    case dtlsFailed(DTLSError)
    case dtlsClosed
    /// A decrypted RTP packet.
    case rtp(RTPPacket)
    /// The packets of a decrypted RTCP compound.
    case rtcp([RTCPPacket])
    /// A datagram was refused (only when ``WebRtcTransport/reportsDrops`` is on; always counted in
    /// ``WebRtcTransport/Counters``).
    case dropped(DropReason, from: ICETuple)
    /// An NSS key-log line for SSLKEYLOGFILE.
    case keyLog(String)
    /// A copy of an RTP or RTCP packet in the clear, received (after SRTP) or sent (before SRTP), when
    /// ``WebRtcTransport/tapsPlaintext`` is on (the plaintext debugging tap).
    case plaintext(PlaintextPacket)
}

/// An RTP or RTCP packet in the clear, as the plaintext tap records it.
public struct PlaintextPacket: Sendable {
    /// Received from the peer, or sent to it.
    public enum Direction: Sendable, Hashable { case inbound, outbound }
    public var direction: Direction
    /// The peer's end of the 5-tuple.
    public var remote: ICETuple
    /// The packet bytes (decrypted RTP/RTCP).
    public var bytes: ByteBuffer
}

/// One peer's secure transport, mediasoup `WebRtcTransport`-style: ICE-lite (answers checks, learns
/// tuples), DTLS (either role), SRTP/SRTCP keyed from DTLS, and first-byte demultiplexing (RFC 7983).
///
/// Sans-IO (``SansIO``): ``handle(_:now:)`` takes a datagram and its source; ``sendRTP(_:)``/``sendRTCP(_:)``
/// protect outgoing media; ``pollTransmit()`` yields datagrams for the I/O layer, ``pollEvent()`` events,
/// ``nextDeadline`` the time ``handleTimeout(now:)`` is due.
///
/// Security rules: DTLS, RTP and RTCP are accepted only from tuples ICE validated (a check with the
/// right credentials); media is sent only to the selected tuple; nothing is decrypted before DTLS
/// has verified the peer's fingerprint.
public final class WebRtcTransport: SansIO {
    public let ice: ICELiteAgent
    /// The DTLS connection, created by ``connect(remoteRole:fingerprints:now:)``.
    public private(set) var dtls: DTLSConnection?
    /// Our DTLS role, decided by ``connect(remoteRole:fingerprints:now:)``.
    public private(set) var dtlsRole: DTLSRole?
    private let dtlsContext: DTLSContext
    private var srtpIn: SRTPSession?
    private var srtpOut: SRTPSession?
    // Ring buffers: a burst of packets is drained in O(1) per item.
    private var transmits = CircularBuffer<Transmit>(initialCapacity: 64)
    private var events = CircularBuffer<WebRtcTransportEvent>(initialCapacity: 64)

    /// Counters for logs and stats.
    public struct Counters: Sendable, Hashable {
        public var stunHandled = 0, dtlsReceived = 0, rtpReceived = 0, rtcpReceived = 0
        public var rtpSent = 0, rtcpSent = 0
        /// Refused datagrams by reason.
        public var drops = DropCounts()
        /// SRTP/SRTCP that did not authenticate or decrypt, and packets refused for too many SSRCs.
        public var srtpFailures: Int { drops[.srtp] + drops[.tooManySSRCs] }
        /// DTLS, RTP and RTCP from tuples no valid ICE check came from.
        public var droppedUnknownSource: Int { drops[.unvalidatedSource] }
        /// Datagrams that are no protocol of RFC 7983.
        public var droppedGarbage: Int { drops[.unclassifiable] }
    }
    public private(set) var counters = Counters()
    /// Emit ``WebRtcTransportEvent/plaintext(_:)`` copies of every packet in the clear (off by default).
    public var tapsPlaintext = false
    /// Emit ``WebRtcTransportEvent/dropped(_:from:)`` for refused datagrams (off by default: a flood of garbage
    /// must not become a flood of events; the counters count them either way).
    public var reportsDrops = false

    /// The negotiated SRTP profile once DTLS is connected.
    public private(set) var srtpProfile: SRTPProfile?

    /// A transport that answers ICE checks at once; DTLS starts after ``connect(remoteRole:fingerprints:now:)``
    /// (mediasoup's `WebRtcTransport` before `connect()`: DTLS datagrams are dropped until then).
    public init(iceCredentials: ICECredentials, dtlsContext: DTLSContext) {
        ice = ICELiteAgent(credentials: iceCredentials)
        self.dtlsContext = dtlsContext
    }

    /// A transport already connected in `dtlsRole` (tests and the transport probe, which know the peer up front).
    package convenience init(iceCredentials: ICECredentials, dtlsContext: DTLSContext, dtlsRole: DTLSRole,
                            remoteFingerprints: [DTLSFingerprint], now: Duration) throws(DTLSError) {
        self.init(iceCredentials: iceCredentials, dtlsContext: dtlsContext)
        try startDTLS(role: dtlsRole, fingerprints: remoteFingerprints, now: now)
    }

    /// The peer's DTLS role as it signals it (mediasoup `DtlsParameters.role`).
    public enum RemoteDTLSRole: String, Sendable, Hashable {
        case client, server, auto
        /// Our role opposite the peer's: a `client` peer makes us server; `server` or `auto` makes us client
        /// (mediasoup's rule).
        public var localRole: DTLSRole { self == .client ? .server : .client }
    }

    /// Why ``connect(remoteRole:fingerprints:now:)`` refused.
    public enum ConnectError: Error, Hashable, Sendable {
        /// `connect` was called before (mediasoup: "connect() already called").
        case alreadyConnected
        /// The signalled fingerprint list is empty.
        case noFingerprints
        /// DTLS could not be set up.
        case dtls(DTLSError)
    }

    /// Starts DTLS against the peer's signalled role and certificate fingerprints. As DTLS client the
    /// handshake begins as soon as ICE has a valid tuple (now, if it already has one).
    public func connect(remoteRole: RemoteDTLSRole, fingerprints: [DTLSFingerprint], now: Duration) throws(ConnectError) {
        guard dtls == nil else { throw .alreadyConnected }
        guard !fingerprints.isEmpty else { throw .noFingerprints }
        do { try startDTLS(role: remoteRole.localRole, fingerprints: fingerprints, now: now) } catch { throw .dtls(error) }
    }

    private func startDTLS(role: DTLSRole, fingerprints: [DTLSFingerprint], now: Duration) throws(DTLSError) {
        let connection = try DTLSConnection(context: dtlsContext, role: role, remoteFingerprints: fingerprints)
        dtls = connection
        dtlsRole = role
        if role == .client && (ice.state == .connected || ice.state == .completed) {
            connection.start(now: now)
            drainDTLS()
        }
    }

    /// Whether SRTP is ready in both directions.
    public var isSecure: Bool { srtpIn != nil && srtpOut != nil }

    /// Handles one datagram from `input.source`.
    public func handle(_ input: consuming Datagram, now: Duration) {
        let source = input.source
        // The only reference to the bytes from here on, so that SRTP decrypts them in place without a copy.
        var datagram = (consume input).bytes
        switch DatagramKind.classify(datagram.readableBytesView) {
        case .stun:
            counters.stunHandled += 1
            ice.handle(Datagram(datagram, from: source), now: now)
            while let t = ice.pollTransmit() { transmits.append(t) }
            drainICE(now: now)
        case .dtls:
            guard ice.isValid(source) else { return drop(.unvalidatedSource(.dtls), source) }
            guard let dtls else { return drop(.dtlsBeforeConnect, source) }
            counters.dtlsReceived += 1
            dtls.handle(datagram, now: now)
            drainDTLS()
        case .rtp:
            guard ice.isValid(source) else { return drop(.unvalidatedSource(.rtp), source) }
            guard let srtpIn else { return drop(.beforeSRTP(.rtp), source) }
            guard admits(ssrcAt: 8, of: datagram) else { return drop(.tooManySSRCs, source) }
            do {
                try srtpIn.unprotectRTP(&datagram)
            } catch {
                return drop(.srtp(error), source)
            }
            remember(ssrcAt: 8, of: datagram)   // the SSRC is in the clear: the same after decryption
            if tapsPlaintext { events.append(.plaintext(PlaintextPacket(direction: .inbound, remote: source, bytes: datagram))) }
            do {
                let packet = try RTPPacket(parsing: datagram)
                counters.rtpReceived += 1
                events.append(.rtp(packet))
            } catch {
                drop(.rtp(error), source)
            }
        case .rtcp:
            guard ice.isValid(source) else { return drop(.unvalidatedSource(.rtcp), source) }
            guard let srtpIn else { return drop(.beforeSRTP(.rtcp), source) }
            guard admits(ssrcAt: 4, of: datagram) else { return drop(.tooManySSRCs, source) }
            do {
                try srtpIn.unprotectRTCP(&datagram)
            } catch {
                return drop(.srtp(error), source)
            }
            remember(ssrcAt: 4, of: datagram)
            if tapsPlaintext { events.append(.plaintext(PlaintextPacket(direction: .inbound, remote: source, bytes: datagram))) }
            let (packets, _) = RTCPPacket.parseCompoundLeniently(datagram)
            counters.rtcpReceived += 1
            events.append(.rtcp(packets))
        case .zrtp, .turnChannel, .unknown:
            drop(.unclassifiable(firstByte: datagram.getInteger(at: datagram.readerIndex, as: UInt8.self)), source)
        }
    }

    private func drop(_ reason: DropReason, _ source: ICETuple) {
        counters.drops.count(reason)
        if reportsDrops { events.append(.dropped(reason, from: source)) }
    }

    /// Most distinct SSRCs a peer may send from (SRTP keeps state per SSRC; a browser uses a dozen or so:
    /// audio, three simulcast layers and their RTX, per m-section).
    public static let maxRemoteSSRCs = 64
    /// SSRCs that authenticated (a small array: a linear scan over a dozen values beats hashing per packet).
    private var remoteSSRCs: [UInt32] = []

    /// Whether the SRTP/SRTCP packet whose (clear-text) SSRC sits at byte `offset` may be decrypted: its SSRC
    /// is known, or there is room for one more.
    private func admits(ssrcAt offset: Int, of datagram: ByteBuffer) -> Bool {
        guard remoteSSRCs.count >= Self.maxRemoteSSRCs else { return true }
        guard let ssrc = datagram.getInteger(at: datagram.readerIndex + offset, as: UInt32.self) else { return true }
        return remoteSSRCs.contains(ssrc)
    }

    private func remember(ssrcAt offset: Int, of datagram: ByteBuffer) {
        guard let ssrc = datagram.getInteger(at: datagram.readerIndex + offset, as: UInt32.self),
              !remoteSSRCs.contains(ssrc), remoteSSRCs.count < Self.maxRemoteSSRCs else { return }
        remoteSSRCs.append(ssrc)
    }

    private func drainICE(now: Duration) {
        while let e = ice.pollEvent() {
            switch e {
            case .stateChanged(let s):
                events.append(.iceStateChanged(s))
                // As DTLS client, start the handshake once ICE works (mediasoup does the same).
                if (s == .connected || s == .completed), dtlsRole == .client, let dtls, !dtls.isConnected {
                    dtls.start(now: now)
                    drainDTLS()
                }
            case .selectedTupleChanged(let t):
                events.append(.iceSelectedTupleChanged(t))
            case .rejected(.notARequest, _):
                break   // responses and indications are not for an ICE-lite agent
            case .rejected(let rejection, let source):
                drop(.stun(rejection), source)
            }
        }
    }

    private func drainDTLS() {
        guard let dtls else { return }
        while let e = dtls.pollEvent() {
            switch e {
            case .connected(let result):
                setUpSRTP(result)
            case .failed(let err):
                events.append(.dtlsFailed(err))
            case .closed:
                events.append(.dtlsClosed)
            case .keyLog(let line):
                events.append(.keyLog(line))
            case .applicationData:
                break   // SCTP (data channels) is not negotiated yet
            }
        }
        if let destination = ice.selectedTuple {
            while let d = dtls.pollTransmit() { transmits.append(Transmit(destination: destination, bytes: d)) }
        }
    }

    private func setUpSRTP(_ result: DTLSHandshakeResult) {
        guard let profile = SRTPProfile(ianaID: result.profile.ianaID),
              let keys = SRTPKeyingMaterial.split(exported: result.keyingMaterial, profile: profile, isDTLSClient: result.role == .client) else {
            events.append(.dtlsFailed(DTLSError(code: .keyingMaterial, reason: "unusable keying material")))
            return
        }
        do {
            srtpOut = try SRTPSession(direction: .outbound, material: keys.local)
            srtpIn = try SRTPSession(direction: .inbound, material: keys.remote)
            srtpProfile = profile
            events.append(.dtlsConnected(result))
        } catch {
            events.append(.dtlsFailed(DTLSError(code: .keyingMaterial, reason: "SRTP setup: \(error)")))
        }
    }

    /// Protects and queues an RTP packet for the selected tuple; false if not ready.
    /// The packet is consumed: when the caller holds no other reference to its buffer (a forwarded packet),
    /// SRTP protects that buffer in place instead of a copy.
    @discardableResult
    public func sendRTP(_ packet: consuming RTPPacket) -> Bool {
        guard let srtpOut, let destination = ice.selectedTuple else { return false }
        var b = (consume packet).bytes
        if tapsPlaintext { events.append(.plaintext(PlaintextPacket(direction: .outbound, remote: destination, bytes: b))) }
        do { try srtpOut.protectRTP(&b) } catch { return false }
        counters.rtpSent += 1
        transmits.append(Transmit(destination: destination, bytes: b))
        return true
    }

    /// Protects and queues an RTCP compound for the selected tuple; false if not ready.
    @discardableResult
    public func sendRTCP(_ packets: [RTCPPacket]) -> Bool {
        guard let srtpOut, let destination = ice.selectedTuple else { return false }
        var b = RTCPPacket.encodeCompound(packets)
        if tapsPlaintext { events.append(.plaintext(PlaintextPacket(direction: .outbound, remote: destination, bytes: b))) }
        do { try srtpOut.protectRTCP(&b) } catch { return false }
        counters.rtcpSent += 1
        transmits.append(Transmit(destination: destination, bytes: b))
        return true
    }

    /// Closes DTLS (close_notify to the peer).
    public func close() {
        dtls?.close()
        drainDTLS()
    }

    public func pollTransmit() -> Transmit? { transmits.popFirst() }
    public func pollEvent() -> WebRtcTransportEvent? { events.popFirst() }

    /// The earliest of ICE's consent deadline and DTLS's retransmission timer.
    public var nextDeadline: Duration? { earliest(ice.nextDeadline, dtls?.nextDeadline) }

    public func handleTimeout(now: Duration) {
        ice.handleTimeout(now: now)
        drainICE(now: now)
        dtls?.handleTimeout(now: now)
        drainDTLS()
    }
}
