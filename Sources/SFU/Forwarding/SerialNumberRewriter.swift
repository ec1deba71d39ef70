import RTCBase
import RTP

/// Maps a wrapping input counter (RTP sequence numbers, VP8 picture ids, TL0PICIDX) onto a continuous
/// output counter of the same width, for one consumer.
///
/// * **Drops leave no gap**: ``drop(_:)`` on a new input removes it from the output space, so the next
///   forwarded input takes the output the dropped one would have had.
/// * **Reordering**: a late input (older than the newest seen) gets the output reserved for it when it was
///   skipped over, minus the drops decided after it; a late input that was itself dropped is refused.
/// * **Sync points**: after ``resync(skipping:)`` (pause/resume, switching the source stream) the next
///   rewritten input starts a new segment that continues at the last output + 1 (+ `skipping`); inputs
///   older than that segment's first one are refused.
/// * **Wrap**: positions are unwrapped to 64 bits with RTCBase's ``SerialNumberSpace``; outputs wrap at
///   the counter width.
///
/// A late input dropped *after* a newer one was forwarded cannot be taken out of the output any more (its
/// output number was already reserved): it leaves a gap, which the receiver treats as loss.
///
/// Per-call work is allocation-free: the drop history is a fixed ring of ranges of consecutive drops,
/// allocated once. Inputs older than the oldest retained drop range are refused as too old.
public struct SerialNumberRewriter: Sendable, Hashable {
    /// The counter arithmetic (width) of inputs and outputs.
    public let space: SerialNumberSpace
    /// The output of the first rewritten input.
    public let initialOutput: UInt64

    @usableFromInline var started = false
    @usableFromInline var syncPending = false
    @usableFromInline var pendingSkip: Int64 = 0
    /// Newest input position (unwrapped).
    @usableFromInline var maxInput: Int64 = 0
    /// Newest output position (unwrapped).
    @usableFromInline var maxOutput: Int64 = 0
    /// output = input + offset for inputs newer than `maxInput`.
    @usableFromInline var offset: Int64 = 0
    /// Inputs at or below this position are refused (before the segment start, or history evicted).
    @usableFromInline var horizon: Int64 = 0
    /// Ring of dropped ranges (first...last positions), oldest first from `dropHead`.
    @usableFromInline var dropFirst: [Int64]
    @usableFromInline var dropLast: [Int64]
    @usableFromInline var dropHead = 0
    @usableFromInline var dropCount = 0

    /// A rewriter for a counter of `space`, whose first output is `initialOutput` (masked to the
    /// width), remembering up to `dropHistory` ranges of consecutive drops (at least 1).
    public init(space: SerialNumberSpace, initialOutput: UInt64 = 0, dropHistory: Int = 32) {
        self.space = space
        self.initialOutput = initialOutput & space.mask
        let capacity = max(1, dropHistory)
        dropFirst = Array(repeating: 0, count: capacity)
        dropLast = Array(repeating: 0, count: capacity)
    }

    /// Whether an input has been rewritten yet.
    public var hasStarted: Bool { started }

    /// The newest output so far (wrapped), or nil before the first rewrite.
    public var highestOutput: UInt64? { started ? UInt64(bitPattern: maxOutput) & space.mask : nil }

    /// The newest input so far (wrapped), or nil before the first rewrite.
    public var highestInput: UInt64? { started ? UInt64(bitPattern: maxInput) & space.mask : nil }

    /// Makes the next rewritten input start a new segment continuing at the newest output + 1 +
    /// `skipping` (before the first rewrite: at ``initialOutput`` + `skipping`). Use after a pause or
    /// when the source stream changes; `skipping: 1` leaves a one-number gap, which tells a receiver that
    /// the last frame before the switch is incomplete.
    public mutating func resync(skipping: Int = 0) {
        syncPending = true
        pendingSkip = Int64(max(0, skipping))
    }

    /// Whether a ``resync(skipping:)`` waits for its first input.
    public var isSyncPending: Bool { syncPending }

    @inlinable func position(of input: UInt64) -> Int64 {
        maxInput + space.distance(from: UInt64(bitPattern: maxInput) & space.mask, to: input & space.mask)
    }

    @inlinable func wrapped(_ position: Int64) -> UInt64 { UInt64(bitPattern: position) & space.mask }

    /// The output for `input`, or nil when it must not be forwarded: it was dropped, it precedes the
    /// current segment, or it is older than the retained drop history.
    public mutating func rewrite(_ input: UInt64) -> UInt64? {
        if !started || syncPending {
            let position = Int64(input & space.mask)
            let out = started ? maxOutput + 1 + pendingSkip : Int64(initialOutput) + pendingSkip
            offset = out - position
            maxInput = position
            maxOutput = out
            horizon = position - 1
            dropHead = 0
            dropCount = 0
            started = true
            syncPending = false
            pendingSkip = 0
            return wrapped(out)
        }
        let position = position(of: input)
        if position > maxInput {
            let out = position + offset
            maxInput = position
            maxOutput = out
            return wrapped(out)
        }
        if position <= horizon { return nil }
        // Late (or repeated) input: add back the drops decided after it.
        var dropsAfter: Int64 = 0
        var k = dropCount
        while k > 0 {
            k -= 1
            let slot = (dropHead + k) % dropFirst.count
            if dropFirst[slot] > position {
                dropsAfter += dropLast[slot] - dropFirst[slot] + 1
            } else if dropLast[slot] >= position {
                return nil
            } else {
                break
            }
        }
        return wrapped(position + offset + dropsAfter)
    }

    /// Marks `input` as not forwarded. A new input (newer than every input so far) leaves no gap; an
    /// input before the first rewrite or while a resync is pending changes nothing; a late input
    /// changes nothing (its output number stays a gap).
    public mutating func drop(_ input: UInt64) {
        guard started, !syncPending else { return }
        let position = position(of: input)
        guard position > maxInput else { return }
        offset -= 1
        if dropCount > 0 {
            let newest = (dropHead + dropCount - 1) % dropFirst.count
            if dropLast[newest] == maxInput, position == maxInput + 1 {
                dropLast[newest] = position
                maxInput = position
                return
            }
        }
        if dropCount == dropFirst.count {
            horizon = max(horizon, dropLast[dropHead])
            dropHead = (dropHead + 1) % dropFirst.count
            dropCount -= 1
        }
        let slot = (dropHead + dropCount) % dropFirst.count
        dropFirst[slot] = position
        dropLast[slot] = position
        dropCount += 1
        maxInput = position
    }
}

/// ``SerialNumberRewriter`` typed for RTP sequence numbers: one consumer's continuous outgoing sequence
/// across drops, pauses, resumes and source (simulcast layer) switches.
public struct RTPSequenceRewriter: Sendable, Hashable {
    @usableFromInline var inner: SerialNumberRewriter

    /// A rewriter whose first output is `initialOutput` (pick it at random, RFC 3550 §5.1).
    public init(initialOutput: RTPSequenceNumber, dropHistory: Int = 32) {
        inner = SerialNumberRewriter(space: .sixteenBit, initialOutput: UInt64(initialOutput.rawValue), dropHistory: dropHistory)
    }

    /// The outgoing sequence number for `input`, or nil when it must not be sent (dropped, from before
    /// the current sync point, or too old).
    @inlinable public mutating func rewrite(_ input: RTPSequenceNumber) -> RTPSequenceNumber? {
        inner.rewrite(UInt64(input.rawValue)).map { RTPSequenceNumber(rawValue: UInt16(truncatingIfNeeded: $0)) }
    }

    /// Takes `input` out of the outgoing sequence (no gap when it is the newest input so far).
    @inlinable public mutating func drop(_ input: RTPSequenceNumber) { inner.drop(UInt64(input.rawValue)) }

    /// Starts a new segment at the next rewritten input: it continues at the newest output + 1 + `skipping`.
    public mutating func resync(skipping: Int = 0) { inner.resync(skipping: skipping) }

    /// Whether a resync waits for its first input.
    public var isSyncPending: Bool { inner.isSyncPending }

    /// The newest outgoing sequence number, nil before the first.
    public var highestOutput: RTPSequenceNumber? {
        inner.highestOutput.map { RTPSequenceNumber(rawValue: UInt16(truncatingIfNeeded: $0)) }
    }
}
