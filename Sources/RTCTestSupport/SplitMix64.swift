import Foundation

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny seeded generator, so that routers built for tests, fuzzing
/// and benchmarks pick the same "random" sequence numbers and SSRCs on every run.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The generator's state; advanced by a fixed odd constant per draw.
    public private(set) var state: UInt64

    /// A generator whose sequence is determined by `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension SplitMix64 {
    /// A generator for a randomised test: seeded from `TEST_SEED` when set, else at random, and the seed is printed
    /// with `name` so that a failing run can be replayed exactly (`TEST_SEED=<seed> swift test --filter …`).
    public static func announced(_ name: String) -> SplitMix64 {
        let seed = ProcessInfo.processInfo.environment["TEST_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 0...UInt64.max)
        print("\(name): seed \(seed) (replay with TEST_SEED=\(seed))")
        return SplitMix64(seed: seed)
    }
}
