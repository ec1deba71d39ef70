import NIOCore
import RTCBase
import RTCP
import RTP
import SFU
import Testing

@Suite struct SenderReportGeneratorTests {
    static let clock = NTPClock(unixTimeAtOrigin: .seconds(1_700_000_000))

    static func generator(clockRate: UInt32 = 90_000) -> SenderReportGenerator {
        SenderReportGenerator(ssrc: 0xC0FFEE, clockRate: clockRate, cname: "sfu-cname", clock: clock)
    }

    @Test func nothingBeforeTheFirstPacket() {
        let gen = Self.generator()
        #expect(gen.senderReport(now: .seconds(1)) == nil)
        #expect(gen.compound(now: .seconds(1)).isEmpty)
    }

    struct TimestampRow: Sendable {
        var name: String
        var sent: [(ts: UInt32, ms: Int)]
        var clockRate: UInt32
        var reportMs: Int
        var expected: UInt32
    }

    @Test(arguments: [
        TimestampRow(name: "advances by elapsed × rate", sent: [(90_000, 1_000), (93_000, 1_100)], clockRate: 90_000, reportMs: 1_600, expected: 138_000),
        TimestampRow(name: "report at the send instant", sent: [(5, 10)], clockRate: 48_000, reportMs: 10, expected: 5),
        TimestampRow(name: "wraps past 2^32", sent: [(0xFFFF_FF00, 0)], clockRate: 90_000, reportMs: 10, expected: 644),
        TimestampRow(name: "a reordered older packet does not move the anchor", sent: [(9_000, 100), (6_000, 150)], clockRate: 90_000,
                     reportMs: 200, expected: 18_000),
        // A key frame's packets share its timestamp and may leave a pacer over hundreds of ms: the first anchors.
        TimestampRow(name: "the rest of a frame does not move the anchor", sent: [(9_000, 100), (9_000, 180), (9_000, 400)],
                     clockRate: 90_000, reportMs: 500, expected: 45_000),
        TimestampRow(name: "opus 48 kHz", sent: [(960, 20), (1_920, 40)], clockRate: 48_000, reportMs: 1_040, expected: 49_920),
    ])
    func rtpTimestamp(_ row: TimestampRow) throws {
        var gen = Self.generator(clockRate: row.clockRate)
        for s in row.sent { gen.sent(timestamp: RTPTimestamp(s.ts), payloadBytes: 100, arrival: .milliseconds(s.ms)) }
        let sr = try #require(gen.senderReport(now: .milliseconds(row.reportMs)))
        #expect(sr.rtpTimestamp == row.expected, "\(row.name)")
        #expect(sr.ntpTime == Self.clock.ntp(at: .milliseconds(row.reportMs)))
        #expect(sr.packetCount == UInt32(row.sent.count) && sr.octetCount == UInt32(100 * row.sent.count))
    }

    @Test func compoundRoundTripsAndCountsPayloadOctets() throws {
        var gen = Self.generator()
        var p = RTPPacket(payloadType: 96, sequenceNumber: 1, timestamp: 3000, ssrc: 0xC0FFEE, payload: ByteBuffer(bytes: [UInt8](repeating: 7, count: 1000)))
        p.setPadding(20)
        gen.sent(p, arrival: .seconds(1))
        gen.sent(p, arrival: .seconds(1))
        let block = RTCPReportBlock(ssrc: 42, fractionLost: 3, cumulativeLost: 5, extendedHighestSequenceNumber: 77, jitter: 9,
                                    lastSenderReport: 0, delaySinceLastSenderReport: 0)
        let packets = gen.compound(now: .seconds(2), receptionReports: [block])
        let parsed = try RTCPPacket.parseCompound(RTCPPacket.encodeCompound(packets))
        #expect(parsed == packets)
        guard case .senderReport(let sr) = parsed.first, case .sourceDescription(let sdes) = parsed.last else {
            Issue.record("expected SR + SDES, got \(parsed)"); return
        }
        #expect(sr.ssrc == 0xC0FFEE && sr.packetCount == 2 && sr.octetCount == 2_000)   // padding and header excluded
        #expect(sr.reports == [block])
        #expect(sdes.chunks.map(\.ssrc) == [0xC0FFEE])
        #expect(sdes.chunks.first?.items.first?.text == "sfu-cname")
        #expect(sdes.chunks.first?.items.first?.type == 1)
    }

    @Test func goodbyeRoundTrips() throws {
        let bye = Self.generator().goodbye(reason: "consumer closed")
        let parsed = try RTCPPacket.parseCompound(RTCPPacket.encodeCompound([bye]))
        #expect(parsed == [bye])
        #expect(parsed.first?.mediaSSRCs == [0xC0FFEE])
    }

    /// The receiver echoes our SR's NTP middle word as LSR and its holding time as DLSR; the block
    /// arrives 0.5 s + 40 ms after the SR was sent, so the RTT is 40 ms (to 1/65536 s).
    @Test func roundTripTimeFromAReceiverReport() throws {
        var gen = Self.generator()
        gen.sent(timestamp: 0, payloadBytes: 1, arrival: .zero)
        let sr = try #require(gen.senderReport(now: .seconds(3)))
        let block = RTCPReportBlock(ssrc: 0xC0FFEE, fractionLost: 0, cumulativeLost: 0, extendedHighestSequenceNumber: 0,
                                    jitter: 0, lastSenderReport: sr.ntpTime.middle32, delaySinceLastSenderReport: 32_768)
        let rtt = try #require(gen.roundTripTime(from: block, now: .milliseconds(3_540)))
        #expect(rtt > .microseconds(39_900) && rtt < .microseconds(40_100))
        var other = block
        other.ssrc = 1
        #expect(gen.roundTripTime(from: other, now: .milliseconds(3_540)) == nil)
    }

    @Test func incomingBitrateCap() throws {
        var cap = IncomingBitrateCap()
        #expect(cap.nextDeadline == nil)
        cap.setMaxBitrate(8_000_000, now: .zero)
        var sent: [(Int, UInt64)] = []
        func run(_ ms: Int) throws {
            if let p = cap.handleTimeout(now: .milliseconds(ms)) {
                let parsed = try RTCPPacket.parseCompound(RTCPPacket.encodeCompound([p]))
                guard case .remb(let remb) = parsed.first else { Issue.record("not a REMB"); return }
                sent.append((ms, remb.bitrate))
            }
        }
        for ms in [0, 1, 1_000, 1_500, 2_000] { try run(ms) }
        cap.setMaxBitrate(8_000_000, now: .milliseconds(2_100))   // unchanged: nothing extra
        try run(2_100)
        cap.setMaxBitrate(nil, now: .milliseconds(2_200))         // lifted: four "unlimited" REMBs
        for ms in [2_200, 2_300, 3_700, 5_200, 6_700, 8_200, 9_700] { try run(ms) }
        #expect(sent.map(\.0) == [0, 1_500, 2_200, 3_700, 5_200, 6_700])
        #expect(sent.map(\.1) == [8_000_000, 8_000_000, 0, 0, 0, 0])
        #expect(cap.nextDeadline == nil)
    }
}
