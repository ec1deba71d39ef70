// swift-tools-version:6.1
//
// A WebRTC SFU in Swift: a drop-in replacement for Odoo's mediasoup-based SFU.
//
// Module rules (checked by scripts/check-boundaries.sh in CI):
//   protocol modules (STUN, ICE, DTLS, RTP, SRTP, RTCP, SCTP) never import each other, except ICE -> STUN;
//   they depend only on RTCBase (tiny shared types), NIOCore (ByteBuffer) and, for crypto, a C shim.
//   SFU composes them; App is the only place with sockets, timers and the clock.
import PackageDescription

let nioCore: Target.Dependency = .product(name: "NIOCore", package: "swift-nio")

let package = Package(
    name: "swift-sfu",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "STUN", targets: ["STUN"]),
        .library(name: "ICE", targets: ["ICE"]),
        .library(name: "DTLS", targets: ["DTLS"]),
        .library(name: "RTP", targets: ["RTP"]),
        // SRTP over OpenSSL (or Debian's libsrtp2): a product of its own, so that parsing RTP needs no C library.
        .library(name: "SRTP", targets: ["SRTP"]),
        .library(name: "RTCP", targets: ["RTCP"]),
        .library(name: "SCTP", targets: ["SCTP"]),
        .library(name: "SFU", targets: ["SFU"]),
        .library(name: "PacketCapture", targets: ["PacketCapture"]),
        .library(name: "RTCBase", targets: ["RTCBase"]),
        // Test support (Captures/ corpus, goldens), for the fuzz and benchmark sub-packages.
        .library(name: "RTCTestSupport", targets: ["RTCTestSupport"]),
        // SFU test support: in-memory browser-like peers and connected routers (tests, fuzzing, benchmarks).
        .library(name: "SFUTestSupport", targets: ["SFUTestSupport"]),
        .executable(name: "sfu", targets: ["App"]),
        // Test and load-generation support: one WebRtcTransport on a UDP socket, driven by the peer tests.
        .executable(name: "transport-probe", targets: ["TransportProbe"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
    ],
    targets: [
        // C libraries from Debian (scripts/setup.sh installs the -dev packages).
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CLibSRTP", pkgConfig: "libsrtp2", providers: [.apt(["libsrtp2-dev"])]),
        .systemLibrary(name: "CLibPCAP", pkgConfig: "libpcap", providers: [.apt(["libpcap-dev"])]),

        // Small support targets.
        .target(name: "RTCBase", dependencies: [nioCore]),
        .target(name: "RTCCrypto", dependencies: ["COpenSSL"]),

        // Protocol modules.
        .target(name: "STUN", dependencies: ["RTCBase", "RTCCrypto", nioCore]),
        .target(name: "ICE", dependencies: ["STUN", "RTCBase", nioCore]),
        .target(name: "DTLS", dependencies: ["RTCBase", "COpenSSL", nioCore]),
        .target(name: "RTP", dependencies: ["RTCBase", nioCore]),
        .target(name: "SRTP", dependencies: ["RTCBase", "RTCCrypto", "COpenSSL", "CLibSRTP", nioCore]),
        .target(name: "RTCP", dependencies: ["RTCBase", nioCore]),
        .target(name: "SCTP", dependencies: ["RTCBase", nioCore]),

        // Composition and the server.
        .target(name: "SFU", dependencies: ["ICE", "STUN", "DTLS", "RTP", "SRTP", "RTCP", "SCTP", "RTCBase", nioCore,
                                            .product(name: "HeapModule", package: "swift-collections")]),
        .executableTarget(name: "App", dependencies: [
            "SFU", "RTCBase", "ICE", "STUN", "DTLS", "PacketCapture",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOWebSocket", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),

        .executableTarget(name: "TransportProbe", dependencies: [
            "SFU", "ICE", "STUN", "DTLS", "SRTP", "RTP", "RTCP", "RTCBase",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),

        // pcap/pcapng reading and writing over libpcap (tools, tests, the SFU's plaintext tap).
        .target(name: "PacketCapture", dependencies: ["CLibPCAP", nioCore]),

        // Test support: Captures/ locator, golden-file loader, hex helpers.
        .target(name: "RTCTestSupport", dependencies: ["RTCBase", "PacketCapture", nioCore]),
        .target(name: "SFUTestSupport", dependencies: ["SFU", "ICE", "STUN", "DTLS", "SRTP", "RTP", "RTCP", "RTCBase", "RTCTestSupport", nioCore]),

        .testTarget(name: "RTCBaseTests", dependencies: ["RTCBase", "RTCTestSupport"]),
        .testTarget(name: "PacketCaptureTests", dependencies: ["PacketCapture", "RTCTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "STUNTests", dependencies: ["STUN", "RTCTestSupport"]),
        .testTarget(name: "RTPTests", dependencies: ["RTP", "RTCTestSupport"]),
        .testTarget(name: "RTCPTests", dependencies: ["RTCP", "RTCTestSupport"]),
        .testTarget(name: "RTCCryptoTests", dependencies: ["RTCCrypto", "RTCTestSupport"]),
        .testTarget(name: "DTLSTests", dependencies: ["DTLS", "RTCTestSupport"], exclude: ["Peer"]),
        .testTarget(name: "SRTPTests", dependencies: ["SRTP", "RTCTestSupport"], exclude: ["Vectors"]),
        .testTarget(name: "AppTests", dependencies: ["App", "RTCTestSupport", "SFUTestSupport"]),
        .testTarget(name: "ICETests", dependencies: ["ICE", "STUN", "RTCTestSupport"]),
        .testTarget(name: "SFUTests", dependencies: ["SFU", "ICE", "STUN", "DTLS", "SRTP", "RTP", "RTCP", "RTCTestSupport", "SFUTestSupport"]),
    ]
)
