import RTCBase
import RTCP
import RTP
@testable import SFU
import Testing

/// The pure parts of the router, table by table: how the outgoing estimate is split, how RTCP is packed and when it
/// is due, and how the deadline heap orders transports.
@Suite struct BitrateAllocationTests {
    struct Row: Sendable, CustomStringConvertible {
        let name: String
        let estimate: Int
        let consumers: [(MediaKind, Bool)]
        let budgets: [Int]
        var description: String { name }
    }

    static let rows: [Row] = [
        Row(name: "nothing to allocate", estimate: 1_000_000, consumers: [], budgets: []),
        Row(name: "one video takes everything", estimate: 1_000_000, consumers: [(.video, true)], budgets: [1_000_000]),
        Row(name: "audio is set aside first", estimate: 1_000_000, consumers: [(.audio, true), (.video, true)], budgets: [64_000, 936_000]),
        Row(name: "videos share equally", estimate: 900_000, consumers: [(.video, true), (.video, true), (.video, true)],
            budgets: [300_000, 300_000, 300_000]),
        Row(name: "inactive consumers get nothing and take nothing", estimate: 600_000,
            consumers: [(.video, false), (.video, true), (.audio, false)], budgets: [0, 600_000, 0]),
        Row(name: "audio keeps its share when the estimate is below it", estimate: 100_000,
            consumers: [(.audio, true), (.audio, true), (.video, true)], budgets: [64_000, 64_000, 0]),
        Row(name: "rounding down", estimate: 1_000_001, consumers: [(.video, true), (.video, true)], budgets: [500_000, 500_000]),
    ]

    @Test(arguments: rows)
    func allocation(_ row: Row) {
        let demands = row.consumers.map { BitrateAllocation.Demand(kind: $0.0, active: $0.1) }
        #expect(BitrateAllocation.allocate(estimate: row.estimate, among: demands) == row.budgets)
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
