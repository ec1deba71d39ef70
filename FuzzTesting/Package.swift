// swift-tools-version:6.1
//
// libFuzzer targets, one per parser. Built with sanitizers by FuzzTesting/run.sh; not part of the
// main package so that the main build and tests never need -sanitize=fuzzer.
//
// A target exists for every folder Sources/Fuzz<Name>/ that holds a Harness.swift (defining
// LLVMFuzzerTestOneInput) and an EntryPoint.swift (the libFuzzer driver shim, see there).
import PackageDescription
import Foundation

let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
let sources = here.appendingPathComponent("Sources")
let names = ((try? FileManager.default.contentsOfDirectory(atPath: sources.path)) ?? [])
    .filter { $0.hasPrefix("Fuzz") }
    .filter { FileManager.default.fileExists(atPath: sources.appendingPathComponent("\($0)/Harness.swift").path) }
    .sorted()

// Which modules of the main package each harness imports.
let modules: [String: [String]] = [
    "FuzzSTUN": ["STUN"],
    "FuzzRTP": ["RTP"],
    "FuzzRTPCodecs": ["RTP"],
    "FuzzRTCP": ["RTCP"],
    "FuzzDTLSRecord": ["DTLS"],
    "FuzzICE": ["ICE", "STUN"],
    "FuzzSFU": ["SFU"],
]

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
