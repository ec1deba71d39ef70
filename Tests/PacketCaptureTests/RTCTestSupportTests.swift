import NIOCore
import PacketCapture
import RTCTestSupport
import Testing

@Suite struct RTCTestSupportTests {
    @Test func hexAcceptsSeparatorsAndRejectsGarbage() throws {
        #expect(try [UInt8](hex: "80 60:00\n0A\tff") == [0x80, 0x60, 0x00, 0x0A, 0xFF])
        #expect(try [UInt8](hex: "0xdeadBEEF") == [0xDE, 0xAD, 0xBE, 0xEF])
        #expect(try [UInt8](hex: "") == [])
        #expect(try ByteBuffer(hex: "01 02") == ByteBuffer(bytes: [1, 2]))
        #expect(throws: HexParseError.oddLength) { try [UInt8](hex: "123") }
        #expect(throws: HexParseError.invalidCharacter("g")) { try ByteBuffer(hex: "0g") }
    }

    @Test func goldenTableParsesCellsAndIntegers() throws {
        let tsv = "frame.number\trtp.seq\trtp.ssrc\trtcp.pt\tstun.att\r\n3\t17\t0x0000abcd\t200,202\t\n9\t65535\t0xFFFFFFFF\r\n\n"
        let g = try GoldenTable(tsv: tsv)
        #expect(g.columns == ["frame.number", "rtp.seq", "rtp.ssrc", "rtcp.pt", "stun.att"])
        #expect(g.frameNumbers == [3, 9])
        let r = try #require(g[3])
        #expect(r["rtp.seq"] == ["17"] && r.int("rtp.seq") == 17)
        #expect(r.int("rtp.ssrc") == 0xABCD)
        #expect(r["rtcp.pt"] == ["200", "202"] && r.ints("rtcp.pt") == [200, 202])
        #expect(r["stun.att"] == [] && r.raw("stun.att") == nil && r.hasColumn("stun.att"))
        #expect(r["no.such"] == [] && !r.hasColumn("no.such"))
        #expect(r.check("rtp.seq", UInt16(17)) == nil)
        #expect(r.check("rtp.seq", 18) == "rtp.seq: golden [\"17\"], parsed 18")
        #expect(r.check("rtcp.pt", [UInt8(200), 202]) == nil)
        #expect(r.check("rtcp.pt", [200]) != nil)
        #expect(g[9]?.uint64("rtp.ssrc") == 0xFFFF_FFFF && g[9]?.check("rtp.ssrc", UInt32.max) == nil)
        #expect(g[9]?["rtcp.pt"] == [])  // short row: trailing cells omitted
        #expect(g[4] == nil)
    }

    @Test func goldenTableRejectsMalformedText() {
        #expect(throws: GoldenTableError.empty) { try GoldenTable(tsv: "") }
        #expect(throws: GoldenTableError.firstColumnNotFrameNumber("rtp.seq")) { try GoldenTable(tsv: "rtp.seq\n1\n") }
        #expect(throws: GoldenTableError.badFrameNumber(line: 2, text: "x")) { try GoldenTable(tsv: "frame.number\ta\nx\t1\n") }
        #expect(throws: GoldenTableError.tooManyCells(line: 2)) { try GoldenTable(tsv: "frame.number\n1\t2\n") }
        #expect(throws: GoldenTableError.duplicateFrame(1)) { try GoldenTable(tsv: "frame.number\n1\n1\n") }
    }

    @Test func captureCorpusListsFixturesSortedWithGoldens() throws {
        let names = fixtureCaptures.map(\.relativePath)
        #expect(names == names.sorted() && !names.isEmpty)
        #expect(Set(names).count == names.count)
        #expect(fixtureCaptures.allSatisfy { $0.name.hasSuffix(".pcap") || $0.name.hasSuffix(".pcapng") })

        let plain = try #require(fixtureCaptures.first { $0.name == "loop-rtp.plain.pcap" })
        #expect(plain.isPlaintext && plain.stem == "loop-rtp.plain")
        #expect(plain.goldenPath("rtp").hasSuffix("/loop-rtp.plain.rtp.tsv"))
        let ng = try #require(fixtureCaptures.first { $0.name == "eth-udp4.pcapng" })
        #expect(!ng.isPlaintext && ng.stem == "eth-udp4")
        #expect(try ng.golden("rtp") == nil)

        // The test-only RTP golden, in the Captures/ contract format, against the replayed datagrams.
        let golden = try #require(try plain.golden("rtp"))
        let datagrams = try plain.udpDatagrams()
        #expect(datagrams.map(\.frameNumber) == [1, 2, 3, 4])
        var report = ConformanceReport(module: "FIXTURE-RTP")
        for d in datagrams {
            let row = try #require(golden[d.frameNumber])
            let seq = d.payload.getInteger(at: d.payload.readerIndex + 2, as: UInt16.self) ?? 0
            let ssrc = d.payload.getInteger(at: d.payload.readerIndex + 8, as: UInt32.self) ?? 0
            report.record(capture: plain.relativePath, frame: d.frameNumber,
                          checks: [row.check("rtp.seq", seq), row.check("rtp.ssrc", ssrc)])
            #expect(d.fiveTuple == udp4)
        }
        report.printSummary()
        #expect(report.summaryLine == "FIXTURE-RTP conformance: replayed 4 packets from 1 captures, 0 mismatched")
        #expect(datagrams[1].timestampNanos - datagrams[0].timestampNanos == 20_000_000)
    }

    @Test func conformanceReportCountsAndCapsDetails() {
        var r = ConformanceReport(module: "RTP", maxDetails: 2)
        r.record(capture: "a.pcap", frame: 1)
        r.record(capture: "a.pcap", frame: 2, mismatches: ["rtp.seq: golden [1], parsed 2", "x"])
        r.record(capture: "b.pcap", frame: 5, checks: [nil, "y"])
        r.record(capture: "b.pcap", frame: 6, mismatches: ["z"])
        r.noteCapture("c.pcap")
        #expect(r.replayed == 4 && r.mismatched == 3 && r.captureCount == 3)
        #expect(r.summaryLine == "RTP conformance: replayed 4 packets from 3 captures, 3 mismatched")
        #expect(r.details == ["a.pcap frame 2: rtp.seq: golden [1], parsed 2; x", "b.pcap frame 5: y"])
        #expect(r.text.split(separator: "\n").count == 3)
    }

    @Test func captureCorpusRootIsFoundByWalkingUp() {
        // From a fixture path, walking up finds no Captures/ inside Tests, but the repo's one if present.
        let found = CaptureCorpus.findRoot(from: fixturesDirectory + "/eth-udp4.pcapng")
        #expect(found == CaptureCorpus.root)
        if let root = CaptureCorpus.root {
            #expect(root.hasSuffix("/Captures"))
            #expect(CaptureCorpus.captures == CaptureCorpus.captures(in: root))
        } else {
            #expect(CaptureCorpus.captures.isEmpty)
        }
    }
}
