import RTCBase
import RTP
import SFU
import Testing

/// One step of a sequence-rewriter script.
enum SeqStep: Sendable, CustomStringConvertible {
    /// Rewrite `input`; expect `output` (nil = refused).
    case fwd(UInt64, UInt64?)
    /// Drop `input`.
    case drop(UInt64)
    /// Resync, skipping this many output numbers.
    case sync(Int)

    var description: String {
        switch self {
        case .fwd(let i, let o): "fwd \(i)->\(o.map(String.init) ?? "nil")"
        case .drop(let i): "drop \(i)"
        case .sync(let s): "sync+\(s)"
        }
    }
}

struct SeqScript: Sendable, CustomTestStringConvertible {
    var name: String
    var bits = 16
    var initial: UInt64 = 0
    var history = 32
    var steps: [SeqStep]
    var testDescription: String { name }
}

@Suite struct SequenceRewriterTests {
    static let scripts: [SeqScript] = [
        SeqScript(name: "in order, from the initial output", initial: 1000,
                  steps: [.fwd(5, 1000), .fwd(6, 1001), .fwd(7, 1002)]),
        SeqScript(name: "drops of new inputs leave no gap",
                  steps: [.fwd(10, 0), .drop(11), .fwd(12, 1), .drop(13), .drop(14), .fwd(15, 2)]),
        SeqScript(name: "reordering keeps the reserved numbers",
                  steps: [.fwd(10, 0), .fwd(12, 2), .fwd(11, 1), .fwd(13, 3)]),
        SeqScript(name: "a late input skipped over before a drop gets its number back",
                  steps: [.fwd(10, 0), .fwd(12, 2), .drop(13), .fwd(14, 3), .fwd(11, 1), .fwd(13, nil), .fwd(12, 2), .fwd(15, 4)]),
        SeqScript(name: "a repeated dropped input is refused",
                  steps: [.fwd(10, 0), .drop(11), .fwd(11, nil), .fwd(12, 1)]),
        SeqScript(name: "a run of drops is one range; inputs inside it stay refused",
                  steps: [.fwd(1, 0), .drop(2), .drop(3), .drop(4), .fwd(5, 1), .fwd(3, nil), .fwd(1, 0)]),
        SeqScript(name: "a late drop cannot close its gap",
                  steps: [.fwd(10, 0), .fwd(12, 2), .drop(11), .fwd(13, 3)]),
        SeqScript(name: "input wraps at 65535", initial: 100,
                  steps: [.fwd(65534, 100), .fwd(0, 102), .fwd(65535, 101), .drop(1), .fwd(2, 103), .fwd(65533, nil)]),
        SeqScript(name: "output wraps at 65535", initial: 65534,
                  steps: [.fwd(1, 65534), .fwd(2, 65535), .drop(3), .fwd(4, 0), .fwd(5, 1)]),
        SeqScript(name: "resync after a pause continues at +1 and refuses older inputs",
                  steps: [.fwd(10, 0), .fwd(11, 1), .sync(0), .fwd(500, 2), .fwd(501, 3), .fwd(499, nil), .fwd(11, nil), .fwd(502, 4)]),
        SeqScript(name: "resync to a new source across both wraps", initial: 65535,
                  steps: [.fwd(40000, 65535), .fwd(40001, 0), .sync(0), .fwd(65535, 1), .fwd(0, 2), .drop(1), .fwd(2, 3)]),
        SeqScript(name: "resync skipping one leaves a one-number gap",
                  steps: [.fwd(10, 0), .sync(1), .fwd(20, 2), .fwd(21, 3)]),
        SeqScript(name: "resync before the first input starts at the initial output", initial: 7,
                  steps: [.sync(0), .fwd(300, 7), .fwd(301, 8)]),
        SeqScript(name: "drop before the first input and while a resync is pending change nothing",
                  steps: [.drop(5), .fwd(6, 0), .sync(0), .drop(7), .fwd(8, 1)]),
        SeqScript(name: "late inputs older than the retained drop history are refused", history: 2,
                  steps: [.fwd(10, 0), .fwd(12, 2), .drop(13), .fwd(14, 3), .drop(15), .fwd(16, 4), .drop(17), .fwd(18, 5),
                          .fwd(11, nil), .fwd(16, 4), .fwd(19, 6)]),
        SeqScript(name: "8-bit counter (TL0PICIDX) wraps", bits: 8,
                  steps: [.fwd(254, 0), .fwd(255, 1), .fwd(0, 2), .drop(1), .fwd(2, 3)]),
        SeqScript(name: "15-bit counter (picture id) output wraps", bits: 15, initial: 32767,
                  steps: [.fwd(5, 32767), .fwd(6, 0), .fwd(6, 0), .fwd(32767 + 8, 1)]),
    ]

    @Test(arguments: scripts)
    func script(_ s: SeqScript) {
        var r = SerialNumberRewriter(space: SerialNumberSpace(bits: s.bits), initialOutput: s.initial, dropHistory: s.history)
        for (i, step) in s.steps.enumerated() {
            switch step {
            case .fwd(let input, let expected):
                #expect(r.rewrite(input) == expected, "step \(i): \(step)")
            case .drop(let input): r.drop(input)
            case .sync(let skip): r.resync(skipping: skip)
            }
        }
    }

    @Test func typedRTPSequenceRewriter() {
        var r = RTPSequenceRewriter(initialOutput: 65535)
        #expect(r.highestOutput == nil)
        #expect(r.rewrite(100) == 65535)
        r.drop(101)
        #expect(r.rewrite(102) == 0)
        #expect(r.highestOutput == 0)
        r.resync(skipping: 1)
        #expect(r.isSyncPending)
        #expect(r.rewrite(9) == 2)
        #expect(!r.isSyncPending)
    }
}

@Suite struct TimestampRewriterTests {
    @Test func passesThroughWithZeroOffsetAndRecordsTheNewest() {
        var r = RTPTimestampRewriter(clockRate: 90_000)
        #expect(r.rewrite(1000, now: .zero) == 1000)
        #expect(r.rewrite(4000, now: .milliseconds(33)) == 4000)
        #expect(r.rewrite(2000, now: .milliseconds(40)) == 2000)   // late: not the newest
        #expect(r.highestOutput == 4000)
        #expect(r.highestOutputTime == .milliseconds(33))
    }

    @Test func rebaseBeforeAnyOutputKeepsTheOffset() {
        var r = RTPTimestampRewriter(clockRate: 90_000, initialOffset: 10)
        r.rebase(nextInput: 5, now: .seconds(3))
        #expect(r.rewrite(5, now: .seconds(3)) == 15)
    }

    struct RebaseCase: Sendable, CustomTestStringConvertible {
        var name: String
        var lastInput: UInt32
        var lastAt: Duration
        var nextInput: UInt32
        var now: Duration
        var equivalent: UInt32?
        var expected: UInt32
        var testDescription: String { name }
    }

    static let rebases: [RebaseCase] = [
        RebaseCase(name: "elapsed time × clock rate", lastInput: 1000, lastAt: .zero, nextInput: 5_000_000, now: .milliseconds(100),
                   equivalent: nil, expected: 10_000),
        RebaseCase(name: "elapsed estimate across 2^32", lastInput: 4_294_967_000, lastAt: .seconds(1), nextInput: 7,
                   now: .milliseconds(1010), equivalent: nil, expected: 604),
        RebaseCase(name: "previous source's time reference", lastInput: 1000, lastAt: .zero, nextInput: 77, now: .milliseconds(1),
                   equivalent: 2000, expected: 2000),
        RebaseCase(name: "reference behind the newest output: one frame later", lastInput: 1000, lastAt: .zero, nextInput: 77,
                   now: .milliseconds(1), equivalent: 900, expected: 1000 + 2970),
        RebaseCase(name: "no time elapsed: one frame later", lastInput: 4_294_967_295, lastAt: .seconds(5), nextInput: 123,
                   now: .seconds(5), equivalent: nil, expected: 2969),
    ]

    @Test(arguments: rebases)
    func rebase(_ c: RebaseCase) {
        var r = RTPTimestampRewriter(clockRate: 90_000)
        _ = r.rewrite(RTPTimestamp(c.lastInput), now: c.lastAt)
        r.rebase(nextInput: RTPTimestamp(c.nextInput), now: c.now, equivalentInPreviousSource: c.equivalent.map(RTPTimestamp.init(rawValue:)))
        #expect(r.rewrite(RTPTimestamp(c.nextInput), now: c.now) == RTPTimestamp(c.expected))
        // The new source keeps its own spacing afterwards.
        #expect(r.rewrite(RTPTimestamp(c.nextInput &+ 3000), now: c.now + .milliseconds(33)) == RTPTimestamp(c.expected &+ 3000))
    }

    @Test func timeReferenceMapsBetweenStreams() {
        let a = RTPTimeReference(ntp: NTPTimestamp(seconds: 100, fraction: 0), rtp: 1000)
        let b = RTPTimeReference(ntp: NTPTimestamp(seconds: 100, fraction: 0x8000_0000), rtp: 50_000)
        // b's 50 000 happened 0.5 s after a's 1000.
        #expect(b.timestamp(50_000, in: a, clockRate: 90_000) == 46_000)
        #expect(b.timestamp(51_000, in: a, clockRate: 90_000) == 47_000)
        #expect(a.timestamp(1000, in: b, clockRate: 90_000) == 5000)
        // Across the 32-bit wrap of the target stream.
        let c = RTPTimeReference(ntp: NTPTimestamp(seconds: 99, fraction: 0), rtp: 4_294_967_000)
        #expect(a.timestamp(1000, in: c, clockRate: 90_000) == RTPTimestamp(rawValue: 4_294_967_000 &+ 90_000))
    }
}
