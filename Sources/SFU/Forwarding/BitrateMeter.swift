/// A sliding-window bitrate meter for one stream: bytes are added to fixed time buckets (by default
/// ten of 100 ms) and the rate is the sum over the window divided by the window length.
///
/// Used for per-layer bitrates in simulcast layer selection and for `/v1/stats` (per-producer incoming
/// bitrate). Buckets are a ring allocated once; recording and reading never allocate. Time is the
/// caller's `Duration` since any origin; it should not go backwards (an older sample is added to the
/// current bucket).
public struct BitrateMeter: Sendable, Hashable {
    /// Length of one bucket.
    public let bucketDuration: Duration
    var buckets: [Int]
    /// Index (time / bucketDuration) of the newest bucket, nil before the first sample.
    var newestIndex: Int64?
    let bucketNanoseconds: Int64

    /// A meter over `window` (rounded up to whole buckets), in buckets of `bucketDuration`.
    public init(window: Duration = .seconds(1), bucketDuration: Duration = .milliseconds(100)) {
        let bucketNS = max(1, Self.nanoseconds(bucketDuration))
        self.bucketNanoseconds = bucketNS
        self.bucketDuration = bucketDuration
        let count = max(1, Int((Self.nanoseconds(window) + bucketNS - 1) / bucketNS))
        buckets = Array(repeating: 0, count: count)
    }

    /// The window the rate is computed over (bucket count × bucket duration).
    public var window: Duration { bucketDuration * buckets.count }

    static func nanoseconds(_ d: Duration) -> Int64 {
        let (s, atto) = d.components
        return s &* 1_000_000_000 &+ atto / 1_000_000_000
    }

    func index(_ now: Duration) -> Int64 {
        let ns = Self.nanoseconds(now)
        return ns >= 0 ? ns / bucketNanoseconds : (ns - bucketNanoseconds + 1) / bucketNanoseconds
    }

    /// Moves the window so that its newest bucket is `index`, clearing the buckets that fell out.
    mutating func advance(to index: Int64) {
        guard let newest = newestIndex else {
            newestIndex = index
            return
        }
        guard index > newest else { return }
        let steps = index - newest
        if steps >= Int64(buckets.count) {
            for i in buckets.indices { buckets[i] = 0 }
        } else {
            var i = newest + 1
            while i <= index {
                buckets[Int(i.euclideanModulo(Int64(buckets.count)))] = 0
                i += 1
            }
        }
        newestIndex = index
    }

    /// Adds `bytes` at `now`.
    public mutating func record(bytes: Int, now: Duration) {
        let i = index(now)
        advance(to: i)
        let slot = Int(max(i, newestIndex ?? i).euclideanModulo(Int64(buckets.count)))
        buckets[slot] &+= bytes
    }

    /// Bytes recorded within the window ending at `now`.
    public func bytesInWindow(now: Duration) -> Int {
        guard let newest = newestIndex else { return 0 }
        let i = index(now)
        let count = Int64(buckets.count)
        var total = 0
        // Buckets i-count+1 ... i that were recorded (≤ newest).
        var k = max(i - count + 1, newest - count + 1)
        while k <= min(i, newest) {
            total &+= buckets[Int(k.euclideanModulo(count))]
            k += 1
        }
        return total
    }

    /// The bitrate over the window ending at `now`, bits per second.
    public func bitrate(now: Duration) -> Int {
        let bits = Int64(bytesInWindow(now: now)) &* 8
        let windowNS = bucketNanoseconds &* Int64(buckets.count)
        let (scaled, overflow) = bits.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return Int(bits / max(1, windowNS / 1_000_000_000)) }
        return Int(scaled / max(1, windowNS))
    }

    /// Forgets every sample.
    public mutating func reset() {
        for i in buckets.indices { buckets[i] = 0 }
        newestIndex = nil
    }
}

extension Int64 {
    /// Euclidean remainder: always in 0..<m for m > 0.
    fileprivate func euclideanModulo(_ m: Int64) -> Int64 {
        let r = self % m
        return r < 0 ? r + m : r
    }
}
