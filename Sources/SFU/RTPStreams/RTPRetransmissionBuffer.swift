import RTCBase
import RTCP
import RTP

/// The packets recently sent on one outgoing stream, kept so NACKed ones can be sent again
/// (mediasoup `RtpRetransmissionBuffer` + the resend rules of `RtpStreamSend`).
///
/// A fixed-capacity ring indexed by the unwrapped sequence number (RTCBase's
/// ``SerialNumberUnwrapper``), allocated once: storing a packet writes one slot and keeps a
/// reference to the packet's buffer (copy-on-write, so nothing is copied). A slot is overwritten
/// when a packet `capacity` sequence numbers newer arrives, so a lookup also checks the slot holds
/// the sequence number asked for.
///
/// Lookups apply two rules before handing a packet out: it must have been sent less than
/// ``maxAge`` ago (an older retransmission would arrive too late to be played), and it must not
/// have been resent within the last round-trip time (a NACK repeated before our retransmission
/// could arrive would otherwise double the traffic).
public struct RTPRetransmissionBuffer: Sendable {
    /// The result of a lookup.
    public enum Lookup: Sendable, Hashable {
        /// Send this packet again (it is now marked as resent at `now`).
        case packet(RTPPacket)
        /// Never stored, or already overwritten by a newer packet.
        case notFound
        /// Stored, but sent ``RTPRetransmissionBuffer/maxAge`` or longer ago.
        case tooOld
        /// Already resent less than one round-trip time ago.
        case resentRecently
    }

    struct Slot: Sendable {
        var sequence: Int64
        var packet: RTPPacket
        var sentAt: Duration
        var resentAt: Duration?
    }

    /// How many packets the ring holds.
    public let capacity: Int
    /// Packets sent this long ago or longer are not resent.
    public let maxAge: Duration
    /// Round-trip time assumed by lookups that are given none.
    public let defaultRTT: Duration

    private var slots: [Slot?]
    private var unwrapper = SerialNumberUnwrapper(space: .sixteenBit)

    /// A buffer for `capacity` packets (mediasoup keeps up to 2500 for video), resending packets
    /// younger than `maxAge` (mediasoup: 2 s for video, 1 s for audio).
    public init(capacity: Int = 2_500, maxAge: Duration = .seconds(2), defaultRTT: Duration = .milliseconds(100)) {
        self.capacity = max(1, capacity)
        self.maxAge = maxAge
        self.defaultRTT = defaultRTT
        self.slots = Array(repeating: nil, count: max(1, capacity))
    }

    /// Keeps `packet`, sent at `now`, under its sequence number.
    public mutating func store(_ packet: RTPPacket, now: Duration) {
        let raw = UInt64(packet.sequenceNumber.rawValue)
        if let highest = unwrapper.highest, unwrapper.peek(raw) <= highest - Int64(capacity) {
            return   // older than anything the ring can hold
        }
        let seq = unwrapper.unwrap(raw)
        slots[index(seq)] = Slot(sequence: seq, packet: packet, sentAt: now, resentAt: nil)
    }

    /// Whether a packet with sequence number `seq` is held (whatever its age): a second copy of it is a
    /// duplicate.
    public func contains(_ seq: RTPSequenceNumber) -> Bool {
        guard unwrapper.highest != nil else { return false }
        let ext = unwrapper.peek(UInt64(seq.rawValue))
        return slots[index(ext)]?.sequence == ext
    }

    /// How many sequence numbers `seq` is behind the newest stored one (negative: ahead of it), nil before the
    /// first packet. At ``capacity`` or more the ring cannot tell a copy of `seq` from its first arrival.
    public func age(of seq: RTPSequenceNumber) -> Int64? {
        guard let highest = unwrapper.highest else { return nil }
        return highest - unwrapper.peek(UInt64(seq.rawValue))
    }

    /// The packet with sequence number `seq` if it may be resent at `now` (see the type's rules);
    /// `rtt` is the current round-trip estimate (nil: ``defaultRTT``).
    public mutating func packet(for seq: RTPSequenceNumber, now: Duration, rtt: Duration? = nil) -> Lookup {
        guard unwrapper.highest != nil else { return .notFound }
        let ext = unwrapper.peek(UInt64(seq.rawValue))
        let i = index(ext)
        guard var slot = slots[i], slot.sequence == ext else { return .notFound }
        if now - slot.sentAt >= maxAge { return .tooOld }
        if let resent = slot.resentAt, now - resent < (rtt ?? defaultRTT) { return .resentRecently }
        slot.resentAt = now
        let packet = slot.packet
        slots[i] = slot
        return .packet(packet)
    }

    /// The packets to resend for a generic NACK, in the NACK's order (entries that may not be
    /// resent are skipped).
    public mutating func packets(for nack: RTCPGenericNACK, now: Duration, rtt: Duration? = nil) -> [RTPPacket] {
        var out: [RTPPacket] = []
        for seq in nack.lostSequenceNumbers {
            if case .packet(let p) = packet(for: RTPSequenceNumber(seq), now: now, rtt: rtt) { out.append(p) }
        }
        return out
    }

    /// Forgets every packet.
    public mutating func removeAll() {
        for i in slots.indices { slots[i] = nil }
        unwrapper = SerialNumberUnwrapper(space: .sixteenBit)
    }

    private func index(_ seq: Int64) -> Int {
        let m = seq % Int64(capacity)
        return Int(m < 0 ? m + Int64(capacity) : m)
    }
}

/// The state of one RTX stream (RFC 4588): its SSRC, payload type and its own sequence
/// numbers, turning original packets into retransmissions with the RTP module's RTX
/// encapsulation (the original sequence number in the first two payload bytes).
public struct RTXEncoder: Sendable, Hashable {
    /// The RTX stream's SSRC.
    public let ssrc: SSRC
    /// The RTX payload type (associated with the media payload type by `apt`).
    public let payloadType: PayloadType
    /// The sequence number the next RTX packet gets.
    public private(set) var nextSequenceNumber: RTPSequenceNumber

    /// An RTX stream starting at `initialSequenceNumber` (the caller draws it at random, RFC 3550 §5.1).
    public init(ssrc: SSRC, payloadType: PayloadType, initialSequenceNumber: RTPSequenceNumber) {
        self.ssrc = ssrc
        self.payloadType = payloadType
        self.nextSequenceNumber = initialSequenceNumber
    }

    /// The next sequence number of this stream, for a packet built on it directly (padding).
    public mutating func takeSequenceNumber() -> RTPSequenceNumber {
        defer { nextSequenceNumber = nextSequenceNumber.advanced(by: 1) }
        return nextSequenceNumber
    }

    /// `packet` as the next RTX packet of this stream.
    public mutating func encapsulate(_ packet: RTPPacket) -> RTPPacket {
        defer { nextSequenceNumber = nextSequenceNumber.advanced(by: 1) }
        return packet.rtxEncapsulated(ssrc: ssrc, payloadType: payloadType, sequenceNumber: nextSequenceNumber)
    }
}
