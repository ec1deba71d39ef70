import Foundation
import NIOCore
import RTCBase
import RTCTestSupport
import SRTP
import Testing

/// Decrypts every SRTP and SRTCP datagram of the captures that have logged keys (`*.srtp-keys`, written
/// by aiortc's sessions) with our libsrtp2 sessions, and compares each plaintext with the same frame of the
/// decrypted twin (`*.plain.pcap`, written by pylibsrtp).
@Suite struct CaptureDecryptionTests {
    static let profiles: [String: SRTPProfile] = [
        "AEAD_AES_256_GCM": .aeadAES256GCM, "AEAD_AES_128_GCM": .aeadAES128GCM,
        "AES_CM_128_HMAC_SHA1_80": .aesCM128HMACSHA1_80, "AES_CM_128_HMAC_SHA1_32": .aesCM128HMACSHA1_32,
    ]

    @Test(arguments: SRTPSession.Backend.allCases) func decryptCapturedCalls(_ backend: SRTPSession.Backend) throws {
        var rtp = 0, rtcp = 0, mismatched = 0, captures = 0
        for capture in CaptureCorpus.captures where !capture.isPlaintext {
            let keysPath = capture.stem + ".srtp-keys"
            guard let text = try? String(contentsOfFile: keysPath, encoding: .utf8) else { continue }
            captures += 1
            var sessions: [SRTPSession] = []
            var seen = Set<String>()
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: " ").map(String.init)
                guard parts.count >= 2, seen.insert(parts[1]).inserted, let profile = Self.profiles[parts[0]] else { continue }
                let keySalt = [UInt8](hex: parts[1])
                let m = SRTPKeyingMaterial(profile: profile, key: Array(keySalt[0..<profile.keyLength]), salt: Array(keySalt[profile.keyLength...]))
                sessions.append(try SRTPSession(direction: .inbound, material: m, backend: backend))
            }
            let plainFile = CaptureFile(path: capture.stem + ".plain.pcap")
            let plain = Dictionary(uniqueKeysWithValues: try plainFile.udpDatagrams().map { ($0.frameNumber, $0.payload) })
            for d in try capture.udpDatagrams() {
                let kind = DatagramKind.classify(d.payload.readableBytesView)
                guard kind == .rtp || kind == .rtcp else { continue }
                var decrypted: ByteBuffer?
                for s in sessions {
                    var b = d.payload
                    do {
                        if kind == .rtp { try s.unprotectRTP(&b) } else { try s.unprotectRTCP(&b) }
                        decrypted = b
                        break
                    } catch { continue }
                }
                if kind == .rtp { rtp += 1 } else { rtcp += 1 }
                if decrypted == nil || decrypted != plain[d.frameNumber] { mismatched += 1 }
            }
        }
        print("SRTP conformance: decrypted \(rtp) SRTP and \(rtcp) SRTCP packets from \(captures) captures, \(mismatched) mismatched against the pylibsrtp twins")
        #expect(captures >= 2 && rtp > 1000 && rtcp > 50)
        #expect(mismatched == 0)
    }
}
