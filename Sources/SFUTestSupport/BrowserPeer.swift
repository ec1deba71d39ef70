import DTLS
import ICE
import NIOCore
import RTCBase
import RTCP
import RTP
import SRTP

/// A browser-like WebRTC endpoint built from this stack's own pieces: a controlling ICE agent (it sends the
/// connectivity checks), a DTLS connection (client by default, as browsers are against mediasoup) and, once
/// DTLS is up, an SRTP session each way keyed from the handshake.
///
/// Sans-IO like the SFU: ``start(now:)`` begins the ICE checks; datagrams the SFU sends go in through
/// ``receive(_:now:)``; datagrams to the SFU (ICE checks, DTLS flights) come out of ``pollTransmit()``;
/// ``handleTimeout(now:)`` runs ICE and DTLS retransmissions when ``nextDeadline`` passed; media to the SFU is
/// protected with ``protect(rtp:)`` / ``protect(rtcp:)``. As DTLS client the peer starts the handshake as soon
/// as ICE connects.
public final class BrowserPeer {
    /// What became of one datagram given to ``receive(_:now:)``.
    public enum Reception: Sendable {
        /// A STUN message, given to the ICE agent.
        case stun
        /// A DTLS record, given to the DTLS connection.
        case dtls
        /// An SRTP packet that decrypted and parsed.
        case rtp(RTPPacket)
        /// An SRTCP compound that decrypted and parsed.
        case rtcp([RTCPPacket])
        /// SRTP/SRTCP that did not decrypt (nil: no SRTP keys yet).
        case undecryptable(SRTPError?)
        /// Decrypted, but not a valid RTP packet / RTCP compound.
        case unparsable
        /// Anything else (RFC 7983 demultiplexing found no protocol).
        case unknown
    }

    /// Counts of what ``receive(_:now:)`` saw.
    public struct Counters: Hashable, Sendable {
        /// RTP packets decrypted and parsed.
        public var rtp = 0
        /// RTCP compounds decrypted and parsed.
        public var rtcp = 0
        /// SRTP/SRTCP datagrams that did not decrypt.
        public var undecryptable = 0
        /// Decrypted datagrams that did not parse.
        public var unparsable = 0
    }

    /// The controlling ICE agent.
    public let ice: ICEControllingAgent
    /// The DTLS connection (its role is the one given to the initialiser).
    public let dtls: DTLSConnection
    /// SRTP session for what the SFU sends (nil before DTLS connects).
    public private(set) var srtpIn: SRTPSession?
    /// SRTP session for what this peer sends (nil before DTLS connects).
    public private(set) var srtpOut: SRTPSession?
    /// The SRTP profile DTLS negotiated (nil before DTLS connects).
    public private(set) var srtpProfile: SRTPProfile?
    /// Whether a DTLS client starts its handshake as soon as ICE connects (turn off to drive DTLS by hand).
    public var startsDTLSWhenICEConnects = true
    /// Whether decrypted packets are appended to ``received`` and ``receivedRTCP`` (turn off in long runs).
    public var retainsPackets = true
    /// RTP packets received, decrypted, in arrival order (when ``retainsPackets``).
    public var received: [RTPPacket] = []
    /// RTCP compounds received, decrypted, in arrival order (when ``retainsPackets``).
    public var receivedRTCP: [[RTCPPacket]] = []
    /// Why DTLS failed, if it did.
    public private(set) var failure: DTLSError?
    /// What ``receive(_:now:)`` saw so far.
    public private(set) var counters = Counters()

    /// A peer that checks connectivity to an ICE-lite agent with `remoteICE` credentials (its own being
    /// `localICE`) and runs DTLS as `dtlsRole` with `certificate`, accepting only `remoteFingerprint`.
    public init(dtlsRole: DTLSRole = .client, certificate: DTLSCertificate, remoteFingerprint: DTLSFingerprint,
                localICE: ICECredentials, remoteICE: ICECredentials, tieBreaker: UInt64 = 7) throws(DTLSError) {
        ice = ICEControllingAgent(local: localICE, remote: remoteICE, tieBreaker: tieBreaker)
        dtls = try DTLSConnection(context: try DTLSContext(certificate: certificate), role: dtlsRole,
                                  remoteFingerprints: [remoteFingerprint])
    }

    /// Begins the ICE connectivity checks.
    public func start(now: Duration) { ice.start(now: now) }

    /// The next datagram for the SFU: an ICE check, then DTLS records.
    public func pollTransmit() -> ByteBuffer? { ice.pollTransmit() ?? dtls.pollTransmit() }

    /// When ``handleTimeout(now:)`` has a retransmission or consent check to send.
    public var nextDeadline: Duration? { earliest(ice.nextDeadline, dtls.nextDeadline) }

    /// Runs the ICE and DTLS timers that are due.
    public func handleTimeout(now: Duration) {
        ice.handleTimeout(now: now)
        dtls.handleTimeout(now: now)
        collectDTLSEvents()
    }

    /// Whether DTLS is up and SRTP keyed both ways.
    public var isSecure: Bool { srtpIn != nil && srtpOut != nil }

    /// Takes one datagram from the SFU: STUN to the ICE agent, DTLS to the connection (keying SRTP when
    /// the handshake completes), SRTP/SRTCP decrypted and parsed.
    @discardableResult
    public func receive(_ datagram: ByteBuffer, now: Duration) -> Reception {
        let reception: Reception
        switch DatagramKind.classify(datagram.readableBytesView) {
        case .stun:
            ice.handle(datagram, now: now)
            if startsDTLSWhenICEConnects && ice.connected && dtls.role == .client { dtls.start(now: now) }
            reception = .stun
        case .dtls:
            dtls.handle(datagram, now: now)
            reception = .dtls
        case .rtp:
            reception = decrypt(datagram, rtcp: false)
        case .rtcp:
            reception = decrypt(datagram, rtcp: true)
        default:
            reception = .unknown
        }
        collectDTLSEvents()
        return reception
    }

    private func collectDTLSEvents() {
        while let event = dtls.pollEvent() {
            switch event {
            case .connected(let result):
                guard let profile = SRTPProfile(ianaID: result.profile.ianaID),
                      let keys = SRTPKeyingMaterial.split(exported: result.keyingMaterial, profile: profile,
                                                          isDTLSClient: result.role == .client) else { continue }
                srtpProfile = profile
                srtpOut = try? SRTPSession(direction: .outbound, material: keys.local)
                srtpIn = try? SRTPSession(direction: .inbound, material: keys.remote)
            case .failed(let error):
                failure = error
            default:
                break
            }
        }
    }

    private func decrypt(_ datagram: ByteBuffer, rtcp: Bool) -> Reception {
        guard let srtpIn else {
            counters.undecryptable += 1
            return .undecryptable(nil)
        }
        var bytes = datagram
        do {
            if rtcp { try srtpIn.unprotectRTCP(&bytes) } else { try srtpIn.unprotectRTP(&bytes) }
        } catch {
            counters.undecryptable += 1
            return .undecryptable(error)
        }
        if rtcp {
            guard let packets = try? RTCPPacket.parseCompound(bytes) else { counters.unparsable += 1; return .unparsable }
            counters.rtcp += 1
            if retainsPackets { receivedRTCP.append(packets) }
            return .rtcp(packets)
        }
        guard let packet = try? RTPPacket(parsing: bytes) else { counters.unparsable += 1; return .unparsable }
        counters.rtp += 1
        if retainsPackets { received.append(packet) }
        return .rtp(packet)
    }

    /// The SRTP datagram this peer would send for `packet`.
    public func protect(rtp packet: RTPPacket) throws(SRTPError) -> ByteBuffer {
        try protect(rtpBytes: packet.bytes)
    }

    /// The SRTP datagram for plaintext RTP `bytes` (which need not be a valid RTP packet: libsrtp decides).
    public func protect(rtpBytes bytes: ByteBuffer) throws(SRTPError) -> ByteBuffer {
        guard let srtpOut else { throw .badParameter }
        var b = bytes
        try srtpOut.protectRTP(&b)
        return b
    }

    /// The SRTCP datagram this peer would send for the compound `packets`.
    public func protect(rtcp packets: [RTCPPacket]) throws(SRTPError) -> ByteBuffer {
        try protect(rtcpBytes: RTCPPacket.encodeCompound(packets))
    }

    /// The SRTCP datagram for plaintext RTCP `bytes` (which need not be valid RTCP: libsrtp decides).
    public func protect(rtcpBytes bytes: ByteBuffer) throws(SRTPError) -> ByteBuffer {
        guard let srtpOut else { throw .badParameter }
        var b = bytes
        try srtpOut.protectRTCP(&b)
        return b
    }
}
