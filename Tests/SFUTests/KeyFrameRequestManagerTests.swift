import RTCBase
import RTCP
import SFU
import Testing

@Suite struct KeyFrameRequestManagerTests {
    enum Step: Sendable {
        /// A consumer asks for a key frame of `ssrc` at `ms`; `sends` whether a packet goes out at once.
        case request(SSRC, ms: Int, method: KeyFrameRequestMethod = .pli, sends: Bool)
        case keyFrame(SSRC)
        /// `handleTimeout` at `ms` must send requests for these SSRCs.
        case timeout(ms: Int, sends: [SSRC])
        case deadline(Int?)
    }

    struct Scenario: CustomTestStringConvertible, Sendable {
        var name: String
        var steps: [Step]
        var testDescription: String { name }
    }

    static let scenarios: [Scenario] = [
        Scenario(name: "fifty consumers asking within 10 ms make one PLI",
                 steps: [.request(1, ms: 0, sends: true)]
                    + (1...49).map { .request(1, ms: $0 / 5, sends: false) }
                    + [.keyFrame(1), .deadline(nil), .timeout(ms: 2_000, sends: [])]),
        Scenario(name: "a request soon after a key frame waits for the interval", steps: [
            .request(1, ms: 0, sends: true), .keyFrame(1), .request(1, ms: 100, sends: false), .request(1, ms: 200, sends: false),
            .deadline(300), .timeout(ms: 299, sends: []), .timeout(ms: 300, sends: [1]), .deadline(1_300),
        ]),
        Scenario(name: "unanswered request is repeated every second, twice", steps: [
            .request(1, ms: 0, sends: true), .deadline(1_000),
            .timeout(ms: 999, sends: []), .timeout(ms: 1_000, sends: [1]), .timeout(ms: 2_000, sends: [1]),
            .timeout(ms: 3_000, sends: []), .deadline(nil),
            .request(1, ms: 3_100, sends: true),
        ]),
        Scenario(name: "a new request refills the repetition budget", steps: [
            .request(1, ms: 0, sends: true), .timeout(ms: 1_000, sends: [1]), .timeout(ms: 2_000, sends: [1]),
            .request(1, ms: 2_500, sends: false), .timeout(ms: 3_000, sends: [1]), .timeout(ms: 4_000, sends: [1]),
            .timeout(ms: 5_000, sends: []),
        ]),
        Scenario(name: "a key frame stops repetitions", steps: [
            .request(1, ms: 0, sends: true), .keyFrame(1), .timeout(ms: 1_000, sends: []), .deadline(nil),
            .request(1, ms: 1_000, sends: true),
        ]),
        Scenario(name: "streams are independent", steps: [
            .request(1, ms: 0, sends: true), .request(2, ms: 10, sends: true), .request(1, ms: 20, sends: false),
            .keyFrame(2), .deadline(1_000), .timeout(ms: 1_000, sends: [1]),
        ]),
    ]

    @Test(arguments: scenarios)
    func scenario(_ s: Scenario) {
        var manager = KeyFrameRequestManager(senderSSRC: 99)
        for (i, step) in s.steps.enumerated() {
            switch step {
            case .request(let ssrc, let ms, let method, let sends):
                let packet = manager.request(ssrc: ssrc, method: method, now: .milliseconds(ms))
                #expect((packet != nil) == sends, "step \(i)")
                if let packet { #expect(packet.mediaSSRCs == [ssrc], "step \(i)") }
            case .keyFrame(let ssrc):
                manager.keyFrameReceived(ssrc: ssrc)
            case .timeout(let ms, let sends):
                let packets = manager.handleTimeout(now: .milliseconds(ms))
                #expect(packets.flatMap(\.mediaSSRCs) == sends, "step \(i)")
            case .deadline(let ms):
                #expect(manager.nextDeadline == ms.map { .milliseconds($0) }, "step \(i)")
            }
        }
    }

    @Test func pliGoesThroughTheRTCPParser() throws {
        var manager = KeyFrameRequestManager(senderSSRC: 0x0102_0304)
        let sent = manager.request(ssrc: 0xAABB_CCDD, now: .zero)
        let packet = try #require(sent)
        let parsed = try RTCPPacket.parseCompound(RTCPPacket.encodeCompound([packet]))
        #expect(parsed == [.pictureLossIndication(RTCPPictureLossIndication(senderSSRC: 0x0102_0304, mediaSSRC: 0xAABB_CCDD))])
        #expect(manager.isAwaitingKeyFrame(ssrc: 0xAABB_CCDD))
    }

    @Test func firSequenceNumberIncrementsPerRequestSent() throws {
        var manager = KeyFrameRequestManager(senderSSRC: 7)
        var numbers: [UInt8] = []
        func record(_ packet: RTCPPacket?) throws {
            guard let packet else { return }
            let parsed = try RTCPPacket.parseCompound(RTCPPacket.encodeCompound([packet]))
            guard case .fullIntraRequest(let fir) = parsed.first else { Issue.record("not a FIR"); return }
            #expect(fir.senderSSRC == 7 && fir.entries.map(\.ssrc) == [5])
            numbers += fir.entries.map(\.sequenceNumber)
        }
        try record(manager.request(ssrc: 5, method: .fir, now: .zero))
        for p in manager.handleTimeout(now: .seconds(1)) { try record(p) }   // repetition
        manager.keyFrameReceived(ssrc: 5)
        try record(manager.request(ssrc: 5, method: .fir, now: .seconds(2)))
        #expect(numbers == [1, 2, 3])
    }
}
