import RTCBase
import RTCP
import RTP

/// Builds transport-wide congestion control feedback (RTPFB FMT 15,
/// draft-holmer-rmcat-transport-wide-cc-extensions-01) for the RTP packets one transport
/// receives, in virtual time — what mediasoup's `TransportCongestionControlServer` and
/// libwebrtc's remote estimator proxy do for a sender's bandwidth estimation.
///
/// ``record(transportSequenceNumber:mediaSSRC:arrival:)`` takes each incoming packet's
/// transport-wide sequence number and arrival time; ``handleTimeout(now:)`` returns the feedback
/// packets due (every ``interval``, 100 ms by default, or at once when ``maxStatusCount``
/// packets are waiting).
///
/// Feedback rules:
/// * A feedback covers consecutive sequence numbers from the first not yet reported to the newest
///   received; lost ones are "not received", and it always ends on a received packet.
/// * The reference time is the first received packet's arrival rounded down to 64 ms; receive
///   deltas count 250 µs from the previous received packet (the first from the reference time),
///   computed on absolute 250 µs ticks so rounding never accumulates. A delta that does not fit
///   16 bits (±8.19 s) ends the feedback and the next one starts from that packet with a new
///   reference time; so does reaching ``maxStatusCount`` statuses.
/// * Duplicates are ignored (the first arrival counts). A packet arriving after its sequence
///   number was reported moves the window back so the next feedback reports it (and repeats the
///   ones after it, which senders accept), as long as it is within the history of
///   ``historyCapacity`` sequence numbers; older ones are dropped.
/// * Each feedback carries the next feedback packet count (8 bits, wrapping).
///
/// Sequence numbers are unwrapped with RTCBase's ``SerialNumberUnwrapper``; arrival times live in a
/// ring allocated once, so recording a packet allocates nothing.
public struct TransportCCFeedbackGenerator: Sendable {
    /// The SSRC put in the sender field of the feedback.
    public let senderSSRC: SSRC
    /// Time between feedback packets.
    public let interval: Duration
    /// Sequence numbers remembered (late packets older than that are ignored), 16...32768.
    public let historyCapacity: Int
    /// Statuses per feedback packet at most, not counting a leading run of losses (which costs one
    /// run-length chunk); 500 keeps the worst case under 1200 bytes.
    public let maxStatusCount: Int

    static let missing = Int64.min
    private var arrivals: [Int64]   // µs, by unwrapped sequence modulo capacity
    private var unwrapper = SerialNumberUnwrapper(space: .sixteenBit)
    /// First sequence number not yet reported (past the newest once everything is reported).
    private var windowStart: Int64?
    /// Whether some recorded packet has not been reported yet.
    private var hasPending: Bool {
        guard let w = windowStart, let h = unwrapper.highest else { return false }
        return w <= h
    }
    private var nextFeedbackAt: Duration?
    private var lastSentAt: Duration?
    private var dueNow = false
    /// The feedback packet count of the next feedback.
    public private(set) var feedbackPacketCount: UInt8 = 0
    /// The media SSRC of the latest packet recorded (the feedback's media SSRC field).
    public private(set) var mediaSSRC: SSRC = 0

    /// A generator sending from `senderSSRC` (mediasoup uses 0).
    public init(senderSSRC: SSRC = 0, interval: Duration = .milliseconds(100), historyCapacity: Int = 4_096,
                maxStatusCount: Int = 500) {
        self.senderSSRC = senderSSRC
        self.interval = interval
        let capacity = min(max(16, historyCapacity), 1 << 15)
        self.historyCapacity = capacity
        self.maxStatusCount = min(max(1, maxStatusCount), 1 << 15)
        self.arrivals = Array(repeating: Self.missing, count: capacity)
    }

    /// Records an incoming packet carrying the transport-wide sequence number `sequenceNumber`.
    public mutating func record(transportSequenceNumber sequenceNumber: UInt16, mediaSSRC: SSRC, arrival: Duration) {
        let raw = UInt64(sequenceNumber)
        let arrivalUs = arrival.totalMicroseconds
        self.mediaSSRC = mediaSSRC
        guard let highest = unwrapper.highest else {
            let seq = unwrapper.unwrap(raw)
            arrivals[slot(seq)] = arrivalUs
            windowStart = seq
            scheduleFeedback(arrival)
            return
        }
        let seq = unwrapper.peek(raw)
        let oldest = highest - Int64(historyCapacity) + 1
        if seq > highest {
            _ = unwrapper.unwrap(raw)
            // Forget what the ring slots held for the sequence numbers skipped over.
            var s = max(highest + 1, seq - Int64(historyCapacity) + 1)
            while s < seq { arrivals[slot(s)] = Self.missing; s += 1 }
            arrivals[slot(seq)] = arrivalUs
            let newOldest = seq - Int64(historyCapacity) + 1
            if let w = windowStart { windowStart = max(w, newOldest) } else { windowStart = seq }
        } else {
            guard seq >= oldest, arrivals[slot(seq)] == Self.missing else { return }   // too old, or duplicate
            arrivals[slot(seq)] = arrivalUs
            if let w = windowStart { windowStart = min(w, seq) } else { windowStart = seq }
        }
        scheduleFeedback(arrival)
        if let w = windowStart, let h = unwrapper.highest, h - w + 1 >= Int64(maxStatusCount) {
            dueNow = true
            nextFeedbackAt = min(nextFeedbackAt ?? arrival, arrival)
        }
    }

    /// Records `packet` if it carries a transport-wide sequence number under `extensions`;
    /// returns whether it did.
    @discardableResult
    public mutating func record(_ packet: RTPPacket, extensions: RTPHeaderExtensionMap, arrival: Duration) -> Bool {
        guard let seq = packet.transportSequenceNumber(extensions) else { return false }
        record(transportSequenceNumber: seq, mediaSSRC: packet.ssrc, arrival: arrival)
        return true
    }

    /// When ``handleTimeout(now:)`` should run next, or nil when nothing waits to be reported.
    public var nextDeadline: Duration? {
        hasPending ? nextFeedbackAt : nil
    }

    /// The feedback packets due at `now` (none before ``nextDeadline``).
    public mutating func handleTimeout(now: Duration) -> [RTCPPacket] {
        guard let next = nextFeedbackAt, now >= next || dueNow else { return [] }
        let out = buildFeedback()
        dueNow = false
        nextFeedbackAt = hasPending ? now + interval : nil
        lastSentAt = now
        return out
    }

    /// Builds every feedback for the window now, advancing it.
    private mutating func buildFeedback() -> [RTCPPacket] {
        guard var start = windowStart, let highest = unwrapper.highest else { return [] }
        var out: [RTCPPacket] = []
        var deltas: [Int16?] = []
        deltas.reserveCapacity(min(maxStatusCount, Int(highest - start + 1)))
        while start <= highest {
            // The first received packet sets the reference time.
            var first = start
            while first <= highest && arrivals[slot(first)] == Self.missing { first += 1 }
            guard first <= highest else { break }
            let reference = floorDiv(arrivals[slot(first)], 64_000)
            var previousTicks = reference &* 256
            deltas.removeAll(keepingCapacity: true)
            var lastReceived = -1
            var seq = start
            let leadingLosses = Int(first - start)   // one run-length chunk: exempt from the budget
            while seq <= highest && deltas.count - leadingLosses < maxStatusCount {
                let a = arrivals[slot(seq)]
                if a == Self.missing {
                    deltas.append(nil)
                } else {
                    let ticks = roundedTicks(a)
                    let delta = ticks &- previousTicks
                    guard let d = Int16(exactly: delta) else { break }
                    deltas.append(d)
                    previousTicks = ticks
                    lastReceived = deltas.count - 1
                }
                seq += 1
            }
            deltas.removeSubrange((lastReceived + 1)...)   // end on a received packet
            out.append(.transportFeedback(RTCPTransportFeedback(
                senderSSRC: senderSSRC, mediaSSRC: mediaSSRC,
                baseSequenceNumber: UInt16(truncatingIfNeeded: start),
                referenceTime: Int32(truncatingIfNeeded: (reference << 40) >> 40),   // signed 24 bits
                feedbackPacketCount: feedbackPacketCount, deltas: deltas)))
            feedbackPacketCount &+= 1
            start += Int64(deltas.count)
        }
        windowStart = start
        return out
    }

    private mutating func scheduleFeedback(_ now: Duration) {
        if nextFeedbackAt == nil {
            // First packet after idle: keep the periodic rhythm if one ran, else start one now.
            nextFeedbackAt = lastSentAt.map { max($0 + interval, now) } ?? now + interval
        }
    }

    private func slot(_ seq: Int64) -> Int {
        let m = seq % Int64(historyCapacity)
        return Int(m < 0 ? m + Int64(historyCapacity) : m)
    }

    /// Arrival in 250 µs ticks, rounded to nearest.
    private func roundedTicks(_ us: Int64) -> Int64 { floorDiv(us &+ 125, 250) }

    private func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }
}
