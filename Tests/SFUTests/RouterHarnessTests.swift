import NIOCore
import RTCP
import RTP
import SFU
import SFUTestSupport
import Testing

/// The shared harness itself (it backs MediaRouterTests, the SFU fuzz target and the router benchmarks).
@Suite(.serialized) struct RouterHarnessTests {
    @Test func simulcastAndAudioReachEveryConsumerEncryptedForIt() throws {
        let harness = try RouterHarness(peerCount: 4)
        #expect(harness.isConnected)
        #expect(harness.peers.allSatisfy { $0.srtpProfile == .aeadAES256GCM })
        var strays = 0, undecryptable = 0
        harness.onTransmit = { _, peer, reception in
            if peer == nil { strays += 1 }
            if case .undecryptable = reception { undecryptable += 1 }
        }
        let audio = try harness.addAudioProducer()
        let video = try harness.addVP8Producer(simulcast: true)
        let consumers = try harness.addConsumers(of: audio) + harness.addConsumers(of: video)
        #expect(consumers.count == 6 && Set(consumers.map(\.peer)) == [1, 2, 3])
        for seq in UInt16(1)...30 {
            harness.send(rtp: audio.packet(seq: seq), from: 0)
            for layer in 0..<3 { harness.send(rtp: video.packet(seq: seq, keyFrame: seq == 1, layer: layer), from: 0) }
        }
        harness.run(for: .milliseconds(100))
        for consumer in consumers {
            let ssrc = consumer.parameters.encodings[0].ssrc!
            let got = harness.peers[consumer.peer].received.filter { $0.ssrc.rawValue == ssrc }
            // Audio: every packet; video: one layer's 30 packets.
            #expect(got.count == 30, "consumer \(consumer.id)")
            #expect(harness.consumer(sendingSSRC: ssrc)?.id == consumer.id)
        }
        // The producer's RID-only encodings were learnt from the rtp-stream-id extension (the video consumers
        // above got their layer); the producer peer itself is sent no media.
        #expect(harness.peers[0].received.isEmpty && harness.peers[0].counters.rtcp > 0)
        #expect(strays == 0 && undecryptable == 0)
        #expect(harness.peers.allSatisfy { $0.counters.unparsable == 0 })
    }
}
