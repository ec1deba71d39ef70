import NIOCore
import RTCBase
import RTCP
import RTP
import SFU
import Testing

@Suite struct RTPRetransmissionBufferTests {
    static func packet(_ seq: UInt16, payload: [UInt8] = [0xAA, 0xBB, 0xCC]) -> RTPPacket {
        RTPPacket(payloadType: 96, sequenceNumber: RTPSequenceNumber(seq), timestamp: 1000, ssrc: 0x1111,
                  marker: true, payload: ByteBuffer(bytes: payload))
    }

    enum Step: Sendable {
        case store(UInt16, ms: Int)
        case lookup(UInt16, ms: Int, rtt: Int? = nil, expect: Expect)
        /// ``RTPRetransmissionBuffer/contains(_:)``: held whatever its age or resend state.
        case holds(UInt16, Bool)
    }
    enum Expect: Sendable { case found, notFound, tooOld, resentRecently }

    struct Scenario: CustomTestStringConvertible, Sendable {
        var name: String
        var capacity = 8
        var steps: [Step]
        var testDescription: String { name }
    }

    static let scenarios: [Scenario] = [
        Scenario(name: "stored packets are found, others not", steps: [
            .store(1, ms: 0), .store(2, ms: 0), .store(4, ms: 0),
            .lookup(2, ms: 10, expect: .found), .lookup(3, ms: 10, expect: .notFound), .lookup(5, ms: 10, expect: .notFound),
        ]),
        Scenario(name: "no resend within an RTT (default 100 ms)", steps: [
            .store(1, ms: 0),
            .lookup(1, ms: 10, expect: .found), .lookup(1, ms: 50, expect: .resentRecently),
            .lookup(1, ms: 109, expect: .resentRecently), .lookup(1, ms: 110, expect: .found),
        ]),
        Scenario(name: "the RTT given wins over the default", steps: [
            .store(1, ms: 0),
            .lookup(1, ms: 10, rtt: 20, expect: .found), .lookup(1, ms: 29, rtt: 20, expect: .resentRecently),
            .lookup(1, ms: 30, rtt: 20, expect: .found),
        ]),
        Scenario(name: "too old after 2 s", steps: [
            .store(1, ms: 0), .store(2, ms: 1500),
            .lookup(1, ms: 1999, expect: .found), .lookup(1, ms: 2000, rtt: 1, expect: .tooOld), .lookup(2, ms: 2000, expect: .found),
        ]),
        Scenario(name: "ring overwrites the oldest", capacity: 4, steps: [
            .store(10, ms: 0), .store(11, ms: 0), .store(12, ms: 0), .store(13, ms: 0), .store(14, ms: 0),
            .lookup(10, ms: 1, expect: .notFound), .lookup(11, ms: 1, expect: .found), .lookup(14, ms: 1, expect: .found),
            .store(10, ms: 2), .lookup(10, ms: 3, expect: .notFound),   // too old to store
            .holds(10, false), .holds(11, true), .holds(14, true), .holds(15, false),
        ]),
        Scenario(name: "held even when too old or just resent", steps: [
            .store(1, ms: 0), .lookup(1, ms: 10, expect: .found),
            .holds(1, true), .holds(2, false), .holds(0, false), .lookup(1, ms: 2000, expect: .tooOld), .holds(1, true),
        ]),
        Scenario(name: "wrap 65535 -> 0", steps: [
            .store(65534, ms: 0), .store(65535, ms: 0), .store(0, ms: 0), .store(1, ms: 0),
            .lookup(65535, ms: 1, expect: .found), .lookup(0, ms: 1, expect: .found), .lookup(1, ms: 1, expect: .found),
            .lookup(2, ms: 1, expect: .notFound), .lookup(65533, ms: 1, expect: .notFound),
        ]),
        Scenario(name: "a jump past the capacity leaves nothing stale", capacity: 4, steps: [
            .store(1, ms: 0), .store(2, ms: 0), .store(9, ms: 0),
            .lookup(1, ms: 1, expect: .notFound), .lookup(5, ms: 1, expect: .notFound), .lookup(9, ms: 1, expect: .found),
        ]),
        Scenario(name: "nothing stored", steps: [.lookup(0, ms: 0, expect: .notFound), .holds(0, false)]),
    ]

    @Test(arguments: scenarios)
    func scenario(_ s: Scenario) {
        var buffer = RTPRetransmissionBuffer(capacity: s.capacity)
        for (i, step) in s.steps.enumerated() {
            switch step {
            case .store(let seq, let ms):
                buffer.store(Self.packet(seq), now: .milliseconds(ms))
            case .lookup(let seq, let ms, let rtt, let expect):
                let got = buffer.packet(for: RTPSequenceNumber(seq), now: .milliseconds(ms), rtt: rtt.map { .milliseconds($0) })
                switch (got, expect) {
                case (.packet(let p), .found): #expect(p.sequenceNumber.rawValue == seq, "step \(i)")
                case (.notFound, .notFound), (.tooOld, .tooOld), (.resentRecently, .resentRecently): break
                default: Issue.record("step \(i): got \(got), expected \(expect)")
                }
            case .holds(let seq, let expect):
                #expect(buffer.contains(RTPSequenceNumber(seq)) == expect, "step \(i)")
            }
        }
    }

    @Test func packetsForANACK() {
        var buffer = RTPRetransmissionBuffer()
        for seq in UInt16(100)..<110 { buffer.store(Self.packet(seq), now: .zero) }
        let nack = RTCPGenericNACK(senderSSRC: 9, mediaSSRC: 0x1111, lost: [99, 101, 103, 103, 108])
        let first = buffer.packets(for: nack, now: .milliseconds(5))
        #expect(first.map(\.sequenceNumber.rawValue) == [101, 103, 108])
        let repeated = buffer.packets(for: nack, now: .milliseconds(6))
        #expect(repeated.isEmpty)
    }

    @Test func rtxEncoderWrapsAndRoundTrips() throws {
        var rtx = RTXEncoder(ssrc: 0x2222, payloadType: 97, initialSequenceNumber: 65535)
        let original = Self.packet(4242, payload: [1, 2, 3, 4])
        let a = rtx.encapsulate(original)
        let b = rtx.encapsulate(Self.packet(4243))
        #expect(a.ssrc == 0x2222 && a.payloadType == 97 && a.sequenceNumber == 65535)
        #expect(b.sequenceNumber == 0)
        #expect(rtx.nextSequenceNumber == 1)
        #expect(Array(a.payload.readableBytesView) == [0x10, 0x92, 1, 2, 3, 4])   // OSN 4242 = 0x1092
        #expect(a.timestamp == original.timestamp && a.marker == original.marker)
        let back = try RTPPacket(parsing: a.bytes).rtxDecapsulated(originalSSRC: 0x1111, originalPayloadType: 96)
        #expect(back.bytes == original.bytes)
    }
}
