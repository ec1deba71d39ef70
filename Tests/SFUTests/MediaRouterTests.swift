import DTLS
import ICE
import NIOCore
import RTCBase
import RTCP
import RTCTestSupport
import RTP
import SFU
import SRTP
import STUN
import Testing

/// The media plane end to end in virtual time: two browser-like peers (this stack's controlling ICE agent,
/// DTLS client and SRTP) on one MediaRouter, one producing and one consuming, through the real transports.
@Suite(.serialized) struct MediaRouterTests {
    typealias Peer = WebRtcTransportTests.Peer
    static let router = ORTC.routerCapabilities(audioCodecs: ["opus"], videoCodecs: ["VP8"])
    static let sender = TransportID("cts"), receiver = TransportID("stc")
    static let senderTuple = ICETuple(remote: .v4(address: 0x7F00_0001, port: 50_001))
    static let receiverTuple = ICETuple(remote: .v4(address: 0x7F00_0001, port: 50_002))
    static let producerExtensions = [RTPHeaderExtensionParameters(uri: "urn:ietf:params:rtp-hdrext:sdes:mid", id: 4),
                                     RTPHeaderExtensionParameters(uri: "urn:ietf:params:rtp-hdrext:ssrc-audio-level", id: 1)]

    final class Link {
        let router: MediaRouter
        let a: Peer, b: Peer
        var now: Duration = .zero

        init() throws {
            let serverCert = try DTLSCertificate.generate(commonName: "sfu")
            router = MediaRouter(dtlsContext: try DTLSContext(certificate: serverCert), random: SplitMix(seed: 7))
            let aCert = try DTLSCertificate.generate(commonName: "a"), bCert = try DTLSCertificate.generate(commonName: "b")
            let aICE = ICECredentials(usernameFragment: "ctsUfrag", password: "cts-password-0123456789abc")
            let bICE = ICECredentials(usernameFragment: "stcUfrag", password: "stc-password-0123456789abc")
            router.createTransport(MediaRouterTests.sender, credentials: aICE)
            router.createTransport(MediaRouterTests.receiver, credentials: bICE)
            a = try Peer(role: .client, serverFingerprint: serverCert.fingerprint()!, certificate: aCert, serverICE: aICE)
            b = try Peer(role: .client, serverFingerprint: serverCert.fingerprint()!, certificate: bCert, serverICE: bICE)
            try router.connectTransport(MediaRouterTests.sender, remoteRole: .client, fingerprints: [aCert.fingerprint()!], now: .zero)
            try router.connectTransport(MediaRouterTests.receiver, remoteRole: .client, fingerprints: [bCert.fingerprint()!], now: .zero)
            run(for: .milliseconds(500))
        }

        /// Moves datagrams both ways and runs timers for `duration`, in 5 ms steps.
        func run(for duration: Duration) {
            let end = now + duration
            repeat {
                for (peer, tuple) in [(a, MediaRouterTests.senderTuple), (b, MediaRouterTests.receiverTuple)] {
                    if let check = peer.ice.poll(now: now) { router.handle(check, from: tuple, now: now) }
                    if peer.ice.connected && !peer.dtls.isConnected { peer.dtls.start(now: now) }
                    while let d = peer.dtls.pollDatagram() { router.handle(d, from: tuple, now: now) }
                }
                deliver()
                if let deadline = router.nextDeadline(now: now), deadline <= now { router.handleTimeout(now: now) }
                deliver()
                now += .milliseconds(5)
            } while now < end
        }

        func deliver() {
            while let t = router.pollTransmit() {
                (t.destination == MediaRouterTests.senderTuple ? a : b).receive(t.bytes, now: now)
            }
            for (peer, tuple) in [(a, MediaRouterTests.senderTuple), (b, MediaRouterTests.receiverTuple)] {
                while let d = peer.dtls.pollDatagram() { router.handle(d, from: tuple, now: now) }
            }
            while let t = router.pollTransmit() {
                (t.destination == MediaRouterTests.senderTuple ? a : b).receive(t.bytes, now: now)
            }
        }

        /// The peer sends an RTP packet (protected) to the router.
        func send(_ packet: RTPPacket, from peer: Peer) {
            var bytes = packet.bytes
            try! peer.srtpOut!.protectRTP(&bytes)
            router.handle(bytes, from: peer === a ? MediaRouterTests.senderTuple : MediaRouterTests.receiverTuple, now: now)
            deliver()
        }

        func send(rtcp packets: [RTCPPacket], from peer: Peer) {
            var bytes = RTCPPacket.encodeCompound(packets)
            try! peer.srtpOut!.protectRTCP(&bytes)
            router.handle(bytes, from: peer === a ? MediaRouterTests.senderTuple : MediaRouterTests.receiverTuple, now: now)
            deliver()
        }
    }

    /// Producer parameters as Chrome sends them, with its own payload types and extension ids.
    static func producerParameters(video: Bool) -> RTPParameters {
        if video {
            return RTPParameters(mid: "1", codecs: [
                RTPCodecParameters(mimeType: "video/VP8", payloadType: 96, clockRate: 90_000,
                                   rtcpFeedback: [RTCPFeedback(type: "nack"), RTCPFeedback(type: "nack", parameter: "pli")]),
                RTPCodecParameters(mimeType: "video/rtx", payloadType: 97, clockRate: 90_000, parameters: ["apt": 96]),
            ], headerExtensions: [RTPHeaderExtensionParameters(uri: "urn:ietf:params:rtp-hdrext:sdes:mid", id: 4)],
            encodings: [RTPEncodingParameters(ssrc: 0xBEEF, rtxSSRC: 0xBEF0)], rtcpCNAME: "cname", rtcpReducedSize: true)
        }
        return RTPParameters(mid: "0", codecs: [RTPCodecParameters(mimeType: "audio/opus", payloadType: 111, clockRate: 48_000, channels: 2)],
                             headerExtensions: producerExtensions, encodings: [RTPEncodingParameters(ssrc: 0xA0D10)],
                             rtcpCNAME: "cname", rtcpReducedSize: true)
    }

    /// Sets up a producer on `a` and an active consumer of it on `b`; returns the consumer parameters.
    static func produceAndConsume(_ link: Link, video: Bool) throws -> RTPParameters {
        let kind: MediaKind = video ? .video : .audio
        let parameters = producerParameters(video: video)
        let mapping = try ORTC.producerMapping(parameters: parameters, kind: kind, router: router, ssrcBase: 111_111_111)
        let consumable = ORTC.consumableParameters(kind: kind, producer: parameters, router: router, mapping: mapping)
        let consumer = try ORTC.consumerParameters(consumable: consumable, kind: kind, remoteCapabilities: router,
                                                   ssrc: 222_222_222, mid: video ? "1" : "0")
        try link.router.createProducer(id: "p", transport: sender, kind: kind, parameters: parameters, mapping: mapping)
        try link.router.createConsumer(id: "c", transport: receiver, producerID: "p", parameters: consumer)
        link.router.setConsumerActive("c", true, now: link.now)
        return consumer
    }

    static func opus(_ seq: UInt16) -> RTPPacket {
        var p = RTPPacket(payloadType: 111, sequenceNumber: RTPSequenceNumber(seq), timestamp: RTPTimestamp(UInt32(seq) * 960),
                          ssrc: 0xA0D10, payload: ByteBuffer(bytes: [0xFC, 1, 2, 3]))
        _ = try? p.setMID("0", RTPHeaderExtensionMap(producerExtensions.map { (uri: $0.uri, id: $0.id) }))
        return p
    }

    static func vp8(_ seq: UInt16, key: Bool) -> RTPPacket {
        RTPPacket(payloadType: 96, sequenceNumber: RTPSequenceNumber(seq), timestamp: RTPTimestamp(UInt32(seq) * 3000),
                  ssrc: 0xBEEF, payload: ByteBuffer(bytes: [0x10, key ? 0x00 : 0x01, 0x9D, 0x01, 0x2A] + [UInt8](repeating: 7, count: 100)))
    }

    @Test func audioIsForwardedWithTheConsumersSSRCPayloadTypeAndMid() throws {
        let link = try Link()
        #expect(link.router.transport(Self.sender)!.isSecure && link.router.transport(Self.receiver)!.isSecure)
        let consumer = try Self.produceAndConsume(link, video: false)
        for seq in UInt16(65_530)...UInt16(65_535) { link.send(Self.opus(seq), from: link.a) }
        for seq in UInt16(0)..<10 { link.send(Self.opus(seq), from: link.a) }
        let received = link.b.received
        #expect(received.count == 16)
        #expect(received.allSatisfy { $0.ssrc.rawValue == consumer.encodings[0].ssrc! && $0.payloadType.rawValue == 100 })
        // Continuous output sequence numbers across the producer's wrap.
        for (x, y) in zip(received, received.dropFirst()) { #expect(y.sequenceNumber.rawValue == x.sequenceNumber.rawValue &+ 1) }
        // MID rewritten to the consumer's (router id 1), the producer's audio-level id 1 not misread as MID.
        let map = consumer.headerExtensionMap
        #expect(received.allSatisfy { $0.mid(map)?.rawValue == "0" })
    }

    @Test func videoStartsAtAKeyFrameAndNacksAreAnsweredWithRTX() throws {
        let link = try Self.Link()
        let consumer = try Self.produceAndConsume(link, video: true)
        // Activation asked the producer for a key frame.
        link.run(for: .milliseconds(50))
        #expect(link.a.receivedRTCP.joined().contains { if case .pictureLossIndication(let p) = $0 { return p.mediaSSRC == 0xBEEF } else { return false } })
        link.send(Self.vp8(1, key: false), from: link.a)   // not forwarded: waiting for a key frame
        #expect(link.b.received.isEmpty)
        for seq in UInt16(2)...10 { link.send(Self.vp8(seq, key: seq == 2), from: link.a) }
        let forwarded = link.b.received
        #expect(forwarded.count == 9 && forwarded.allSatisfy { $0.payloadType.rawValue == 101 })
        // The receiver lost one: its NACK is answered with RTX on the consumer's RTX SSRC.
        let lost = forwarded[4]
        link.send(rtcp: [.nack(RTCPGenericNACK(senderSSRC: 1, mediaSSRC: lost.ssrc, lost: [lost.sequenceNumber.rawValue]))], from: link.b)
        let rtx = link.b.received.dropFirst(9)
        #expect(rtx.count == 1)
        #expect(rtx.first?.ssrc.rawValue == consumer.encodings[0].rtxSSRC && rtx.first?.payloadType.rawValue == 102)
        #expect(rtx.first?.rtxOriginalSequenceNumber == lost.sequenceNumber)
        // A PLI from the receiver becomes a PLI to the producer.
        link.run(for: .seconds(2))
        let before = link.a.receivedRTCP.joined().filter { if case .pictureLossIndication = $0 { return true } else { return false } }.count
        link.send(rtcp: [.pictureLossIndication(RTCPPictureLossIndication(senderSSRC: 1, mediaSSRC: lost.ssrc))], from: link.b)
        let after = link.a.receivedRTCP.joined().filter { if case .pictureLossIndication = $0 { return true } else { return false } }.count
        #expect(after == before + 1)
    }

    @Test func rtxCopiesOfPacketsAlreadyReceivedAreNeitherCountedNorForwarded() throws {
        let link = try Self.Link()
        _ = try Self.produceAndConsume(link, video: true)
        for seq in UInt16(1)...10 { link.send(Self.vp8(seq, key: seq == 1), from: link.a) }
        let forwarded = link.b.received.count
        // A bandwidth probe: RTX copies (with payload) of packets that did arrive.
        for (i, seq) in [UInt16(4), 5, 6].enumerated() {
            link.send(Self.vp8(seq, key: false).rtxEncapsulated(ssrc: 0xBEF0, payloadType: 97, sequenceNumber: RTPSequenceNumber(UInt16(100 + i))), from: link.a)
        }
        #expect(link.b.received.count == forwarded)
        link.run(for: .milliseconds(1500))
        let blocks = link.a.receivedRTCP.joined().flatMap { p -> [RTCPReportBlock] in
            if case .receiverReport(let rr) = p { return rr.reports.filter { $0.ssrc == 0xBEEF } } else { return [] }
        }
        #expect(!blocks.isEmpty && blocks.allSatisfy { $0.cumulativeLost == 0 })
    }

    @Test func gapsFromTheProducerAreNackedAndReportsFlowBothWays() throws {
        let link = try Self.Link()
        _ = try Self.produceAndConsume(link, video: true)
        for seq in UInt16(1)...20 where seq != 7 && seq != 8 { link.send(Self.vp8(seq, key: seq == 1), from: link.a) }
        link.run(for: .milliseconds(1500))
        let nacked = link.a.receivedRTCP.joined().flatMap { p -> [UInt16] in if case .nack(let n) = p { return n.lostSequenceNumbers } else { return [] } }
        #expect(nacked.contains(7) && nacked.contains(8))
        // Receiver reports for the producer's stream, sender reports for the consumer's.
        #expect(link.a.receivedRTCP.joined().contains { if case .receiverReport(let rr) = $0 { return rr.reports.contains { $0.ssrc == 0xBEEF } } else { return false } })
        #expect(link.b.receivedRTCP.joined().contains { if case .senderReport = $0 { return true } else { return false } })
        // A paused consumer forwards nothing.
        let count = link.b.received.count
        link.router.setConsumerActive("c", false, now: link.now)
        link.send(Self.vp8(21, key: false), from: link.a)
        #expect(link.b.received.count == count)
    }
}

/// SplitMix64, for reproducible router randomness.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
