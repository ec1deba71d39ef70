import Benchmark
import RTCBase

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput, .mallocCountTotal], maxDuration: .seconds(2))

    // Unwrapping one 16-bit sequence number per packet, with a wrap every 65 536 packets.
    Benchmark("SerialNumberUnwrapper.unwrap (16-bit, per value)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        var u = SerialNumberUnwrapper(space: .sixteenBit)
        var seq: UInt64 = 60_000
        for _ in benchmark.scaledIterations {
            seq = (seq &+ 1) & 0xFFFF
            blackHole(u.unwrap(seq))
        }
    }

    Benchmark("DatagramKind.classify", configuration: .init(scalingFactor: .kilo)) { benchmark in
        var b: UInt8 = 0
        for _ in benchmark.scaledIterations {
            b &+= 37
            blackHole(DatagramKind.classify(firstByte: b, secondByte: b &+ 1))
        }
    }
}
