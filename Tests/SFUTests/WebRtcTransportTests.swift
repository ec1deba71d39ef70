import DTLS
import ICE
import NIOCore
import RTCBase
import RTCP
import RTCTestSupport
import RTP
import SFU
import SRTP
import SFUTestSupport
import STUN
import Testing

/// A WebRtcTransport against a browser-like peer assembled from this stack's own pieces (controlling
/// ICE agent, DTLS, SRTP), through an in-memory link, in virtual time.
@Suite(.serialized) struct WebRtcTransportTests {
    static let serverICE = ICECredentials(usernameFragment: "sfuUfrag", password: "sfu-password-0123456789abcdef")
    static let peerICE = ICECredentials(usernameFragment: "peer", password: "peer-password-0123456789abcdef")
    static let peerTuple = ICETuple(remote: .v4(address: 0x7F00_0001, port: 40_000))

    typealias Peer = BrowserPeer

    /// A browser-like peer running DTLS as `role` against the transport's certificate `serverFingerprint`,
    /// checking connectivity with `icePassword` (default: the right one).
    static func peer(role: DTLSRole, serverFingerprint: DTLSFingerprint, certificate: DTLSCertificate,
                     icePassword: String? = nil) throws -> Peer {
        try BrowserPeer(dtlsRole: role, certificate: certificate, remoteFingerprint: serverFingerprint, localICE: peerICE,
                        remoteICE: ICECredentials(usernameFragment: serverICE.usernameFragment, password: icePassword ?? serverICE.password))
    }

    struct Setup {
        let transport: WebRtcTransport
        let peer: Peer
        var events: [WebRtcTransportEvent] = []
        var now: Duration = .zero
        /// Keeps a DTLS-client peer from starting its handshake (OpenSSL retransmits on real time, so a
        /// ClientHello the transport dropped would not come again within a virtual-time test).
        var holdPeerDTLS = false

        /// Runs the link for `duration` of virtual time, stepping to the next deadline or 10 ms.
        mutating func run(for duration: Duration, peerSends: Bool = true) {
            let end = now + duration
            peer.startsDTLSWhenICEConnects = false   // driven here, so that it can be held
            while now < end {
                if peerSends {
                    peer.ice.start(now: now)
                    peer.ice.handleTimeout(now: now)
                    while let check = peer.ice.pollTransmit() { transport.handle(Datagram(check, from: WebRtcTransportTests.peerTuple), now: now) }
                }
                if !holdPeerDTLS && peer.ice.connected && peer.dtls.isConnected == false && peer.dtls.role == .client { peer.dtls.start(now: now) }
                while let d = peer.dtls.pollTransmit() { transport.handle(Datagram(d, from: WebRtcTransportTests.peerTuple), now: now) }
                while let t = transport.pollTransmit() {
                    #expect(t.destination == WebRtcTransportTests.peerTuple)
                    peer.receive(t.bytes, now: now)
                }
                while let d = peer.dtls.pollTransmit() { transport.handle(Datagram(d, from: WebRtcTransportTests.peerTuple), now: now) }
                while let e = transport.pollEvent() { events.append(e) }
                transport.handleTimeout(now: now)
                now += .milliseconds(10)
            }
        }
    }

    static func setup(serverRole: DTLSRole, wrongFingerprint: Bool = false, icePassword: String = serverICE.password) throws -> Setup {
        let serverCert = try DTLSCertificate.generate(commonName: "sfu")
        let peerCert = try DTLSCertificate.generate(commonName: "browser")
        let other = try DTLSCertificate.generate(commonName: "mallory")
        let transport = try WebRtcTransport(iceCredentials: serverICE, dtlsContext: try DTLSContext(certificate: serverCert), dtlsRole: serverRole,
                                            remoteFingerprints: [(wrongFingerprint ? other : peerCert).fingerprint()!], now: .zero)
        let peer = try Self.peer(role: serverRole == .server ? .client : .server, serverFingerprint: serverCert.fingerprint()!,
                            certificate: peerCert, icePassword: icePassword)
        transport.reportsDrops = true
        return Setup(transport: transport, peer: peer)
    }

    @Test(arguments: [DTLSRole.server, DTLSRole.client])
    func connectsAndCarriesMediaBothWays(_ serverRole: DTLSRole) throws {
        var s = try Self.setup(serverRole: serverRole)
        s.run(for: .seconds(1))
        #expect(s.transport.ice.state == .completed)
        #expect(s.transport.isSecure && s.peer.srtpOut != nil)
        #expect(s.events.contains { if case .dtlsConnected = $0 { return true } else { return false } })
        // Peer → SFU: 120 protected RTP packets are decrypted.
        for seq in 0..<120 {
            var b = RTPPacket(payloadType: 111, sequenceNumber: RTPSequenceNumber(UInt16(seq)), timestamp: RTPTimestamp(UInt32(seq * 960)),
                              ssrc: 0xA1, payload: ByteBuffer(bytes: [UInt8](repeating: UInt8(seq), count: 60))).bytes
            try s.peer.srtpOut!.protectRTP(&b)
            s.transport.handle(Datagram(b, from: Self.peerTuple), now: s.now)
        }
        var decrypted = 0
        while let e = s.transport.pollEvent() { if case .rtp(let p) = e, p.ssrc == 0xA1 { decrypted += 1 } }
        #expect(decrypted == 120 && s.transport.counters.rtpReceived == 120)
        // SFU → peer: RTP and a receiver report arrive protected and decrypt.
        #expect(s.transport.sendRTP(RTPPacket(payloadType: 96, sequenceNumber: 1, timestamp: 1, ssrc: 0xB2, payload: ByteBuffer(bytes: [1, 2, 3]))))
        #expect(s.transport.sendRTCP([.receiverReport(RTCPReceiverReport(ssrc: 1, reports: [RTCPReportBlock(
            ssrc: 0xA1, fractionLost: 0, cumulativeLost: 0, extendedHighestSequenceNumber: 119, jitter: 0, lastSenderReport: 0, delaySinceLastSenderReport: 0)]))]))
        while let t = s.transport.pollTransmit() { s.peer.receive(t.bytes, now: s.now) }
        #expect(s.peer.received.map(\.ssrc) == [0xB2])
        #expect(s.peer.receivedRTCP.count == 1)
    }

    @Test func aPeerCannotMakeTheTransportKeepStateForUnboundedSSRCs() throws {
        var s = try Self.setup(serverRole: .server)
        s.run(for: .seconds(1))
        var accepted = Set<UInt32>()
        var decrypted = 0
        func send(ssrc: UInt32, seq: UInt16) throws {
            var b = RTPPacket(payloadType: 111, sequenceNumber: RTPSequenceNumber(seq), timestamp: 0, ssrc: SSRC(ssrc),
                              payload: ByteBuffer(bytes: [1, 2, 3])).bytes
            try s.peer.srtpOut!.protectRTP(&b)
            s.transport.handle(Datagram(b, from: Self.peerTuple), now: s.now)
            while let e = s.transport.pollEvent() { if case .rtp(let p) = e { accepted.insert(p.ssrc.rawValue); decrypted += 1 } }
        }
        for ssrc in UInt32(1)...80 { try send(ssrc: ssrc, seq: 1) }
        #expect(accepted.count == WebRtcTransport.maxRemoteSSRCs && accepted == Set(1...UInt32(WebRtcTransport.maxRemoteSSRCs)))
        try send(ssrc: 3, seq: 2)   // a known SSRC still flows
        try send(ssrc: 90, seq: 1)  // a new one does not
        #expect(decrypted == WebRtcTransport.maxRemoteSSRCs + 1 && !accepted.contains(90))
    }

    @Test func wrongFingerprintFailsTheTransport() throws {
        var s = try Self.setup(serverRole: .server, wrongFingerprint: true)
        s.run(for: .seconds(1))
        let failure = s.events.compactMap { e -> DTLSError? in if case .dtlsFailed(let err) = e { return err } else { return nil } }.first
        #expect(failure?.code == .fingerprintMismatch)
        #expect(!s.transport.isSecure)
    }

    @Test func wrongICEPasswordIsRefused() throws {
        var s = try Self.setup(serverRole: .server, icePassword: "not-the-password-at-all-000000")
        s.run(for: .seconds(2))
        #expect(s.transport.ice.state == .new && !s.transport.ice.isValid(Self.peerTuple))
        #expect(s.transport.counters.drops[.stun] > 0)
        let reasons = s.events.compactMap { e -> DropReason? in if case .dropped(let r, _) = e { return r } else { return nil } }
        #expect(reasons.contains(.stun(.errorResponse(.unauthorized))))
        // DTLS from that source is refused too.
        s.transport.handle(Datagram(ByteBuffer(hex: "16fefd0000000000000000000100" + "01"), from: Self.peerTuple), now: s.now)
        #expect(s.transport.counters.droppedUnknownSource >= 1)
        #expect(!s.peer.ice.connected)
    }

    @Test func garbageIsDroppedWithAReason() throws {
        var s = try Self.setup(serverRole: .server)
        s.run(for: .seconds(1))
        let before = s.transport.counters
        for junk in ["", "ff", "5000", "80", "8060" + String(repeating: "aa", count: 40), "81c90001aabbccdd", "0001000021"] {
            s.transport.handle(Datagram(ByteBuffer(hex: junk), from: Self.peerTuple), now: s.now)
        }
        var reasons: [DropReason] = []
        while let e = s.transport.pollEvent() { if case .dropped(let r, _) = e { reasons.append(r) } }
        #expect(reasons.count == 7)
        #expect(s.transport.counters.drops.total - before.drops.total == 7)
        #expect(reasons.first == .unclassifiable(firstByte: nil) && reasons[1] == .unclassifiable(firstByte: 0xFF))
        #expect(s.transport.counters.rtpReceived == before.rtpReceived && s.transport.isSecure)
    }

    @Test func consentExpiresAfter30SecondsOfSilence() throws {
        var s = try Self.setup(serverRole: .server)
        s.run(for: .seconds(1))
        #expect(s.transport.ice.state == .completed)
        s.run(for: .seconds(29), peerSends: false)
        #expect(s.transport.ice.state == .completed)
        s.run(for: .seconds(2), peerSends: false)
        #expect(s.transport.ice.state == .disconnected)
        #expect(s.events.contains { if case .iceStateChanged(.disconnected) = $0 { return true } else { return false } })
        #expect(!s.transport.sendRTP(RTPPacket(payloadType: 96, sequenceNumber: 1, timestamp: 1, ssrc: 1, payload: ByteBuffer())))
    }

    /// A transport created before signalling knows the peer (as the SFU creates them for INIT_TRANSPORTS),
    /// connected later with the peer's signalled role and fingerprint.
    static func deferredSetup(peerRole: DTLSRole) throws -> (Setup, DTLSFingerprint) {
        let serverCert = try DTLSCertificate.generate(commonName: "sfu")
        let peerCert = try DTLSCertificate.generate(commonName: "browser")
        let transport = WebRtcTransport(iceCredentials: serverICE, dtlsContext: try DTLSContext(certificate: serverCert))
        transport.reportsDrops = true
        let peer = try Self.peer(role: peerRole, serverFingerprint: serverCert.fingerprint()!, certificate: peerCert)
        return (Setup(transport: transport, peer: peer), peerCert.fingerprint()!)
    }

    @Test func dtlsBeforeConnectIsDroppedThenTheHandshakeCompletesAfterIt() throws {
        var (s, peerFingerprint) = try Self.deferredSetup(peerRole: .client)
        s.holdPeerDTLS = true
        s.run(for: .milliseconds(300))
        #expect(s.transport.ice.state == .completed && s.transport.dtls == nil && !s.transport.isSecure)
        s.transport.handle(Datagram(ByteBuffer(hex: "16fefd000000000000000000010001"), from: Self.peerTuple), now: s.now)
        while let e = s.transport.pollEvent() { s.events.append(e) }
        let reasons = s.events.compactMap { e -> DropReason? in if case .dropped(let r, _) = e { return r } else { return nil } }
        #expect(reasons.contains(.dtlsBeforeConnect))
        try s.transport.connect(remoteRole: .client, fingerprints: [peerFingerprint], now: s.now)
        #expect(s.transport.dtlsRole == .server)
        s.holdPeerDTLS = false
        s.run(for: .seconds(1))
        #expect(s.transport.isSecure && s.peer.srtpOut != nil)
    }

    @Test(arguments: [(WebRtcTransport.RemoteDTLSRole.server, DTLSRole.client), (.auto, .client), (.client, .server)])
    func localRoleIsOppositeThePeers(_ remote: WebRtcTransport.RemoteDTLSRole, _ local: DTLSRole) throws {
        var (s, peerFingerprint) = try Self.deferredSetup(peerRole: local == .server ? .client : .server)
        s.holdPeerDTLS = true
        s.run(for: .milliseconds(100))
        try s.transport.connect(remoteRole: remote, fingerprints: [peerFingerprint], now: s.now)
        #expect(s.transport.dtlsRole == local)
        s.holdPeerDTLS = false
        s.run(for: .seconds(1))
        #expect(s.transport.isSecure)
    }

    @Test func connectIsRefusedTwiceAndWithoutFingerprints() throws {
        let (s, peerFingerprint) = try Self.deferredSetup(peerRole: .client)
        #expect(throws: WebRtcTransport.ConnectError.noFingerprints) {
            try s.transport.connect(remoteRole: .client, fingerprints: [], now: .zero)
        }
        try s.transport.connect(remoteRole: .client, fingerprints: [peerFingerprint], now: .zero)
        #expect(throws: WebRtcTransport.ConnectError.alreadyConnected) {
            try s.transport.connect(remoteRole: .client, fingerprints: [peerFingerprint], now: .zero)
        }
    }
}
