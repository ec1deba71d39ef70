import NIOCore
import RTCBase
import RTCP
import RTP
import SFU
import Testing

@Suite struct NACKGeneratorTests {
    /// One step of a virtual-time scenario.
    enum Step: Sendable {
        /// A packet arrives at `ms`.
        case rx(UInt16, ms: Int, key: Bool = false, rtx: Bool = false)
        /// `handleTimeout` at `ms` must return `expect`.
        case timeout(ms: Int, expect: [UInt16])
        /// The deadline must be `ms` (nil: none).
        case deadline(Int?)
        /// The list must hold exactly these.
        case missing([UInt16])
    }

    struct Scenario: CustomTestStringConvertible, Sendable {
        var name: String
        var rtt: Duration? = nil
        var configure: @Sendable (inout NACKGenerator.Configuration) -> Void = { _ in }
        var steps: [Step]
        /// A packet given up on asks for a key frame (the frames after it cannot be decoded).
        var keyFrameAtEnd = false
        var testDescription: String { name }
    }

    static let scenarios: [Scenario] = [
        Scenario(name: "gap is requested at once, then every default RTT (100 ms)", steps: [
            .rx(1, ms: 0), .rx(2, ms: 0), .rx(5, ms: 0),
            .deadline(0), .timeout(ms: 0, expect: [3, 4]),
            .deadline(100), .timeout(ms: 50, expect: []), .timeout(ms: 99, expect: []),
            .timeout(ms: 100, expect: [3, 4]), .deadline(200),
        ]),
        Scenario(name: "retry spacing follows the measured RTT", rtt: .milliseconds(30), steps: [
            .rx(10, ms: 0), .rx(12, ms: 5),
            .timeout(ms: 5, expect: [11]), .deadline(35),
            .timeout(ms: 34, expect: []), .timeout(ms: 35, expect: [11]), .timeout(ms: 65, expect: [11]),
        ]),
        Scenario(name: "a late timer does not send twice", steps: [
            .rx(1, ms: 0), .rx(3, ms: 0),
            .timeout(ms: 250, expect: [2]), .timeout(ms: 300, expect: []), .timeout(ms: 350, expect: [2]),
        ]),
        Scenario(name: "arrival after a NACK removes the entry", steps: [
            .rx(1, ms: 0), .rx(4, ms: 0), .timeout(ms: 0, expect: [2, 3]),
            .rx(3, ms: 40, rtx: true), .missing([2]), .timeout(ms: 100, expect: [2]),
            .rx(2, ms: 120), .missing([]), .deadline(nil), .timeout(ms: 200, expect: []),
        ]),
        Scenario(name: "reordering fills the gap before any request", steps: [
            .rx(1, ms: 0), .rx(3, ms: 0), .rx(2, ms: 0), .missing([]), .timeout(ms: 0, expect: []), .deadline(nil),
        ]),
        Scenario(name: "wrap 65535 -> 0", steps: [
            .rx(65533, ms: 0), .rx(65534, ms: 0), .rx(2, ms: 10),
            .missing([65535, 0, 1]), .timeout(ms: 10, expect: [65535, 0, 1]),
            .rx(0, ms: 20), .missing([65535, 1]), .rx(3, ms: 30), .missing([65535, 1]),
        ]),
        Scenario(name: "duplicates and old packets change nothing", steps: [
            .rx(100, ms: 0), .rx(102, ms: 0), .rx(100, ms: 1), .rx(60_000, ms: 1), .missing([101]),
        ]),
        Scenario(name: "gives up after 10 requests", rtt: .milliseconds(10), steps: [
            .rx(1, ms: 0), .rx(3, ms: 0),
            .timeout(ms: 0, expect: [2]), .timeout(ms: 10, expect: [2]), .timeout(ms: 20, expect: [2]),
            .timeout(ms: 30, expect: [2]), .timeout(ms: 40, expect: [2]), .timeout(ms: 50, expect: [2]),
            .timeout(ms: 60, expect: [2]), .timeout(ms: 70, expect: [2]), .timeout(ms: 80, expect: [2]),
            .timeout(ms: 90, expect: [2]),
            .missing([]), .deadline(nil), .timeout(ms: 100, expect: []),
        ], keyFrameAtEnd: true),
        Scenario(name: "gives up after 1 s even with retries left", rtt: .milliseconds(400), steps: [
            .rx(1, ms: 0), .rx(3, ms: 0),
            .timeout(ms: 0, expect: [2]), .timeout(ms: 400, expect: [2]), .timeout(ms: 800, expect: [2]),
            .missing([2]), .timeout(ms: 1200, expect: []), .missing([]), .deadline(nil),
        ], keyFrameAtEnd: true),
        Scenario(name: "giving up asks for no key frame when configured not to", rtt: .milliseconds(400),
                 configure: { $0.keyFrameOnGiveUp = false }, steps: [
            .rx(1, ms: 0), .rx(3, ms: 0), .timeout(ms: 0, expect: [2]), .timeout(ms: 1200, expect: []), .missing([]),
        ]),
        Scenario(name: "send delay waits for reordering", configure: { $0.sendDelay = .milliseconds(20) }, steps: [
            .rx(1, ms: 0), .rx(3, ms: 0), .deadline(20), .timeout(ms: 10, expect: []), .timeout(ms: 20, expect: [2]),
        ]),
        Scenario(name: "a key frame clears older entries and its own gap", steps: [
            .rx(1, ms: 0), .rx(3, ms: 0), .rx(5, ms: 0), .missing([2, 4]),
            .rx(10, ms: 5, key: true), .missing([]), .rx(12, ms: 6), .missing([11]),
        ]),
        Scenario(name: "no clearing on key frames when disabled", configure: { $0.clearOnKeyFrame = false }, steps: [
            .rx(1, ms: 0), .rx(3, ms: 0), .rx(6, ms: 0, key: true), .missing([2, 4, 5]),
        ]),
        // Found when the worker's timer began to follow deadlines exactly: the deadline cached for a gap that was
        // later repaired without a timeout was kept, and a new gap seconds later reported it — a time long past.
        Scenario(name: "a new gap after every earlier one was repaired is due from its own arrival", steps: [
            .rx(1, ms: 0), .rx(3, ms: 0), .deadline(0), .rx(2, ms: 10), .missing([]), .deadline(nil),
            .rx(4, ms: 5_000), .rx(6, ms: 5_000), .deadline(5_000), .timeout(ms: 5_000, expect: [5]),
        ]),
        Scenario(name: "RTX packet newer than the gap is not requested", steps: [
            .rx(5, ms: 0), .rx(7, ms: 1, rtx: true), .missing([]), .rx(8, ms: 2), .missing([6]),
            .timeout(ms: 2, expect: [6]),
        ]),
    ]

    @Test(arguments: scenarios)
    func scenario(_ s: Scenario) {
        var config = NACKGenerator.Configuration()
        s.configure(&config)
        var gen = NACKGenerator(configuration: config)
        gen.rtt = s.rtt
        for (i, step) in s.steps.enumerated() {
            switch step {
            case .rx(let seq, let ms, let key, let rtx):
                gen.received(sequenceNumber: RTPSequenceNumber(seq), isKeyFrame: key, isRecovered: rtx, now: .milliseconds(ms))
            case .timeout(let ms, let expect):
                let got = gen.handleTimeout(now: .milliseconds(ms))
                #expect(got == expect, "step \(i)")
            case .deadline(let ms):
                #expect(gen.nextDeadline == ms.map { .milliseconds($0) }, "step \(i)")
            case .missing(let seqs):
                #expect(gen.missing.map(\.rawValue) == seqs, "step \(i)")
            }
        }
        #expect(gen.needsKeyFrame == s.keyFrameAtEnd)
    }

    struct ArrivalRow: Sendable {
        var seq: UInt16, rtx: Bool, expect: NACKGenerator.Arrival
    }

    /// After 10, 12 (11 requested), 14 (13 not yet requested).
    @Test(arguments: [
        ArrivalRow(seq: 15, rtx: false, expect: .new),
        ArrivalRow(seq: 11, rtx: true, expect: .repaired(requested: true)),
        ArrivalRow(seq: 13, rtx: false, expect: .repaired(requested: false)),
        ArrivalRow(seq: 10, rtx: false, expect: .old),
        ArrivalRow(seq: 9, rtx: true, expect: .old),
        ArrivalRow(seq: 16, rtx: true, expect: .new),   // ahead of the stream: the first copy
    ])
    func arrivalKinds(_ row: ArrivalRow) {
        var gen = NACKGenerator()
        gen.received(sequenceNumber: 10, isKeyFrame: false, isRecovered: false, now: .zero)
        gen.received(sequenceNumber: 12, isKeyFrame: false, isRecovered: false, now: .zero)
        let first = gen.handleTimeout(now: .zero)
        #expect(first == [11])
        gen.received(sequenceNumber: 14, isKeyFrame: false, isRecovered: false, now: .milliseconds(1))
        let arrival = gen.received(sequenceNumber: RTPSequenceNumber(row.seq), isKeyFrame: false, isRecovered: row.rtx,
                                   now: .milliseconds(2))
        #expect(arrival == row.expect)
    }

    @Test func overflowClearsTheListAndAsksForAKeyFrame() {
        var gen = NACKGenerator()
        gen.received(sequenceNumber: 0, isKeyFrame: true, isRecovered: false, now: .zero)
        gen.received(sequenceNumber: 1_000, isKeyFrame: false, isRecovered: false, now: .zero)   // 999 missing: fits
        #expect(gen.missing.count == 999)
        #expect(!gen.needsKeyFrame)
        gen.received(sequenceNumber: 1_003, isKeyFrame: false, isRecovered: false, now: .zero)   // +2: 1001 > 1000
        #expect(gen.missing.isEmpty)
        let requested = gen.pollKeyFrameRequest(), again = gen.pollKeyFrameRequest()
        #expect(requested && !again)
        let lost = gen.handleTimeout(now: .zero)
        #expect(lost == [])
    }

    @Test func overflowFirstDropsWhatAKeyFrameMadeUseless() {
        var config = NACKGenerator.Configuration()
        config.clearOnKeyFrame = false
        config.maxListSize = 10
        var gen = NACKGenerator(configuration: config)
        gen.received(sequenceNumber: 0, isKeyFrame: false, isRecovered: false, now: .zero)
        gen.received(sequenceNumber: 7, isKeyFrame: false, isRecovered: false, now: .zero)      // 1...6 missing
        gen.received(sequenceNumber: 8, isKeyFrame: true, isRecovered: false, now: .zero)
        gen.received(sequenceNumber: 13, isKeyFrame: false, isRecovered: false, now: .zero)     // 9...12: 10 total, fits
        #expect(gen.missing.count == 10)
        gen.received(sequenceNumber: 15, isKeyFrame: false, isRecovered: false, now: .zero)     // +14: drops 1...6
        #expect(gen.missing.map(\.rawValue) == [9, 10, 11, 12, 14])
        #expect(!gen.needsKeyFrame)
    }

    @Test func nackPacketRoundTripsThroughTheRTCPParser() throws {
        var gen = NACKGenerator()
        gen.received(sequenceNumber: 65_530, isKeyFrame: false, isRecovered: false, now: .zero)
        gen.received(sequenceNumber: 30, isKeyFrame: false, isRecovered: false, now: .zero)
        gen.received(sequenceNumber: 65_533, isKeyFrame: false, isRecovered: false, now: .zero)
        gen.received(sequenceNumber: 3, isKeyFrame: false, isRecovered: false, now: .zero)
        let lost = gen.handleTimeout(now: .zero)
        #expect(lost.count == 33)
        #expect(lost.first == 65_531 && lost.last == 29)
        let packet = NACKGenerator.nackPacket(senderSSRC: 1, mediaSSRC: 0xABCD, lost: lost)
        let parsed = try RTCPPacket.parseCompound(RTCPPacket.encodeCompound([packet]))
        guard case .nack(let nack) = try #require(parsed.first) else { Issue.record("not a NACK"); return }
        #expect(nack.mediaSSRC == 0xABCD)
        #expect(nack.lostSequenceNumbers == lost)
        #expect(nack.entries.count == 3)   // PID 65531 (+16 via BLP), PID 12 (+16), PID 29
    }
}
