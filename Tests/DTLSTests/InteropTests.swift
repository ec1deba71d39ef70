import DTLS
import Foundation
import NIOCore
import RTCBase
import RTCTestSupport
import Testing

/// Our DTLS against an independent implementation: pyOpenSSL on the OpenSSL 4 bundled with the
/// `cryptography` wheel (aiortc's DTLS stack), over pipes (`Peer/pyopenssl_peer.py`). Both roles; the
/// keying material both sides export must be identical, and both check each other's fingerprint.
@Suite(.serialized) struct DTLSInteropTests {
    final class Peer {
        let process = Process()
        let stdin = Pipe(), stdout = Pipe()
        var buffer = Data()

        init(role: String, ourFingerprint: String) throws {
            let script = String(#filePath).split(separator: "/").dropLast().joined(separator: "/")
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", "/" + script + "/Peer/pyopenssl_peer.py"]
            process.standardInput = stdin
            process.standardOutput = stdout
            try process.run()
            send("HELLO \(role) \(ourFingerprint)")
        }

        func send(_ line: String) { stdin.fileHandleForWriting.write((line + "\n").data(using: .utf8)!) }

        func readLine() -> String? {
            while true {
                if let nl = buffer.firstIndex(of: 0x0A) {
                    let line = String(decoding: buffer[buffer.startIndex..<nl], as: UTF8.self)
                    buffer = Data(buffer[(nl + 1)...])
                    return line
                }
                let chunk = stdout.fileHandleForReading.availableData
                if chunk.isEmpty { return nil }
                buffer.append(chunk)
            }
        }

        deinit {
            try? stdin.fileHandleForWriting.close()
            process.terminate()
        }
    }

    @Test(arguments: [DTLSRole.server, DTLSRole.client])
    func handshakeWithPyOpenSSL(_ ourRole: DTLSRole) throws {
        let cert = try DTLSCertificate.generate()
        let peer = try Peer(role: ourRole == .server ? "client" : "server", ourFingerprint: cert.fingerprint()!.value)
        let fpLine = try #require(peer.readLine())
        #expect(fpLine.hasPrefix("FP "))
        let theirs = DTLSFingerprint(algorithm: "sha-256", value: String(fpLine.dropFirst(3)))
        let conn = try DTLSConnection(context: try DTLSContext(certificate: cert), role: ourRole, remoteFingerprints: [theirs])
        conn.start(now: .zero)
        var theirKeys: (String, String)?
        var ourResult: DTLSHandshakeResult?
        for _ in 0..<10 {
            while let d = conn.pollTransmit() { peer.send("D " + d.hexString) }
            peer.send("GO")
            while let line = peer.readLine(), line != "END" {
                if line.hasPrefix("D ") { conn.handle(ByteBuffer(hex: String(line.dropFirst(2))), now: .zero) }
                if line.hasPrefix("K ") {
                    let parts = line.split(separator: " ")
                    theirKeys = (String(parts[1]), String(parts[2]))
                }
                if line.hasPrefix("X ") { Issue.record("pyOpenSSL: \(line)") }
            }
            while let e = conn.pollEvent() {
                if case .connected(let r) = e { ourResult = r }
                if case .failed(let err) = e { Issue.record("ours: \(err)") }
            }
            if ourResult != nil && theirKeys != nil { break }
        }
        let ours = try #require(ourResult)
        let keys = try #require(theirKeys)
        #expect(ours.profile.rawValue == keys.0)
        #expect(ours.keyingMaterial.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined() == keys.1)
        // As server we choose in our order from pyOpenSSL's offer; as client pyOpenSSL chooses in its order.
        #expect(ours.profile == (ourRole == .server ? .aeadAES256GCM : .aesCM128HMACSHA1_80))
        #expect(ours.peerFingerprint.matches(theirs))
    }
}
