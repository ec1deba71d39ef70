import RTCBase
import RTCP

/// One packet a transport sent with a transport-wide sequence number, as congestion control remembers it.
public struct SentPacket: Hashable, Sendable {
    /// The transport-wide sequence number, unwrapped (monotonic).
    public var sequence: Int64
    /// When it left the pacer (the caller's clock).
    public var sendTime: Duration
    /// Bytes on the wire: RTP and SRTP trailer plus UDP/IPv4 headers (``TransportPacketHistory/wireOverhead``).
    public var size: Int
    /// The probe cluster it was sent in, nil outside probes.
    public var probeCluster: Int?

    public init(sequence: Int64, sendTime: Duration, size: Int, probeCluster: Int? = nil) {
        self.sequence = sequence
        self.sendTime = sendTime
        self.size = size
        self.probeCluster = probeCluster
    }
}

/// A sent packet and what the receiver's transport-cc feedback said of it.
public struct PacketFeedback: Hashable, Sendable {
    /// The packet as sent.
    public var sent: SentPacket
    /// When it arrived, on the receiver's clock (only differences mean anything); nil when reported lost.
    public var arrival: Duration?

    public init(sent: SentPacket, arrival: Duration?) {
        self.sent = sent
        self.arrival = arrival
    }
}

/// What one transport-cc feedback message said about packets this transport sent.
public struct TransportFeedbackReport: Hashable, Sendable {
    /// When the feedback was received (the caller's clock).
    public var receivedAt: Duration
    /// Packets the feedback covered that are still in the history and were not acknowledged before, in sequence
    /// order.
    public var packets: [PacketFeedback]

    /// Packets reported received.
    public var receivedCount: Int { packets.count { $0.arrival != nil } }
    /// Packets reported lost.
    public var lostCount: Int { packets.count { $0.arrival == nil } }

    /// The received packets ordered by arrival (then by sequence number): what the delay-based detector reads.
    public var receivedByArrival: [PacketFeedback] {
        packets.filter { $0.arrival != nil }.sorted {
            ($0.arrival!, $0.sent.sequence) < ($1.arrival!, $1.sent.sequence)
        }
    }
}

/// The send-side record of transport-wide sequence numbers (draft-holmer-rmcat-transport-wide-cc-extensions-01):
/// every packet stamped with a number is recorded here when it leaves, and each feedback message is matched
/// against the record, giving send time, size and arrival time (or loss) per packet.
///
/// A ring of ``capacity`` entries indexed by the low bits of the unwrapped number (4096: over a second of
/// packets at 20 Mbit/s, while feedback comes every 50–250 ms). A packet is acknowledged once: a number reported
/// received a second time is ignored; one reported lost and later received counts as received.
/// Sans-IO: nothing here reads a clock.
public struct TransportPacketHistory: Sendable {
    /// Bytes a packet costs on the wire beyond its RTP bytes: the SRTP authentication tag (10) and UDP (8) and
    /// IPv4 (20) headers. Congestion control counts wire bytes, as libwebrtc's send-side estimation does.
    public static let wireOverhead = 38
    /// Entries kept.
    public static let capacity = 4096

    struct Entry {
        var sequence: Int64 = -1
        var sendMicroseconds: Int64 = 0
        var size: Int32 = 0
        var probeCluster: Int32 = -1
        /// 0: not reported; 1: reported lost; 2: reported received.
        var reported: UInt8 = 0
    }

    var entries: [Entry]
    var sent = SerialNumberUnwrapper(bits: 16)

    public init() { entries = Array(repeating: Entry(), count: Self.capacity) }

    /// The newest unwrapped number recorded, nil before the first.
    public var newestSequence: Int64? { sent.highest }

    /// Records a packet with transport-wide number `sequence`, `size` wire bytes, sent at `time`.
    @discardableResult
    public mutating func sent(sequence: UInt16, size: Int, at time: Duration, probeCluster: Int? = nil) -> Int64 {
        let unwrapped = sent.unwrap(UInt64(sequence))
        entries[Int(unwrapped & Int64(Self.capacity - 1))] = Entry(
            sequence: unwrapped, sendMicroseconds: time.totalMicroseconds, size: Int32(clamping: size),
            probeCluster: Int32(clamping: probeCluster ?? -1))
        return unwrapped
    }

    /// The recorded packet with unwrapped number `sequence`, if still kept.
    public func packet(_ sequence: Int64) -> SentPacket? {
        let e = entries[Int(sequence & Int64(Self.capacity - 1))]
        guard e.sequence == sequence else { return nil }
        return SentPacket(sequence: sequence, sendTime: .microseconds(e.sendMicroseconds), size: Int(e.size),
                          probeCluster: e.probeCluster < 0 ? nil : Int(e.probeCluster))
    }

    /// Matches `feedback` (received at `now`) against the record. Arrival times are the feedback's reference time
    /// plus its deltas (the draft's units: 64 ms for the reference, 250 µs per delta tick). Feedback numbers are
    /// placed next to the newest number sent (feedback is about the past).
    public mutating func process(_ feedback: RTCPTransportFeedback, now: Duration) -> TransportFeedbackReport {
        var report = TransportFeedbackReport(receivedAt: now, packets: [])
        guard let newest = sent.highest else { return report }
        let newestRaw = UInt64(bitPattern: newest) & 0xFFFF
        let base = newest + SerialNumberSpace.sixteenBit.distance(from: newestRaw, to: UInt64(feedback.baseSequenceNumber))
        report.packets.reserveCapacity(Int(feedback.statusCount))
        feedback.forEachPacket { offset, arrived in
            let sequence = base + Int64(offset)
            let slot = Int(sequence & Int64(Self.capacity - 1))
            guard sequence >= 0, entries[slot].sequence == sequence else { return }
            if entries[slot].reported == 2 || (arrived == nil && entries[slot].reported != 0) { return }
            entries[slot].reported = arrived == nil ? 1 : 2
            let e = entries[slot]
            let packet = SentPacket(sequence: sequence, sendTime: .microseconds(e.sendMicroseconds), size: Int(e.size),
                                    probeCluster: e.probeCluster < 0 ? nil : Int(e.probeCluster))
            report.packets.append(PacketFeedback(sent: packet, arrival: arrived.map { .microseconds($0) }))
        }
        return report
    }
}
