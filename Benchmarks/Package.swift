// swift-tools-version:6.1
//
// Benchmarks (ordo-one/package-benchmark). Separate from the main package so that building and
// testing the SFU never pulls the benchmark toolchain. Run: `scripts/bench.sh` (or
// `swift package --package-path Benchmarks benchmark`).
import PackageDescription

let bench: [Target.Dependency] = [.product(name: "Benchmark", package: "benchmark")]
let plugin: [Target.PluginUsage] = [.plugin(name: "BenchmarkPlugin", package: "benchmark")]

let package = Package(
    name: "Benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "swift-sfu", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(
            name: "WireFormatBenchmarks",
            dependencies: bench + [
                .product(name: "STUN", package: "swift-sfu"), .product(name: "RTP", package: "swift-sfu"),
                .product(name: "RTCP", package: "swift-sfu"), .product(name: "RTCTestSupport", package: "swift-sfu"),
                .product(name: "RTCBase", package: "swift-sfu"), .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/WireFormatBenchmarks",
            plugins: plugin
        ),
        .executableTarget(
            name: "TransportBenchmarks",
            dependencies: bench + [
                .product(name: "RTP", package: "swift-sfu"), .product(name: "SRTP", package: "swift-sfu"),
                .product(name: "ICE", package: "swift-sfu"), .product(name: "DTLS", package: "swift-sfu"),
                .product(name: "STUN", package: "swift-sfu"), .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/TransportBenchmarks",
            plugins: plugin
        ),
        .executableTarget(
            name: "ForwardingBenchmarks",
            dependencies: bench + [
                .product(name: "SFU", package: "swift-sfu"), .product(name: "RTP", package: "swift-sfu"),
                .product(name: "RTCBase", package: "swift-sfu"), .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/ForwardingBenchmarks",
            plugins: plugin
        ),
        .executableTarget(
            name: "RouterBenchmarks",
            dependencies: bench + [
                .product(name: "SFU", package: "swift-sfu"), .product(name: "SFUTestSupport", package: "swift-sfu"),
                .product(name: "RTP", package: "swift-sfu"), .product(name: "SRTP", package: "swift-sfu"),
                .product(name: "ICE", package: "swift-sfu"), .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/RouterBenchmarks",
            plugins: plugin
        ),
        .executableTarget(
            name: "RTCBaseBenchmarks",
            dependencies: bench + [.product(name: "RTCBase", package: "swift-sfu"), .product(name: "NIOCore", package: "swift-nio")],
            path: "Benchmarks/RTCBaseBenchmarks",
            plugins: plugin
        ),
        .executableTarget(
            name: "LossRecoveryBenchmarks",
            dependencies: bench + [.product(name: "SFU", package: "swift-sfu"), .product(name: "RTP", package: "swift-sfu")],
            path: "Benchmarks/LossRecoveryBenchmarks",
            plugins: plugin
        ),
    ]
)
