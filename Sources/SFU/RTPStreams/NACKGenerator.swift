import RTCBase
import RTCP
import RTP

/// Detects lost packets of one incoming video stream and decides when to ask for them with RTCP
/// generic NACKs (RFC 4585 §6.2.1), mediasoup `NackGenerator`-style, in virtual time.
///
/// Every packet of the stream (and every packet recovered from its RTX stream, flagged
/// `isRecovered`) goes through ``received(sequenceNumber:isKeyFrame:isRecovered:now:)``. A forward
/// gap puts the missing sequence numbers on the NACK list, due at once (or after
/// ``Configuration/sendDelay``); ``handleTimeout(now:)`` returns the sequence numbers to request
/// now and ``nextDeadline`` says when to call it next. Each entry is re-requested no sooner than one
/// round-trip time after its previous request (``rtt``, ``Configuration/defaultRTT`` when unknown),
/// and dropped after ``Configuration/maxRetries`` requests, after ``Configuration/maxAge``, or
/// when the packet (or its RTX copy) arrives.
///
/// Bounds: entries more than ``Configuration/maxSequenceAge`` behind the newest packet are
/// forgotten; when the list would exceed ``Configuration/maxListSize`` entries, those older than
/// the latest key frame are dropped, and if that is not enough the list is cleared and
/// ``needsKeyFrame`` is raised: asking for a key frame is cheaper than asking for that many
/// packets. With ``Configuration/clearOnKeyFrame`` (the default) the arrival of a key frame's first
/// packet also drops every entry older than it, since a decoder restarting at the key frame no
/// longer needs them.
///
/// Sequence numbers are unwrapped to 64 bits with RTCBase's ``SerialNumberUnwrapper``, so the
/// 65535 → 0 wrap and reordering need no special cases. The list is a sorted array whose capacity
/// is reserved once; a packet arriving in order costs no allocation.
public struct NACKGenerator: Sendable {
    /// Limits and timings.
    public struct Configuration: Sendable, Hashable {
        /// Requests per missing packet before giving up on it (mediasoup: 10).
        public var maxRetries: Int = 10
        /// Age after which a missing packet is given up even if retries remain.
        public var maxAge: Duration = .seconds(1)
        /// Missing packets further than this behind the newest one are forgotten (mediasoup: 10000).
        public var maxSequenceAge: Int64 = 10_000
        /// Largest NACK list; beyond it, a key frame is requested instead (mediasoup: 1000).
        public var maxListSize: Int = 1_000
        /// Round-trip time assumed until ``NACKGenerator/rtt`` is set (mediasoup: 100 ms).
        public var defaultRTT: Duration = .milliseconds(100)
        /// Wait before the first request for a new gap, to let reordered packets arrive (0: at once).
        public var sendDelay: Duration = .zero
        /// Drop entries older than a key frame when its first packet arrives.
        public var clearOnKeyFrame: Bool = true
        /// Ask for a key frame when a missing packet is given up on (the frames after it cannot be decoded
        /// until one comes; waiting for the receivers to notice costs seconds of frozen video).
        public var keyFrameOnGiveUp: Bool = true
        /// The defaults above.
        public init() {}
    }

    /// What a packet meant to the generator.
    public enum Arrival: Hashable, Sendable {
        /// The first packet, or a packet newer than every packet so far.
        case new
        /// A packet that was on the NACK list; `requested` when a NACK had already been sent for it.
        case repaired(requested: Bool)
        /// A duplicate, a packet recovered twice, or a late packet not on the list (given up,
        /// reordered before its gap was seen, or older than the list's reach).
        case old
    }

    struct Entry: Sendable {
        var sequence: Int64
        var createdAt: Duration
        var sentAt: Duration?
        var retries: Int
    }

    /// The configuration in use.
    public let configuration: Configuration
    /// The current round-trip time estimate (from RTCP), or nil to use the default.
    public var rtt: Duration?

    private var unwrapper = SerialNumberUnwrapper(space: .sixteenBit)
    private var entries: [Entry] = []
    /// First packets of recent key frames, ascending, unwrapped.
    private var keyFrames: [Int64] = []
    /// Packets newer than the newest media packet that arrived through RTX first, ascending.
    private var recovered: [Int64] = []
    private var cachedDeadline: Duration?

    /// Set when the list overflowed and was cleared: the caller should request a key frame
    /// (``pollKeyFrameRequest()`` reads and clears it).
    public private(set) var needsKeyFrame = false

    /// A generator with the given limits.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        entries.reserveCapacity(min(max(0, configuration.maxListSize), 1 << 15))
        keyFrames.reserveCapacity(16)
        recovered.reserveCapacity(16)
    }

    /// The sequence numbers currently on the NACK list, oldest first.
    public var missing: [RTPSequenceNumber] {
        entries.map { RTPSequenceNumber(UInt16(truncatingIfNeeded: $0.sequence)) }
    }

    /// The newest sequence number seen (recovered packets excluded).
    public var highestSequenceNumber: RTPSequenceNumber? {
        unwrapper.highest.map { RTPSequenceNumber(UInt16(truncatingIfNeeded: $0)) }
    }

    /// Returns ``needsKeyFrame`` and clears it.
    public mutating func pollKeyFrameRequest() -> Bool {
        defer { needsKeyFrame = false }
        return needsKeyFrame
    }

    /// When ``handleTimeout(now:)`` should run next, or nil when nothing is pending. May be early
    /// (an entry removed since it was computed); a call then simply returns nothing.
    public var nextDeadline: Duration? { entries.isEmpty ? nil : cachedDeadline }

    /// Records a packet of the stream (or, with `isRecovered`, one restored from its RTX stream).
    /// `isKeyFrame` marks the first packet of a key frame.
    @discardableResult
    public mutating func received(sequenceNumber: RTPSequenceNumber, isKeyFrame: Bool, isRecovered: Bool,
                                  now: Duration) -> Arrival {
        let raw = UInt64(sequenceNumber.rawValue)
        guard let last = unwrapper.highest else {
            let seq = unwrapper.unwrap(raw)
            if isKeyFrame { keyFrames.append(seq) }
            return .new
        }
        let seq = unwrapper.peek(raw)
        if seq <= last {
            guard let index = entryIndex(of: seq) else { return .old }
            let requested = entries[index].retries > 0
            entries.remove(at: index)
            return .repaired(requested: requested)
        }
        if isRecovered {
            // Retransmitted before we even saw the gap: remember it so the gap skips it.
            if recovered.last.map({ seq > $0 }) ?? true { recovered.append(seq) }
            Self.pruneFront(&recovered, below: seq - configuration.maxSequenceAge)
            return .new
        }
        _ = unwrapper.unwrap(raw)
        if isKeyFrame {
            keyFrames.append(seq)
            if configuration.clearOnKeyFrame { removeEntries(below: seq) }
        }
        Self.pruneFront(&keyFrames, below: seq - configuration.maxSequenceAge)
        // Packets before a key frame's first packet are not worth asking for when clearing on key frames.
        if seq > last + 1 && !(isKeyFrame && configuration.clearOnKeyFrame) {
            addMissing(from: last + 1, upTo: seq, now: now)
        }
        Self.pruneFront(&recovered, below: seq)
        return .new
    }

    /// The sequence numbers to NACK at `now`, oldest first: new gaps whose send delay has passed
    /// and entries whose previous request is at least one RTT old. Gives up on entries that reached
    /// their retry or age limit.
    public mutating func handleTimeout(now: Duration) -> [UInt16] {
        guard !entries.isEmpty else { cachedDeadline = nil; return [] }
        let rtt = self.rtt ?? configuration.defaultRTT
        var out: [UInt16] = []
        var next: Duration?
        var write = 0
        for read in entries.indices {
            var e = entries[read]
            if now - e.createdAt >= configuration.maxAge {   // too old: give up
                if configuration.keyFrameOnGiveUp { needsKeyFrame = true }
                continue
            }
            let due = e.sentAt.map { $0 + rtt } ?? e.createdAt + configuration.sendDelay
            if due <= now {
                out.append(UInt16(truncatingIfNeeded: e.sequence))
                e.retries += 1
                e.sentAt = now
                if e.retries >= configuration.maxRetries {   // last request sent: give up
                    if configuration.keyFrameOnGiveUp { needsKeyFrame = true }
                    continue
                }
            }
            let nextDue = e.sentAt.map { $0 + rtt } ?? e.createdAt + configuration.sendDelay
            next = next.map { min($0, nextDue) } ?? nextDue
            entries[write] = e
            write += 1
        }
        entries.removeSubrange(write...)
        cachedDeadline = next
        return out
    }

    /// An RTCP generic NACK for `lost` (as returned by ``handleTimeout(now:)``), using the RTCP
    /// module's (PID, BLP) packing.
    public static func nackPacket(senderSSRC: SSRC, mediaSSRC: SSRC, lost: [UInt16]) -> RTCPPacket {
        .nack(RTCPGenericNACK(senderSSRC: senderSSRC, mediaSSRC: mediaSSRC, lost: lost))
    }

    /// Forgets everything (e.g. when the stream's sender restarts).
    public mutating func reset() {
        unwrapper = SerialNumberUnwrapper(space: .sixteenBit)
        entries.removeAll(keepingCapacity: true)
        keyFrames.removeAll(keepingCapacity: true)
        recovered.removeAll(keepingCapacity: true)
        cachedDeadline = nil
        needsKeyFrame = false
    }

    // MARK: - List maintenance

    private mutating func addMissing(from start: Int64, upTo end: Int64, now: Duration) {
        removeEntries(below: end - configuration.maxSequenceAge)
        let newCount = Int(clamping: end - start)
        if entries.count + newCount > configuration.maxListSize {
            // Drop what a key frame made useless, newest key frame last.
            for k in keyFrames where entries.count + newCount > configuration.maxListSize {
                removeEntries(below: k)
            }
            if entries.count + newCount > configuration.maxListSize {
                entries.removeAll(keepingCapacity: true)
                needsKeyFrame = true
                return
            }
        }
        // A deadline cached while earlier entries were pending says nothing once they are gone: starting from it
        // would report a time long past (and a timer driven by it would fire at once, "late").
        let pending = entries.isEmpty ? nil : cachedDeadline
        var r = recovered.startIndex
        for seq in max(start, end - configuration.maxSequenceAge)..<end {
            while r < recovered.endIndex && recovered[r] < seq { r += 1 }
            if r < recovered.endIndex && recovered[r] == seq { continue }
            entries.append(Entry(sequence: seq, createdAt: now, sentAt: nil, retries: 0))
        }
        let due = now + configuration.sendDelay
        cachedDeadline = pending.map { min($0, due) } ?? due
    }

    private mutating func removeEntries(below seq: Int64) {
        let n = lowerBound(seq)
        if n > 0 { entries.removeFirst(n) }
    }

    private func lowerBound(_ seq: Int64) -> Int {
        var lo = 0, hi = entries.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if entries[mid].sequence < seq { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    private func entryIndex(of seq: Int64) -> Int? {
        let i = lowerBound(seq)
        return i < entries.count && entries[i].sequence == seq ? i : nil
    }

    private static func pruneFront(_ list: inout [Int64], below seq: Int64) {
        var n = 0
        while n < list.count && list[n] < seq { n += 1 }
        if n > 0 { list.removeFirst(n) }
    }
}
