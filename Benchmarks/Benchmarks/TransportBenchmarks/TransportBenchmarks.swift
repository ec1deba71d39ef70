import Benchmark
import DTLS
import ICE
import NIOCore
import SRTP
import STUN

/// SRTP protect/unprotect per packet (both backends: OpenSSL EVP, Debian libsrtp2 with NSS crypto) and ICE check handling.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput, .mallocCountTotal], maxDuration: .seconds(3))

    func material(_ p: SRTPProfile) -> SRTPKeyingMaterial {
        SRTPKeyingMaterial(profile: p, key: (0..<p.keyLength).map { UInt8($0) }, salt: (0..<p.saltLength).map { UInt8($0) })
    }
    func packet(seq: UInt16, payload: Int) -> ByteBuffer {
        var b = ByteBufferAllocator().buffer(capacity: 12 + payload + 160)
        b.writeBytes([0x80, 0x60])
        b.writeInteger(seq)
        b.writeInteger(UInt32(seq) &* 3000)
        b.writeInteger(UInt32(0x1122_3344))
        b.writeRepeatingByte(0xAB, count: payload)
        return b
    }

    // Each sample protects (or unprotects) a batch of 1000 packets prepared outside the measured
    // interval, so only the backend's work (and our in-place wrapper) is timed; figures are per packet.
    for backend in SRTPSession.Backend.allCases {
    for (name, profile) in [("GCM-128", SRTPProfile.aeadAES128GCM), ("CM-80", .aesCM128HMACSHA1_80)] {
        for size in [100, 1200] {
            Benchmark("SRTP protect \(name) \(size) B (\(backend))", configuration: .init(scalingFactor: .kilo)) { benchmark in
                let out = try! SRTPSession(direction: .outbound, material: material(profile), backend: backend)
                var packets = (0..<benchmark.scaledIterations.count).map { packet(seq: UInt16($0), payload: size) }
                benchmark.startMeasurement()
                for i in packets.indices { try! out.protectRTP(&packets[i]) }
                benchmark.stopMeasurement()
                blackHole(packets)
            }
            Benchmark("SRTP unprotect \(name) \(size) B (\(backend))", configuration: .init(scalingFactor: .kilo)) { benchmark in
                let out = try! SRTPSession(direction: .outbound, material: material(profile), backend: backend)
                let inb = try! SRTPSession(direction: .inbound, material: material(profile), backend: backend)
                var packets = (0..<benchmark.scaledIterations.count).map { packet(seq: UInt16($0), payload: size) }
                for i in packets.indices { try! out.protectRTP(&packets[i]) }
                benchmark.startMeasurement()
                for i in packets.indices { try! inb.unprotectRTP(&packets[i]) }
                benchmark.stopMeasurement()
                blackHole(packets)
            }
        }
    }
    }

    Benchmark("ICE-lite: handle a Chromium-like check (parse, verify, respond)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        let server = ICECredentials(usernameFragment: "srvUfrag", password: "server-password-0123456789")
        let agent = ICELiteAgent(credentials: server)
        var b = STUNMessageBuilder(type: .bindingRequest, transactionID: STUNTransactionID(high: 1, low: 2))
        b.appendUsername("srvUfrag:brws")
        b.append(.googNetworkInfo, value: [0, 1, 0, 10])
        b.appendICEControlling(tieBreaker: 42)
        b.appendUseCandidate()
        b.appendPriority(1_853_824_767)
        b.appendMessageIntegrity(key: STUNIntegrityKey(shortTermPassword: server.password))
        b.appendFingerprint()
        let check = b.message.bytes
        let tuple = ICETuple(remote: .v4(address: 0x7F00_0001, port: 50_000))
        var t = Duration.zero
        for _ in benchmark.scaledIterations {
            t += .milliseconds(1)
            agent.handle(Datagram(check, from: tuple), now: t)
            blackHole(agent.pollTransmit())
            _ = agent.pollEvent()
        }
    }

    // A complete DTLS 1.2 handshake (ECDHE-ECDSA P-256, use_srtp, keying export) between two of our
    // connections in memory: both sides' CPU, no network. Handshakes per second = 1e9 / time.
    Benchmark("DTLS handshake (client + server, in memory)") { benchmark in
        let cc = try! DTLSCertificate.generate(commonName: "c")
        let sc = try! DTLSCertificate.generate(commonName: "s")
        let clientCtx = try! DTLSContext(certificate: cc)
        let serverCtx = try! DTLSContext(certificate: sc)
        for _ in benchmark.scaledIterations {
            let client = try! DTLSConnection(context: clientCtx, role: .client, remoteFingerprints: [sc.fingerprint()!])
            let server = try! DTLSConnection(context: serverCtx, role: .server, remoteFingerprints: [cc.fingerprint()!])
            client.start(now: .zero)
            var progress = true
            while progress {
                progress = false
                while let d = client.pollTransmit() { progress = true; server.handle(d, now: .zero) }
                while let d = server.pollTransmit() { progress = true; client.handle(d, now: .zero) }
            }
            precondition(client.isConnected && server.isConnected)
            blackHole(server.pollEvent())
        }
    }
}
