@testable import App
import DTLS
import ICE
import SFU
import SFUTestSupport
import Testing


@Suite struct SessionHubTests {
    static func frame(_ json: String) -> [UInt8] { Array(json.utf8) }

    @Test func joinCapacityReplacementAndLeave() {
        var hub = SessionHub()
        #expect(hub.join(channel: "c", sessionID: .number(1), connection: 10, capacity: 2).isEmpty)
        #expect(hub.join(channel: "c", sessionID: .number(2), connection: 11, capacity: 2).isEmpty)
        // Full: the newcomer is refused with 4109.
        #expect(hub.join(channel: "c", sessionID: .number(3), connection: 12, capacity: 2) == [.close(12, .channelFull)])
        // Same session id: the old one leaves (announced) and is kicked with 4108; "1" (string) is another id.
        let replaced = hub.join(channel: "c", sessionID: .number(1), connection: 13, capacity: 2)
        #expect(replaced == [.send(11, #"[{"message":{"name":"SESSION_LEAVE","payload":{"sessionId":1}}}]"#), .close(10, .kicked)])
        #expect(hub.join(channel: "c", sessionID: .string("1"), connection: 14, capacity: 3).isEmpty)
        #expect(hub.count(in: "c") == 3)
        #expect(hub.leave(connection: 11, now: .seconds(1)).count == 2)
        #expect(hub.leave(connection: 11).isEmpty)
    }

    @Test func kickIsTypeExact() {
        var hub = SessionHub()
        _ = hub.join(channel: "c", sessionID: .number(57), connection: 1, capacity: 10)
        _ = hub.join(channel: "c", sessionID: .string("57"), connection: 2, capacity: 10)
        #expect(hub.kick(channel: "c", sessionID: .number(57)) == [
            .send(2, #"[{"message":{"name":"SESSION_LEAVE","payload":{"sessionId":57}}}]"#), .close(1, .kicked)])
        #expect(hub.kick(channel: "c", sessionID: .number(57)).isEmpty)
        #expect(hub.kick(channel: "other", sessionID: .string("57")).isEmpty)
        #expect(hub.count(in: "c") == 1)
    }

    @Test func busRequestsAndMessages() {
        var hub = SessionHub()
        _ = hub.join(channel: "c", sessionID: .number(57), connection: 1, capacity: 10)
        _ = hub.join(channel: "c", sessionID: .number(58), connection: 2, capacity: 10)
        #expect(hub.handleFrame(Self.frame(#"[{"message":{"name":"START_RECORDING"},"needResponse":"c_0_1"}]"#), from: 1)
                == [.send(1, #"[{"responseTo":"c_0_1"}]"#)])
        // Without WebRTC there is nothing to produce: no answer (HEAD), never an answer without `id`.
        #expect(hub.handleFrame(Self.frame(#"[{"message":{"name":"INIT_PRODUCER"},"needResponse":"c_0_2"}]"#), from: 1).isEmpty)
        #expect(hub.handleFrame(Self.frame(#"[{"message":{"name":"C_INFO_CHANGE","payload":{"info":{"isDeaf":1,"x":true}}}}]"#), from: 1)
                == [.send(2, #"[{"message":{"name":"S_INFO_CHANGE","payload":{"57":{"isDeaf":true}}}}]"#)])
        #expect(hub.handleFrame(Self.frame(#"[{"message":{"name":"BROADCAST","payload":"hi"}}]"#), from: 2)
                == [.send(1, #"[{"message":{"name":"BROADCAST","payload":{"message":"hi","senderId":58}}}]"#)])
        // Responses to nothing, unknown messages, non-arrays and garbage produce nothing.
        for junk in [#"[{"responseTo":"s_1_0"}]"#, #"[{"message":{"name":"NOPE"}}]"#, #"{"a":1}"#, "nope", ""] {
            #expect(hub.handleFrame(Self.frame(junk), from: 1).isEmpty)
        }
        // A connection that never joined gets nothing.
        #expect(hub.handleFrame(Self.frame(#"[{"message":{"name":"X"},"needResponse":"c"}]"#), from: 99).isEmpty)
    }

    @Test func closingAChannelClosesItsSessionsWith4108WithoutLeaveMessages() {
        var hub = SessionHub()
        _ = hub.join(channel: "c", sessionID: .number(1), connection: 1, capacity: 10)
        _ = hub.join(channel: "c", sessionID: .number(2), connection: 2, capacity: 10)
        _ = hub.join(channel: "d", sessionID: .number(1), connection: 3, capacity: 10)
        #expect(hub.closeChannel("c") == [.close(1, .kicked), .close(2, .kicked)])
        #expect(hub.count(in: "c") == 0 && hub.count(in: "d") == 1)
        #expect(hub.closeAll(code: .clean) == [.close(3, .clean)])
    }

    @Test func batchedMessagesShareTheWindowAfterTheFirst() {
        var hub = SessionHub()
        _ = hub.join(channel: "c", sessionID: .number(1), connection: 1, capacity: 10)
        _ = hub.join(channel: "c", sessionID: .number(2), connection: 2, capacity: 10)
        let b = { (text: String, at: Duration) in hub.handleFrame(Self.frame(#"[{"message":{"name":"BROADCAST","payload":"\#(text)"}}]"#), from: 1, now: at) }
        #expect(b("a", .zero) == [.send(2, #"[{"message":{"name":"BROADCAST","payload":{"message":"a","senderId":1}}}]"#)])
        #expect(b("b", .milliseconds(100)).isEmpty)
        #expect(b("c", .milliseconds(200)).isEmpty)
        #expect(hub.nextDeadline == .milliseconds(300))
        #expect(hub.timeout(now: .milliseconds(299)).isEmpty)
        #expect(hub.timeout(now: .milliseconds(300)) == [.send(2,
            #"[{"message":{"name":"BROADCAST","payload":{"message":"b","senderId":1}}},{"message":{"name":"BROADCAST","payload":{"message":"c","senderId":1}}}]"#)])
        // Idle again: the next one goes at once.
        #expect(b("d", .seconds(1)).count == 1)
    }

    @Test(arguments: [(JSONValue.number(57), "57"), (.number(-1.5), "-1.5"), (.string("a\"b\\\n"), #""a\"b\\\n""#),
                      (.object(["b": .bool(true), "a": .null]), #"{"a":null,"b":true}"#), (.array([]), "[]")])
    func jsonText(_ value: JSONValue, _ text: String) {
        #expect(value.jsonText == text)
        #expect(JSONValue.parse(Array(text.utf8)) == value)
    }
}

@Suite struct WorkerAssignmentTests {
    @Test func channelsSpreadEvenlyOverWorkers() {
        var assignment: [String: Int] = [:]
        for n in 0..<9 { assignment["c\(n)"] = WebSocketState.leastLoaded(assignment, workerCount: 3) }
        #expect((0..<3).map { w in assignment.values.filter { $0 == w }.count } == [3, 3, 3])
        let freed = assignment.removeValue(forKey: "c4")!   // a closed channel's worker is the next one used
        #expect(WebSocketState.leastLoaded(assignment, workerCount: 3) == freed)
    }
}
