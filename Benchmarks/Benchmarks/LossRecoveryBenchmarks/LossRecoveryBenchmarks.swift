import Benchmark
import RTP
import SFU

// Per-packet cost of the loss-recovery and feedback components of Sources/SFU/RTPStreams, in
// virtual time (one packet per millisecond, wrapping sequence numbers).
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput, .mallocCountTotal], maxDuration: .seconds(2))

    Benchmark("NACKGenerator.received (in order, per packet)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        var gen = NACKGenerator()
        var seq: UInt16 = 60_000
        var ms = 0
        for _ in benchmark.scaledIterations {
            seq &+= 1
            ms += 1
            blackHole(gen.received(sequenceNumber: RTPSequenceNumber(seq), isKeyFrame: false, isRecovered: false, now: .milliseconds(ms)))
        }
    }

    // 1 % loss, the lost packet recovered 30 packets later, timer run every 40 packets (mediasoup's 40 ms).
    Benchmark("NACKGenerator.received (1% loss + RTX + timer, per packet)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        var gen = NACKGenerator()
        var seq: UInt16 = 60_000
        var ms = 0
        for _ in benchmark.scaledIterations {
            seq &+= 1
            ms += 1
            let now = Duration.milliseconds(ms)
            if seq % 100 == 0 { continue }
            gen.received(sequenceNumber: RTPSequenceNumber(seq), isKeyFrame: false, isRecovered: false, now: now)
            if seq % 100 == 30 { gen.received(sequenceNumber: RTPSequenceNumber(seq &- 30), isKeyFrame: false, isRecovered: true, now: now) }
            if ms % 40 == 0 { blackHole(gen.handleTimeout(now: now)) }
        }
    }

    Benchmark("TransportCCFeedbackGenerator.record (per packet)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        var gen = TransportCCFeedbackGenerator()
        var seq: UInt16 = 60_000
        var us: Int64 = 0
        for _ in benchmark.scaledIterations {
            seq &+= 1
            us += 1_000
            gen.record(transportSequenceNumber: seq, mediaSSRC: 1, arrival: .microseconds(us))
        }
        blackHole(gen.nextDeadline)
    }

    // Record plus the feedback built every 100 ms (100 packets), 1 % loss: the full per-packet cost.
    Benchmark("TransportCCFeedbackGenerator.record + feedback every 100 ms (per packet)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        var gen = TransportCCFeedbackGenerator()
        var seq: UInt16 = 60_000
        var us: Int64 = 0
        for _ in benchmark.scaledIterations {
            seq &+= 1
            us += 1_000
            if seq % 100 != 7 { gen.record(transportSequenceNumber: seq, mediaSSRC: 1, arrival: .microseconds(us)) }
            if us % 100_000 == 0 { blackHole(gen.handleTimeout(now: .microseconds(us))) }
        }
    }

    Benchmark("RTPReceiveStats.received (per packet)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        var stats = RTPReceiveStats(ssrc: 1, clockRate: 90_000)
        var seq: UInt16 = 60_000
        var ms = 0
        for _ in benchmark.scaledIterations {
            seq &+= 1
            ms += 1
            stats.received(sequenceNumber: RTPSequenceNumber(seq), timestamp: RTPTimestamp(UInt32(truncatingIfNeeded: ms * 90)),
                           size: 1200, now: .milliseconds(ms))
        }
        blackHole(stats.jitter)
    }
}
