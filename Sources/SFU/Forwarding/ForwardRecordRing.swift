import RTP

/// The ``ForwardRecord``s of the packets one consumer sent recently, by outgoing sequence number: what a NACK
/// from the consumer's browser is answered from, while the packets themselves stay once in the producer's
/// store (``RTPRetransmissionBuffer`` per layer) instead of once per consumer.
///
/// A fixed ring allocated once; its capacity is a power of two dividing 65536, so a slot is found from the
/// 16-bit sequence number alone and holds that number to check it. The resend rules are those of
/// ``RTPRetransmissionBuffer``: nothing sent ``maxAge`` ago or earlier (also what keeps a slot from being
/// confused with one 65536 packets older), and not the same packet again within one round-trip time.
public struct ForwardRecordRing: Sendable {
    struct Slot: Sendable {
        var record: ForwardRecord
        var sentAt: Duration
        var resentAt: Duration?
    }

    /// Slots in the ring (a power of two).
    public let capacity: Int
    /// Packets sent this long ago or longer are not resent.
    public let maxAge: Duration
    /// Round-trip time assumed when none is given.
    public let defaultRTT: Duration
    private var slots: [Slot?]

    /// A ring of `capacity` slots (rounded up to a power of two, at most 32768).
    public init(capacity: Int = 1_024, maxAge: Duration = .seconds(2), defaultRTT: Duration = .milliseconds(100)) {
        var size = 1
        while size < min(max(1, capacity), 32_768) { size <<= 1 }
        self.capacity = size
        self.maxAge = maxAge
        self.defaultRTT = defaultRTT
        slots = Array(repeating: nil, count: size)
    }

    /// Remembers how the packet with `record.header.sequenceNumber` was made, sent at `now`.
    public mutating func store(_ record: ForwardRecord, now: Duration) {
        slots[Int(record.header.sequenceNumber.rawValue) & (capacity - 1)] = Slot(record: record, sentAt: now, resentAt: nil)
    }

    /// The record of outgoing packet `seq` if it may be resent at `now` (it is then marked as resent).
    public mutating func record(for seq: RTPSequenceNumber, now: Duration, rtt: Duration? = nil) -> ForwardRecord? {
        let i = Int(seq.rawValue) & (capacity - 1)
        guard var slot = slots[i], slot.record.header.sequenceNumber == seq, now - slot.sentAt < maxAge else { return nil }
        if let resent = slot.resentAt, now - resent < (rtt ?? defaultRTT) { return nil }
        slot.resentAt = now
        slots[i] = slot
        return slot.record
    }
}
