import RTCBase
import RTCP
@testable import SFU
import Testing

/// The delay-based estimator's parts against what draft-ietf-rmcat-gcc-02 and libwebrtc's goog_cc specify.
@Suite struct InterArrivalTests {
    /// (send ms, arrival ms, size) → the deltas each packet completes.
    static func run(_ packets: [(Int, Int, Int)]) -> [InterArrival.Deltas?] {
        var ia = InterArrival()
        return packets.map { ia.add(sendTime: .milliseconds($0.0), arrival: .milliseconds($0.1), size: $0.2) }
    }

    @Test func groupsOfFiveMillisecondsGiveDeltasBetweenTheirLastPackets() {
        // Groups: {0, 3}, {10, 12}, {20}: each completes when the next group's first packet arrives.
        let d = Self.run([(0, 50, 100), (3, 53, 100), (10, 61, 200), (12, 64, 200), (20, 75, 50)])
        #expect(d[0] == nil && d[1] == nil && d[2] == nil && d[3] == nil)   // the first group has no predecessor
        let g = try! #require(d[4])
        #expect(g.send == .milliseconds(9) && g.arrival == .milliseconds(11) && g.size == 200)
    }

    @Test func aBurstReleasedByAQueueJoinsTheGroup() {
        // Sent 10 ms apart but arriving 1 ms apart (a queue released them): one group, despite the send spacing.
        let d = Self.run([(0, 50, 100), (10, 51, 100), (20, 52, 100), (40, 80, 100), (60, 100, 100)])
        let g = try! #require(d[4])
        #expect(g.send == .milliseconds(20) && g.arrival == .milliseconds(28))   // {0,10,20} → {40}
    }

    @Test func reorderedPacketsAreIgnoredAndThreeReorderedGroupsReset() {
        var ia = InterArrival()
        _ = ia.add(sendTime: .milliseconds(0), arrival: .milliseconds(50), size: 1)
        _ = ia.add(sendTime: .milliseconds(10), arrival: .milliseconds(60), size: 1)
        #expect(ia.add(sendTime: .milliseconds(5), arrival: .milliseconds(61), size: 1) == nil)   // sent before the group
        // Groups whose last packet arrived before the previous group's last one (a group completes with a negative
        // arrival delta): three in a row reset the state.
        var t = 60
        for k in 1...3 {
            let send = 10 + 20 * k
            let completed = ia.add(sendTime: .milliseconds(send), arrival: .milliseconds(t + 30), size: 1)
            #expect(k == 1 ? completed != nil : completed == nil)   // the first completes the in-order group {10}
            #expect(ia.add(sendTime: .milliseconds(send + 2), arrival: .milliseconds(t - 5), size: 1) == nil)
            t -= 5
            if k < 3 { #expect(ia.previous != nil) }
        }
        _ = ia.add(sendTime: .milliseconds(100), arrival: .milliseconds(200), size: 1)
        #expect(ia.previous == nil)
    }
}

@Suite struct TrendlineEstimatorTests {
    /// Feeds `count` groups 10 ms apart (send), each arriving `extra(k)` ms later than its send spacing.
    static func feed(_ t: inout TrendlineEstimator, from start: Int = 0, count: Int, extra: (Int) -> Double) -> [BandwidthUsage] {
        var states: [BandwidthUsage] = []
        var arrival = Double(start) * 10
        for k in start..<(start + count) {
            let a = 10 + extra(k)
            arrival += a
            let d = InterArrival.Deltas(send: .milliseconds(10), arrival: .microseconds(Int64(a * 1000)), size: 0,
                                        arrivalTime: .microseconds(Int64(arrival * 1000)), sendTime: .milliseconds(10 * k))
            states.append(t.update(d))
        }
        return states
    }

    struct Ramp: Sendable, CustomStringConvertible {
        let name: String
        /// Extra delay per group, ms.
        let extra: Double
        /// Expected slope of smoothed delay (ms per ms) after the window filled, and the final state.
        let slope: ClosedRange<Double>
        let state: BandwidthUsage
        var description: String { name }
    }

    // Slope of a ramp adding e ms of delay per 10 + e ms of arrival time: ≈ e / (10 + e) once smoothing settles (the
    // exponential smoothing lags, so the fitted slope is somewhat below the ramp's).
    static let ramps: [Ramp] = [
        Ramp(name: "flat: no queue", extra: 0, slope: -0.001...0.001, state: .normal),
        Ramp(name: "queue growing 1 ms per group (10 %)", extra: 1, slope: 0.05...0.1, state: .overusing),
        Ramp(name: "queue growing 0.1 ms per group (1 %): within the threshold", extra: 0.1, slope: 0.004...0.01, state: .normal),
        Ramp(name: "queue draining 1 ms per group", extra: -1, slope: -0.12 ... -0.06, state: .underusing),
    ]

    @Test(arguments: ramps)
    func slopeAndStateOnSyntheticDelayRamps(_ ramp: Ramp) {
        var t = TrendlineEstimator()
        let states = Self.feed(&t, count: 60) { _ in ramp.extra }
        #expect(ramp.slope.contains(t.trend), "trend \(t.trend)")
        #expect(states.last == ramp.state)
    }

    @Test func overuseNeedsTwoDeltasAndTenMillisecondsOverTheThreshold() {
        var t = TrendlineEstimator()
        _ = Self.feed(&t, count: 40) { _ in 0 }
        #expect(t.state == .normal)
        // A sudden steep ramp: the first delta above γ only starts the overuse timer (5 ms = half a send delta).
        let states = Self.feed(&t, from: 40, count: 30) { _ in 5 }
        let first = try! #require(states.firstIndex(of: .overusing))
        #expect(first >= 1)
        #expect(t.state == .overusing)
        // The queue drains: underuse, then normal once the trend is flat again.
        let after = Self.feed(&t, from: 70, count: 80) { k in k < 90 ? -5 : 0 }
        #expect(after.contains(.underusing) && after.last == .normal)
    }

    @Test func thresholdAdaptsUpSlowlyAndDownFastAndStaysInRange() {
        var t = TrendlineEstimator()
        #expect(t.threshold == 12.5)
        // |scaled trend| below γ: γ decreases at k_down (0.039/ms) toward it, down to 6.
        _ = Self.feed(&t, count: 200) { _ in 0 }
        #expect(t.threshold == 6)
        // A moderate sustained ramp (scaled trend above γ, but within γ + 15): γ rises at k_up, toward it.
        _ = Self.feed(&t, from: 200, count: 30) { _ in 0.5 }
        #expect(t.threshold > 6 && t.threshold <= abs(t.modifiedTrend))
        // The update rule itself: γ += k (|m| − γ) Δt, Δt ≤ 100 ms.
        var v = TrendlineEstimator()
        v.threshold = 10
        v.lastThresholdUpdate = 0
        v.updateThreshold(20, now: 1000)   // Δt capped at 100 ms; |m| > γ: k_up
        #expect(abs(v.threshold - (10 + 0.0087 * 10 * 100)) < 1e-9)
        v.updateThreshold(40, now: 1010)   // more than γ + 15 above: not learnt
        #expect(abs(v.threshold - 18.7) < 1e-9)
    }
}

@Suite struct AimdRateControlTests {
    struct Row: Sendable, CustomStringConvertible {
        let name: String
        let start: Int
        /// (usage, acknowledged throughput, ms since start)
        let inputs: [(BandwidthUsage, Int?, Int)]
        let expected: Int
        let state: AimdRateControl.State
        var description: String { name }
    }

    static let rows: [Row] = [
        Row(name: "normal from hold: increase starts (no time elapsed yet: at least 1 kbit/s)", start: 1_000_000,
            inputs: [(.normal, 1_000_000, 0)], expected: 1_001_000, state: .increase),
        Row(name: "one second of increase far from capacity: × 1.08", start: 1_000_000,
            inputs: [(.normal, 1_000_000, 0), (.normal, 1_000_000, 1_000)], expected: 1_001_000 + 80_080, state: .increase),
        Row(name: "increase is capped at 1.5 × throughput + 10 kbit/s", start: 1_000_000,
            inputs: [(.normal, 400_000, 0), (.normal, 400_000, 1_000)], expected: 1_000_000, state: .increase),
        Row(name: "overuse: 0.85 × throughput − 5 kbit/s, then hold", start: 1_000_000,
            inputs: [(.overusing, 800_000, 0)], expected: 675_000, state: .hold),
        Row(name: "overuse never raises the estimate", start: 500_000,
            inputs: [(.overusing, 800_000, 0)], expected: 500_000, state: .hold),
        Row(name: "underuse holds", start: 1_000_000,
            inputs: [(.normal, 1_000_000, 0), (.underusing, 1_000_000, 500)], expected: 1_001_000, state: .hold),
        Row(name: "near capacity (after an overuse) the increase is additive", start: 1_000_000,
            inputs: [(.overusing, 1_000_000, 0), (.normal, 1_000_000, 100), (.normal, 1_000_000, 1_100)],
            // 845 k: bits per frame 28 167 → 3 packets of 9 389 bits per (200 + 100) × 2 ms = 15 648 bit/s per second.
            expected: 845_000 + 15_648, state: .increase),
    ]

    @Test(arguments: rows)
    func steps(_ row: Row) {
        var a = AimdRateControl(initial: row.start, minimum: 30_000, maximum: 10_000_000)
        for (usage, throughput, ms) in row.inputs { a.update(usage, throughput: throughput, now: .milliseconds(ms)) }
        #expect(abs(a.estimate - row.expected) <= 2, "estimate \(a.estimate)")
        #expect(a.state == row.state)
    }

    @Test func decreasesAreSpacedByAnRTTUnlessThroughputHalved() {
        var a = AimdRateControl(initial: 1_000_000, minimum: 30_000, maximum: 10_000_000)
        a.rtt = .milliseconds(50)
        a.update(.overusing, throughput: 900_000, now: .zero)
        #expect(!a.canReduceFurther(now: .milliseconds(30), throughput: 700_000))
        #expect(a.canReduceFurther(now: .milliseconds(50), throughput: 700_000))
        #expect(a.canReduceFurther(now: .milliseconds(30), throughput: 300_000))   // below half of 760 k
    }

    @Test func theIncreaseFactorSeriesIsExact() {
        for s in stride(from: 0.0, through: 1.0, by: 0.125) {
            var exact = 1.0
            // 1.08^s by repeated square roots is awkward; compare with the product form for eighths.
            let eighths = Int(s * 8)
            let eighthRoot = AimdRateControl.increaseFactor(seconds: 0.125)
            for _ in 0..<eighths { exact *= eighthRoot }
            #expect(abs(AimdRateControl.increaseFactor(seconds: s) - exact) < 1e-10)
        }
        #expect(abs(AimdRateControl.increaseFactor(seconds: 1) - 1.08) < 1e-11)
    }
}
