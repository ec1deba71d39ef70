import RTCBase
import RTCP
import RTP
import SFU
import Testing

@Suite struct RTPReceiveStatsTests {
    struct LossRow: CustomTestStringConvertible, Sendable {
        var name: String
        var sequence: [UInt16]
        var extendedHighest: UInt32
        var expected: Int64
        var cumulativeLost: Int64
        var fractionLost: UInt8
        var testDescription: String { name }
    }

    static let lossRows: [LossRow] = [
        LossRow(name: "no loss", sequence: [10, 11, 12, 13], extendedHighest: 13, expected: 4, cumulativeLost: 0, fractionLost: 0),
        LossRow(name: "one gap", sequence: [10, 11, 13, 14], extendedHighest: 14, expected: 5, cumulativeLost: 1, fractionLost: 51),
        LossRow(name: "wrap 65535 -> 0 with a loss", sequence: [65534, 65535, 0, 2], extendedHighest: 65_538,
                expected: 5, cumulativeLost: 1, fractionLost: 51),
        LossRow(name: "reordering is not loss", sequence: [10, 12, 11, 13], extendedHighest: 13, expected: 4, cumulativeLost: 0, fractionLost: 0),
        LossRow(name: "reordering across the wrap", sequence: [65535, 1, 0, 2], extendedHighest: 65_538, expected: 4,
                cumulativeLost: 0, fractionLost: 0),
        LossRow(name: "reordering before the first packet", sequence: [11, 10, 12], extendedHighest: 12, expected: 3,
                cumulativeLost: 0, fractionLost: 0),
        LossRow(name: "duplicate makes loss negative", sequence: [10, 11, 11, 12], extendedHighest: 12, expected: 3,
                cumulativeLost: -1, fractionLost: 0),
        LossRow(name: "half lost", sequence: [0, 2, 4, 6], extendedHighest: 6, expected: 7, cumulativeLost: 3, fractionLost: 109),
        LossRow(name: "big jump ignored once", sequence: [100, 101, 20_000, 102], extendedHighest: 102, expected: 3,
                cumulativeLost: 0, fractionLost: 0),
        LossRow(name: "sender restart: two sequential after a jump", sequence: [100, 101, 20_000, 20_001, 20_002],
                extendedHighest: 20_002, expected: 2, cumulativeLost: 0, fractionLost: 0),
    ]

    @Test(arguments: lossRows)
    func loss(_ row: LossRow) throws {
        var stats = RTPReceiveStats(ssrc: 1234, clockRate: 90_000)
        for (i, seq) in row.sequence.enumerated() {
            stats.received(sequenceNumber: RTPSequenceNumber(seq), timestamp: RTPTimestamp(UInt32(i) * 3000), size: 100,
                           now: .milliseconds(i * 33))
        }
        #expect(stats.extendedHighestSequenceNumber == row.extendedHighest)
        #expect(stats.packetsExpected == row.expected)
        #expect(stats.cumulativeLost == row.cumulativeLost)
        let blockReport = stats.receptionReport(now: .seconds(1))
        let block = try #require(blockReport)
        #expect(block.ssrc == 1234)
        #expect(block.extendedHighestSequenceNumber == row.extendedHighest)
        #expect(Int64(block.cumulativeLost) == row.cumulativeLost)
        #expect(block.fractionLost == row.fractionLost)
        #expect(block.lastSenderReport == 0 && block.delaySinceLastSenderReport == 0)
    }

    @Test func nothingReceivedMeansNoReport() {
        var stats = RTPReceiveStats(ssrc: 1, clockRate: 48_000)
        #expect(stats.receptionReport(now: .zero) == nil)
        #expect(stats.extendedHighestSequenceNumber == nil)
    }

    @Test func fractionLostIsPerInterval() throws {
        var stats = RTPReceiveStats(ssrc: 1, clockRate: 90_000)
        for seq in UInt16(0)..<10 where seq != 3 && seq != 7 {
            stats.received(sequenceNumber: RTPSequenceNumber(seq), timestamp: 0, size: 10, now: .zero)
        }
        let firstReport = stats.receptionReport(now: .zero)
        let first = try #require(firstReport)
        #expect(first.fractionLost == 51)             // 2 of 10 expected
        for seq in UInt16(10)..<20 {
            stats.received(sequenceNumber: RTPSequenceNumber(seq), timestamp: 0, size: 10, now: .zero)
        }
        let secondReport = stats.receptionReport(now: .zero)
        let second = try #require(secondReport)
        #expect(second.fractionLost == 0)
        #expect(second.cumulativeLost == 2)
        #expect(stats.packetsReceived == 18 && stats.bytesReceived == 180)
    }

    /// RFC 3550 A.8 by hand: 20 ms packets at 90 kHz (1800 ticks apart) arriving at 0, 20, 45, 60 ms.
    /// Transit: 0, 0, 450, 0 ticks; |D|: 0, 450, 450; J×16: 0, 450, 450 + 450 − ((450 + 8) >> 4) = 872;
    /// J = 872 >> 4 = 54.
    @Test func jitterMatchesHandComputation() {
        var stats = RTPReceiveStats(ssrc: 1, clockRate: 90_000)
        let arrivals = [0, 20, 45, 60]
        for (i, ms) in arrivals.enumerated() {
            stats.received(sequenceNumber: RTPSequenceNumber(UInt16(i)), timestamp: RTPTimestamp(UInt32(i) * 1800), size: 1,
                           now: .milliseconds(ms))
        }
        #expect(stats.jitter == 54)
        let report = stats.receptionReport(now: .milliseconds(60))
        #expect(report?.jitter == 54)
    }

    @Test func jitterIgnoresSameTimestampRetransmissionsAndReordering() {
        var stats = RTPReceiveStats(ssrc: 1, clockRate: 90_000)
        stats.received(sequenceNumber: 0, timestamp: 0, size: 1, now: .zero)
        // Same frame (same timestamp) spread over 30 ms: no jitter.
        stats.received(sequenceNumber: 1, timestamp: 0, size: 1, now: .milliseconds(30))
        // A retransmission arriving very late: no jitter.
        stats.received(sequenceNumber: 3, timestamp: 3600, size: 1, isRetransmission: true, now: .milliseconds(500))
        // Reordered packet: no jitter.
        stats.received(sequenceNumber: 2, timestamp: 1800, size: 1, now: .milliseconds(600))
        #expect(stats.jitter == 0)
        #expect(stats.cumulativeLost == 0)
    }

    @Test func jitterAcrossTimestampWrap() {
        var stats = RTPReceiveStats(ssrc: 1, clockRate: 90_000)
        let base: UInt32 = .max - 1800
        stats.received(sequenceNumber: 0, timestamp: RTPTimestamp(base), size: 1, now: .zero)
        stats.received(sequenceNumber: 1, timestamp: RTPTimestamp(base &+ 1800), size: 1, now: .milliseconds(20))
        stats.received(sequenceNumber: 2, timestamp: RTPTimestamp(base &+ 3600), size: 1, now: .milliseconds(40))
        #expect(stats.jitter == 0)
    }

    @Test func lastSenderReportAndDelay() throws {
        var stats = RTPReceiveStats(ssrc: 7, clockRate: 48_000)
        stats.received(sequenceNumber: 1, timestamp: 0, size: 1, now: .zero)
        stats.receivedSenderReport(ntpTime: NTPTimestamp(seconds: 0x1234_5678, fraction: 0x9ABC_DEF0), now: .seconds(1))
        let blockReport = stats.receptionReport(now: .milliseconds(1500))
        let block = try #require(blockReport)
        #expect(block.lastSenderReport == 0x5678_9ABC)
        #expect(block.delaySinceLastSenderReport == 32_768)   // 0.5 s in 1/65536 s
    }

    struct RTTRow: Sendable {
        var lsr: UInt32, dlsr: UInt32, arrivalMiddle: UInt32, rtt: Duration?
    }

    static let rttRows: [RTTRow] = [
        RTTRow(lsr: 0x5678_9ABC, dlsr: 0x8000, arrivalMiddle: 0x5678_9ABC + 0x8000 + 0x1000, rtt: .microseconds(62_500)),
        RTTRow(lsr: 0, dlsr: 0, arrivalMiddle: 0x1_0000, rtt: nil),
        // NTP middle word wraps between the SR and the report.
        RTTRow(lsr: 0xFFFF_F000, dlsr: 0x0800, arrivalMiddle: 0x0000_0800, rtt: .microseconds(62_500)),
        // Arrival earlier than LSR + DLSR (clock error): zero.
        RTTRow(lsr: 0x1000_0000, dlsr: 0x1000, arrivalMiddle: 0x1000_0800, rtt: .zero),
    ]

    @Test(arguments: rttRows)
    func roundTripTime(_ row: RTTRow) {
        let block = RTCPReportBlock(ssrc: 1, fractionLost: 0, cumulativeLost: 0, extendedHighestSequenceNumber: 0, jitter: 0,
                                    lastSenderReport: row.lsr, delaySinceLastSenderReport: row.dlsr)
        let arrival = NTPTimestamp(rawValue: UInt64(row.arrivalMiddle) << 16)
        #expect(block.roundTripTime(arrival: arrival) == row.rtt)
    }

    @Test func ntpClockConvertsUnixTime() {
        let clock = NTPClock(unixTimeAtOrigin: .seconds(1_700_000_000))
        let ntp = clock.ntp(at: .milliseconds(500))
        #expect(ntp.seconds == UInt32(1_700_000_000 + 2_208_988_800))
        #expect(ntp.fraction == 0x8000_0000)
    }
}

@Suite struct ReceiverRTTTests {
    /// We (receiver) send an RRTR at NTP T; the producer holds it 0.25 s and answers with DLRR; the
    /// answer reaches us 0.25 s + 30 ms after T: RTT 30 ms (to 1/65536 s).
    @Test func rrtrAndDLRRGiveTheReceiverItsRTT() throws {
        let clock = NTPClock(unixTimeAtOrigin: .seconds(1_800_000_000))
        let sentAt = Duration.seconds(10)
        let xr = RTPReceiveStats.receiverReferenceTime(senderSSRC: 0xAB, ntp: clock.ntp(at: sentAt))
        let parsed = try RTCPPacket.parseCompound(RTCPPacket.encodeCompound([xr]))
        #expect(parsed == [xr])
        guard case .extendedReport(let report) = parsed.first, case .receiverReferenceTime(let ntp) = report.blocks.first else {
            Issue.record("expected an XR with RRTR"); return
        }
        let dlrr = RTCPExtendedReport.DLRRItem(ssrc: 0xAB, lastRR: ntp.middle32, delaySinceLastRR: 16_384)
        let rtt = try #require(dlrr.roundTripTime(arrival: clock.ntp(at: sentAt + .milliseconds(280))))
        #expect(rtt > .microseconds(29_900) && rtt < .microseconds(30_100))
        #expect(RTCPExtendedReport.DLRRItem(ssrc: 0xAB, lastRR: 0, delaySinceLastRR: 5).roundTripTime(arrival: ntp) == nil)
    }

    @Test func zeroClockRateDoesNotTrap() {
        var stats = RTPReceiveStats(ssrc: 1, clockRate: 0)
        stats.received(sequenceNumber: 1, timestamp: 0, size: 1, now: .zero)
        stats.received(sequenceNumber: 2, timestamp: 1, size: 1, now: .seconds(1))
        #expect(stats.clockRate == 1 && stats.jitter == 0)
        let sr = SenderReportGenerator(ssrc: 1, clockRate: 0, cname: "x", clock: NTPClock(unixTimeAtOrigin: .zero))
        #expect(sr.clockRate == 1)
    }
}
