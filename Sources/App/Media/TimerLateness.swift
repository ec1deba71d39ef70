/// How late a worker's deadline timer fires (actual − requested time), over its last ``capacity`` firings: the
/// figure that tells whether millisecond timers (pacing, NACK retries, feedback) run when they should.
struct TimerLateness {
    static let capacity = 16_384
    private var samples: [Int32] = []   // microseconds
    private var next = 0
    /// Firings recorded in all.
    private(set) var count = 0

    /// Records one firing `late` after its deadline (negative — early — counts as 0).
    mutating func record(_ late: Duration) {
        let (seconds, atto) = late.components
        let micros = Int32(clamping: max(0, seconds * 1_000_000 + atto / 1_000_000_000_000))
        if samples.count < Self.capacity { samples.append(micros) } else { samples[next] = micros }
        next = (next + 1) % Self.capacity
        count += 1
    }

    /// The `p`-th percentile (0…100) of the recorded lateness, in microseconds; nil before the first firing.
    func percentile(_ p: Double) -> Int? {
        guard !samples.isEmpty else { return nil }
        let sorted = samples.sorted()
        let rank = Int((p / 100 * Double(sorted.count - 1)).rounded())
        return Int(sorted[min(max(0, rank), sorted.count - 1)])
    }

    /// "p50 … µs, p99 … µs, max … µs over n firings".
    var summary: String {
        guard let p50 = percentile(50), let p99 = percentile(99), let top = percentile(100) else { return "no timer fired yet" }
        return "p50 \(p50) µs, p99 \(p99) µs, max \(top) µs over the last \(samples.count) of \(count) firings"
    }
}
