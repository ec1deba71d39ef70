import DTLS
import NIOCore
import RTCTestSupport
import Testing

/// Two DTLS connections of this module talking through memory: handshake, SRTP keying, fingerprint
/// verification, application data, close_notify, MTU and retransmission.
@Suite(.serialized) struct DTLSConnectionTests {
    struct Pair {
        let client: DTLSConnection
        let server: DTLSConnection
        var clientEvents: [DTLSEvent] = []
        var serverEvents: [DTLSEvent] = []
        var datagrams: [(fromClient: Bool, bytes: ByteBuffer)] = []

        /// Shuttles datagrams until neither side has anything to send; `drop` may discard some.
        mutating func run(now: Duration = .zero, drop: (Bool, ByteBuffer) -> Bool = { _, _ in false }) {
            var progress = true
            while progress {
                progress = false
                while let d = client.pollTransmit() {
                    progress = true
                    datagrams.append((true, d))
                    if !drop(true, d) { server.handle(d, now: now) }
                }
                while let d = server.pollTransmit() {
                    progress = true
                    datagrams.append((false, d))
                    if !drop(false, d) { client.handle(d, now: now) }
                }
            }
            while let e = client.pollEvent() { if case .keyLog = e {} else { clientEvents.append(e) } }
            while let e = server.pollEvent() { if case .keyLog = e {} else { serverEvents.append(e) } }
        }
    }

    static func pair(clientProfiles: [DTLSSRTPProfile] = DTLSSRTPProfile.allCases, serverProfiles: [DTLSSRTPProfile] = DTLSSRTPProfile.allCases,
                     wrongFingerprintAt: DTLSRole? = nil, keyLogging: Bool = false) throws -> Pair {
        let cc = try DTLSCertificate.generate(commonName: "client")
        let sc = try DTLSCertificate.generate(commonName: "server")
        let other = try DTLSCertificate.generate(commonName: "other")
        let clientCtx = try DTLSContext(certificate: cc, profiles: clientProfiles, keyLogging: keyLogging)
        let serverCtx = try DTLSContext(certificate: sc, profiles: serverProfiles, keyLogging: keyLogging)
        let client = try DTLSConnection(context: clientCtx, role: .client,
                                        remoteFingerprints: [(wrongFingerprintAt == .client ? other : sc).fingerprint()!])
        let server = try DTLSConnection(context: serverCtx, role: .server,
                                        remoteFingerprints: [(wrongFingerprintAt == .server ? other : cc).fingerprint()!])
        return Pair(client: client, server: server)
    }

    static func result(_ events: [DTLSEvent]) -> DTLSHandshakeResult? {
        for e in events { if case .connected(let r) = e { return r } }
        return nil
    }

    @Test func handshakeExportsMirroredKeys() throws {
        var p = try Self.pair()
        p.client.start(now: .zero)
        p.run()
        let c = try #require(Self.result(p.clientEvents))
        let s = try #require(Self.result(p.serverEvents))
        #expect(p.client.isConnected && p.server.isConnected)
        // The server picks in its own order: AES-256-GCM first when the client offers everything.
        #expect(c.profile == .aeadAES256GCM && s.profile == .aeadAES256GCM)
        #expect(c.keyingMaterial == s.keyingMaterial && c.keyingMaterial.count == 2 * (32 + 12))
        #expect(c.role == .client && s.role == .server)
        #expect(c.cipher == "ECDHE-ECDSA-AES128-GCM-SHA256")
        // A full handshake is 4 flights; every datagram fits the MTU and holds whole records.
        for d in p.datagrams {
            #expect(d.bytes.readableBytes <= 1200)
            let records = try DTLSRecordHeader.records(in: d.bytes)
            #expect(!records.isEmpty)
        }
    }

    struct ProfileRow: Sendable, CustomTestStringConvertible {
        let client: [DTLSSRTPProfile], server: [DTLSSRTPProfile], expected: DTLSSRTPProfile?
        var testDescription: String { "client \(client.map(\.ianaID)) server \(server.map(\.ianaID))" }
    }

    @Test(arguments: [
        ProfileRow(client: [.aesCM128HMACSHA1_80, .aeadAES256GCM, .aeadAES128GCM], server: DTLSSRTPProfile.allCases, expected: .aeadAES256GCM),   // Chromium's offer
        ProfileRow(client: [.aesCM128HMACSHA1_80], server: DTLSSRTPProfile.allCases, expected: .aesCM128HMACSHA1_80),
        ProfileRow(client: DTLSSRTPProfile.allCases, server: [.aeadAES128GCM, .aesCM128HMACSHA1_80], expected: .aeadAES128GCM),
        ProfileRow(client: [.aesCM128HMACSHA1_32], server: DTLSSRTPProfile.allCases, expected: .aesCM128HMACSHA1_32),
        ProfileRow(client: [.aesCM128HMACSHA1_32], server: [.aeadAES128GCM], expected: nil),
    ])
    func profileNegotiation(_ row: ProfileRow) throws {
        var p = try Self.pair(clientProfiles: row.client, serverProfiles: row.server)
        p.client.start(now: .zero)
        p.run()
        if let expected = row.expected {
            #expect(Self.result(p.serverEvents)?.profile == expected)
            #expect(Self.result(p.clientEvents)?.profile == expected)
        } else {
            #expect(!p.client.isConnected && !p.server.isConnected)
            let failed = (p.clientEvents + p.serverEvents).contains { if case .failed = $0 { return true } else { return false } }
            #expect(failed)
        }
    }

    @Test(arguments: [DTLSRole.client, DTLSRole.server])
    func wrongFingerprintFails(_ side: DTLSRole) throws {
        var p = try Self.pair(wrongFingerprintAt: side)
        p.client.start(now: .zero)
        p.run()
        let events = side == .client ? p.clientEvents : p.serverEvents
        let failure = events.compactMap { e -> DTLSError? in if case .failed(let err) = e { return err } else { return nil } }.first
        #expect(failure?.code == .fingerprintMismatch)
        #expect(Self.result(events) == nil)
        #expect(!(side == .client ? p.client : p.server).isConnected)
    }

    @Test func fingerprintFormatAndCase() throws {
        let cert = try DTLSCertificate.generate()
        let fp = try #require(cert.fingerprint())
        #expect(fp.algorithm == "sha-256")
        #expect(fp.value.count == 32 * 3 - 1)
        #expect(fp.value.allSatisfy { $0 == ":" || $0.isHexDigit && ($0.isNumber || $0.isUppercase) })
        #expect(fp.matches(DTLSFingerprint(algorithm: "SHA-256", value: fp.value.lowercased())))
        #expect(cert.fingerprint(algorithm: "sha-1")?.value.count == 20 * 3 - 1)
        #expect(cert.fingerprint(algorithm: "sha-512")?.value.count == 64 * 3 - 1)
        #expect(cert.fingerprint(algorithm: "md5") == nil)
        // PEM round trip keeps the fingerprint.
        #expect(cert.pem.hasPrefix("-----BEGIN CERTIFICATE-----"))
    }

    @Test func applicationDataAndCloseNotify() throws {
        var p = try Self.pair()
        p.client.start(now: .zero)
        p.run()
        try p.client.write(applicationData: ByteBuffer(string: "sctp from client"))
        try p.server.write(applicationData: ByteBuffer(string: "sctp from server"))
        p.run()
        #expect(p.serverEvents.contains(.applicationData(ByteBuffer(string: "sctp from client"))))
        #expect(p.clientEvents.contains(.applicationData(ByteBuffer(string: "sctp from server"))))
        p.client.close()
        p.run()
        #expect(p.serverEvents.last == .closed && !p.server.isConnected)
        #expect(throws: DTLSError.self) { try p.client.write(applicationData: ByteBuffer(string: "late")) }
    }

    @Test func garbageNeverTraps() throws {
        var p = try Self.pair()
        for junk in ["", "16", "16fefd", "17fefd000000000000000000ff" + String(repeating: "41", count: 40), String(repeating: "ff", count: 300)] {
            p.server.handle(ByteBuffer(hex: junk), now: .zero)
        }
        p.run()
        // Whatever the garbage did, a fresh pair still connects; garbage never crashed anything.
        var q = try Self.pair()
        q.client.start(now: .zero)
        q.run()
        #expect(q.client.isConnected && q.server.isConnected)
    }

    @Test func keyLogLines() throws {
        let p = try Self.pair(keyLogging: true)
        p.client.start(now: .zero)
        var lines: [String] = []
        var progress = true
        while progress {
            progress = false
            while let d = p.client.pollTransmit() { progress = true; p.server.handle(d, now: .zero) }
            while let d = p.server.pollTransmit() { progress = true; p.client.handle(d, now: .zero) }
        }
        while let e = p.client.pollEvent() { if case .keyLog(let l) = e { lines.append(l) } }
        #expect(lines.contains { $0.hasPrefix("CLIENT_RANDOM ") })
    }

    /// OpenSSL reads its own clock for DTLS timers, so this one test waits for real: the first server
    /// flight is dropped, and after the (shortened, 50 ms) retransmission timeout the client resends.
    @Test func retransmissionAfterLoss() async throws {
        var p = try Self.pair()
        p.client.setInitialRetransmissionTimeout(.milliseconds(50))
        p.server.setInitialRetransmissionTimeout(.milliseconds(50))
        p.client.start(now: .zero)
        var droppedServerFlight = false
        p.run(drop: { fromClient, _ in
            if !fromClient && !droppedServerFlight { droppedServerFlight = true; return true }
            return false
        })
        #expect(!p.client.isConnected)
        let deadline = p.client.nextDeadline
        #expect(deadline != nil && deadline! <= .milliseconds(60))
        try await Task.sleep(for: .milliseconds(80))
        p.client.handleTimeout(now: .milliseconds(80))
        p.server.handleTimeout(now: .milliseconds(80))
        p.run(now: .milliseconds(80))
        #expect(droppedServerFlight)
        #expect(p.client.isConnected && p.server.isConnected)
    }
}

@Suite struct DTLSRecordTests {
    @Test func parsesAndPacks() throws {
        let a = "16fefd" + "0000" + "000000000001" + "0003" + "aabbcc"
        let b = "17fefd" + "0001" + "000000000002" + "0001" + "dd"
        let d = ByteBuffer(hex: a + b)
        let records = try DTLSRecordHeader.records(in: d)
        #expect(records.map(\.offset) == [0, 16])
        #expect(records[0].header == DTLSRecordHeader(contentType: 22, version: 0xFEFD, epoch: 0, sequenceNumber: 1, length: 3))
        #expect(records[1].header.epoch == 1 && records[1].header.sequenceNumber == 2)
        #expect(DTLSRecordHeader.packIntoDatagrams(d, mtu: 29).map(\.readableBytes) == [16, 14])
        #expect(DTLSRecordHeader.packIntoDatagrams(d, mtu: 30).map(\.readableBytes) == [30])
        #expect(DTLSRecordHeader.packIntoDatagrams(d, mtu: 1200).map(\.readableBytes) == [30])
    }

    @Test(arguments: [("16fefd00", DTLSRecordHeader.ParseError.truncatedHeader(offset: 0)),
                      ("16fefd000000000000000100" + "05" + "aa", .truncatedRecord(offset: 0, need: 18, have: 14)),
                      ("80fefd00000000000000010000", .notDTLS(offset: 0, contentType: 0x80))])
    func malformed(_ hex: String, _ error: DTLSRecordHeader.ParseError) {
        #expect(throws: error) { try DTLSRecordHeader.records(in: ByteBuffer(hex: hex)) }
    }
}
