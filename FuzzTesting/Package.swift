// swift-tools-version:6.1
//
// libFuzzer targets, one per parser. Built with sanitizers by FuzzTesting/run.sh; not part of the
// main package so that the main build and tests never need -sanitize=fuzzer.
//
import PackageDescription

// Which modules of the main package each harness imports. Every target is a folder Sources/<name>/
// with Harness.swift (LLVMFuzzerTestOneInput) and EntryPoint.swift (the libFuzzer driver shim).
let modules: [String: [String]] = [
    "FuzzSTUN": ["STUN"],
    "FuzzICE": ["ICE", "STUN"],
    "FuzzRTP": ["RTP"],
    "FuzzRTPCodecs": ["RTP"],
    "FuzzRTCP": ["RTCP"],
    "FuzzDTLSRecord": ["DTLS"],
    "FuzzSRTP": ["SRTP"],
    "FuzzSFU": ["SFUTestSupport", "SFU", "ICE", "RTCBase"],
]
let names = modules.keys.sorted()

let package = Package(
    name: "FuzzTesting",
    dependencies: [
        .package(name: "swift-sfu", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: names.map { name in
        .executableTarget(
            name: name,
            dependencies: (modules[name] ?? []).map { .product(name: $0, package: "swift-sfu") }
                + [.product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        )
    }
)
