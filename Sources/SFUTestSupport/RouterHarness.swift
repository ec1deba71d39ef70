import DTLS
import ICE
import NIOCore
import RTCBase
import RTCP
import RTP
import SFU

/// A ``SFU/MediaRouter`` with `N` connected ``BrowserPeer``s on one in-memory link, in virtual time.
///
/// Peer `i` talks to transport ``transportIDs``[i] from tuple ``tuples``[i] (127.0.0.1, port 50 001 + i). The
/// initialiser creates the transports, connects them with the peers' fingerprints and runs the link until
/// ICE and DTLS are up on every one. The router's randomness is a seeded ``SplitMix64``, and time only moves
/// in ``run(for:)``, so a run is reproducible (the DTLS certificates are fresh keys, which changes no
/// decision the router takes).
///
/// Helpers create producers as Chrome announces them (audio: Opus; video: VP8 with RTX, optionally three
/// RID-simulcast encodings) with ORTC-built mappings, and active consumers of them on the other peers.
public final class RouterHarness {
    /// A producer created by the harness.
    public struct Producer: Sendable {
        /// The name the test gave it.
        public let name: String
        /// The router's id of the producer.
        public let id: ProducerID
        /// Index of the peer that sends it.
        public let peer: Int
        /// Audio or video.
        public let kind: MediaKind
        /// The producer's RTP parameters, as the browser announced them.
        public let parameters: RTPParameters
        /// The ORTC mapping onto the router.
        public let mapping: RTPParametersMapping

        /// Builds a media packet of this producer as the browser would send it (before SRTP): the payload type
        /// of its first codec, the SSRC of encoding `layer` (or, when the encoding has none, its RID in the
        /// rtp-stream-id extension), the MID extension, timestamp `seq × 960` (audio) or `seq × 3000` (video).
        /// Video payloads start with a VP8 payload descriptor; `payloadSize` bytes follow it (audio: an Opus
        /// TOC byte and `payloadSize` bytes).
        public func packet(seq: UInt16, keyFrame: Bool = false, layer: Int = 0, payloadSize: Int = 100) -> RTPPacket {
            let encoding = parameters.encodings[layer]
            let ssrc = encoding.ssrc ?? RouterHarness.ridSSRCBase &+ UInt32(layer)
            let payload: [UInt8]
            if kind == .video {
                // S bit set, partition 0; a key frame has P = 0 and the VP8 start code.
                payload = [0x10, keyFrame ? 0x00 : 0x01, 0x9D, 0x01, 0x2A] + [UInt8](repeating: 7, count: payloadSize)
            } else {
                payload = [0xFC] + [UInt8](repeating: 1, count: payloadSize)
            }
            var p = RTPPacket(payloadType: PayloadType(rawValue: parameters.codecs[0].payloadType)!, sequenceNumber: RTPSequenceNumber(seq),
                              timestamp: RTPTimestamp(UInt32(seq) &* (kind == .video ? 3000 : 960)), ssrc: SSRC(ssrc),
                              payload: ByteBuffer(bytes: payload))
            let map = parameters.headerExtensionMap
            if let mid = parameters.mid { _ = try? p.setMID(MID(rawValue: mid), map) }
            if encoding.ssrc == nil, let rid = encoding.rid { _ = try? p.setRID(RID(rawValue: rid), map) }
            return p
        }
    }

    /// A consumer created by the harness.
    public struct Consumer: Sendable {
        /// The name the test gave it.
        public let name: String
        /// The router's id of the consumer.
        public let id: ConsumerID
        /// Index of the peer that receives it.
        public let peer: Int
        /// The producer it consumes.
        public let producerID: ProducerID
        /// The consumer's RTP parameters (as sent in INIT_CONSUMER): its SSRC, RTX SSRC, payload types, MID.
        public let parameters: RTPParameters
    }

    /// The router's capabilities: Opus and VP8 (with RTX) and the default header extensions.
    public static let capabilities = ORTC.routerCapabilities(audioCodecs: ["opus"], videoCodecs: ["VP8"])
    /// The SSRCs ``Producer/packet(seq:keyFrame:layer:payloadSize:)`` uses for RID encodings without an SSRC
    /// (layer `i` gets `ridSSRCBase + i`).
    public static let ridSSRCBase: UInt32 = 0x5100_0000

    /// The router under test.
    public let router: MediaRouter
    /// The peers, in transport order.
    public let peers: [BrowserPeer]
    /// The transport of each peer.
    public let transportIDs: [TransportID]
    /// The tuple (source address) of each peer.
    public let tuples: [ICETuple]
    /// Virtual time since the harness started.
    public private(set) var now = Duration.zero
    /// Producers created by the helpers.
    public private(set) var producers: [Producer] = []
    /// Consumers created by the helpers.
    public private(set) var consumers: [Consumer] = []
    /// Called for every datagram the router transmits, with the index of the peer it went to (nil: the
    /// destination is no peer's tuple, and nobody receives it) and what that peer made of it.
    public var onTransmit: ((Transmit, Int?, BrowserPeer.Reception?) -> Void)?
    private var midCounters: [Int]

    /// Creates a router with `peerCount` transports and as many connected peers. `seed` seeds the
    /// router's randomness; `setupTime` is how long the link runs for ICE and DTLS to complete; the transports
    /// of `tappedPeers` emit plaintext copies of their RTP/RTCP (the debugging tap); `congestionControl` is the
    /// router's.
    public init(peerCount: Int, seed: UInt64 = 7, setupTime: Duration = .milliseconds(500), tappedPeers: Set<Int> = [],
                congestionControl: CongestionControlMode = .sendSide) throws {
        precondition(peerCount >= 1, "at least one peer")
        let serverCertificate = try DTLSCertificate.generate(commonName: "sfu")
        guard let serverFingerprint = serverCertificate.fingerprint() else { throw DTLSError(code: .certificate, reason: "no fingerprint") }
        router = MediaRouter(dtlsContext: try DTLSContext(certificate: serverCertificate), clock: NTPClock(unixTimeAtOrigin: .zero),
                             random: SplitMix64(seed: seed), congestionControl: congestionControl)
        var peers: [BrowserPeer] = [], ids: [TransportID] = [], tuples: [ICETuple] = []
        for i in 0..<peerCount {
            let serverICE = ICECredentials(usernameFragment: "sfu\(i)Ufrag", password: "sfu-password-\(i)-0123456789abcdef")
            let peerICE = ICECredentials(usernameFragment: "peer\(i)", password: "peer-password-\(i)-0123456789abcdef")
            let certificate = try DTLSCertificate.generate(commonName: "peer\(i)")
            guard let fingerprint = certificate.fingerprint() else { throw DTLSError(code: .certificate, reason: "no fingerprint") }
            let id = router.createTransport(credentials: serverICE, tapsPlaintext: tappedPeers.contains(i), now: .zero)
            let peer = try BrowserPeer(certificate: certificate, remoteFingerprint: serverFingerprint, localICE: peerICE,
                                       remoteICE: serverICE, tieBreaker: 7 &+ UInt64(i))
            peer.start(now: .zero)
            peers.append(peer)
            try router.connectTransport(id, remoteRole: .client, fingerprints: [fingerprint], now: .zero)
            ids.append(id)
            tuples.append(ICETuple(remote: .v4(address: 0x7F00_0001, port: UInt16(50_001 + i))))
        }
        self.peers = peers
        self.transportIDs = ids
        self.tuples = tuples
        midCounters = Array(repeating: 0, count: peerCount)
        run(for: setupTime)
    }

    /// Whether every transport and every peer has DTLS up and SRTP keyed.
    public var isConnected: Bool {
        peers.allSatisfy(\.isSecure) && transportIDs.allSatisfy { router.transport($0)?.isSecure == true }
    }

    /// The index of the peer whose tuple is `tuple`.
    public func peerIndex(of tuple: ICETuple) -> Int? { tuples.firstIndex(of: tuple) }

    /// Runs the link for `duration` of virtual time in 5 ms steps: the peers' ICE checks and DTLS flights go
    /// to the router, the router's transmits to the peers, and the peers' and the router's timers run when due.
    public func run(for duration: Duration) {
        let end = now + duration
        repeat {
            for (i, peer) in peers.enumerated() {
                if let deadline = peer.nextDeadline, deadline <= now { peer.handleTimeout(now: now) }
                while let d = peer.pollTransmit() { router.handle(Datagram(d, from: tuples[i]), now: now) }
            }
            deliver()
            if let deadline = router.nextDeadline, deadline <= now { router.handleTimeout(now: now) }
            deliver()
            now += .milliseconds(5)
        } while now < end
    }

    /// Moves virtual time on by `step` without running anything (for drivers that run the router themselves).
    public func advanceClock(by step: Duration) { now += step }

    /// Hands every queued router transmit to its peer (reporting each to ``onTransmit``) and the peers' answers
    /// (DTLS flights, ICE checks) back to the router, until both sides are quiet.
    public func deliver() {
        var moved: Bool
        repeat {
            while let t = router.pollTransmit() {
                let index = peerIndex(of: t.destination)
                let reception = index.map { peers[$0].receive(t.bytes, now: now) }
                onTransmit?(t, index, reception)
            }
            moved = false
            for (i, peer) in peers.enumerated() {
                while let d = peer.pollTransmit() {
                    router.handle(Datagram(d, from: tuples[i]), now: now)
                    moved = true
                }
            }
        } while moved
    }

    /// Drops every queued router transmit without delivering it; returns how many there were.
    @discardableResult
    public func discardTransmits() -> Int {
        var count = 0
        while router.pollTransmit() != nil { count += 1 }
        return count
    }

    /// Peer `peer` sends `packet` (SRTP-protected) to the router; the router's answers are delivered.
    public func send(rtp packet: RTPPacket, from peer: Int) {
        guard let bytes = try? peers[peer].protect(rtp: packet) else { return }
        router.handle(Datagram(bytes, from: tuples[peer]), now: now)
        deliver()
    }

    /// Peer `peer` sends the compound `packets` (SRTCP-protected) to the router; the router's answers are
    /// delivered.
    public func send(rtcp packets: [RTCPPacket], from peer: Int) {
        guard let bytes = try? peers[peer].protect(rtcp: packets) else { return }
        router.handle(Datagram(bytes, from: tuples[peer]), now: now)
        deliver()
    }

    // MARK: - Producers and consumers

    /// Opus producer parameters as Chrome announces them: PT 111, MID and audio-level extensions (ids 4
    /// and 1), one encoding with `ssrc`.
    public static func audioParameters(mid: String = "0", ssrc: UInt32 = 0xA0D10) -> RTPParameters {
        RTPParameters(mid: mid, codecs: [RTPCodecParameters(mimeType: "audio/opus", payloadType: 111, clockRate: 48_000, channels: 2)],
                      headerExtensions: [RTPHeaderExtensionParameters(uri: ORTC.URI.mid, id: 4),
                                         RTPHeaderExtensionParameters(uri: ORTC.URI.audioLevel, id: 1)],
                      encodings: [RTPEncodingParameters(ssrc: ssrc)], rtcpCNAME: "cname", rtcpReducedSize: true)
    }

    /// VP8 producer parameters as Chrome announces them: PT 96 with nack/pli feedback, RTX PT 97, MID,
    /// RID and repaired-RID extensions (ids 4, 10, 11). `encodings` defaults to one encoding with SSRC
    /// 0xBEEF and RTX SSRC 0xBEF0; ``simulcastEncodings`` gives three RID encodings.
    public static func vp8Parameters(mid: String = "1", encodings: [RTPEncodingParameters] = [RTPEncodingParameters(ssrc: 0xBEEF, rtxSSRC: 0xBEF0)]) -> RTPParameters {
        RTPParameters(mid: mid, codecs: [
            RTPCodecParameters(mimeType: "video/VP8", payloadType: 96, clockRate: 90_000,
                               rtcpFeedback: [RTCPFeedback(type: "nack"), RTCPFeedback(type: "nack", parameter: "pli")]),
            RTPCodecParameters(mimeType: "video/rtx", payloadType: 97, clockRate: 90_000, parameters: ["apt": 96]),
        ], headerExtensions: [RTPHeaderExtensionParameters(uri: ORTC.URI.mid, id: 4),
                              RTPHeaderExtensionParameters(uri: ORTC.URI.rid, id: 10),
                              RTPHeaderExtensionParameters(uri: ORTC.URI.repairedRID, id: 11)],
        encodings: encodings, rtcpCNAME: "cname", rtcpReducedSize: true)
    }

    /// Three RID-simulcast encodings `r0`, `r1`, `r2` (no SSRCs: the router learns them from the RID
    /// extension, as with Chrome), quarter, half and full resolution.
    public static let simulcastEncodings = [
        RTPEncodingParameters(rid: "r0", scalabilityMode: "L1T3", maxBitrate: 150_000, scaleResolutionDownBy: 4),
        RTPEncodingParameters(rid: "r1", scalabilityMode: "L1T3", maxBitrate: 500_000, scaleResolutionDownBy: 2),
        RTPEncodingParameters(rid: "r2", scalabilityMode: "L1T3", maxBitrate: 1_200_000, scaleResolutionDownBy: 1),
    ]

    /// Creates producer `name` on peer `peer`'s transport from `parameters`, mapped onto the router with ORTC.
    @discardableResult
    public func addProducer(name: String, peer: Int = 0, kind: MediaKind, parameters: RTPParameters) throws -> Producer {
        let mapping = try ORTC.producerMapping(parameters: parameters, kind: kind, router: Self.capabilities,
                                               ssrcBase: 111_111_111 &+ 100 &* UInt32(producers.count))
        let id = try router.createProducer(on: transportIDs[peer], kind: kind, parameters: parameters, mapping: mapping, now: now)
        let producer = Producer(name: name, id: id, peer: peer, kind: kind, parameters: parameters, mapping: mapping)
        producers.append(producer)
        return producer
    }

    /// Creates an Opus producer (``audioParameters(mid:ssrc:)``) on peer `peer`.
    @discardableResult
    public func addAudioProducer(name: String = "audio", peer: Int = 0) throws -> Producer {
        try addProducer(name: name, peer: peer, kind: .audio, parameters: Self.audioParameters())
    }

    /// Creates a VP8 producer (``vp8Parameters(mid:encodings:)``) on peer `peer`: one encoding, or the three
    /// ``simulcastEncodings`` when `simulcast`.
    @discardableResult
    public func addVP8Producer(name: String = "video", peer: Int = 0, simulcast: Bool = false) throws -> Producer {
        let parameters = simulcast ? Self.vp8Parameters(encodings: Self.simulcastEncodings) : Self.vp8Parameters()
        return try addProducer(name: name, peer: peer, kind: .video, parameters: parameters)
    }

    /// Creates a consumer `name` of `producer` on peer `peer`'s transport, with parameters ORTC derives for a
    /// peer with the router's capabilities (its SSRC unique in the harness, RTX SSRC + 1 for video, the
    /// peer's next MID "0", "1", …), changed by `adjust` (say, to negotiate other extension ids), and makes it active
    /// unless `active` is false.
    @discardableResult
    public func addConsumer(name: String, of producer: Producer, peer: Int, active: Bool = true,
                            adjust: (inout RTPParameters) -> Void = { _ in }) throws -> Consumer {
        let consumable = ORTC.consumableParameters(kind: producer.kind, producer: producer.parameters, router: Self.capabilities,
                                                   mapping: producer.mapping)
        var parameters = try ORTC.consumerParameters(consumable: consumable, kind: producer.kind, remoteCapabilities: Self.capabilities,
                                                     ssrc: 222_222_222 &+ 2 &* UInt32(consumers.count), mid: String(midCounters[peer]))
        adjust(&parameters)
        let id = try router.createConsumer(on: transportIDs[peer], of: producer.id, parameters: parameters, now: now)
        midCounters[peer] += 1
        if active { router.setConsumerActive(id, true, now: now) }
        deliver()
        let consumer = Consumer(name: name, id: id, peer: peer, producerID: producer.id, parameters: parameters)
        consumers.append(consumer)
        return consumer
    }

    /// Creates an active consumer of `producer` on each of `peers` (default: every peer but the producer's),
    /// named `<producer name>@<peer>`.
    @discardableResult
    public func addConsumers(of producer: Producer, peers: [Int]? = nil) throws -> [Consumer] {
        try (peers ?? self.peers.indices.filter { $0 != producer.peer }).map { peer in
            try addConsumer(name: "\(producer.name)@\(peer)", of: producer, peer: peer)
        }
    }

    /// The consumer (created by the helpers) that sends with media or RTX SSRC `ssrc`.
    public func consumer(sendingSSRC ssrc: UInt32) -> Consumer? {
        consumers.first { $0.parameters.encodings.first?.ssrc == ssrc || $0.parameters.encodings.first?.rtxSSRC == ssrc }
    }
}
