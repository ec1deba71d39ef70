import SFU
import Testing

struct LossBasedBandwidthEstimatorTests {
    @Test func growsEightPercentPerSecondWithoutLossAndNotFaster() {
        var e = LossBasedBandwidthEstimator(initial: 600_000, maximum: 10_000_000)
        #expect(e.reported(fractionLost: 0, now: .seconds(1)) == 649_000)
        #expect(e.reported(fractionLost: 0, now: .milliseconds(1500)) == 649_000)   // within the second: held
        #expect(e.reported(fractionLost: 0, now: .seconds(2)) == 701_920)
        for s in 3...60 { e.reported(fractionLost: 0, now: .seconds(s)) }
        #expect(e.estimate == 10_000_000)   // capped by the maximum
    }

    @Test(arguments: [(UInt8(10), 1_000_000), (UInt8(25), 1_000_000), (UInt8(64), 875_000), (UInt8(128), 750_000)])
    func holdsBetweenTwoAndTenPercentAndShrinksAbove(_ fraction: UInt8, _ expected: Int) {
        var e = LossBasedBandwidthEstimator(initial: 1_000_000)
        // 10/256 ≈ 3.9 % and 25/256 ≈ 9.8 % hold; 25 % loses 12.5 %; 50 % loses 25 %.
        #expect(e.reported(fractionLost: fraction, now: .seconds(5)) == expected)
    }

    @Test func decreasesAreSpacedByRTTAndNeverBelowTheMinimum() {
        var e = LossBasedBandwidthEstimator(initial: 1_000_000, minimum: 300_000)
        e.reported(fractionLost: 128, now: .seconds(1))
        #expect(e.estimate == 750_000)
        e.reported(fractionLost: 128, now: .milliseconds(1200))   // < 300 ms + RTT later: held
        #expect(e.estimate == 750_000)
        for ms in stride(from: 2_000, through: 20_000, by: 500) { e.reported(fractionLost: 255, now: .milliseconds(ms)) }
        #expect(e.estimate == 300_000)
        e.setMaximum(200_000)
        #expect(e.estimate == 300_000 && e.maximum == 300_000)   // the maximum never goes under the minimum
    }
}
