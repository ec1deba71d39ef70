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

/// The media plane end to end in virtual time: two browser-like peers (this stack's controlling ICE agent,
/// DTLS client and SRTP) on one MediaRouter, one producing and one consuming, through the real transports.
@Suite(.serialized) struct MediaRouterTests {
    /// A router with a sending peer `a` (0) and a receiving peer `b` (1).
    final class Link {
        let harness: RouterHarness
        var router: MediaRouter { harness.router }
        var a: BrowserPeer { harness.peers[0] }
        var b: BrowserPeer { harness.peers[1] }
        var now: Duration { harness.now }
        var sender: TransportID { harness.transportIDs[0] }
        var receiver: TransportID { harness.transportIDs[1] }

        /// The consumer "c" of ``produceAndConsume(_:video:)``.
        var consumer: ConsumerID?

        init() throws { harness = try RouterHarness(peerCount: 2) }

        func run(for duration: Duration) { harness.run(for: duration) }
        func send(_ packet: RTPPacket, from peer: BrowserPeer) { harness.send(rtp: packet, from: peer === a ? 0 : 1) }
        func send(rtcp packets: [RTCPPacket], from peer: BrowserPeer) { harness.send(rtcp: packets, from: peer === a ? 0 : 1) }
    }

    /// Sets up a producer "p" on `a` and an active consumer "c" of it on `b`; returns the producer and the
    /// consumer parameters.
    static func produceAndConsume(_ link: Link, video: Bool) throws -> (RouterHarness.Producer, RTPParameters) {
        let producer = video ? try link.harness.addVP8Producer(name: "p") : try link.harness.addAudioProducer(name: "p")
        let consumer = try link.harness.addConsumer(name: "c", of: producer, peer: 1)
        link.consumer = consumer.id
        return (producer, consumer.parameters)
    }

    @Test func audioIsForwardedWithTheConsumersSSRCPayloadTypeAndMid() throws {
        let link = try Link()
        #expect(link.router.transport(link.sender)!.isSecure && link.router.transport(link.receiver)!.isSecure)
        let (producer, consumer) = try Self.produceAndConsume(link, video: false)
        for seq in UInt16(65_530)...UInt16(65_535) { link.send(producer.packet(seq: seq, payloadSize: 3), from: link.a) }
        for seq in UInt16(0)..<10 { link.send(producer.packet(seq: seq, payloadSize: 3), from: link.a) }
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
        let (producer, consumer) = try Self.produceAndConsume(link, video: true)
        // Activation asked the producer for a key frame.
        link.run(for: .milliseconds(50))
        #expect(link.a.receivedRTCP.joined().contains { if case .pictureLossIndication(let p) = $0 { return p.mediaSSRC == 0xBEEF } else { return false } })
        link.send(producer.packet(seq: 1), from: link.a)   // not forwarded: waiting for a key frame
        #expect(link.b.received.isEmpty)
        for seq in UInt16(2)...10 { link.send(producer.packet(seq: seq, keyFrame: seq == 2), from: link.a) }
        let forwarded = link.b.received
        #expect(forwarded.count == 9 && forwarded.allSatisfy { $0.payloadType.rawValue == 101 })
        // The receiver lost one: its NACK is answered with RTX on the consumer's RTX SSRC.
        let lost = forwarded[4]
        link.send(rtcp: [.nack(RTCPGenericNACK(senderSSRC: 1, mediaSSRC: lost.ssrc, lost: [lost.sequenceNumber.rawValue]))], from: link.b)
        let rtx = link.b.received.dropFirst(9)
        #expect(rtx.count == 1)
        #expect(rtx.first?.ssrc.rawValue == consumer.encodings[0].rtxSSRC && rtx.first?.payloadType.rawValue == 102)
        #expect(rtx.first?.rtxOriginalSequenceNumber == lost.sequenceNumber)
        // The retransmission is a new packet for congestion control: a transport-wide sequence number after
        // every one forwarded so far.
        let map = consumer.headerExtensionMap
        let sent = forwarded.compactMap { $0.transportSequenceNumber(map) }
        #expect(sent.count == 9 && rtx.first?.transportSequenceNumber(map) == sent.last.map { $0 &+ 1 })
        // A PLI from the receiver becomes a PLI to the producer.
        link.run(for: .seconds(2))
        let before = link.a.receivedRTCP.joined().filter { if case .pictureLossIndication = $0 { return true } else { return false } }.count
        link.send(rtcp: [.pictureLossIndication(RTCPPictureLossIndication(senderSSRC: 1, mediaSSRC: lost.ssrc))], from: link.b)
        let after = link.a.receivedRTCP.joined().filter { if case .pictureLossIndication = $0 { return true } else { return false } }.count
        #expect(after == before + 1)
    }

    @Test func rtxCopiesOfPacketsAlreadyReceivedAreNotCounted() throws {
        let link = try Self.Link()
        let (producer, _) = try Self.produceAndConsume(link, video: true)
        for seq in UInt16(1)...10 { link.send(producer.packet(seq: seq, keyFrame: seq == 1), from: link.a) }
        // A bandwidth probe: RTX copies (with payload) of packets that did arrive.
        for (i, seq) in [UInt16(4), 5, 6].enumerated() {
            link.send(producer.packet(seq: seq).rtxEncapsulated(ssrc: 0xBEF0, payloadType: 97, sequenceNumber: RTPSequenceNumber(UInt16(100 + i))), from: link.a)
        }
        link.run(for: .milliseconds(1500))
        let blocks = link.a.receivedRTCP.joined().flatMap { p -> [RTCPReportBlock] in
            if case .receiverReport(let rr) = p { return rr.reports.filter { $0.ssrc == 0xBEEF } } else { return [] }
        }
        #expect(!blocks.isEmpty && blocks.allSatisfy { $0.cumulativeLost == 0 })
    }

    /// Found by FuzzSFU: an RTX copy of a packet already forwarded was forwarded again under the same
    /// output sequence number, so the consumer's SRTP index repeated (with a different transport-wide
    /// sequence number inside: keystream and GCM nonce reuse) and the browser dropped it as a replay. Every
    /// source sequence number is forwarded once: a retransmission only when it fills a gap or arrives ahead
    /// of the stream, and an original not when its RTX copy came first.
    @Test func eachSourcePacketIsForwardedOnceWhicheverCopyArrivesFirst() throws {
        let link = try Self.Link()
        let (producer, _) = try Self.produceAndConsume(link, video: true)
        func rtx(_ seq: UInt16, _ rtxSeq: UInt16) -> RTPPacket {
            producer.packet(seq: seq).rtxEncapsulated(ssrc: 0xBEF0, payloadType: 97, sequenceNumber: RTPSequenceNumber(rtxSeq))
        }
        for seq in UInt16(1)...4 where seq != 3 { link.send(producer.packet(seq: seq, keyFrame: seq == 1), from: link.a) }
        #expect(link.b.received.count == 3)
        link.send(rtx(2, 1), from: link.a)   // 2 was forwarded already
        #expect(link.b.received.count == 3)
        link.send(rtx(5, 2), from: link.a)   // ahead of the stream: the first copy of 5
        link.send(rtx(5, 3), from: link.a)   // a second copy
        #expect(link.b.received.count == 4)
        link.send(rtx(3, 4), from: link.a)   // the gap
        link.send(producer.packet(seq: 5), from: link.a)   // the original, after its copy
        link.send(producer.packet(seq: 6), from: link.a)
        let out = link.b.received.map(\.sequenceNumber.rawValue)
        #expect(out.count == 6 && Set(out).count == 6)
        #expect(link.b.counters.undecryptable == 0)
    }

    /// Found by FuzzSFU: an RTX copy from far ahead of the stream moved the producer's store on, so a later copy
    /// of a packet between the two fell behind what the store holds: it was no longer recognised as a copy, each copy
    /// was forwarded with the same output number, and the receiver's SRTP refused the second as a replay. A packet
    /// the store cannot vouch for (older than it holds, or an RTX copy from further ahead than it spans) is dropped.
    @Test func copiesTheStoreCannotVouchForAreNotForwarded() throws {
        let link = try Self.Link()
        let (producer, _) = try Self.produceAndConsume(link, video: true)
        func rtx(_ seq: UInt16, _ rtxSeq: UInt16) -> RTPPacket {
            producer.packet(seq: seq).rtxEncapsulated(ssrc: 0xBEF0, payloadType: 97, sequenceNumber: RTPSequenceNumber(rtxSeq))
        }
        for seq in UInt16(1)...10 { link.send(producer.packet(seq: seq, keyFrame: seq == 1), from: link.a) }
        #expect(link.b.received.count == 10)
        link.send(rtx(2_010, 1), from: link.a)   // 2 000 ahead: no copy of anything the store could hold
        link.send(rtx(510, 2), from: link.a)     // ahead of the stream: the first copy of 510, forwarded
        link.send(rtx(510, 3), from: link.a)     // its second copy
        link.run(for: .milliseconds(20))
        let out = link.b.received.map(\.sequenceNumber.rawValue)
        // 510 once, 2010 never (before, 2010 went out and moved the store on, so that 510 went out twice).
        #expect(out.count == 11 && out[10] == out[9] &+ 500)
        #expect(Set(out).count == out.count)
        #expect(link.b.counters.undecryptable == 0)
    }

    /// Seen at 15 % loss with Chromium: the original was lost and a bandwidth probe (an RTX copy of the
    /// newest packet) brought it before the next packet. The copy is the only one that will come, so it is
    /// forwarded, and the producer is not asked for it again. Dropping it left receivers NACKing a packet
    /// the server never had and frozen until their next key frame.
    @Test func anRTXCopyAheadOfTheStreamIsForwardedWhenItsOriginalIsLost() throws {
        let link = try Self.Link()
        let (producer, _) = try Self.produceAndConsume(link, video: true)
        for seq in UInt16(1)...4 { link.send(producer.packet(seq: seq, keyFrame: seq == 1), from: link.a) }
        link.send(producer.packet(seq: 5).rtxEncapsulated(ssrc: 0xBEF0, payloadType: 97, sequenceNumber: 1), from: link.a)
        for seq in UInt16(6)...8 { link.send(producer.packet(seq: seq), from: link.a) }
        let out = link.b.received.map(\.sequenceNumber.rawValue)
        #expect(out.count == 8 && Set(out).count == 8)
        #expect(out.last.map { o in (o &- 3) == out[out.count - 4] } == true)   // contiguous: no hole where 5 was
        link.run(for: .milliseconds(1500))
        let nacked = link.a.receivedRTCP.joined().flatMap { p -> [UInt16] in if case .nack(let n) = p { return n.lostSequenceNumbers } else { return [] } }
        #expect(nacked.isEmpty)
        let blocks = link.a.receivedRTCP.joined().flatMap { p -> [RTCPReportBlock] in
            if case .receiverReport(let rr) = p { return rr.reports.filter { $0.ssrc == 0xBEEF } } else { return [] }
        }
        #expect(!blocks.isEmpty && blocks.allSatisfy { $0.cumulativeLost == 0 })
    }

    /// The producer keeps each packet once; every consumer rebuilds its own retransmission from it, so two
    /// consumers NACKing the same source packet both get it (each with its own SSRC, sequence number and RTX).
    @Test func consumersOfOneProducerAreAnsweredFromTheProducersStore() throws {
        let harness = try RouterHarness(peerCount: 3)
        let producer = try harness.addVP8Producer(name: "p")
        let consumers = try harness.addConsumers(of: producer)
        #expect(consumers.count == 2)
        for seq in UInt16(1)...12 { harness.send(rtp: producer.packet(seq: seq, keyFrame: seq == 1), from: 0) }
        var answered: [RTPPacket] = []
        for consumer in consumers {
            let peer = harness.peers[consumer.peer]
            let forwarded = peer.received
            #expect(forwarded.count == 12)
            let lost = forwarded[6]
            harness.send(rtcp: [.nack(RTCPGenericNACK(senderSSRC: 1, mediaSSRC: lost.ssrc, lost: [lost.sequenceNumber.rawValue]))],
                         from: consumer.peer)
            let rtx = Array(peer.received.dropFirst(12))
            #expect(rtx.count == 1 && rtx.first?.ssrc.rawValue == consumer.parameters.encodings[0].rtxSSRC)
            #expect(rtx.first?.rtxOriginalSequenceNumber == lost.sequenceNumber)
            // Rebuilt exactly as first sent: decapsulated, it is the lost packet (same payload, VP8 ids included).
            if let r = rtx.first, let original = try? r.rtxDecapsulated(originalSSRC: lost.ssrc, originalPayloadType: lost.payloadType) {
                #expect(original.payload == lost.payload && original.timestamp == lost.timestamp && original.marker == lost.marker)
                answered.append(original)
            }
        }
        #expect(answered.count == 2 && answered[0].ssrc != answered[1].ssrc)
    }

    /// The plaintext tap is chosen per transport: the tapped producer transport reports each packet it
    /// received, in the clear and byte for byte what the peer sent; the untapped consumer transport reports
    /// nothing, and forwarding is the same either way.
    @Test func onlyTappedTransportsReportPlaintextCopies() throws {
        let harness = try RouterHarness(peerCount: 2, tappedPeers: [0])
        let producer = try harness.addVP8Producer(name: "p")
        _ = try harness.addConsumers(of: producer)
        while harness.router.pollEvent() != nil {}
        let sent = (UInt16(1)...5).map { producer.packet(seq: $0, keyFrame: $0 == 1) }
        for packet in sent { harness.send(rtp: packet, from: 0) }
        var plaintext: [TransportID: [PlaintextPacket]] = [:]
        while let event = harness.router.pollEvent() {
            if case .transport(let id, .plaintext(let packet)) = event { plaintext[id, default: []].append(packet) }
        }
        let tapped = plaintext[harness.transportIDs[0]] ?? []
        #expect(tapped.map(\.direction) == Array(repeating: .inbound, count: 5))
        #expect(tapped.map { Array($0.bytes.readableBytesView) } == sent.map { Array($0.bytes.readableBytesView) })
        #expect(tapped.allSatisfy { $0.remote == harness.tuples[0] })
        #expect(plaintext[harness.transportIDs[1]] == nil)
        #expect(harness.peers[1].received.count == 5)
    }

    @Test func gapsFromTheProducerAreNackedAndReportsFlowBothWays() throws {
        let link = try Self.Link()
        let (producer, _) = try Self.produceAndConsume(link, video: true)
        for seq in UInt16(1)...20 where seq != 7 && seq != 8 { link.send(producer.packet(seq: seq, keyFrame: seq == 1), from: link.a) }
        link.run(for: .milliseconds(1500))
        let nacked = link.a.receivedRTCP.joined().flatMap { p -> [UInt16] in if case .nack(let n) = p { return n.lostSequenceNumbers } else { return [] } }
        #expect(nacked.contains(7) && nacked.contains(8))
        // Receiver reports for the producer's stream, sender reports for the consumer's.
        #expect(link.a.receivedRTCP.joined().contains { if case .receiverReport(let rr) = $0 { return rr.reports.contains { $0.ssrc == 0xBEEF } } else { return false } })
        #expect(link.b.receivedRTCP.joined().contains { if case .senderReport = $0 { return true } else { return false } })
        // A paused consumer forwards nothing.
        let count = link.b.received.count
        link.router.setConsumerActive(try #require(link.consumer), false, now: link.now)
        link.send(producer.packet(seq: 21), from: link.a)
        #expect(link.b.received.count == count)
    }

    /// The transport-wide sequence rule is stated once: every packet sent to a consumer that negotiated transport-cc
    /// — forwarded or retransmitted — takes the next number, whatever the extension's id. With an id above 14 the
    /// block is written in the two-byte form (before, the forwarder skipped such ids while the router still
    /// advanced the counter for retransmissions, leaving a gap at every one).
    @Test(arguments: [UInt8(3), 20])
    func transportWideSequenceHasNoGapAcrossRetransmissions(_ id: UInt8) throws {
        let link = try Self.Link()
        let producer = try link.harness.addVP8Producer(name: "p")
        let consumer = try link.harness.addConsumer(name: "c", of: producer, peer: 1) { parameters in
            parameters.headerExtensions.removeAll { $0.uri == ORTC.URI.transportWideCC }
            parameters.headerExtensions.append(RTPHeaderExtensionParameters(uri: ORTC.URI.transportWideCC, id: id))
        }
        for seq in UInt16(1)...6 { link.send(producer.packet(seq: seq, keyFrame: seq == 1), from: link.a) }
        let forwarded = link.b.received
        #expect(forwarded.count == 6)
        let lost = forwarded[2...3].map(\.sequenceNumber.rawValue)
        link.send(rtcp: [.nack(RTCPGenericNACK(senderSSRC: 1, mediaSSRC: forwarded[0].ssrc, lost: lost))], from: link.b)
        for seq in UInt16(7)...8 { link.send(producer.packet(seq: seq), from: link.a) }
        let all = link.b.received
        #expect(all.count == 10)   // 6, the two retransmissions, 2 more
        let map = consumer.parameters.headerExtensionMap
        #expect(all.allSatisfy { $0.extensionForm == (id > 14 ? .twoByte(appBits: 0) : .oneByte) })
        let numbers = all.compactMap { $0.transportSequenceNumber(map) }
        #expect(numbers.count == all.count)
        #expect(zip(numbers, numbers.dropFirst()).allSatisfy { $1 == $0 &+ 1 })
    }
}
