/// Which packet indices of one SRTP stream were seen, relative to the highest: RFC 3711 §3.3.1 and Appendix A
/// (index estimation from the 16-bit sequence number, the replay list as a bit mask), with libsrtp's exact
/// semantics (`srtp_rdbx_*`), so that both backends accept and refuse the same packets.
///
/// The window is `size` bits rounded up to a multiple of 32, as libsrtp rounds it; bit `k` of the mask says
/// whether index `highest − k` was seen. The mask is allocated once per stream.
struct SRTPReplayWindow {
    /// The highest index seen (48 bits: rollover counter, sequence number); 0 before the first packet.
    private(set) var highest: UInt64 = 0
    let size: Int
    private var mask: [UInt64]

    init(size: Int) {
        self.size = (size + 31) / 32 * 32
        mask = [UInt64](repeating: 0, count: (self.size + 63) / 64)
    }

    /// The 48-bit index of sequence number `seq`, and its distance from ``highest`` (positive: newer).
    func estimate(_ seq: UInt16) -> (index: UInt64, delta: Int) {
        let s = Int(seq)
        guard highest > 32_768 else { return (UInt64(seq), s - Int(UInt16(truncatingIfNeeded: highest))) }
        let roc = UInt32(truncatingIfNeeded: highest >> 16), local = Int(UInt16(truncatingIfNeeded: highest))
        var guessROC = roc, difference = s - local
        if local < 32_768 {
            if s - local > 32_768 { guessROC = roc &- 1; difference = s - local - 65_536 }
        } else if local - 32_768 > s {
            guessROC = roc &+ 1; difference = s - local + 65_536
        }
        return (UInt64(guessROC) << 16 | UInt64(seq), difference)
    }

    /// Whether an index `delta` from the highest may be accepted: nil when it may, else why not.
    func check(_ delta: Int) -> SRTPError? {
        if delta > 0 { return nil }
        let k = -delta
        if k >= size { return .replayTooOld }
        return mask[k >> 6] & (1 << UInt64(k & 63)) != 0 ? .replay : nil
    }

    /// Records the index `delta` from the highest as seen (a positive delta moves the window).
    mutating func add(_ delta: Int) {
        guard delta > 0 else {
            let k = -delta
            if k < size { mask[k >> 6] |= 1 << UInt64(k & 63) }
            return
        }
        highest &+= UInt64(UInt16(truncatingIfNeeded: delta))
        shift(by: delta)
        mask[0] |= 1
    }

    /// Moves every bit `by` positions older (bit k becomes bit k + by), dropping what leaves the window.
    private mutating func shift(by n: Int) {
        guard n < size else {
            for i in mask.indices { mask[i] = 0 }
            return
        }
        let words = n >> 6, bits = UInt64(n & 63)
        var i = mask.count - 1
        while i >= 0 {
            let from = i - words
            var value: UInt64 = 0
            if from >= 0 {
                value = mask[from] << bits
                if bits > 0, from > 0 { value |= mask[from - 1] >> (64 - bits) }
            }
            mask[i] = value
            i -= 1
        }
    }
}

/// The 128-index replay list of one SRTCP stream (libsrtp's `srtp_rdb_*`): SRTCP carries its 31-bit index in
/// the clear, so there is nothing to estimate.
struct SRTCPReplayWindow {
    static let size: UInt32 = 128
    /// The lowest index of the window.
    private(set) var start: UInt32 = 0
    private var low: UInt64 = 0, high: UInt64 = 0   // bit p: index start + p was seen

    private func bit(_ p: UInt32) -> Bool { p < 64 ? low & (1 << UInt64(p)) != 0 : high & (1 << UInt64(p - 64)) != 0 }
    private mutating func set(_ p: UInt32) { if p < 64 { low |= 1 << UInt64(p) } else { high |= 1 << UInt64(p - 64) } }

    func check(_ index: UInt32) -> SRTPError? {
        if index >= start &+ Self.size { return nil }
        if index < start { return .replayTooOld }
        return bit(index - start) ? .replay : nil
    }

    mutating func add(_ index: UInt32) {
        guard index >= start else { return }
        var p = index - start
        if p >= Self.size {
            let n = p - (Self.size - 1)   // moves the window so that `index` is its newest slot
            if n >= 128 {
                low = 0; high = 0
            } else if n >= 64 {
                low = high >> UInt64(n - 64); high = 0
            } else if n > 0 {
                low = low >> UInt64(n) | high << UInt64(64 - n)
                high >>= UInt64(n)
            }
            start &+= n
            p = Self.size - 1
        }
        set(p)
    }

    /// For outbound streams: the next index to send (1 first, as libsrtp), nil when the 31-bit space is used up.
    mutating func next() -> UInt32? {
        guard start < 0x7FFF_FFFF else { return nil }
        start += 1
        return start
    }
}
