import NIOCore
import RTCBase
import RTCP
import RTP
import SFU
import Testing

/// The loss-recovery blocks working together over a virtual lossy link: a sender keeps what it sends
/// in an ``RTPRetransmissionBuffer`` and answers NACKs with RTX; the receiver's ``NACKGenerator`` asks,
/// its ``RTPReceiveStats`` count. 20 ms each way (RTT 40 ms), one packet every 10 ms across the
/// sequence-number wrap, a deterministic loss pattern that also drops one retransmission.
@Suite struct LossRecoveryLoopTests {
    struct InFlight {
        var at: Duration
        var toReceiver: RTPPacket?
        var toSender: RTCPPacket?
    }

    @Test func everyLostPacketIsRecoveredWithRTTSpacedRetries() throws {
        let mediaSSRC: SSRC = 0x1111, rtxSSRC: SSRC = 0x2222
        let oneWay = Duration.milliseconds(20)
        let firstSeq: UInt16 = 65_500
        let count = 100
        let lostMedia: Set<UInt16> = [65_505, 65_506, 65_507, 65_535, 0, 30]
        var rtxDropsLeft: [UInt16: Int] = [30: 1]   // the first retransmission of 30 is lost too

        var buffer = RTPRetransmissionBuffer()
        var rtx = RTXEncoder(ssrc: rtxSSRC, payloadType: 97, initialSequenceNumber: 1_000)
        var nack = NACKGenerator()
        nack.rtt = .milliseconds(40)
        var stats = RTPReceiveStats(ssrc: mediaSSRC, clockRate: 90_000)

        var link: [InFlight] = []
        var delivered = Set<UInt16>()
        var requests: [UInt16: [Duration]] = [:]
        var recoveredCount = 0

        for ms in 0...2_000 {
            let now = Duration.milliseconds(ms)
            // Sender: one media packet every 10 ms.
            if ms % 10 == 0 && ms / 10 < count {
                let seq = firstSeq &+ UInt16(ms / 10)
                let p = RTPPacket(payloadType: 96, sequenceNumber: RTPSequenceNumber(seq), timestamp: RTPTimestamp(UInt32(ms) * 90),
                                  ssrc: mediaSSRC, payload: ByteBuffer(bytes: [UInt8(truncatingIfNeeded: seq), 0xEE]))
                buffer.store(p, now: now)
                if !lostMedia.contains(seq) { link.append(InFlight(at: now + oneWay, toReceiver: p)) }
            }
            // Deliveries due now.
            let due = link.filter { $0.at <= now }
            link.removeAll { $0.at <= now }
            for item in due {
                if let p = item.toReceiver {
                    if p.ssrc == rtxSSRC {
                        let original = try p.rtxDecapsulated(originalSSRC: mediaSSRC, originalPayloadType: 96)
                        let arrival = nack.received(sequenceNumber: original.sequenceNumber, isKeyFrame: false, isRecovered: true, now: now)
                        #expect(arrival == .repaired(requested: true))
                        stats.received(original, isRetransmission: true, now: now)
                        delivered.insert(original.sequenceNumber.rawValue)
                        recoveredCount += 1
                    } else {
                        nack.received(sequenceNumber: p.sequenceNumber, isKeyFrame: false, isRecovered: false, now: now)
                        stats.received(p, now: now)
                        delivered.insert(p.sequenceNumber.rawValue)
                    }
                }
                if case .nack(let n) = item.toSender {
                    for original in buffer.packets(for: n, now: now, rtt: .milliseconds(40)) {
                        let seq = original.sequenceNumber.rawValue
                        if let left = rtxDropsLeft[seq], left > 0 { rtxDropsLeft[seq] = left - 1; continue }
                        link.append(InFlight(at: now + oneWay, toReceiver: rtx.encapsulate(original)))
                    }
                }
            }
            // Receiver timers.
            if let deadline = nack.nextDeadline, deadline <= now {
                let lost = nack.handleTimeout(now: now)
                for seq in lost { requests[seq, default: []].append(now) }
                if !lost.isEmpty {
                    let packet = NACKGenerator.nackPacket(senderSSRC: 9, mediaSSRC: mediaSSRC, lost: lost)
                    // Through the wire format, as a real NACK would travel.
                    let parsed = try RTCPPacket.parseCompound(RTCPPacket.encodeCompound([packet]))
                    link.append(InFlight(at: now + oneWay, toSender: parsed.first))
                }
            }
        }

        let all = Set((0..<count).map { firstSeq &+ UInt16($0) })
        #expect(delivered == all)
        #expect(recoveredCount == lostMedia.count)
        #expect(nack.missing.isEmpty && nack.nextDeadline == nil)
        #expect(Set(requests.keys) == lostMedia)
        for seq in lostMedia where seq != 30 { #expect(requests[seq]?.count == 1, "seq \(seq): \(requests[seq] ?? [])") }
        let retries = try #require(requests[30])
        #expect(retries.count == 2)
        #expect(retries.count == 2 && retries[1] - retries[0] >= .milliseconds(40))
        #expect(stats.cumulativeLost == 0)
        #expect(stats.extendedHighestSequenceNumber == UInt32(65_536 + Int(firstSeq &+ UInt16(count - 1))))
        #expect(rtx.nextSequenceNumber == RTPSequenceNumber(1_000 + UInt16(lostMedia.count)))
    }
}
