import NIOCore
import RTCBase
import RTCP
import RTCTestSupport
import RTP
import SFU
import Testing

@Suite struct TransportCCFeedbackGeneratorTests {
    /// Encodes `packets`, parses them back strictly and checks re-encoding is byte-identical.
    static func roundTrip(_ packets: [RTCPPacket]) throws -> [RTCPTransportFeedback] {
        let wire = RTCPPacket.encodeCompound(packets)
        let parsed = try RTCPPacket.parseCompound(wire)
        #expect(parsed == packets)
        #expect(RTCPPacket.encodeCompound(parsed) == wire)
        return parsed.compactMap { if case .transportFeedback(let f) = $0 { return f } else { return nil } }
    }

    /// The arrival times (µs) a feedback reports, by sequence number.
    static func reported(_ feedbacks: [RTCPTransportFeedback]) -> [(UInt16, Int64)] {
        feedbacks.flatMap { $0.arrivalTimesMicroseconds.map { ($0.sequenceNumber, $0.time) } }
    }

    struct Row: CustomTestStringConvertible, Sendable {
        var name: String
        /// (transport seq, arrival µs) in arrival order.
        var arrivals: [(UInt16, Int64)]
        /// Expected feedback packets: (base seq, status count, reference time in 64 ms).
        var feedbacks: [(base: UInt16, count: UInt16, reference: Int32)]
        /// Expected received sequence numbers with reported arrival µs (250 µs rounding applied).
        var reported: [(UInt16, Int64)]
        var testDescription: String { name }
    }

    static let rows: [Row] = [
        Row(name: "in order", arrivals: [(0, 1_000_000), (1, 1_005_000), (2, 1_010_100), (3, 1_010_130)],
            feedbacks: [(0, 4, 15)],   // 15 × 64 ms = 960 ms
            reported: [(0, 1_000_000), (1, 1_005_000), (2, 1_010_000), (3, 1_010_250)]),
        Row(name: "a loss is reported not received", arrivals: [(10, 0), (11, 1_000), (13, 3_000)],
            feedbacks: [(10, 4, 0)], reported: [(10, 0), (11, 1_000), (13, 3_000)]),
        Row(name: "reordering gives a negative delta", arrivals: [(0, 64_000), (2, 70_000), (1, 75_000), (3, 80_000)],
            feedbacks: [(0, 4, 1)], reported: [(0, 64_000), (1, 75_000), (2, 70_000), (3, 80_000)]),
        Row(name: "duplicates keep the first arrival", arrivals: [(0, 0), (1, 2_000), (1, 9_000), (2, 4_000)],
            feedbacks: [(0, 3, 0)], reported: [(0, 0), (1, 2_000), (2, 4_000)]),
        Row(name: "wrap 65535 -> 0", arrivals: [(65534, 0), (65535, 1_000), (0, 2_000), (1, 3_000)],
            feedbacks: [(65534, 4, 0)], reported: [(65534, 0), (65535, 1_000), (0, 2_000), (1, 3_000)]),
        Row(name: "delta over 8.19 s starts a new feedback", arrivals: [(0, 0), (1, 1_000), (2, 10_000_000), (3, 10_001_000)],
            feedbacks: [(0, 2, 0), (2, 2, 156)],   // 10 s / 64 ms = 156.25
            reported: [(0, 0), (1, 1_000), (2, 10_000_000), (3, 10_001_000)]),
        Row(name: "losses before the gap of a new feedback go with it", arrivals: [(0, 0), (3, 9_000_000)],
            feedbacks: [(0, 1, 0), (1, 3, 140)], reported: [(0, 0), (3, 9_000_000)]),
        Row(name: "reference time is signed 24-bit, wrapping", arrivals: [(5, -64_000), (6, -63_000)],
            feedbacks: [(5, 2, -1)], reported: [(5, -64_000), (6, -63_000)]),
        Row(name: "reference time wraps past 2^23 × 64 ms", arrivals: [(5, (1 << 23) * 64_000 + 1_000)],
            feedbacks: [(5, 1, -(1 << 23))], reported: [(5, -(1 << 23) * 64_000 + 1_000)]),
    ]

    @Test(arguments: rows)
    func feedback(_ row: Row) throws {
        var gen = TransportCCFeedbackGenerator(senderSSRC: 0x5EED)
        for (seq, us) in row.arrivals {
            gen.record(transportSequenceNumber: seq, mediaSSRC: 0xABC, arrival: .microseconds(us))
        }
        let last = Duration.microseconds(row.arrivals.last!.1)
        let packets = gen.handleTimeout(now: last + .milliseconds(100))
        let feedbacks = try Self.roundTrip(packets)
        #expect(feedbacks.map { [Int64($0.baseSequenceNumber), Int64($0.statusCount), Int64($0.referenceTime)] }
            == row.feedbacks.map { [Int64($0.base), Int64($0.count), Int64($0.reference)] })
        #expect(feedbacks.map(\.feedbackPacketCount) == (0..<feedbacks.count).map(UInt8.init))
        #expect(feedbacks.allSatisfy { $0.senderSSRC == 0x5EED && $0.mediaSSRC == 0xABC })
        let got = Self.reported(feedbacks)
        #expect(got.map(\.0) == row.reported.map(\.0))
        #expect(got.map(\.1) == row.reported.map(\.1))
        #expect(gen.nextDeadline == nil)
    }

    @Test func periodicDeadlines() throws {
        var gen = TransportCCFeedbackGenerator()
        #expect(gen.nextDeadline == nil)
        gen.record(transportSequenceNumber: 1, mediaSSRC: 1, arrival: .zero)
        #expect(gen.nextDeadline == .milliseconds(100))
        let early = gen.handleTimeout(now: .milliseconds(99))
        #expect(early.isEmpty)
        let first = gen.handleTimeout(now: .milliseconds(100))
        #expect(first.count == 1)
        #expect(gen.nextDeadline == nil)   // nothing new
        gen.record(transportSequenceNumber: 2, mediaSSRC: 1, arrival: .milliseconds(150))
        #expect(gen.nextDeadline == .milliseconds(200))   // keeps the 100 ms rhythm
        gen.record(transportSequenceNumber: 3, mediaSSRC: 1, arrival: .milliseconds(160))
        let second = try Self.roundTrip(gen.handleTimeout(now: .milliseconds(200)))
        #expect(second.map(\.baseSequenceNumber) == [2] && second.map(\.statusCount) == [2])
        #expect(second.map(\.feedbackPacketCount) == [1])
    }

    @Test func lateArrivalIsReportedAgain() throws {
        var gen = TransportCCFeedbackGenerator()
        for (seq, ms) in [(0, 0), (1, 1), (3, 3), (4, 4)] as [(UInt16, Int)] {
            gen.record(transportSequenceNumber: seq, mediaSSRC: 1, arrival: .milliseconds(ms))
        }
        let first = try Self.roundTrip(gen.handleTimeout(now: .milliseconds(100)))
        #expect(first.flatMap(\.statuses) == [.smallDelta, .smallDelta, .notReceived, .smallDelta, .smallDelta])
        gen.record(transportSequenceNumber: 2, mediaSSRC: 1, arrival: .milliseconds(120))
        gen.record(transportSequenceNumber: 5, mediaSSRC: 1, arrival: .milliseconds(121))
        let second = try Self.roundTrip(gen.handleTimeout(now: .milliseconds(200)))
        #expect(second.map(\.baseSequenceNumber) == [2])
        #expect(Self.reported(second).map(\.0) == [2, 3, 4, 5])
        #expect(Self.reported(second).map(\.1) == [120_000, 3_000, 4_000, 121_000])
    }

    @Test func tooOldLateArrivalIsDropped() throws {
        var gen = TransportCCFeedbackGenerator(historyCapacity: 16)
        for seq in UInt16(0)..<40 { gen.record(transportSequenceNumber: seq, mediaSSRC: 1, arrival: .milliseconds(Int(seq))) }
        _ = gen.handleTimeout(now: .milliseconds(100))
        gen.record(transportSequenceNumber: 10, mediaSSRC: 1, arrival: .milliseconds(110))   // 30 behind, history 16
        #expect(gen.nextDeadline == nil)
        let none = gen.handleTimeout(now: .milliseconds(300))
        #expect(none.isEmpty)
    }

    @Test func fullFeedbackIsDueAtOnceAndSplit() throws {
        var gen = TransportCCFeedbackGenerator(maxStatusCount: 50)
        for seq in UInt16(0)..<49 { gen.record(transportSequenceNumber: seq, mediaSSRC: 1, arrival: .milliseconds(Int(seq))) }
        #expect(gen.nextDeadline == .milliseconds(100))
        gen.record(transportSequenceNumber: 49, mediaSSRC: 1, arrival: .milliseconds(49))
        #expect(gen.nextDeadline == .milliseconds(49))
        for seq in UInt16(50)..<60 { gen.record(transportSequenceNumber: seq, mediaSSRC: 1, arrival: .milliseconds(49)) }
        let feedbacks = try Self.roundTrip(gen.handleTimeout(now: .milliseconds(49)))
        #expect(feedbacks.map(\.baseSequenceNumber) == [0, 50])
        #expect(feedbacks.map(\.statusCount) == [50, 10])
        #expect(feedbacks.map(\.feedbackPacketCount) == [0, 1])
    }

    @Test func longLossRunCostsOneChunk() throws {
        var gen = TransportCCFeedbackGenerator(maxStatusCount: 50)
        gen.record(transportSequenceNumber: 0, mediaSSRC: 1, arrival: .zero)
        _ = gen.handleTimeout(now: .milliseconds(100))
        gen.record(transportSequenceNumber: 1_001, mediaSSRC: 1, arrival: .milliseconds(110))
        let feedbacks = try Self.roundTrip(gen.handleTimeout(now: .milliseconds(200)))
        #expect(feedbacks.map(\.statusCount) == [1_001])
        #expect(feedbacks.first?.chunks.count == 2)
        #expect(feedbacks.first?.statuses.filter { $0 == .notReceived }.count == 1_000)
    }

    @Test func recordsFromRTPPackets() {
        let map = RTPHeaderExtensionMap([(uri: "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", id: UInt8(3))])
        var packet = RTPPacket(payloadType: 96, sequenceNumber: 1, timestamp: 0, ssrc: 0x77, payload: ByteBuffer(bytes: [1]))
        var gen = TransportCCFeedbackGenerator()
        let without = gen.record(packet, extensions: map, arrival: .zero)
        #expect(!without)
        let written = try? packet.setTransportSequenceNumber(0x1234, map)
        #expect(written == true)
        let with = gen.record(packet, extensions: map, arrival: .zero)
        #expect(with)
        #expect(gen.mediaSSRC == 0x77)
    }
}
