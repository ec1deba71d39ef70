import ICE
import NIOCore
import RTCTestSupport
import SFU
import STUN
import Testing

/// Demultiplexing of one shared socket between transports (by USERNAME, then by bound tuple).
struct WebRtcServerTests {
    static let a = ICECredentials(usernameFragment: "ufragA", password: "password-a-0123456789abcdef")
    static let b = ICECredentials(usernameFragment: "ufragB", password: "password-b-0123456789abcdef")
    static let peer = ICECredentials(usernameFragment: "peer", password: "peer-password-0123456789abcdef")
    static let tupleA = ICETuple(remote: .v4(address: 0x7F00_0001, port: 50_001))
    static let tupleB = ICETuple(remote: .v4(address: 0x7F00_0001, port: 50_002))

    /// A Binding request as a browser sends it to the transport with `server` credentials.
    static func check(to server: ICECredentials) -> ByteBuffer {
        let agent = ICEControllingAgent(local: peer, remote: server, tieBreaker: 1)
        agent.start(now: .zero)
        return agent.pollTransmit()!
    }

    @Test func routesSTUNByUfragAndTheRestByTheTupleICEValidated() throws {
        var server = WebRtcServer<Int>()
        let transports = [1: ICELiteAgent(credentials: Self.a), 2: ICELiteAgent(credentials: Self.b)]
        server.add(1, usernameFragment: "ufragA")
        server.add(2, usernameFragment: "ufragB")
        let rtp = ByteBuffer(hex: "80600001000000010000000a")
        // Media from a tuple no check came from goes nowhere.
        #expect(server.route(rtp, from: Self.tupleA) == nil)
        for (credentials, tuple, id) in [(Self.a, Self.tupleA, 1), (Self.b, Self.tupleB, 2)] {
            let check = Self.check(to: credentials)
            #expect(server.route(check, from: tuple) == id)
            let agent = try #require(transports[id])
            agent.handle(Datagram(check, from: tuple), now: .zero)
            if agent.isValid(tuple) { server.bind(tuple, to: id) }
        }
        #expect(server.route(rtp, from: Self.tupleA) == 1)
        #expect(server.route(rtp, from: Self.tupleB) == 2)
        // A check for B from A's tuple is routed by its USERNAME, whatever the tuple.
        #expect(server.route(Self.check(to: Self.b), from: Self.tupleA) == 2)
        // Unknown ufrag, malformed STUN.
        #expect(server.route(Self.check(to: ICECredentials(usernameFragment: "nobody", password: "x")), from: Self.tupleA) == nil)
        #expect(server.route(ByteBuffer(hex: "0001"), from: Self.tupleB) == 2)   // unparsable STUN falls back to the tuple
        server.remove(1)
        #expect(server.route(rtp, from: Self.tupleA) == nil)
        #expect(server.route(Self.check(to: Self.a), from: Self.tupleA) == nil)
        #expect(server.route(rtp, from: Self.tupleB) == 2 && server.transportCount == 1)
    }

    @Test func aTupleMovesToTheTransportThatValidatedItLast() {
        var server = WebRtcServer<String>()
        server.bind(Self.tupleA, to: "x")
        server.bind(Self.tupleA, to: "y")
        #expect(server.transport(boundTo: Self.tupleA) == "y")
        server.remove("x")   // removing the old owner leaves the moved tuple alone
        #expect(server.transport(boundTo: Self.tupleA) == "y")
    }
}
