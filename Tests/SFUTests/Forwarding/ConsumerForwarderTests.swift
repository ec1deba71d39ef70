import NIOCore
import RTCBase
import RTP
import SFU
import Testing

/// One producer RTP stream (a simulcast layer) generating VP8 frames.
struct TestLayerStream {
    var ssrc: UInt32
    var seq: UInt16
    var ts: UInt32
    var pid: UInt16
    var tl0: UInt8
    var rid: String

    /// One frame of `packets` packets (marker on the last); `key` marks the first packet as a key frame.
    mutating func frame(key: Bool = false, tid: UInt8 = 0, y: Bool = false, packets: Int = 2) -> [(RTPPacket, Bool)] {
        if tid == 0 { tl0 &+= 1 }
        var out: [(RTPPacket, Bool)] = []
        for i in 0..<packets {
            let payload = TestPackets.vp8Payload(pictureID: pid, tl0: tl0, tid: tid, layerSync: y, start: i == 0, keyFrame: key)
            let p = TestPackets.packet(pt: 96, seq: seq, ts: ts, ssrc: ssrc, marker: i == packets - 1,
                                       elements: [(4, Array("1".utf8)), (10, Array(rid.utf8)), (3, [0, 1])], payload: payload)
            out.append((p, key && i == 0))
            seq &+= 1
        }
        ts &+= 3000
        pid = (pid + 1) & 0x7FFF
        return out
    }
}

/// A forwarded packet and the layer it came from.
struct Forwarded {
    var layer: Int
    var packet: RTPPacket
    var descriptor: VP8PayloadDescriptor
}

@Suite struct ConsumerForwarderTests {
    static let rewriter = HeaderExtensionRewriter(producerExtensions: TestExtensions.producerVideo,
                                                  consumerExtensions: TestExtensions.consumerVideo, mid: "3")

    /// A VP8 (simulcast when `layers` > 1) consumer.
    static func videoConfig(layers: Int, initialSeq: RTPSequenceNumber = 65534, initialPictureID: UInt16 = 32766) -> ConsumerForwarder.Configuration {
        ConsumerForwarder.Configuration(ssrc: 0xC0C0_C0C0, clockRate: 90_000, payloadTypes: [(96, 101)], headerExtensions: rewriter,
                                        payloadFormat: .vp8, layerCount: layers, waitsForKeyFrame: true,
                                        initialSequenceNumber: initialSeq, initialTimestampOffset: 0,
                                        initialPictureID: initialPictureID, initialTL0PicIdx: 250)
    }

    /// The owner's side of layer choice for these switching scenarios: the layers measured as a producer measures
    /// them, counting as settled at once (the 2 s settling rule has its own table in ``SimulcastLayerSelectorTests``),
    /// and the target re-chosen every 500 ms under `budget` with the selector's single-consumer rule (the router's
    /// allocation has its own tables).
    final class LayerChooser {
        var selector: SimulcastLayerSelector
        var budget = Int.max { didSet { next = nil } }
        var next: Duration?

        init(layers: Int) { selector = SimulcastLayerSelector(layerCount: layers, minimumActiveTime: .zero) }

        func observe(_ packet: RTPPacket, layer: Int, now: Duration, forwarder f: inout ConsumerForwarder) {
            selector.observe(layer: layer, bytes: packet.bytes.readableBytes, now: now)
            if let next, now < next { return }
            next = now + .milliseconds(500)
            if let chosen = selector.select(budget: budget, now: now, keeping: f.currentLayer) {
                f.setTarget(layer: chosen, temporalLayer: f.targetTemporalLayer)
            }
        }
    }

    static func layers(_ n: Int) -> [TestLayerStream] {
        (0..<n).map { (l: Int) -> TestLayerStream in
            let seq = UInt16(65_530 - 1000 * l)
            let ts: UInt32 = 4_294_900_000 &+ UInt32(l) &* 77_777
            let pid = UInt16((32_760 + l * 100) & 0x7FFF)
            return TestLayerStream(ssrc: 0x1000 + UInt32(l), seq: seq, ts: ts, pid: pid, tl0: UInt8(200 + l), rid: "r\(l)")
        }
    }

    static func drain(_ f: inout ConsumerForwarder) -> [ConsumerForwarderOutput] {
        var out: [ConsumerForwarderOutput] = []
        while let o = f.pollOutput() { out.append(o) }
        return out
    }

    /// Feeds `frames` frames of every layer in `active` (33 ms apart from `start`), answering key frame
    /// requests on the next frame of the requested layer when `answerKeyFrames`.
    static func drive(_ f: inout ConsumerForwarder, _ streams: inout [TestLayerStream], frames: Int, start: Duration,
                      active: [Int], answerKeyFrames: Bool = true, tids: [UInt8] = [0], packetsPerFrame: [Int]? = nil,
                      chooser: LayerChooser? = nil, outputs: inout [ConsumerForwarderOutput]) -> [Forwarded] {
        var forwarded: [Forwarded] = []
        var pendingKey = Array(repeating: false, count: streams.count)
        for k in 0..<frames {
            let now = start + .milliseconds(33) * k
            for l in active {
                for o in drain(&f) {
                    outputs.append(o)
                    if case .keyFrameNeeded(let kl) = o, answerKeyFrames { pendingKey[kl] = true }
                }
                let tid = tids[k % tids.count]
                let key = pendingKey[l]
                pendingKey[l] = false
                let packets = packetsPerFrame?[l] ?? 2
                for (p, isKey) in streams[l].frame(key: key, tid: key ? 0 : tid, y: tid > 0, packets: packets) {
                    chooser?.observe(p, layer: l, now: now, forwarder: &f)
                    if let out = f.forward(p, layer: l, isKeyFrame: isKey, now: now)?.packet {
                        forwarded.append(Forwarded(layer: l, packet: out, descriptor: try! VP8PayloadDescriptor(parsing: out.payload)))
                    }
                }
            }
        }
        outputs += drain(&f)
        return forwarded
    }

    /// Outgoing continuity: consecutive sequence numbers, consumer SSRC and PT, MID, no RID, picture ids
    /// advancing by 0 or 1, timestamps never going back and advancing with every new picture.
    static func expectContinuous(_ fwd: [Forwarded], from previous: Forwarded? = nil, seqGaps: Set<Int> = [],
                                 sourceLocation: SourceLocation = #_sourceLocation) {
        var last = previous
        let map = rewriter.consumerMap
        for (i, f) in fwd.enumerated() {
            #expect(f.packet.ssrc == 0xC0C0_C0C0, sourceLocation: sourceLocation)
            #expect(f.packet.payloadType == 101, sourceLocation: sourceLocation)
            #expect(f.packet.mid(map) == "3", sourceLocation: sourceLocation)
            #expect(f.packet.headerExtensions.allSatisfy { $0.id != 10 }, sourceLocation: sourceLocation)
            if let l = last {
                let step = l.packet.sequenceNumber.distance(to: f.packet.sequenceNumber)
                #expect(step == (seqGaps.contains(i) ? 2 : 1), "seq step at \(i)", sourceLocation: sourceLocation)
                let pidStep = (Int(f.descriptor.pictureID!) - Int(l.descriptor.pictureID!) + 32768) % 32768
                let tsStep = l.packet.timestamp.distance(to: f.packet.timestamp)
                if pidStep == 0 {
                    #expect(tsStep == 0, "same picture, same timestamp at \(i)", sourceLocation: sourceLocation)
                } else {
                    #expect(pidStep == 1, "picture id step at \(i)", sourceLocation: sourceLocation)
                    #expect(tsStep > 0, "timestamp advances at \(i)", sourceLocation: sourceLocation)
                }
            }
            last = f
        }
    }

    @Test func simpleVideoWaitsForAKeyFrameAndStaysContinuousOverPauseResume() {
        var f = ConsumerForwarder(configuration: Self.videoConfig(layers: 1))
        var streams = Self.layers(1)
        var outputs: [ConsumerForwarderOutput] = []
        // Paused at creation: nothing, no request.
        #expect(Self.drive(&f, &streams, frames: 3, start: .zero, active: [0], outputs: &outputs).isEmpty)
        #expect(outputs.isEmpty)
        f.resume(now: .milliseconds(100))
        #expect(Self.drain(&f) == [.keyFrameNeeded(layer: 0)])
        // Producer ignores the request for 3 frames: nothing forwarded; then answers.
        let unanswered = Self.drive(&f, &streams, frames: 3, start: .milliseconds(100), active: [0], answerKeyFrames: false, outputs: &outputs)
        #expect(unanswered.isEmpty)
        var first = streams[0].frame(key: true)
        let a = first.compactMap { f.forward($0.0, layer: 0, isKeyFrame: $0.1, now: .milliseconds(200))?.packet }
        #expect(a.count == 2)
        #expect(a.first?.sequenceNumber == 65534)
        #expect(a.first.flatMap { try? VP8PayloadDescriptor(parsing: $0.payload) }?.pictureID == 32766)
        first.removeAll()
        #expect(Self.drain(&f) == [.layerChanged(layer: 0)])
        let run1 = Self.drive(&f, &streams, frames: 10, start: .milliseconds(233), active: [0], outputs: &outputs)
        #expect(run1.count == 20)
        Self.expectContinuous(run1)
        // Pause: nothing goes out. Resume: key frame requested again; deltas dropped until it comes.
        f.pause()
        #expect(Self.drive(&f, &streams, frames: 5, start: .seconds(1), active: [0], outputs: &outputs).isEmpty)
        outputs.removeAll()
        f.resume(now: .seconds(2))
        let run2 = Self.drive(&f, &streams, frames: 10, start: .seconds(2), active: [0], outputs: &outputs)
        #expect(outputs == [.keyFrameNeeded(layer: 0)])
        #expect(run2.count == 20)
        #expect(run2.first?.descriptor.isKeyFrame == true)
        Self.expectContinuous(run2, from: run1.last)
        // The outgoing sequence crossed 65535 and the timestamps crossed 2^32 on the way.
        #expect(run2.last!.packet.sequenceNumber.rawValue < 100)
        #expect(run1.first!.packet.timestamp.rawValue > 4_294_000_000 && run2.last!.packet.timestamp.rawValue < 1_000_000)
    }

    @Test func audioForwardsAtOnceAndKeepsTheProducerClockAcrossPauses() throws {
        let rewriter = HeaderExtensionRewriter(producerExtensions: TestExtensions.producerAudio,
                                               consumerExtensions: TestExtensions.consumerAudio, mid: "0")
        var f = ConsumerForwarder(configuration: .init(ssrc: 77, clockRate: 48_000, payloadTypes: [(111, 100)],
                                                       headerExtensions: rewriter, initialSequenceNumber: 1000,
                                                       initialTimestampOffset: 5))
        func audio(_ seq: UInt16, _ ts: UInt32, pt: UInt8 = 111, payload: [UInt8] = [1, 2, 3]) -> RTPPacket {
            TestPackets.packet(pt: pt, seq: seq, ts: ts, elements: [(1, [0x90]), (4, [0x30])], payload: payload)
        }
        f.resume(now: .zero)
        #expect(f.pollOutput() == nil)   // audio asks for no key frame
        let p1Opt = f.forward(audio(500, 960), layer: 0, isKeyFrame: false, now: .zero)?.packet
        let p1 = try #require(p1Opt)
        #expect(p1.sequenceNumber == 1000 && p1.timestamp == 965 && p1.ssrc == 77 && p1.payloadType == 100)
        #expect(p1.audioLevel(rewriter.consumerMap) == RTPAudioLevel(voiceActivity: true, level: 16))
        #expect(f.forward(audio(501, 1920, pt: 112), layer: 0, isKeyFrame: false, now: .milliseconds(20))?.packet == nil)  // unmapped PT
        #expect(f.forward(audio(502, 2880, payload: []), layer: 0, isKeyFrame: false, now: .milliseconds(40))?.packet == nil)  // padding only
        let p2Opt = f.forward(audio(503, 3840), layer: 0, isKeyFrame: false, now: .milliseconds(60))?.packet
        let p2 = try #require(p2Opt)
        #expect(p2.sequenceNumber == 1002)   // 501 (unknown PT) leaves a gap, the padding-only 502 does not
        f.pause()
        #expect(f.forward(audio(504, 4800), layer: 0, isKeyFrame: false, now: .milliseconds(80))?.packet == nil)
        f.resume(now: .seconds(5))
        let p3Opt = f.forward(audio(800, 240_000), layer: 0, isKeyFrame: false, now: .seconds(5))?.packet
        let p3 = try #require(p3Opt)
        #expect(p3.sequenceNumber == 1003)
        #expect(p3.timestamp == 240_005)
        #expect(f.packetsForwarded == 3)
        #expect(f.payloadBytesForwarded == 9)
        #expect(f.lastSent?.timestamp == 240_005)
    }

    @Test func simulcastSwitchWaitsForAKeyFrameOfTheTarget() {
        var f = ConsumerForwarder(configuration: Self.videoConfig(layers: 3))
        let chooser = LayerChooser(layers: 3)
        var streams = Self.layers(3)
        var outputs: [ConsumerForwarderOutput] = []
        f.resume(now: .zero)
        #expect(Self.drain(&f).isEmpty)   // no layer known yet
        // Only layer 0 at first: it becomes the target, its key frame is requested and answered.
        let r0 = Self.drive(&f, &streams, frames: 10, start: .zero, active: [0], chooser: chooser, outputs: &outputs)
        #expect(outputs == [.keyFrameNeeded(layer: 0), .layerChanged(layer: 0)])
        #expect(r0.allSatisfy { $0.layer == 0 } && r0.count == 18)   // the first frame (not key) was dropped
        // Layers 1 and 2 start; the producer does not answer key frame requests: layer 0 keeps flowing.
        outputs.removeAll()
        let waiting = Self.drive(&f, &streams, frames: 40, start: .milliseconds(330), active: [0, 1, 2], answerKeyFrames: false,
                                 chooser: chooser, outputs: &outputs)
        #expect(f.currentLayer == 0 && f.targetLayer == 2)
        #expect(waiting.allSatisfy { $0.layer == 0 } && waiting.count == 80)
        #expect(outputs.contains(.keyFrameNeeded(layer: 2)))
        #expect(outputs.filter { $0 == .keyFrameNeeded(layer: 2) }.count >= 2)   // retried
        // Now the key frame comes: switch, continuity kept.
        outputs.removeAll()
        let switched = Self.drive(&f, &streams, frames: 40, start: .milliseconds(1650), active: [0, 1, 2], chooser: chooser, outputs: &outputs)
        #expect(outputs.contains(.layerChanged(layer: 2)))
        #expect(f.currentLayer == 2)
        let firstOf2 = switched.firstIndex { $0.layer == 2 }!
        #expect(switched[firstOf2].descriptor.isKeyFrame)
        #expect(switched[firstOf2...].allSatisfy { $0.layer == 2 })
        Self.expectContinuous(r0 + waiting + switched)
    }

    /// Retransmissions serve the decode chain the receiver is on: once a switch started a new segment at a key
    /// frame, packets from before it are not resent (seen in the 3 → 0.5 Mbit/s scenario: the receiver's NACKs for
    /// top-layer packets lost in the queue were answered with ~700 kbit/s of RTX into a 500 kbit/s link after the
    /// switch down); nor is anything while a restart waits for its key frame.
    @Test func onlyTheCurrentDecodeChainIsRetransmitted() throws {
        var f = ConsumerForwarder(configuration: Self.videoConfig(layers: 2))
        let chooser = LayerChooser(layers: 2)
        var streams = Self.layers(2)
        var outputs: [ConsumerForwarderOutput] = []
        f.resume(now: .zero)
        func record(_ p: Forwarded) -> ForwardRecord {
            ForwardRecord(layer: p.layer, sourceSequenceNumber: p.packet.sequenceNumber, header: RTPHeaderRewrite(
                payloadType: p.packet.payloadType, sequenceNumber: p.packet.sequenceNumber, timestamp: p.packet.timestamp,
                ssrc: p.packet.ssrc), vp8: nil)
        }
        #expect(f.chainStart == nil)
        let first = Self.drive(&f, &streams, frames: 10, start: .zero, active: [0], chooser: chooser, outputs: &outputs)
        #expect(first.allSatisfy { f.mayRetransmit(record($0)) })
        let switched = Self.drive(&f, &streams, frames: 40, start: .milliseconds(330), active: [0, 1], chooser: chooser, outputs: &outputs)
        let firstOf1 = try #require(switched.firstIndex { $0.layer == 1 })
        #expect(f.chainStart == switched[firstOf1].packet.sequenceNumber)
        #expect((first + switched[..<firstOf1]).allSatisfy { !f.mayRetransmit(record($0)) })
        #expect(switched[firstOf1...].allSatisfy { f.mayRetransmit(record($0)) })
        f.restartAtKeyFrame(now: .milliseconds(1700))
        #expect(switched.allSatisfy { !f.mayRetransmit(record($0)) })
    }

    /// A key frame's first packet lost on the way in and recovered (RTX) after the rest of the frame was
    /// dropped while waiting: starting there would leave the dropped packets as a permanent gap (the receiver
    /// NACKs numbers that will never come). The forwarder keeps waiting and asks for a new key frame.
    @Test func aKeyFrameStartOlderThanPacketsDroppedWhileWaitingIsNotUsed() throws {
        var f = ConsumerForwarder(configuration: Self.videoConfig(layers: 1))
        var streams = Self.layers(1)
        f.resume(now: .zero)
        _ = Self.drain(&f)
        let key = streams[0].frame(key: true, packets: 3)
        // Packets 2 and 3 of the key frame arrive first (dropped: waiting for a key frame start)...
        let dropped1 = f.forward(key[1].0, layer: 0, isKeyFrame: false, now: .milliseconds(10))?.packet
        let dropped2 = f.forward(key[2].0, layer: 0, isKeyFrame: false, now: .milliseconds(11))?.packet
        #expect(dropped1 == nil && dropped2 == nil)
        // ...then the retransmitted first packet: too late to start from.
        let late = f.forward(key[0].0, layer: 0, isKeyFrame: true, now: .milliseconds(30))?.packet
        #expect(late == nil)
        #expect(Self.drain(&f).contains(.keyFrameNeeded(layer: 0)))
        // The next key frame starts the stream, with no gap.
        let next = streams[0].frame(key: true, packets: 2)
        let aOpt = f.forward(next[0].0, layer: 0, isKeyFrame: true, now: .milliseconds(60))?.packet
        let bOpt = f.forward(next[1].0, layer: 0, isKeyFrame: false, now: .milliseconds(61))?.packet
        let a = try #require(aOpt), b = try #require(bOpt)
        #expect(a.sequenceNumber.distance(to: b.sequenceNumber) == 1)
    }

    @Test func switchAfterAnIncompleteFrameSkipsOneSequenceNumber() throws {
        var f = ConsumerForwarder(configuration: Self.videoConfig(layers: 2))
        let chooser = LayerChooser(layers: 2)
        var streams = Self.layers(2)
        var outputs: [ConsumerForwarderOutput] = []
        f.resume(now: .zero)
        let r0 = Self.drive(&f, &streams, frames: 5, start: .zero, active: [0], chooser: chooser, outputs: &outputs)
        // Layer 1 appears and becomes the target after the re-evaluation interval.
        _ = Self.drive(&f, &streams, frames: 20, start: .milliseconds(165), active: [1], answerKeyFrames: false, chooser: chooser, outputs: &outputs)
        #expect(f.targetLayer == 1 && f.currentLayer == 0)
        // Layer 0 sends only the first packet of a frame (no marker), then layer 1 sends its key frame.
        let half = streams[0].frame()[0]
        let lastOf0Opt = f.forward(half.0, layer: 0, isKeyFrame: false, now: .milliseconds(830))?.packet
        let lastOf0 = try #require(lastOf0Opt)
        let key = streams[1].frame(key: true)
        let firstOf1Opt = f.forward(key[0].0, layer: 1, isKeyFrame: true, now: .milliseconds(840))?.packet
        let firstOf1 = try #require(firstOf1Opt)
        #expect(lastOf0.sequenceNumber.distance(to: firstOf1.sequenceNumber) == 2)
        #expect(r0.last!.packet.sequenceNumber.distance(to: lastOf0.sequenceNumber) == 1)
    }

    @Test func switchAlignsTimestampsThroughSenderReports() throws {
        var f = ConsumerForwarder(configuration: Self.videoConfig(layers: 2))
        let chooser = LayerChooser(layers: 2)
        var streams = Self.layers(2)
        var outputs: [ConsumerForwarderOutput] = []
        // Both layers' sender reports at the same NTP time, with their own RTP clocks.
        let ntp = NTPTimestamp(seconds: 1000, fraction: 0)
        f.updateTimeReference(layer: 0, RTPTimeReference(ntp: ntp, rtp: RTPTimestamp(streams[0].ts)))
        f.updateTimeReference(layer: 1, RTPTimeReference(ntp: ntp, rtp: RTPTimestamp(streams[1].ts)))
        f.resume(now: .zero)
        // Layer 0 first; layer 1 joins 5 frames later (its clock kept running), its frame k arriving
        // before layer 0's frame k.
        let r0 = Self.drive(&f, &streams, frames: 5, start: .zero, active: [0], chooser: chooser, outputs: &outputs)
        #expect(f.currentLayer == 0)
        streams[1].ts &+= 5 * 3000
        let r = r0 + Self.drive(&f, &streams, frames: 30, start: .milliseconds(165), active: [1, 0], chooser: chooser, outputs: &outputs)
        #expect(f.currentLayer == 1)
        let i = try #require(r.firstIndex { $0.layer == 1 })
        try #require(i > 0)
        // Same capture instants on both layers: layer 1's key frame k lands where layer 0's frame k would
        // have, 3000 ticks after layer 0's frame k-1 (an elapsed-time estimate would give 2970).
        #expect(r[i - 1].packet.timestamp.distance(to: r[i].packet.timestamp) == 3000)
        Self.expectContinuous(r)
    }

    @Test func temporalLayerTargetDropsWithoutGaps() {
        var f = ConsumerForwarder(configuration: Self.videoConfig(layers: 1))
        var streams = Self.layers(1)
        var outputs: [ConsumerForwarderOutput] = []
        f.setTargetTemporalLayer(0)
        #expect(f.targetTemporalLayer == 0)
        f.resume(now: .zero)
        // L1T3 pattern T0 T2 T1 T2: only T0 frames pass.
        let r = Self.drive(&f, &streams, frames: 16, start: .zero, active: [0], tids: [0, 2, 1, 2], outputs: &outputs)
        #expect(r.allSatisfy { $0.descriptor.temporalLayer == 0 })
        #expect(r.count == 8)   // key frame + frames 4, 8, 12 (2 packets each)
        Self.expectContinuous(r)
        f.setTargetTemporalLayer(nil)
        let all = Self.drive(&f, &streams, frames: 8, start: .seconds(1), active: [0], tids: [0, 2, 1, 2], outputs: &outputs)
        #expect(all.count == 16)
        Self.expectContinuous(r + all)
    }

    @Test func budgetMovesTheTarget() {
        var f = ConsumerForwarder(configuration: Self.videoConfig(layers: 3))
        let chooser = LayerChooser(layers: 3)
        var streams = Self.layers(3)
        var outputs: [ConsumerForwarderOutput] = []
        f.resume(now: .zero)
        // Layers send 1, 3 and 9 packets of 34 bytes per 33 ms frame: ≈ 8, 25 and 74 kbps.
        let sizes = [1, 3, 9]
        var t = Duration.zero
        func run(_ frames: Int, answer: Bool = true) -> [Forwarded] {
            defer { t += .milliseconds(33) * frames }
            return Self.drive(&f, &streams, frames: frames, start: t, active: [0, 1, 2], answerKeyFrames: answer,
                              packetsPerFrame: sizes, chooser: chooser, outputs: &outputs)
        }
        _ = run(80)
        #expect(f.currentLayer == 2)
        let rates = (0..<3).map { chooser.selector.bitrate($0, now: t) }
        #expect(rates[0] < rates[1] && rates[1] < rates[2])
        #expect(rates[0] > 7_000 && rates[2] < 80_000)
        // Down: a budget between layers 1 and 2 → layer 1, switched at its key frame.
        chooser.budget = (rates[1] + rates[2]) / 2
        outputs.removeAll()
        let down = run(20)
        #expect(f.targetLayer == 1 && f.currentLayer == 1)
        #expect(outputs.contains(.keyFrameNeeded(layer: 1)) && outputs.contains(.layerChanged(layer: 1)))
        #expect(down.last?.layer == 1)
        // Below every layer: the lowest.
        chooser.budget = rates[0] / 2
        let lowest = run(20)
        #expect(f.currentLayer == 0)
        // Up again: unlimited → the highest; until its key frame arrives the current layer keeps flowing.
        chooser.budget = .max
        outputs.removeAll()
        let waiting = run(10, answer: false)
        #expect(f.targetLayer == 2 && f.currentLayer == 0)
        #expect(waiting.allSatisfy { $0.layer == 0 } && !waiting.isEmpty)
        let up = run(40)
        #expect(f.currentLayer == 2 && up.last?.layer == 2)
        Self.expectContinuous(down + lowest + waiting + up)
    }

    /// Forwarded packets carry a transport-wide number of 0 (the transport stamps it when the packet leaves its
    /// pacer) in the consumer's negotiated element, so that stamping never has to move bytes.
    @Test func forwardedPacketsCarryATransportSequenceSlotToStamp() throws {
        var f = ConsumerForwarder(configuration: Self.videoConfig(layers: 1))
        var streams = Self.layers(1)
        f.resume(now: .zero)
        #expect(f.stampsTransportSequence)
        let key = streams[0].frame(key: true)
        let aOpt = f.forward(key[0].0, layer: 0, isKeyFrame: true, now: .zero)?.packet
        var a = try #require(aOpt)
        #expect(a.transportSequenceNumber(Self.rewriter.consumerMap) == 0)
        let id = try #require(Self.rewriter.transportWideCCExtensionID)
        let payload = a.payload
        let stamped = a.overwriteHeaderExtension(id: id, bigEndian: 0xBEEF, width: 2)
        #expect(stamped)
        #expect(a.transportSequenceNumber(Self.rewriter.consumerMap) == 0xBEEF && a.payload == payload)
    }

    @Test func consumerKeyFrameRequestAndLayerLoss() {
        var f = ConsumerForwarder(configuration: Self.videoConfig(layers: 2))
        let chooser = LayerChooser(layers: 2)
        var streams = Self.layers(2)
        var outputs: [ConsumerForwarderOutput] = []
        f.consumerRequestedKeyFrame(now: .zero)
        #expect(f.pollOutput() == nil)   // paused
        f.resume(now: .zero)
        _ = Self.drive(&f, &streams, frames: 30, start: .zero, active: [0, 1], chooser: chooser, outputs: &outputs)
        #expect(f.currentLayer == 1)
        _ = Self.drain(&f)
        f.consumerRequestedKeyFrame(now: .seconds(1))
        #expect(Self.drain(&f) == [.keyFrameNeeded(layer: 1)])
        // Layer 1 stops; after the inactivity timeout layer 0 is chosen and switched to at its key frame.
        outputs.removeAll()
        let r = Self.drive(&f, &streams, frames: 80, start: .seconds(1), active: [0], chooser: chooser, outputs: &outputs)
        #expect(f.currentLayer == 0)
        #expect(outputs.contains(.keyFrameNeeded(layer: 0)) && outputs.contains(.layerChanged(layer: 0)))
        #expect(!r.isEmpty && r.allSatisfy { $0.layer == 0 })
    }
}

@Suite struct SimulcastLayerSelectorTests {
    /// Feeds each layer `bytesPerTick[l]` every 100 ms from `start[l]` until 3 s (nil start: never).
    static func selector(_ start: [Int?], bytesPerTick: [Int]) -> SimulcastLayerSelector {
        var s = SimulcastLayerSelector(layerCount: start.count)
        for t in stride(from: 0, through: 3000, by: 100) {
            for l in start.indices {
                if let s0 = start[l], t >= s0 { s.observe(layer: l, bytes: bytesPerTick[l], now: .milliseconds(t)) }
            }
        }
        return s
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var start: [Int?]
        var budget: Int
        var current: Int?
        var expected: Int?
        var testDescription: String { name }
    }

    // 1250 / 6250 / 25000 bytes per 100 ms = 100 kbps / 500 kbps / 2 Mbps.
    static let cases: [Case] = [
        Case(name: "unlimited: highest", start: [0, 0, 0], budget: .max, current: nil, expected: 2),
        Case(name: "600 kbps: middle", start: [0, 0, 0], budget: 600_000, current: nil, expected: 1),
        Case(name: "exactly 500 kbps fits", start: [0, 0, 0], budget: 500_000, current: nil, expected: 1),
        Case(name: "below the lowest: lowest", start: [0, 0, 0], budget: 10_000, current: nil, expected: 0),
        Case(name: "young top layer not chosen", start: [0, 0, 1500], budget: .max, current: nil, expected: 1),
        Case(name: "young top layer kept when current", start: [0, 0, 1500], budget: .max, current: 2, expected: 2),
        Case(name: "all young: lowest alive", start: [1500, 1500, 2000], budget: 600_000, current: nil, expected: 0),
        Case(name: "all young: current kept", start: [1500, 1500, 2000], budget: 0, current: 2, expected: 2),
        Case(name: "current kept up to 15 % over budget", start: [0, 0, 0], budget: 450_000, current: 1, expected: 1),
        Case(name: "current dropped further over budget", start: [0, 0, 0], budget: 400_000, current: 1, expected: 0),
        Case(name: "no upgrade without 15 % headroom", start: [0, 0, 0], budget: 2_200_000, current: 1, expected: 1),
        Case(name: "upgrade with headroom", start: [0, 0, 0], budget: 2_400_000, current: 1, expected: 2),
        Case(name: "missing layer skipped", start: [0, nil, 0], budget: 600_000, current: nil, expected: 0),
        Case(name: "only a young layer alive", start: [nil, 2500, nil], budget: 0, current: nil, expected: 1),
        Case(name: "nothing alive", start: [nil, nil, nil], budget: .max, current: nil, expected: nil),
    ]

    @Test(arguments: cases)
    func select(_ c: Case) {
        let s = Self.selector(c.start, bytesPerTick: [1250, 6250, 25_000])
        #expect(s.select(budget: c.budget, now: .milliseconds(3000), keeping: c.current) == c.expected)
    }

    @Test func layerThatStopsIsNotAliveAndRestartsYoung() {
        var s = SimulcastLayerSelector(layerCount: 2)
        func feed(_ range: StrideThrough<Int>, layers: [Int]) {
            for t in range { for l in layers { s.observe(layer: l, bytes: 100, now: .milliseconds(t)) } }
        }
        feed(stride(from: 0, through: 1000, by: 100), layers: [0, 1])
        feed(stride(from: 1100, through: 2800, by: 100), layers: [0])
        #expect(s.isAlive(1, now: .milliseconds(2501)) == false)
        #expect(s.isAlive(1, now: .milliseconds(2500)) == true)   // exactly the timeout: still alive
        #expect(s.bitrate(1, now: .milliseconds(2800)) == 0)
        feed(stride(from: 2900, through: 3000, by: 100), layers: [0, 1])
        #expect(s.activeDuration(1, now: .milliseconds(3000)) == .milliseconds(100))
        #expect(s.activeDuration(0, now: .milliseconds(3000)) == .seconds(3))
        #expect(s.bitrate(1, now: .milliseconds(3000)) == 1600)   // restarted: only the new samples count
        #expect(s.select(budget: .max, now: .milliseconds(3000)) == 0)
        #expect(s.select(budget: .max, now: .milliseconds(3000), keeping: 1) == 1)
    }
}

@Suite struct ForwardRecordRingTests {
    static func record(_ seq: UInt16, layer: Int = 0) -> ForwardRecord {
        ForwardRecord(layer: layer, sourceSequenceNumber: RTPSequenceNumber(seq &+ 1000),
                      header: RTPHeaderRewrite(payloadType: 101, sequenceNumber: RTPSequenceNumber(seq), timestamp: 1, ssrc: 7), vp8: nil)
    }

    @Test func recordsAreFoundByOutgoingSequenceNumberWithinAgeAndResendLimits() {
        var ring = ForwardRecordRing(capacity: 1000)   // rounded up to 1024
        #expect(ring.capacity == 1024)
        for seq in UInt16(65_000)...UInt16(65_535) { ring.store(Self.record(seq), now: .zero) }
        for seq in UInt16(0)..<600 { ring.store(Self.record(seq), now: .milliseconds(100)) }
        #expect(ring.record(for: 10, now: .milliseconds(150))?.sourceSequenceNumber == 1010)
        #expect(ring.record(for: 10, now: .milliseconds(200)) == nil)                        // resent within an RTT
        #expect(ring.record(for: 10, now: .milliseconds(300)) != nil)                        // one RTT later: again
        #expect(ring.record(for: 65_000, now: .milliseconds(150)) == nil)                    // overwritten by 488
        #expect(ring.record(for: 65_535, now: .milliseconds(150))?.header.sequenceNumber == 65_535)
        #expect(ring.record(for: 65_535, now: .seconds(3)) == nil)                           // too old
        #expect(ring.record(for: 700, now: .milliseconds(150)) == nil)                       // never sent
    }

    @Test func reforwardRebuildsTheSamePacket() throws {
        var f = ConsumerForwarder(configuration: ConsumerForwarderTests.videoConfig(layers: 1))
        var streams = ConsumerForwarderTests.layers(1)
        f.resume(now: .zero)
        let frame = streams[0].frame(key: true, packets: 2)
        let forwarded = f.forward(frame[0].0, layer: 0, isKeyFrame: true, now: .milliseconds(5))
        let (first, record) = try #require(forwarded)
        #expect(record.header.sequenceNumber == first.sequenceNumber && record.sourceSequenceNumber == frame[0].0.sequenceNumber)
        let againOpt = f.reforward(frame[0].0, record, now: .milliseconds(500))
        let again = try #require(againOpt)
        #expect(again.sequenceNumber == first.sequenceNumber && again.timestamp == first.timestamp && again.ssrc == first.ssrc)
        #expect(again.payloadType == first.payloadType && again.payload == first.payload)   // VP8 picture ids included
        // A new send time (the transport stamps it again, and a fresh transport-wide number, when it leaves).
        let map = ConsumerForwarderTests.rewriter.consumerMap
        #expect(first.absSendTime(map) != again.absSendTime(map))
    }
}
