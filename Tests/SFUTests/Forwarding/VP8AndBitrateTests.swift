import NIOCore
import RTCBase
import RTP
import SFU
import Testing

@Suite struct VP8ContinuityRewriterTests {
    static func descriptor(_ pid: UInt16, tl0: UInt8, tid: UInt8, y: Bool = false, key: Bool = false, short: Bool = false) -> VP8PayloadDescriptor {
        var b = ByteBuffer()
        b.writeBytes(TestPackets.vp8Payload(pictureID: pid, tl0: tl0, tid: tid, layerSync: y, keyFrame: key, shortPictureID: short))
        return try! VP8PayloadDescriptor(parsing: b)
    }

    /// (picture id, tl0, tid, Y, expected picture id out, expected tl0 out); nil = dropped.
    typealias Row = (pid: UInt16, tl0: UInt8, tid: UInt8, y: Bool, out: UInt16?, tl0Out: UInt8?)

    static func run(_ r: inout VP8ContinuityRewriter, _ rows: [Row], short: Bool = false) {
        for (i, row) in rows.enumerated() {
            let out = r.process(descriptor(row.pid, tl0: row.tl0, tid: row.tid, y: row.y, short: short))
            #expect(out?.pictureID == row.out, "row \(i): picture id")
            #expect(out?.tl0PicIdx == row.tl0Out, "row \(i): tl0")
        }
    }

    @Test func pictureIDAndTL0ContinueAcrossALayerSwitch() {
        var r = VP8ContinuityRewriter(initialPictureID: 500, initialTL0PicIdx: 10)
        Self.run(&r, [
            (100, 5, 0, false, 500, 10),
            (100, 5, 0, false, 500, 10),      // second packet of the same picture
            (101, 6, 0, false, 501, 11),
        ])
        r.resync()
        Self.run(&r, [
            (7000, 200, 0, false, 502, 12),   // key frame of the new layer
            (7001, 201, 0, false, 503, 13),
            (101, 6, 0, false, nil, nil),     // straggler of the old layer
        ])
        #expect(r.highestPictureID == 503)
        #expect(r.highestTL0PicIdx == 13)
    }

    @Test func temporalLayersAboveTheTargetAreDroppedWithoutGaps() {
        var r = VP8ContinuityRewriter(targetTemporalLayer: 0)
        // L1T3 pattern: T0 T2 T1 T2 T0 …; T1/T2 carry the TL0PICIDX of the preceding T0.
        Self.run(&r, [
            (10, 1, 0, false, 0, 0),
            (11, 1, 2, true, nil, nil),
            (12, 1, 1, true, nil, nil),
            (12, 1, 1, true, nil, nil),       // second packet of a dropped picture
            (13, 1, 2, false, nil, nil),
            (14, 2, 0, false, 1, 1),
            (15, 2, 2, true, nil, nil),
            (16, 3, 0, false, 2, 2),
        ])
        #expect(r.currentTemporalLayer == 0)
    }

    @Test func temporalUpgradeWaitsForALayerSyncPacket() {
        var r = VP8ContinuityRewriter()
        Self.run(&r, [
            (0, 0, 0, false, 0, 0),
            (1, 0, 2, false, nil, nil),       // above current (0), no Y
            (2, 0, 1, true, 1, 0),            // Y: current becomes 1
            (3, 0, 2, false, nil, nil),
            (4, 1, 0, false, 2, 1),
            (5, 1, 2, true, 3, 1),            // Y: current becomes 2
            (6, 1, 1, false, 4, 1),
            (7, 1, 2, false, 5, 1),
        ])
        #expect(r.currentTemporalLayer == 2)
        r.targetTemporalLayer = 1
        Self.run(&r, [(8, 2, 0, false, 6, 2), (9, 2, 2, true, nil, nil), (10, 2, 1, false, 7, 2)])
        #expect(r.currentTemporalLayer == 1)
    }

    @Test func fifteenBitWrap() {
        var r = VP8ContinuityRewriter(initialPictureID: 32766, initialTL0PicIdx: 255)
        Self.run(&r, [(32767, 254, 0, false, 32766, 255), (0, 255, 0, false, 32767, 0), (1, 0, 0, false, 0, 1)])
    }

    @Test func sevenBitPictureIDsWrapAt128() {
        var r = VP8ContinuityRewriter(initialPictureID: 120)
        Self.run(&r, [(126, 0, 0, false, 120, 0), (127, 1, 0, false, 121, 1), (0, 2, 0, false, 122, 2), (1, 3, 0, false, 123, 3)],
                 short: true)
    }

    @Test func rewriteIsWrittenIntoThePacket() throws {
        var packet = TestPackets.packet(payload: TestPackets.vp8Payload(pictureID: 0x1234, tl0: 9, tid: 1, keyFrame: true))
        let d = try VP8PayloadDescriptor(parsing: packet.payload)
        #expect(d.isKeyFrame)
        VP8DescriptorRewrite(pictureID: 0x0321, tl0PicIdx: 0xFE).apply(to: &packet, descriptor: d)
        let after = try VP8PayloadDescriptor(parsing: packet.payload)
        #expect(after.pictureID == 0x0321 && after.tl0PicIdx == 0xFE && after.temporalLayer == 1 && after.isKeyFrame)
    }
}

@Suite struct BitrateMeterTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var samples: [(ms: Int64, bytes: Int)]
        var nowMS: Int64
        var expected: Int
        var testDescription: String { name }
    }

    static let tenBuckets: [(ms: Int64, bytes: Int)] = (0..<10).map { (Int64($0) * 100, 1250) }

    static let cases: [Case] = [
        Case(name: "empty", samples: [], nowMS: 500, expected: 0),
        Case(name: "full window", samples: tenBuckets, nowMS: 950, expected: 100_000),
        Case(name: "oldest bucket slid out", samples: tenBuckets, nowMS: 1050, expected: 90_000),
        Case(name: "all slid out", samples: tenBuckets, nowMS: 5000, expected: 0),
        Case(name: "several samples per bucket", samples: [(0, 100), (10, 100), (99, 100)], nowMS: 99, expected: 2400),
        Case(name: "long gap clears the ring", samples: [(0, 1000), (10_000, 500)], nowMS: 10_000, expected: 4000),
        Case(name: "gap shorter than the window keeps the rest", samples: [(0, 1000), (300, 500), (950, 250)], nowMS: 1250,
             expected: 6000),
        Case(name: "negative times", samples: [(-150, 1000), (-50, 1000)], nowMS: 0, expected: 16_000),
    ]

    @Test(arguments: cases)
    func bitrate(_ c: Case) {
        var m = BitrateMeter()
        for s in c.samples { m.record(bytes: s.bytes, now: .milliseconds(s.ms)) }
        #expect(m.bitrate(now: .milliseconds(c.nowMS)) == c.expected)
    }

    @Test func windowAndReset() {
        var m = BitrateMeter(window: .milliseconds(450), bucketDuration: .milliseconds(100))
        #expect(m.window == .milliseconds(500))
        m.record(bytes: 500, now: .zero)
        #expect(m.bitrate(now: .milliseconds(10)) == 8000)
        m.reset()
        #expect(m.bitrate(now: .milliseconds(10)) == 0)
    }
}
