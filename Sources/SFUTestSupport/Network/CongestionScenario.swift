import ICE
import NIOCore
import RTCBase
import RTCP
import RTP
import SFU

/// Congestion control end to end in virtual time: senders (``SimulcastSource`` cameras with audio) on ideal uplinks,
/// the ``SFU/MediaRouter`` under test, and receivers (``ReceivingPeer``) each behind its own ``BottleneckLink`` —
/// real ICE, DTLS, SRTP, RTP and RTCP all the way, only the network and the browsers' encoders and decoders modelled.
///
/// Peers `0..<senders` send; peers `senders...` receive every sender's camera and audio. ``run(until:)`` advances
/// in 1 ms steps: sources send what is due, the router's timers run, its datagrams enter the receivers' links (or,
/// to a sender, its RTCP reaches the source: PLI → key frame), what the links deliver reaches the receivers at its
/// arrival time, and the receivers' RTCP (feedback, reports, NACK, PLI) travels back after the link's propagation
/// delay. Every 100 ms a ``Sample`` is taken.
public final class CongestionScenario {
    /// What was measured at one instant for one receiver.
    public struct Sample: Sendable {
        public var time: Duration
        /// The router's estimate towards the receiver.
        public var estimate: Int
        /// What the router sent into the receiver's link over the last 500 ms, bits per second.
        public var sendRate: Int
        /// The link's capacity then.
        public var capacity: Int
        /// The spatial layer each of the receiver's video consumers forwards (nil: none yet).
        public var layers: [Int?]
    }

    public let harness: RouterHarness
    public let sources: [SimulcastSource]
    public let links: [BottleneckLink]
    public let receivers: [ReceivingPeer]
    public let senders: Int
    /// Per receiver, its video consumers (one per sender, in sender order).
    public let videoConsumers: [[RouterHarness.Consumer]]
    public private(set) var samples: [[Sample]]
    /// Per receiver: (arrival, queue delay) of every media datagram delivered, and the instants datagrams were lost.
    public private(set) var queueDelays: [[(Duration, Duration)]]
    public private(set) var drops: [[Duration]]
    public private(set) var offered: [[Duration]]
    var sentBytes: [[(Duration, Int)]]
    /// Per receiver: (arrival, bytes on the wire) of every media datagram delivered.
    var delivered: [[(Duration, Int)]]
    var reverse: [(at: Duration, peer: Int, bytes: ByteBuffer)] = []
    /// Probe results and pacer overflows the router reported, with when.
    public private(set) var probes: [(Duration, TransportID, ProbeResult)] = []
    /// Every layer allocation the router reported: (time, consumer, allocation).
    public private(set) var allocations: [(Duration, ConsumerID, BitrateAllocation.Allocation)] = []
    public private(set) var pacerOverflows: [(Duration, TransportID, Int)] = []
    var lastDropped: [Int]
    /// Per receiver: (time, cross-traffic bytes delivered so far), every 100 ms.
    var crossDelivered: [[(Duration, Int)]]
    /// When the scenario was set up (the harness's clock does not start at zero).
    public let start: Duration
    public var now: Duration { harness.now }

    /// A scenario with `senders` simulcast cameras (layer targets `layerBitrates`) and one receiver per link.
    public init(senders: Int = 1, links: [BottleneckLink], layerBitrates: [Int] = [150_000, 500_000, 1_200_000],
                congestionControl: CongestionControlMode = .sendSide, seed: UInt64 = 7) throws {
        let harness = try RouterHarness(peerCount: senders + links.count, seed: seed, congestionControl: congestionControl)
        self.harness = harness
        self.senders = senders
        self.links = links
        var sources: [SimulcastSource] = []
        for s in 0..<senders {
            var parameters = RouterHarness.vp8Parameters(mid: "1", encodings: Array(RouterHarness.simulcastEncodings.prefix(layerBitrates.count)))
            parameters.encodings = parameters.encodings.enumerated().map { i, e in
                var e = e
                e.maxBitrate = layerBitrates[i]
                return e
            }
            let video = try harness.addProducer(name: "camera\(s)", peer: s, kind: .video, parameters: parameters)
            let audio = try harness.addProducer(name: "audio\(s)", peer: s, kind: .audio, parameters: RouterHarness.audioParameters(mid: "0"))
            sources.append(SimulcastSource(video: video, audio: audio, layerBitrates: layerBitrates))
        }
        self.sources = sources
        var receivers: [ReceivingPeer] = [], video: [[RouterHarness.Consumer]] = []
        for r in 0..<links.count {
            let peer = senders + r
            var mine: [RouterHarness.Consumer] = []
            for s in sources {
                try harness.addConsumer(name: "\(s.audio!.name)@\(peer)", of: s.audio!, peer: peer)
                mine.append(try harness.addConsumer(name: "\(s.video.name)@\(peer)", of: s.video, peer: peer))
            }
            harness.peers[peer].retainsPackets = false
            receivers.append(ReceivingPeer(peer: harness.peers[peer], consumers: harness.consumers.filter { $0.peer == peer },
                                           senderSSRC: 0xFEED_0000 &+ UInt32(r)))
            video.append(mine)
        }
        for s in 0..<senders { harness.peers[s].retainsPackets = false }
        self.receivers = receivers
        videoConsumers = video
        samples = Array(repeating: [], count: links.count)
        queueDelays = Array(repeating: [], count: links.count)
        drops = Array(repeating: [], count: links.count)
        offered = Array(repeating: [], count: links.count)
        sentBytes = Array(repeating: [], count: links.count)
        delivered = Array(repeating: [], count: links.count)
        lastDropped = Array(repeating: 0, count: links.count)
        crossDelivered = Array(repeating: [], count: links.count)
        start = harness.now
        harness.onTransmit = nil
        _ = harness.discardTransmits()
    }

    /// Runs until `end`, calling `control` every step (to change capacities, start cross traffic…).
    public func run(until end: Duration, control: (CongestionScenario, Duration) -> Void = { _, _ in }) {
        let router = harness.router
        while harness.now < end {
            let now = harness.now
            control(self, now)
            for (i, source) in sources.enumerated() {
                for (packet, _) in source.packets(until: now) {
                    guard let bytes = try? harness.peers[i].protect(rtp: packet) else { continue }
                    router.handle(Datagram(bytes, from: harness.tuples[i]), now: now)
                }
            }
            if let d = router.nextDeadline, d <= now { router.handleTimeout(now: now) }
            for (i, peer) in harness.peers.enumerated() {
                if let d = peer.nextDeadline, d <= now { peer.handleTimeout(now: now) }
                while let out = peer.pollTransmit() { enqueueReverse(out, from: i, now: now) }
            }
            route(now: now)
            for (r, link) in links.enumerated() {
                for delivery in link.deliveries(until: now) {
                    queueDelays[r].append((delivery.arrival, delivery.queueDelay))
                    delivered[r].append((delivery.arrival, delivery.bytes.readableBytes + 28))
                    receivers[r].receive(delivery.bytes, now: delivery.arrival)
                }
                while let out = harness.peers[senders + r].pollTransmit() { enqueueReverse(out, from: senders + r, now: now) }
                for compound in receivers[r].tick(now: now) {
                    if let bytes = try? harness.peers[senders + r].protect(rtcp: compound) { enqueueReverse(bytes, from: senders + r, now: now) }
                }
            }
            while let first = reverse.first, first.at <= now {
                reverse.removeFirst()
                router.handle(Datagram(first.bytes, from: harness.tuples[first.peer]), now: now)
            }
            route(now: now)
            while let event = router.pollEvent() {
                switch event {
                case .probe(let id, let result): probes.append((now, id, result))
                case .consumerLayers(let id, let share): allocations.append((now, id, share))
                case .pacerOverflow(let id, let dropped): pacerOverflows.append((now, id, dropped))
                default: break
                }
            }
            if now.components.attoseconds % 100_000_000_000_000_000 == 0 { sample(now: now) }
            harness.advanceClock(by: .milliseconds(1))
        }
    }

    func enqueueReverse(_ bytes: ByteBuffer, from peer: Int, now: Duration) {
        let delay = peer >= senders ? links[peer - senders].propagationDelay : .zero
        let entry = (at: now + delay, peer: peer, bytes: bytes)
        let index = reverse.firstIndex { $0.at > entry.at } ?? reverse.endIndex
        reverse.insert(entry, at: index)
    }

    /// The router's datagrams: into the receivers' links, or to the senders (RTCP: key-frame requests).
    func route(now: Duration) {
        while let t = harness.router.pollTransmit() {
            guard let peer = harness.peerIndex(of: t.destination) else { continue }
            if peer >= senders {
                let r = peer - senders
                sentBytes[r].append((now, t.bytes.readableBytes + 28))
                if now >= .milliseconds(10900) && now < .milliseconds(12500), let h = try? RTPPacket(parsingHeaderOf: t.bytes) {
                }
                offered[r].append(now)
                if !links[r].send(t.bytes, now: now) { drops[r].append(now) }
            } else if case .rtcp(let packets) = harness.peers[peer].receive(t.bytes, now: now) {
                for packet in packets {
                    switch packet {
                    case .pictureLossIndication(let pli): sources[peer].keyFrameRequested(ssrc: pli.mediaSSRC.rawValue)
                    case .fullIntraRequest(let fir): for e in fir.entries { sources[peer].keyFrameRequested(ssrc: e.ssrc.rawValue) }
                    default: break
                    }
                }
            }
        }
    }

    func sample(now: Duration) {
        for r in links.indices {
            sentBytes[r].removeAll { now - $0.0 > .seconds(1) }
            let bits = sentBytes[r].reduce(0) { now - $1.0 <= .milliseconds(500) ? $0 + $1.1 : $0 } * 8
            let transport = harness.transportIDs[senders + r]
            crossDelivered[r].append((now, links[r].crossTraffic?.deliveredBytes ?? 0))
            samples[r].append(Sample(time: now, estimate: harness.router.outgoingEstimate(transport) ?? 0, sendRate: bits * 2,
                                     capacity: links[r].capacity, layers: videoConsumers[r].map { harness.router.consumerLayer($0.id) }))
        }
    }

    // MARK: - Figures

    /// What a capacity step did to receiver `r`: measured from `drop` (capacity `low`) to `rise` (back up).
    public struct StepFigures: Sendable, CustomStringConvertible {
        /// From the drop until the router's 500 ms sending rate was under the new capacity (nil: never).
        public var timeUnderCapacity: Duration?
        /// Datagrams lost in the link over the 10 s after the drop, fraction of those sent.
        public var lossAfterDrop: Double
        /// Longest time without a new frame shown from 3 s after the drop until the rise.
        public var longestFreezeAfterDrop: Duration
        /// Media delivered over the second half of the low phase, fraction of the capacity.
        public var utilisation: Double
        /// 95th percentile of queueing delay over the whole run.
        public var queueDelayP95: Duration
        /// From the rise until the top layer was forwarded again (nil: never).
        public var timeToTopLayer: Duration?

        public var description: String {
            func ms(_ d: Duration?) -> String { d.map { "\($0.components.seconds * 1000 + $0.components.attoseconds / 1_000_000_000_000_000) ms" } ?? "never" }
            return "under capacity after \(ms(timeUnderCapacity)), loss \(String(format2: lossAfterDrop * 100)) %, "
                + "longest freeze \(ms(longestFreezeAfterDrop)), utilisation \(String(format2: utilisation * 100)) %, "
                + "queue delay p95 \(ms(queueDelayP95)), top layer after \(ms(timeToTopLayer))"
        }
    }

    /// The figures of receiver `r` for a drop at `drop` to `low` bits per second and a rise at `rise`.
    public func stepFigures(receiver r: Int = 0, drop: Duration, low: Int, rise: Duration, topLayer: Int = 2) -> StepFigures {
        let under = samples[r].first { $0.time >= drop && $0.sendRate < low }.map { $0.time - drop }
        let windowEnd = drop + .seconds(10)
        let sent = offered[r].count { $0 >= drop && $0 < windowEnd }
        let lost = drops[r].count { $0 >= drop && $0 < windowEnd }
        var freeze = Duration.zero
        for consumer in videoConsumers[r] {
            let ssrc = consumer.parameters.encodings[0].ssrc ?? 0
            let shown = receivers[r].shownFrames(ssrc: ssrc).filter { $0 >= drop + .seconds(3) - .seconds(1) && $0 <= rise }
            var previous = drop + .seconds(3)
            for t in shown where t >= drop + .seconds(3) {
                freeze = max(freeze, t - previous)
                previous = t
            }
            freeze = max(freeze, rise - previous)
        }
        let half = drop + (rise - drop) / 2
        let delays = queueDelays[r].map(\.1).sorted()
        let p95 = delays.isEmpty ? .zero : delays[min(delays.count - 1, delays.count * 95 / 100)]
        let top = samples[r].first { $0.time >= rise && $0.layers.allSatisfy { $0 == topLayer } }.map { $0.time - rise }
        return StepFigures(timeUnderCapacity: under, lossAfterDrop: sent > 0 ? Double(lost) / Double(sent) : 0,
                           longestFreezeAfterDrop: freeze, utilisation: utilisation(receiver: r, from: half, to: rise, capacity: low),
                           queueDelayP95: p95, timeToTopLayer: top)
    }

    /// The fraction of the audio the senders sent (50 packets a second each) that reached receiver `r` between
    /// `from` and `to` (times relative to ``start``).
    public func audioDelivered(receiver r: Int, from: Duration, to: Duration) -> Double {
        let seconds = Double((to - from).microsecondCount) / 1e6
        return Double(receivers[r].audioPackets(from: start + from, to: start + to)) / (50 * seconds * Double(senders))
    }

    /// Longest time without a new frame shown on any of receiver `r`'s video consumers between `from` and `to`.
    public func longestFreeze(receiver r: Int, from: Duration, to: Duration) -> Duration {
        var freeze = Duration.zero
        for consumer in videoConsumers[r] {
            var previous = from
            for t in receivers[r].shownFrames(ssrc: consumer.parameters.encodings[0].ssrc ?? 0) where t >= from && t <= to {
                freeze = max(freeze, t - previous)
                previous = t
            }
            freeze = max(freeze, to - previous)
        }
        return freeze
    }

    func loss(receiver r: Int, from: Duration, to: Duration) -> Double {
        let sent = offered[r].count { $0 >= from && $0 < to }
        return sent > 0 ? Double(drops[r].count { $0 >= from && $0 < to }) / Double(sent) : 0
    }

    func queueDelayP95(receiver r: Int, from: Duration, to: Duration) -> Duration {
        let delays = queueDelays[r].filter { $0.0 >= from && $0.0 < to }.map(\.1).sorted()
        return delays.isEmpty ? .zero : delays[min(delays.count - 1, delays.count * 95 / 100)]
    }

    /// Several cameras through one link, measured between `from` and `to`.
    public struct ShareFigures: Sendable, CustomStringConvertible {
        /// Media datagrams lost in the link, fraction of those sent.
        public var loss: Double
        /// Media delivered, fraction of the capacity.
        public var utilisation: Double
        /// Time (in 100 ms samples) the cameras' spatial layers differed by more than one, or one was forwarded and
        /// another not.
        public var unfairTime: Duration
        /// Longest time any camera showed no new frame.
        public var longestFreeze: Duration
        public var queueDelayP95: Duration
        /// The layers forwarded at the end.
        public var finalLayers: [Int?]

        public var description: String {
            "loss \(String(format2: loss * 100)) %, utilisation \(String(format2: utilisation * 100)) %, unfair for \(unfairTime.milliseconds) ms, "
                + "longest freeze \(longestFreeze.milliseconds) ms, queue delay p95 \(queueDelayP95.milliseconds) ms, "
                + "layers at the end \(finalLayers.map { $0.map(String.init) ?? "none" })"
        }
    }

    public func shareFigures(receiver r: Int = 0, from: Duration, to: Duration, capacity: Int) -> ShareFigures {
        let window = samples[r].filter { $0.time >= from && $0.time < to }
        let unfair = window.count { sample in
            let layers = sample.layers
            if layers.contains(where: { $0 == nil }) { return layers.contains { $0 != nil } }
            let values = layers.compactMap { $0 }
            return (values.max() ?? 0) - (values.min() ?? 0) > 1
        }
        return ShareFigures(loss: loss(receiver: r, from: from, to: to), utilisation: utilisation(receiver: r, from: from, to: to, capacity: capacity),
                            unfairTime: .milliseconds(100 * unfair), longestFreeze: longestFreeze(receiver: r, from: from, to: to),
                            queueDelayP95: queueDelayP95(receiver: r, from: from, to: to), finalLayers: samples[r].last?.layers ?? [])
    }

    /// A camera sharing its link with ``CrossTraffic`` between `from` and `to`.
    public struct CrossFigures: Sendable, CustomStringConvertible {
        /// Media delivered while the flow ran, fraction of the capacity.
        public var videoShare: Double
        /// The flow's delivered bytes, fraction of the capacity.
        public var crossShare: Double
        /// Media datagrams lost while the flow ran.
        public var videoLoss: Double
        /// Longest time without a new frame while the flow ran.
        public var longestFreeze: Duration
        public var queueDelayP95: Duration
        /// From the flow's end until the top layer was forwarded again (nil: never).
        public var timeToTopLayer: Duration?

        public var description: String {
            "video \(String(format2: videoShare * 100)) % and cross traffic \(String(format2: crossShare * 100)) % of the link, "
                + "video loss \(String(format2: videoLoss * 100)) %, longest freeze \(longestFreeze.milliseconds) ms, "
                + "queue delay p95 \(queueDelayP95.milliseconds) ms, top layer after \(timeToTopLayer.map { "\($0.milliseconds) ms" } ?? "never")"
        }
    }

    public func crossFigures(receiver r: Int = 0, from: Duration, to: Duration, capacity: Int, topLayer: Int = 2) -> CrossFigures {
        let bytesAt = { (t: Duration) in self.crossDelivered[r].last { $0.0 <= t }?.1 ?? 0 }
        let seconds = Double((to - from).microsecondCount) / 1e6
        let top = samples[r].first { $0.time >= to && $0.layers.allSatisfy { $0 == topLayer } }.map { $0.time - to }
        return CrossFigures(videoShare: utilisation(receiver: r, from: from, to: to, capacity: capacity),
                            crossShare: Double((bytesAt(to) - bytesAt(from)) * 8) / (Double(capacity) * seconds),
                            videoLoss: loss(receiver: r, from: from, to: to), longestFreeze: longestFreeze(receiver: r, from: from, to: to),
                            queueDelayP95: queueDelayP95(receiver: r, from: from, to: to), timeToTopLayer: top)
    }

    /// Media bits delivered to receiver `r` between `from` and `to`, as a fraction of `capacity`.
    public func utilisation(receiver r: Int, from: Duration, to: Duration, capacity: Int) -> Double {
        let bytes = delivered[r].reduce(0) { $1.0 >= from && $1.0 < to ? $0 + $1.1 : $0 }
        let seconds = Double((to - from).components.seconds) + Double((to - from).components.attoseconds) / 1e18
        return Double(bytes * 8) / (Double(capacity) * seconds)
    }
}

extension Duration {
    /// Whole milliseconds.
    var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}

extension String {
    init(format2 value: Double) {
        let scaled = (value * 10).rounded() / 10
        self = "\(scaled)"
    }
}
