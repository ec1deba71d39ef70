import RTCBase
import RTCP
import RTP
@testable import SFU
import Testing

/// The pure parts of the router, table by table: how the outgoing estimate is split, how RTCP is packed and when it
/// is due, and how the deadline heap orders transports.
@Suite struct BitrateAllocationTests {
    typealias Step = BitrateAllocation.Step
    typealias Demand = BitrateAllocation.Demand

    /// A simulcast camera as Chrome sends one: three spatial layers of three temporal layers each (cumulative
    /// bitrates ≈ 50 / 75 / 100 % of the layer).
    static let camera: [Step] = [
        Step(spatial: 0, temporal: 0, bitrate: 75_000), Step(spatial: 0, temporal: 1, bitrate: 110_000), Step(spatial: 0, temporal: nil, bitrate: 150_000),
        Step(spatial: 1, temporal: 0, bitrate: 250_000), Step(spatial: 1, temporal: 1, bitrate: 375_000), Step(spatial: 1, temporal: nil, bitrate: 500_000),
        Step(spatial: 2, temporal: 0, bitrate: 600_000), Step(spatial: 2, temporal: 1, bitrate: 900_000), Step(spatial: 2, temporal: nil, bitrate: 1_200_000),
    ]
    static func video(_ source: BitrateAllocation.Source = .camera, steps: [Step] = camera, current: Step? = nil, active: Bool = true) -> Demand {
        Demand(kind: .video, active: active, source: source, steps: steps, current: current)
    }
    static func audio(_ bitrate: Int? = 40_000, active: Bool = true) -> Demand { Demand(kind: .audio, active: active, audioBitrate: bitrate) }
    static func step(_ s: Int, _ t: Int?) -> Step { camera.first { $0.spatial == s && $0.temporal == t }! }

    struct Row: Sendable, CustomStringConvertible {
        let name: String
        let estimate: Int
        var upgradeLimit: Int? = nil
        var spatialUpgradeLimit: Int? = nil
        let consumers: [Demand]
        /// Per consumer: the (spatial, temporal) chosen, nil: none (paused, or audio).
        let layers: [Step?]
        let bitrates: [Int]
        var description: String { name }
    }

    static let rows: [Row] = [
        Row(name: "nothing to allocate", estimate: 1_000_000, consumers: [], layers: [], bitrates: []),
        Row(name: "one camera: the highest step with 5 % headroom (1.2 M needs 1.26 M)", estimate: 1_250_000, consumers: [video()],
            layers: [step(2, 1)], bitrates: [900_000]),
        Row(name: "one camera, ample estimate: everything", estimate: 1_400_000, consumers: [video()],
            layers: [step(2, nil)], bitrates: [1_200_000]),
        Row(name: "the current step is kept while within 15 % over (1.2 M at 1.05 M)", estimate: 1_050_000,
            consumers: [video(current: step(2, nil))], layers: [step(2, nil)], bitrates: [1_200_000]),
        Row(name: "...and dropped beyond that", estimate: 1_000_000,
            consumers: [video(current: step(2, nil))], layers: [step(2, 1)], bitrates: [900_000]),
        Row(name: "a higher spatial layer than the current one needs 15 % headroom (600 k needs 690 k): it costs a key frame",
            estimate: 680_000, consumers: [video(current: step(1, nil))], layers: [step(1, nil)], bitrates: [500_000]),
        Row(name: "...and is taken with it", estimate: 700_000,
            consumers: [video(current: step(1, nil))], layers: [step(2, 0)], bitrates: [600_000]),
        Row(name: "...while more temporal layers of the current spatial layer need 5 %", estimate: 400_000,
            consumers: [video(current: step(1, 0))], layers: [step(1, 1)], bitrates: [375_000]),
        Row(name: "audio first, measured", estimate: 500_000, consumers: [audio(), video()],
            layers: [nil, step(1, 1)], bitrates: [40_000, 375_000]),
        Row(name: "audio unmeasured: the reservation", estimate: 500_000, consumers: [audio(nil), video()],
            layers: [nil, step(1, 1)], bitrates: [64_000, 375_000]),
        Row(name: "audio is never paused, even with no estimate left", estimate: 50_000, consumers: [audio(), audio(), video()],
            layers: [nil, nil, nil], bitrates: [40_000, 40_000, 0]),
        Row(name: "a camera whose lowest step does not fit is paused", estimate: 78_000, consumers: [video()],
            layers: [nil], bitrates: [0]),
        Row(name: "a single-encoding camera is never paused: its lowest step whatever the estimate", estimate: 10_000,
            consumers: [Demand(kind: .video, active: true, steps: [camera[0], camera[1]], pausable: false)],
            layers: [step(0, 0)], bitrates: [75_000]),
        Row(name: "a paused camera resumes only with headroom (75 k needs 78.75 k)", estimate: 79_000, consumers: [video()],
            layers: [step(0, 0)], bitrates: [75_000]),
        Row(name: "cameras share fairly, one step each in turn (the first in line gets the last one)", estimate: 1_000_000,
            consumers: [video(), video()], layers: [step(1, nil), step(1, 1)], bitrates: [500_000, 375_000]),
        Row(name: "the screen share is served before cameras, even when no camera fits after it", estimate: 1_000_000,
            consumers: [video(.camera), video(.screen)], layers: [nil, step(2, 1)], bitrates: [0, 900_000]),
        Row(name: "a higher spatial layer must also fit the confirmed probe rate", estimate: 1_400_000, upgradeLimit: 1_400_000,
            spatialUpgradeLimit: 600_000, consumers: [video(current: step(1, nil))], layers: [step(1, nil)], bitrates: [500_000]),
        Row(name: "...which temporal raises need not", estimate: 1_400_000, upgradeLimit: 1_400_000, spatialUpgradeLimit: 300_000,
            consumers: [video(current: step(1, 0))], layers: [step(1, nil)], bitrates: [500_000]),
        Row(name: "raises above the current step must fit what the path proved", estimate: 1_400_000, upgradeLimit: 500_000,
            consumers: [video(current: step(1, 0))], layers: [step(1, 1)], bitrates: [375_000]),
        Row(name: "...while an unproved estimate still keeps what a consumer has", estimate: 1_400_000, upgradeLimit: 100_000,
            consumers: [video(current: step(2, nil))], layers: [step(2, nil)], bitrates: [1_200_000]),
        Row(name: "every camera gets its lowest step before any is raised", estimate: 300_000, consumers: [video(), video(), video()],
            layers: [step(0, 1), step(0, 0), step(0, 0)], bitrates: [110_000, 75_000, 75_000]),
        Row(name: "inactive consumers get nothing and take nothing", estimate: 700_000,
            consumers: [video(active: false), video(), audio(active: false)], layers: [nil, step(2, 0), nil], bitrates: [0, 600_000, 0]),
        Row(name: "a camera with nothing measured yet gets nothing", estimate: 700_000, consumers: [video(steps: [])],
            layers: [nil], bitrates: [0]),
    ]

    @Test(arguments: rows)
    func allocation(_ row: Row) {
        let shares = BitrateAllocation.allocate(estimate: row.estimate, upgradeLimit: row.upgradeLimit,
                                                spatialUpgradeLimit: row.spatialUpgradeLimit, among: row.consumers)
        #expect(shares.map(\.step) == row.layers)
        #expect(shares.map(\.bitrate) == row.bitrates)
        let given = shares.reduce(0) { $0 + $1.bitrate }
        let audio = zip(row.consumers, shares).reduce(0) { $0 + ($1.0.kind == .audio ? $1.1.bitrate : 0) }
        // Video never takes more than audio left, but for a current step kept within its 15 % tolerance (and the
        // lowest step of a consumer that is never paused).
        let bounded = Double(given - audio) <= BitrateAllocation.keepTolerance * Double(max(0, row.estimate - audio))
        #expect(bounded || !row.consumers.allSatisfy(\.pausable))
    }

    @Test func desiredIsEveryActiveConsumerAtItsTopStep() {
        #expect(BitrateAllocation.desired([Self.audio(), Self.video(), Self.video(active: false), Self.audio(nil)]) == 40_000 + 1_200_000 + 64_000)
    }
}

@Suite struct AllocationStepsTests {
    /// Steps from a producer's measurements: per temporal layer, cheapest first; a step dearer than a higher one
    /// is left out; before any layer settled only the lowest alive one is offered.
    @Test func stepsFollowTheMeasuredLayers() {
        var s = SimulcastLayerSelector(layerCount: 2)
        // Layer 0: TID 0 120 B, TID 1 60 B per 10 ms; layer 1: TID 0 only, 500 B per 10 ms.
        for ms in stride(from: 0, through: 3_000, by: 10) {
            let t = Duration.milliseconds(ms)
            s.observe(layer: 0, temporalLayer: 0, bytes: 120, now: t)
            s.observe(layer: 0, temporalLayer: 1, bytes: 60, now: t)
            if ms >= 2_000 { s.observe(layer: 1, temporalLayer: 0, bytes: 500, now: t) }
        }
        let now = Duration.milliseconds(3_000)
        #expect(s.temporalLayerCount(0, now: now) == 2 && s.temporalLayerCount(1, now: now) == 1)
        // Layer 1 has been alive 1 s only: not offered (unless it is the current one).
        let steps = s.steps(now: now)
        #expect(steps.map { "\($0.spatial)/\($0.temporal.map(String.init) ?? "*")" } == ["0/0", "0/*"])
        // ≈ 96 and 144 kbit/s (a 1 s window of 100 ms buckets, the newest one just begun).
        #expect((84_000...97_000).contains(steps[0].bitrate) && (126_000...145_000).contains(steps[1].bitrate))
        #expect(s.steps(now: now, keeping: 1).map(\.spatial) == [0, 0, 1])
        // Before anything settled: the lowest alive layer only.
        var young = SimulcastLayerSelector(layerCount: 2)
        young.observe(layer: 1, bytes: 100, now: .zero)
        young.observe(layer: 0, bytes: 100, now: .zero)
        #expect(young.steps(now: .milliseconds(10)).map(\.spatial) == [0])
    }
}

@Suite struct RTCPSchedulerTests {
    static func block(_ ssrc: UInt32) -> RTCPReportBlock {
        RTCPReportBlock(ssrc: SSRC(ssrc), fractionLost: 0, cumulativeLost: 0, extendedHighestSequenceNumber: 0, jitter: 0,
                        lastSenderReport: 0, delaySinceLastSenderReport: 0)
    }
    static func sr(_ ssrc: UInt32) -> RTCPSenderReport {
        RTCPSenderReport(ssrc: SSRC(ssrc), ntpTime: NTPTimestamp(rawValue: 0), rtpTimestamp: 0, packetCount: 0, octetCount: 0, reports: [])
    }
    static func chunk(_ ssrc: UInt32) -> RTCPSourceDescription.Chunk { .init(ssrc: SSRC(ssrc), items: [.cname("c")]) }

    struct Row: Sendable, CustomStringConvertible {
        let name: String
        let blocks: Int, reports: Int, chunks: Int
        /// Per compound: (RR blocks or nil when the compound has no RR, SRs, SDES chunks or nil when no SDES).
        let compounds: [(rr: Int?, srs: Int, sdes: Int?)]
        var description: String { name }
    }

    static let rows: [Row] = [
        Row(name: "nothing", blocks: 0, reports: 0, chunks: 0, compounds: []),
        Row(name: "a receiver only: one RR", blocks: 2, reports: 0, chunks: 0, compounds: [(2, 0, nil)]),
        Row(name: "a sender only: SR + SDES", blocks: 0, reports: 1, chunks: 1, compounds: [(nil, 1, 1)]),
        Row(name: "both: RR first, then SRs, SDES after", blocks: 1, reports: 2, chunks: 2, compounds: [(1, 2, 2)]),
        Row(name: "SDES with no SR rides on an empty RR", blocks: 0, reports: 0, chunks: 1, compounds: [(0, 0, 1)]),
        Row(name: "RR blocks stop at 31", blocks: 40, reports: 0, chunks: 0, compounds: [(31, 0, nil)]),
        Row(name: "at most 8 reports per compound", blocks: 1, reports: 10, chunks: 10, compounds: [(1, 7, 8), (nil, 3, 2)]),
        Row(name: "chunks beyond the compounds wait", blocks: 0, reports: 1, chunks: 12, compounds: [(nil, 1, 8)]),
    ]

    @Test(arguments: rows)
    func reportPacking(_ row: Row) {
        let set = RTCPScheduler.ReportSet(rtcpSSRC: 9, blocks: (0..<row.blocks).map { Self.block(UInt32($0)) },
                                          senderReports: (0..<row.reports).map { Self.sr(UInt32(100 + $0)) },
                                          chunks: (0..<row.chunks).map { Self.chunk(UInt32(100 + $0)) })
        let compounds = RTCPScheduler.reportCompounds(set)
        #expect(compounds.count == row.compounds.count)
        for (compound, expected) in zip(compounds, row.compounds) {
            let rr = compound.compactMap { if case .receiverReport(let r) = $0 { return r.reports.count } else { return nil } }.first
            let srs = compound.count { if case .senderReport = $0 { return true } else { return false } }
            let sdes = compound.compactMap { if case .sourceDescription(let s) = $0 { return s.chunks.count } else { return nil } }.first
            #expect(rr == expected.rr && srs == expected.srs && sdes == expected.sdes)
            if rr != nil, case .receiverReport? = compound.first {} else if rr != nil { Issue.record("the RR comes first") }
        }
    }

    @Test(arguments: [(0, 0), (1, 1), (4, 1), (5, 2), (9, 3)])
    func feedbackPacking(count: Int, compounds: Int) {
        let packets = (0..<count).map { RTCPPacket.pictureLossIndication(RTCPPictureLossIndication(senderSSRC: 1, mediaSSRC: SSRC(UInt32($0)))) }
        let packed = RTCPScheduler.feedbackCompounds(packets)
        #expect(packed.count == compounds && packed.allSatisfy { $0.count <= 4 })
        #expect(packed.flatMap { $0 } == packets)   // in order, none lost
    }

    @Test func reportsAreDueAtOnceThenEverySecondAndFeedbackAlways() {
        var s = RTCPScheduler(interval: .seconds(1))
        let set = RTCPScheduler.ReportSet(rtcpSSRC: 1, blocks: [Self.block(7)])
        let pli = RTCPPacket.pictureLossIndication(RTCPPictureLossIndication(senderSSRC: 1, mediaSSRC: 7))
        #expect(s.nextDeadline == nil && s.due(now: .zero, feedback: [], reports: { set }).isEmpty)
        s.start(now: .milliseconds(300))
        #expect(s.nextDeadline == .milliseconds(300))
        #expect(s.due(now: .milliseconds(300), feedback: [pli], reports: { set }).count == 2)   // reports, then the PLI
        #expect(s.nextDeadline == .milliseconds(1300))
        s.start(now: .milliseconds(400))   // already running: unchanged
        #expect(s.nextDeadline == .milliseconds(1300))
        #expect(s.due(now: .milliseconds(900), feedback: [pli], reports: { set }).count == 1)   // feedback only
        #expect(s.due(now: .milliseconds(1300), feedback: [], reports: { set }).count == 1)
        s.stop()
        #expect(s.nextDeadline == nil)
    }
}

@Suite struct DeadlineQueueTests {
    static func id(_ n: UInt32) -> TransportID { TransportID(rawValue: n) }

    @Test func earliestFirstWithMovesAndRemovals() {
        var q = DeadlineQueue()
        #expect(q.earliest() == nil && q.popDue(now: .seconds(100)) == nil)
        q.schedule(Self.id(1), at: .seconds(5))
        q.schedule(Self.id(2), at: .seconds(3))
        q.schedule(Self.id(3), at: .seconds(7))
        #expect(q.earliest() == .seconds(3))
        q.schedule(Self.id(2), at: .seconds(9))   // moved later: its old entry is stale
        #expect(q.earliest() == .seconds(5))
        q.remove(Self.id(1))
        #expect(q.earliest() == .seconds(7))
        q.schedule(Self.id(3), at: nil)            // no timer any more
        #expect(q.earliest() == .seconds(9))
        #expect(q.popDue(now: .seconds(8)) == nil)
        #expect(q.popDue(now: .seconds(9)) == Self.id(2))
        #expect(q.earliest() == nil)
    }

    @Test func popDueHandsOutEveryDueTransportOnceInDeadlineOrder() {
        var q = DeadlineQueue()
        for n in UInt32(1)...50 { q.schedule(Self.id(n), at: .milliseconds(Int64(100 - n))) }
        for n in UInt32(1)...50 where n % 2 == 0 { q.schedule(Self.id(n), at: .milliseconds(Int64(100 - n))) }   // unchanged: no duplicate
        var due: [TransportID] = []
        while let id = q.popDue(now: .milliseconds(75)) { due.append(id) }
        #expect(due == (UInt32(25)...50).reversed().map(Self.id))
        #expect(q.earliest() == .milliseconds(76))
    }

    @Test func staleEntriesDoNotPileUp() {
        var q = DeadlineQueue()
        for step in 0..<10_000 { q.schedule(Self.id(1), at: .milliseconds(Int64(step))) }   // consent refreshed 10 000 times
        #expect(q.earliest() == .milliseconds(9_999))
        #expect(q.popDue(now: .seconds(100)) == Self.id(1) && q.popDue(now: .seconds(100)) == nil)
    }
}
