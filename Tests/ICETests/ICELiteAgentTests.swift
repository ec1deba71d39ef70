import ICE
import NIOCore
import RTCBase
import RTCTestSupport
import STUN
import Testing

@Suite struct ICELiteAgentTests {
    static let server = ICECredentials(usernameFragment: "srvUfrag", password: "server-password-0123456789")
    static let browser = ICECredentials(usernameFragment: "brws", password: "browser-password-0123456789")
    static let a = ICETuple(remote: .v4(address: 0x7F00_0001, port: 50_001))
    static let b = ICETuple(remote: .v4(address: 0xC000_0202, port: 50_002))   // peer-reflexive 192.0.2.2

    /// A Chromium-like check; every part can be left out or spoiled.
    static func check(username: String? = "srvUfrag:brws", password: String = server.password, priority: Bool = true,
                      controlling: Bool = true, controlled: Bool = false, useCandidate: Bool = false, nomination: UInt32? = nil,
                      integrity: Bool = true, fingerprint: Bool = true, extra: STUNAttributeType? = nil,
                      type: STUNMessageType = .bindingRequest, id: UInt64 = 1) -> ByteBuffer {
        var b = STUNMessageBuilder(type: type, transactionID: STUNTransactionID(high: 7, low: id))
        if let username { b.appendUsername(username) }
        b.append(.googNetworkInfo, value: [0, 1, 0, 10])
        if controlling { b.appendICEControlling(tieBreaker: 42) }
        if controlled { b.appendICEControlled(tieBreaker: 42) }
        if useCandidate { b.appendUseCandidate() }
        if let nomination { b.appendNomination(nomination) }
        if priority { b.appendPriority(1_853_824_767) }
        if let extra { b.append(extra, value: [1, 2, 3, 4]) }
        if integrity { b.appendMessageIntegrity(key: STUNIntegrityKey(shortTermPassword: password)) }
        if fingerprint { b.appendFingerprint() }
        return b.message.bytes
    }

    struct PolicyRow: Sendable, CustomTestStringConvertible {
        let name: String, datagram: ByteBuffer, rejection: ICERejection?, responds: Bool
        var testDescription: String { name }
    }

    static let policy: [PolicyRow] = [
        PolicyRow(name: "valid check → success", datagram: check(), rejection: nil, responds: true),
        PolicyRow(name: "garbage → ignored", datagram: ByteBuffer(hex: "1603fefd00"), rejection: .malformed(.truncated(need: 20, have: 5)), responds: false),
        PolicyRow(name: "RTP-like bytes → ignored", datagram: ByteBuffer(hex: "8060" + String(repeating: "00", count: 30)), rejection: .malformed(.notSTUN), responds: false),
        PolicyRow(name: "indication → ignored", datagram: check(type: .bindingIndication), rejection: .notARequest, responds: false),
        PolicyRow(name: "success response → ignored", datagram: check(type: .bindingSuccess), rejection: .notARequest, responds: false),
        PolicyRow(name: "other method → 400", datagram: check(type: STUNMessageType(method: STUNMethod(rawValue: 3), class: .request)),
                  rejection: .errorResponse(.badRequest), responds: true),
        PolicyRow(name: "no FINGERPRINT → 400", datagram: check(fingerprint: false), rejection: .errorResponse(.badRequest), responds: true),
        PolicyRow(name: "no MESSAGE-INTEGRITY → silently dropped", datagram: check(integrity: false), rejection: .unauthenticated, responds: false),
        PolicyRow(name: "no USERNAME → 400", datagram: check(username: nil), rejection: .errorResponse(.badRequest), responds: true),
        PolicyRow(name: "wrong ufrag → 401", datagram: check(username: "other:brws"), rejection: .errorResponse(.unauthorized), responds: true),
        PolicyRow(name: "ufrag without remote part → 401", datagram: check(username: "srvUfrag:"), rejection: .errorResponse(.unauthorized), responds: true),
        PolicyRow(name: "wrong password → 401", datagram: check(password: "nope"), rejection: .errorResponse(.unauthorized), responds: true),
        PolicyRow(name: "no PRIORITY → 400", datagram: check(priority: false), rejection: .errorResponse(.badRequest), responds: true),
        PolicyRow(name: "ICE-CONTROLLED → 487", datagram: check(controlling: false, controlled: true), rejection: .errorResponse(.roleConflict), responds: true),
        PolicyRow(name: "unknown comprehension-required → 420", datagram: check(extra: STUNAttributeType(0x0031)),
                  rejection: .errorResponse(.unknownAttribute), responds: true),
        PolicyRow(name: "unknown comprehension-optional → success", datagram: check(extra: STUNAttributeType(0x8031)), rejection: nil, responds: true),
    ]

    @Test(arguments: policy)
    func requestPolicy(_ row: PolicyRow) throws {
        let agent = ICELiteAgent(credentials: Self.server)
        let out = agent.answer(row.datagram, from: Self.a, now: .zero)
        #expect(out.rejection == row.rejection)
        #expect((out.response != nil) == row.responds)
        guard let response = out.response else {
            #expect(agent.state == .new && agent.selectedTuple == nil)
            return
        }
        let m = try STUNMessage(parsing: response)
        #expect(m.verifyFingerprint())
        if row.rejection == nil {
            #expect(m.type == .bindingSuccess)
            #expect(m.verifyMessageIntegrity(key: STUNIntegrityKey(shortTermPassword: Self.server.password)))
            #expect(m.xorMappedAddress == Self.a.remote)
            #expect(agent.selectedTuple == Self.a && agent.state == .connected)
        } else if case .errorResponse(let code) = row.rejection {
            #expect(m.type == .bindingError && m.errorCode?.code == code.code)
            #expect(!m.contains(.messageIntegrity))
            if code == .unknownAttribute { #expect(m.unknownAttributes == [STUNAttributeType(0x0031)]) }
            #expect(agent.state == .new && !agent.isValid(Self.a))
        }
    }

    @Test func corruptedFingerprintIsDroppedSilently() {
        var d = Self.check()
        d.setInteger(d.getInteger(at: d.writerIndex - 1, as: UInt8.self)! ^ 0xFF, at: d.writerIndex - 1)
        let out = ICELiteAgent(credentials: Self.server).answer(d, from: Self.a, now: .zero)
        #expect(out.response == nil && out.rejection == .badFingerprint)
    }

    @Test func peerReflexiveSourcesAndNomination() {
        let agent = ICELiteAgent(credentials: Self.server)
        // First valid check (no nomination) from a: connected on a.
        agent.handle(Datagram(Self.check(id: 1), from: Self.a), now: .zero)
        #expect(agent.pollEvent() == .selectedTupleChanged(Self.a))
        #expect(agent.pollEvent() == .stateChanged(.connected))
        // A check from b (an address no candidate announced) is answered and b becomes valid, but media stays on a.
        let fromB = agent.answer(Self.check(id: 2), from: Self.b, now: .milliseconds(100))
        #expect(fromB.rejection == nil && agent.isValid(Self.b) && agent.selectedTuple == Self.a)
        // b nominated: selected, completed.
        agent.handle(Datagram(Self.check(useCandidate: true, id: 3), from: Self.b), now: .milliseconds(200))
        #expect(agent.selectedTuple == Self.b && agent.state == .completed)
        #expect(agent.pollEvent() == .selectedTupleChanged(Self.b))
        #expect(agent.pollEvent() == .stateChanged(.completed))
        // Chromium with two nominated pairs: the latest nomination wins.
        agent.handle(Datagram(Self.check(useCandidate: true, id: 4), from: Self.a), now: .milliseconds(300))
        #expect(agent.selectedTuple == Self.a && agent.state == .completed)
        // A later plain check does not move media or downgrade the state.
        agent.handle(Datagram(Self.check(id: 5), from: Self.b), now: .milliseconds(400))
        #expect(agent.selectedTuple == Self.a && agent.state == .completed)
    }

    @Test func renominationWithNominationAttribute() {
        let agent = ICELiteAgent(credentials: Self.server)
        agent.handle(Datagram(Self.check(nomination: 1, id: 1), from: Self.a), now: .zero)
        #expect(agent.selectedTuple == Self.a && agent.state == .completed)
        _ = agent.answer(Self.check(nomination: 1, id: 2), from: Self.b, now: .milliseconds(10))   // not higher: ignored
        #expect(agent.selectedTuple == Self.a)
        agent.handle(Datagram(Self.check(nomination: 2, id: 3), from: Self.b), now: .milliseconds(20))
        #expect(agent.selectedTuple == Self.b)
    }

    @Test func consentFreshnessInVirtualTime() {
        let agent = ICELiteAgent(credentials: Self.server)
        agent.handle(Datagram(Self.check(useCandidate: true), from: Self.a), now: .seconds(1))
        agent.handle(Datagram(Self.check(id: 2), from: Self.b), now: .seconds(10))
        while agent.pollEvent() != nil {}
        #expect(agent.nextDeadline == .seconds(31))
        agent.handleTimeout(now: .seconds(30))
        #expect(agent.selectedTuple == Self.a && agent.state == .completed)
        // a loses consent at 31 s: media moves to b, the freshest remaining tuple.
        agent.handleTimeout(now: .seconds(31))
        #expect(agent.selectedTuple == Self.b && !agent.isValid(Self.a))
        #expect(agent.pollEvent() == .selectedTupleChanged(Self.b))
        #expect(agent.nextDeadline == .seconds(40))
        // No valid check for 30 s on any tuple: disconnected.
        agent.handleTimeout(now: .seconds(40))
        #expect(agent.state == .disconnected && agent.selectedTuple == nil && agent.nextDeadline == nil)
        #expect(agent.pollEvent() == .selectedTupleChanged(nil))
        #expect(agent.pollEvent() == .stateChanged(.disconnected))
        // Checks keep consent alive: a check every 5 s for a minute never disconnects.
        let fresh = ICELiteAgent(credentials: Self.server)
        for t in stride(from: 0, through: 60, by: 5) {
            fresh.handle(Datagram(Self.check(useCandidate: true, id: UInt64(t) + 1), from: Self.a), now: .seconds(t))
            fresh.handleTimeout(now: .seconds(t) + .milliseconds(4_999))
        }
        #expect(fresh.state == .completed)
    }

    @Test func iceRestart() throws {
        let agent = ICELiteAgent(credentials: Self.server)
        agent.handle(Datagram(Self.check(useCandidate: true), from: Self.a), now: .zero)
        let fresh = ICECredentials(usernameFragment: "newUfrag", password: "new-password-abcdefghijklmnop")
        agent.restart(credentials: fresh)
        #expect(agent.answer(Self.check(id: 2), from: Self.a, now: .seconds(1)).rejection == .errorResponse(.unauthorized))
        #expect(agent.selectedTuple == Self.a)   // media keeps flowing meanwhile
        let ok = agent.answer(Self.check(username: "newUfrag:brws", password: fresh.password, useCandidate: true, id: 3), from: Self.b, now: .seconds(2))
        #expect(ok.rejection == nil && agent.selectedTuple == Self.b)
        let m = try STUNMessage(parsing: ok.response!)
        #expect(m.verifyMessageIntegrity(key: STUNIntegrityKey(shortTermPassword: fresh.password)))
    }

    @Test func tupleLimitForgetsTheStalest() {
        let agent = ICELiteAgent(credentials: Self.server, maxTuples: 3)
        for i in 0..<5 {
            agent.handle(Datagram(Self.check(useCandidate: i == 0, id: UInt64(i)), from: ICETuple(remote: .v4(address: 1, port: UInt16(1000 + i)))), now: .seconds(i))
        }
        #expect(agent.tuples.count == 3)
        #expect(agent.isValid(ICETuple(remote: .v4(address: 1, port: 1000))))   // the selected one is kept
        #expect(agent.isValid(ICETuple(remote: .v4(address: 1, port: 1004))))
    }
}

@Suite struct RFC4571FramerTests {
    @Test func splitsAndJoins() throws {
        var f = RFC4571Framer()
        let stream = RFC4571Framer.frame(ByteBuffer(hex: "0001aabb")).hexString + RFC4571Framer.frame(ByteBuffer(hex: "80")).hexString
        let bytes = [UInt8](hex: stream)
        // Byte by byte: packets appear exactly when complete.
        var out: [String] = []
        for b in bytes {
            f.feed(ByteBuffer(bytes: [b]))
            while let p = try f.nextPacket() { out.append(p.hexString) }
        }
        #expect(out == ["0001aabb", "80"])
        #expect(stream == "0004" + "0001aabb" + "0001" + "80")
    }

    @Test func peeksAtTheFirstByteBeforeThePacketIsComplete() throws {
        var f = RFC4571Framer()
        f.feed(ByteBuffer(hex: "0003"))
        #expect(f.nextPacketFirstByte == nil)
        f.feed(ByteBuffer(hex: "47"))
        #expect(f.nextPacketFirstByte == 0x47)
        #expect(try f.nextPacket() == nil)
        f.feed(ByteBuffer(hex: "4554" + "0001" + "80"))
        #expect(try f.nextPacket()?.hexString == "474554")
        #expect(f.nextPacketFirstByte == 0x80)
        #expect(try f.nextPacket()?.hexString == "80")
        #expect(f.nextPacketFirstByte == nil)
    }

    @Test func manyPacketsInOneFeedComeOutInOrder() throws {
        var f = RFC4571Framer()
        var stream = ByteBuffer()
        for i in 0..<5000 { stream.writeInteger(UInt16(2)); stream.writeInteger(UInt16(i)) }
        f.feed(stream)
        var seen: [UInt16] = []
        while let p = try f.nextPacket() { seen.append(p.getInteger(at: p.readerIndex)!) }
        #expect(seen == (0..<5000).map(UInt16.init))
        f.feed(ByteBuffer(hex: "000180"))   // the consumed prefix is dropped, the framer keeps working
        #expect(try f.nextPacket()?.hexString == "80")
    }

    @Test func refusesBadLengths() {
        var f = RFC4571Framer(maxPacketLength: 1500)
        f.feed(ByteBuffer(hex: "0000"))
        #expect(throws: RFC4571Framer.FramingError.zeroLength) { try f.nextPacket() }
        var g = RFC4571Framer(maxPacketLength: 1500)
        g.feed(ByteBuffer(hex: "ffff"))
        #expect(throws: RFC4571Framer.FramingError.tooLong(65_535)) { try g.nextPacket() }
    }
}

extension ICELiteAgent {
    /// Handles one datagram and returns what became of it: the response queued for its source (if any) and, when
    /// it got no success response, the rejection the agent reported.
    func answer(_ datagram: ByteBuffer, from tuple: ICETuple, now: Duration) -> (response: ByteBuffer?, rejection: ICERejection?) {
        while pollTransmit() != nil {}   // responses to earlier datagrams
        handle(Datagram(datagram, from: tuple), now: now)
        let response = pollTransmit()?.bytes
        var rejection: ICERejection?
        while let event = pollEvent() { if case .rejected(let r, _) = event { rejection = r } }
        return (response, rejection)
    }
}

@Suite struct ControllingAgentTests {
    /// Our controlling agent against our lite agent through a lossy in-memory link, in virtual time.
    @Test func connectsThroughLossAndKeepsConsent() {
        let lite = ICELiteAgent(credentials: ICELiteAgentTests.server)
        let peer = ICEControllingAgent(local: ICELiteAgentTests.browser, remote: ICELiteAgentTests.server, tieBreaker: 99)
        var now = Duration.zero
        var sent = 0
        var dropped = 0
        peer.start(now: now)
        var connectedEvents = 0
        while now < .seconds(60) {
            peer.handleTimeout(now: now)
            while let check = peer.pollTransmit() {
                sent += 1
                // Drop the first two checks to exercise retransmission.
                if sent <= 2 { dropped += 1 } else if let response = lite.answer(check, from: ICELiteAgentTests.a, now: now).response {
                    peer.handle(response, now: now)
                }
            }
            while let event = peer.pollEvent() { if event == .connected { connectedEvents += 1 } }
            lite.handleTimeout(now: now)
            now = min(peer.nextDeadline ?? .seconds(60), lite.nextDeadline ?? .seconds(60), now + .seconds(1))
        }
        #expect(dropped == 2 && peer.connected && !peer.failed && connectedEvents == 1)
        #expect(lite.state == .completed && lite.selectedTuple == ICELiteAgentTests.a)
        #expect(sent >= 12)   // a consent check every 5 s
    }

    @Test func givesUpWithoutAnswers() {
        let peer = ICEControllingAgent(local: ICELiteAgentTests.browser, remote: ICELiteAgentTests.server, tieBreaker: 1)
        var now = Duration.zero
        var sent = 0
        peer.start(now: now)
        while peer.pollTransmit() != nil { sent += 1 }
        while let deadline = peer.nextDeadline, now < .seconds(120) {
            now = max(now, deadline)
            peer.handleTimeout(now: now)
            while peer.pollTransmit() != nil { sent += 1 }
        }
        #expect(peer.failed && sent == 7 && peer.pollEvent() == .failed)
    }
}
