import RTCBase
import RTCP
import RTP

/// Reception statistics of one incoming RTP stream (one SSRC), as RFC 3550 §6.4 and Appendix A
/// define them, and the report block that describes them in an RTCP RR or SR.
///
/// Feed every packet of the stream with ``received(sequenceNumber:timestamp:size:isRetransmission:now:)``
/// (packets recovered from RTX included, flagged as retransmissions) and every sender report of the
/// stream with ``receivedSenderReport(ntpTime:now:)``; call ``receptionReport(now:)`` when an RTCP
/// report is due.
///
/// Sequence numbers are unwrapped to 64 bits (RTCBase's ``SerialNumberUnwrapper``). As in RFC 3550
/// A.1, a jump of more than ``maxDropout`` ahead or ``maxMisorder`` behind is treated as a possible
/// restart of the sender: the packet is not counted, and only when the next packet follows it in
/// sequence are the statistics restarted from there.
///
/// Jitter follows RFC 3550 A.8 in its integer form (a 1/16 gain, kept scaled by 16), with
/// libwebrtc's refinements: only in-order packets whose RTP timestamp differs from the previous
/// one update it (packets of one video frame share a timestamp but are sent spread out), and
/// retransmissions never do.
public struct RTPReceiveStats: Sendable, Hashable {
    /// The stream's SSRC (the report block's subject).
    public let ssrc: SSRC
    /// The RTP clock rate of the stream's payload format, in Hz.
    public let clockRate: UInt32
    /// A forward jump larger than this is a possible sender restart (RFC 3550 A.1 MAX_DROPOUT).
    public let maxDropout: Int64
    /// A packet further behind than this is a possible sender restart (RFC 3550 A.1 MAX_MISORDER).
    public let maxMisorder: Int64

    private var unwrapper = SerialNumberUnwrapper(space: .sixteenBit)
    private var baseSequence: Int64 = 0
    private var badSequence: UInt16?
    private var expectedPrior: Int64 = 0
    private var receivedPrior: Int64 = 0
    /// Jitter × 16, in RTP timestamp units (RFC 3550 A.8).
    private var jitterQ4: UInt32 = 0
    private var lastTransit: UInt32?
    private var lastTimestamp: UInt32?
    private var lastSRArrival: Duration?

    /// Packets counted (duplicates and retransmissions included, as RFC 3550's `received`).
    public private(set) var packetsReceived: Int64 = 0
    /// Bytes of the packets counted (as given by the caller).
    public private(set) var bytesReceived: Int64 = 0
    /// Middle 32 bits of the NTP timestamp of the last sender report received (0 before any).
    public private(set) var lastSenderReport: UInt32 = 0

    /// Statistics for the stream `ssrc` whose payload format has the given clock rate (a rate of 0,
    /// which a hostile peer's parameters could carry, is treated as 1 Hz rather than trapping).
    public init(ssrc: SSRC, clockRate: UInt32, maxDropout: Int64 = 3_000, maxMisorder: Int64 = 100) {
        self.ssrc = ssrc
        self.clockRate = max(1, clockRate)
        self.maxDropout = maxDropout
        self.maxMisorder = maxMisorder
    }

    /// The highest sequence number received, extended with the count of wraps (the report block's
    /// field, modulo 2^32); nil before the first packet.
    public var extendedHighestSequenceNumber: UInt32? {
        unwrapper.highest.map { UInt32(truncatingIfNeeded: $0) }
    }

    /// Packets expected (highest − base + 1), 0 before the first packet.
    public var packetsExpected: Int64 {
        guard let highest = unwrapper.highest else { return 0 }
        return highest - baseSequence + 1
    }

    /// Packets lost since the start: expected − received. Negative when duplicates outnumber losses.
    public var cumulativeLost: Int64 { packetsExpected - packetsReceived }

    /// The interarrival jitter estimate, in RTP timestamp units.
    public var jitter: UInt32 { jitterQ4 >> 4 }

    /// Records a packet of the stream arriving at `now`.
    ///
    /// - Parameters:
    ///   - size: bytes to add to ``bytesReceived`` (the caller chooses: whole packet or payload).
    ///   - isRetransmission: the packet was recovered from RTX; it counts as received but does not
    ///     feed the jitter estimate.
    public mutating func received(sequenceNumber: RTPSequenceNumber, timestamp: RTPTimestamp, size: Int,
                                  isRetransmission: Bool = false, now: Duration) {
        let raw = UInt64(sequenceNumber.rawValue)
        var inOrder = false
        if let highest = unwrapper.highest {
            let delta = unwrapper.peek(raw) - highest
            if delta > 0 && delta <= maxDropout {
                inOrder = true
                _ = unwrapper.unwrap(raw)
            } else if delta <= 0 && -delta <= maxMisorder {
                // Duplicate or reordered: counted, highest unchanged. A packet from before the first
                // one (reordering at the very start) moves the base back so it is not lost twice.
                baseSequence = min(baseSequence, unwrapper.peek(raw))
            } else if badSequence == sequenceNumber.rawValue {
                // Two sequential packets after a big jump: the sender restarted; so do we.
                restart(at: sequenceNumber)
                inOrder = true
            } else {
                badSequence = sequenceNumber.rawValue &+ 1
                return
            }
        } else {
            restart(at: sequenceNumber)
            inOrder = true
        }
        badSequence = nil
        packetsReceived += 1
        bytesReceived += Int64(size)
        if inOrder && !isRetransmission {
            updateJitter(timestamp: timestamp.rawValue, now: now)
        }
    }

    /// Records `packet` (its whole size counts towards ``bytesReceived``).
    public mutating func received(_ packet: RTPPacket, isRetransmission: Bool = false, now: Duration) {
        received(sequenceNumber: packet.sequenceNumber, timestamp: packet.timestamp, size: packet.bytes.readableBytes,
                 isRetransmission: isRetransmission, now: now)
    }

    /// Records a sender report of the stream, for the LSR/DLSR fields of the next report blocks.
    public mutating func receivedSenderReport(ntpTime: NTPTimestamp, now: Duration) {
        lastSenderReport = ntpTime.middle32
        lastSRArrival = now
    }

    /// The report block describing the stream at `now`, or nil before the first packet. Starts a new
    /// interval for the fraction-lost field (RFC 3550 A.3).
    public mutating func receptionReport(now: Duration) -> RTCPReportBlock? {
        guard let highest = unwrapper.highest else { return nil }
        let expected = packetsExpected
        let expectedInterval = expected - expectedPrior
        let receivedInterval = packetsReceived - receivedPrior
        expectedPrior = expected
        receivedPrior = packetsReceived
        let lostInterval = expectedInterval - receivedInterval
        let fraction: UInt8 = expectedInterval == 0 || lostInterval <= 0
            ? 0 : UInt8(clamping: (lostInterval << 8) / expectedInterval)
        let dlsr: UInt32 = lastSRArrival.map { (now - $0).compactNTPUnits } ?? 0
        return RTCPReportBlock(
            ssrc: ssrc, fractionLost: fraction,
            cumulativeLost: Int32(clamping: min(max(cumulativeLost, -0x80_0000), 0x7F_FFFF)),
            extendedHighestSequenceNumber: UInt32(truncatingIfNeeded: highest),
            jitter: jitter, lastSenderReport: lastSenderReport, delaySinceLastSenderReport: dlsr)
    }

    private mutating func restart(at seq: RTPSequenceNumber) {
        unwrapper = SerialNumberUnwrapper(space: .sixteenBit)
        baseSequence = unwrapper.unwrap(UInt64(seq.rawValue))
        packetsReceived = 0
        expectedPrior = 0
        receivedPrior = 0
        lastTransit = nil
        lastTimestamp = nil
    }

    private mutating func updateJitter(timestamp: UInt32, now: Duration) {
        defer { lastTimestamp = timestamp }
        // Arrival in RTP units; only differences matter, so 32-bit wrapping arithmetic is exact.
        let transit = UInt32(truncatingIfNeeded: now.ticks(clockRate: clockRate)) &- timestamp
        guard let last = lastTransit, lastTimestamp != timestamp else {
            if lastTransit == nil { lastTransit = transit }
            return
        }
        lastTransit = transit
        let d = Int32(bitPattern: transit &- last).magnitude
        // J += (|D| − J) / 16, with J kept × 16 (RFC 3550 A.8).
        jitterQ4 = jitterQ4 &+ d &- ((jitterQ4 &+ 8) >> 4)
    }
}

extension RTCPReportBlock {
    /// The round-trip time this block reports for one of *our* sender streams (RFC 3550 §6.4.1):
    /// arrival time − LSR − DLSR, in compact NTP units. `arrival` is the NTP time the block arrived at
    /// (see ``NTPClock``). Nil when the block echoes no sender report (LSR 0); a negative result
    /// (clock jitter) is reported as zero.
    public func roundTripTime(arrival: NTPTimestamp) -> Duration? {
        guard lastSenderReport != 0 else { return nil }
        let rtt = arrival.middle32 &- lastSenderReport &- delaySinceLastSenderReport
        guard Int32(bitPattern: rtt) > 0 else { return .zero }
        return .compactNTP(rtt)
    }
}

extension RTCPExtendedReport.DLRRItem {
    /// The round-trip time this DLRR item (RFC 3611 §4.5) reports to *us* as a receiver: the remote
    /// sender echoes the receiver reference time (RRTR) we sent — see
    /// ``RTPReceiveStats/receiverReferenceTime(senderSSRC:ntp:)`` — so arrival − LRR − DLRR is the
    /// RTT towards a producer, which is what ``NACKGenerator/rtt`` wants. `arrival` is the NTP time
    /// the report arrived at; nil when LRR is 0, zero when the arithmetic goes negative.
    public func roundTripTime(arrival: NTPTimestamp) -> Duration? {
        guard lastRR != 0 else { return nil }
        let rtt = arrival.middle32 &- lastRR &- delaySinceLastRR
        guard Int32(bitPattern: rtt) > 0 else { return .zero }
        return .compactNTP(rtt)
    }
}

extension RTPReceiveStats {
    /// An XR packet carrying a receiver reference time report block (RFC 3611 §4.4) at `ntp`, sent by
    /// a receiver (with its receiver reports) so that the sender answers with DLRR and the receiver
    /// learns its round-trip time, as mediasoup's receive streams do.
    public static func receiverReferenceTime(senderSSRC: SSRC, ntp: NTPTimestamp) -> RTCPPacket {
        .extendedReport(RTCPExtendedReport(ssrc: senderSSRC, blocks: [.receiverReferenceTime(ntp)]))
    }
}

