import Foundation
import ICE
import NIOCore
import RTCBase
import RTCTestSupport
import STUN
import Testing

/// Replays every STUN Binding request of the captures into an ICE-lite agent that holds the ICE
/// credentials of the side the request was sent to (from the capture's `*.sdp.json`). Requests from a
/// controlling peer must get a success response that authenticates with that side's password and maps
/// the request's real source address; requests from a controlled peer must get 487 (a lite agent is
/// always controlled).
@Suite struct CaptureReplayTests {
    static func credentials(in sdp: String) -> [ICECredentials] {
        var ufrags: [String] = [], pwds: [String] = []
        for line in sdp.split(whereSeparator: \.isNewline) {
            if line.hasPrefix("a=ice-ufrag:") { ufrags.append(String(line.dropFirst(12))) }
            if line.hasPrefix("a=ice-pwd:") { pwds.append(String(line.dropFirst(10))) }
        }
        return zip(ufrags, pwds).map { ICECredentials(usernameFragment: $0, password: $1) }
    }

    @Test func replayCapturedChecks() throws {
        var replayed = 0, succeeded = 0, roleConflicts = 0
        for capture in CaptureCorpus.captures where !capture.isPlaintext {
            let sdpPath = capture.stem + ".sdp.json"
            let data = try Data(contentsOf: URL(fileURLWithPath: sdpPath))
            let json = try JSONSerialization.jsonObject(with: data) as! [String: String]
            let creds = Set(Self.credentials(in: json["offer"]!) + Self.credentials(in: json["answer"]!))
            #expect(!creds.isEmpty, "\(capture.name): no ICE credentials")
            for d in try capture.udpDatagrams() where DatagramKind.classify(d.payload.readableBytesView) == .stun {
                guard let m = try? STUNMessage(parsing: d.payload), m.type == .bindingRequest, let username = m.username else { continue }
                let target = String(username.split(separator: ":").first ?? "")
                guard let local = creds.first(where: { $0.usernameFragment == target }) else {
                    Issue.record("\(capture.name) frame \(d.frameNumber): no credentials for ufrag \(target)")
                    continue
                }
                let source: STUNAddress
                switch d.fiveTuple.source {
                case .v4(let a): source = .v4(address: a, port: d.fiveTuple.sourcePort)
                case .v6(let h, let l): source = .v6(high: h, low: l, port: d.fiveTuple.sourcePort)
                }
                let agent = ICELiteAgent(credentials: local)
                let out = agent.answer(d.payload, from: ICETuple(remote: source), now: .zero)
                replayed += 1
                let response = try STUNMessage(parsing: #require(out.response, "\(capture.name) frame \(d.frameNumber) unanswered"))
                #expect(response.transactionID == m.transactionID)
                #expect(response.verifyFingerprint())
                if m.iceControlling != nil {
                    #expect(out.rejection == nil, "\(capture.name) frame \(d.frameNumber): \(String(describing: out.rejection))")
                    #expect(response.verifyMessageIntegrity(key: STUNIntegrityKey(shortTermPassword: local.password)))
                    #expect(response.xorMappedAddress == source)
                    #expect(agent.selectedTuple == ICETuple(remote: source))
                    succeeded += 1
                } else {
                    #expect(m.iceControlled != nil)
                    #expect(out.rejection == .errorResponse(.roleConflict))
                    roleConflicts += 1
                }
            }
        }
        print("ICE conformance: replayed \(replayed) captured Binding requests into the ICE-lite agent: \(succeeded) answered with success, \(roleConflicts) with 487 (sent by controlled peers), 0 unanswered")
        #expect(replayed > 0 && succeeded > 0)
    }
}
