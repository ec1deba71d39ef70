/// Wrap-aware arithmetic for the modular counters of real-time protocols
/// (RFC 1982 serial-number arithmetic), and unwrapping to 64 bits.
///
/// One type serves every counter in the stack: 16-bit RTP sequence numbers and transport-wide
/// sequence numbers, 32-bit RTP timestamps, and narrower codec counters such as VP8's 15-bit
/// picture id or 8-bit TL0PICIDX. The width is a value (1...32 bits), so a single, table-tested
/// implementation handles them all.
///
/// ```swift
/// var seq = SerialNumberUnwrapper(bits: 16)
/// seq.unwrap(65_535)   // 65_535
/// seq.unwrap(0)        // 65_536   (wrapped forward)
/// seq.unwrap(65_534)   // 65_534   (late packet from before the wrap)
/// ```
public struct SerialNumberSpace: Sendable, Hashable {
    /// Number of bits of the counter, 1...32.
    public let bits: Int

    /// Creates the arithmetic for a counter of `bits` bits.
    public init(bits: Int) {
        precondition((1...32).contains(bits), "serial numbers are 1 to 32 bits wide")
        self.bits = bits
    }

    /// 16-bit counters: RTP sequence numbers, transport-wide sequence numbers.
    public static let sixteenBit = SerialNumberSpace(bits: 16)
    /// 32-bit counters: RTP timestamps.
    public static let thirtyTwoBit = SerialNumberSpace(bits: 32)

    /// The number of distinct values, `2^bits`.
    @inlinable public var modulus: UInt64 { UInt64(1) << UInt64(bits) }
    /// The largest value, `2^bits - 1`.
    @inlinable public var mask: UInt64 { modulus - 1 }

    /// The signed distance from `a` to `b` (how far `b` is ahead of `a`), in
    /// `-2^(bits-1) ..< 2^(bits-1)`. Exactly half the space apart counts as ahead when `b > a`,
    /// which is RFC 1982's undefined case resolved the way libwebrtc resolves it.
    @inlinable
    public func distance(from a: UInt64, to b: UInt64) -> Int64 {
        let diff = (b &- a) & mask
        let half = modulus >> 1
        if diff < half || (diff == half && b > a) {
            return Int64(diff)
        }
        return Int64(diff) - Int64(modulus)
    }

    /// Whether `b` is newer (ahead of) `a` in wrap-aware order.
    @inlinable
    public func isNewer(_ b: UInt64, than a: UInt64) -> Bool {
        distance(from: a, to: b) > 0
    }

    /// `value + delta`, wrapped into the space.
    @inlinable
    public func adding(_ delta: Int64, to value: UInt64) -> UInt64 {
        (value &+ UInt64(bitPattern: delta)) & mask
    }
}

/// Turns a stream of wrapping counter values into monotonic 64-bit values, so that later
/// arithmetic (gaps, ordering, rates) never has to think about wraparound.
///
/// The first value unwraps to itself. Each following value is placed at the position closest to
/// the newest value seen so far, so reordering and loss of less than half the counter space
/// are handled; a value from before the first one may unwrap below zero.
public struct SerialNumberUnwrapper: Sendable, Hashable {
    /// The arithmetic in use.
    public let space: SerialNumberSpace
    /// The largest unwrapped value so far, or `nil` before the first value.
    @inlinable public var highest: Int64? { _highest }
    @usableFromInline var _highest: Int64?

    /// Creates an unwrapper for a counter of `bits` bits.
    public init(bits: Int) { self.space = SerialNumberSpace(bits: bits) }

    /// Creates an unwrapper for counters of the given space.
    public init(space: SerialNumberSpace) { self.space = space }

    /// Unwraps `value` (only its low `bits` bits are used) and updates the newest value seen.
    @inlinable
    public mutating func unwrap(_ value: UInt64) -> Int64 {
        let result = peek(value)
        if _highest.map({ result > $0 }) ?? true { _highest = result }
        return result
    }

    /// The unwrapped position of `value` without recording it.
    @inlinable
    public func peek(_ value: UInt64) -> Int64 {
        let v = value & space.mask
        guard let highest else { return Int64(v) }
        let lastRaw = UInt64(bitPattern: highest) & space.mask
        return highest + space.distance(from: lastRaw, to: v)
    }
}
