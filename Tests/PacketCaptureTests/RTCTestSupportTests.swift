import NIOCore
import PacketCapture
import RTCTestSupport
import Testing

@Suite struct RTCTestSupportTests {
    @Test func hexAcceptsSeparators() {
        #expect([UInt8](hex: "80 60:00\n0A\tff") == [0x80, 0x60, 0x00, 0x0A, 0xFF])
        #expect([UInt8](hex: "0xdeadBEEF") == [0xDE, 0xAD, 0xBE, 0xEF])
        #expect([UInt8](hex: "") == [])
        #expect(ByteBuffer(hex: "01 02") == ByteBuffer(bytes: [1, 2]))
    }

    @Test func goldenTableParsesCellsAndIntegers() throws {
        let tsv = "frame.number\trtp.seq\trtp.ssrc\trtcp.pt\tstun.att\n3\t17\t0x0000abcd\t200,202\t\n9\t65535\t0xFFFFFFFF\n\n"
        let g = try GoldenTable(tsv: tsv)
        #expect(g.columns == ["frame.number", "rtp.seq", "rtp.ssrc", "rtcp.pt", "stun.att"])
        #expect(g.rows.keys.sorted() == [3, 9])
        let r = try #require(g.rows[3])
        #expect(r["rtp.seq"] == ["17"] && r.integers("rtp.seq") == [17])
        #expect(r.integers("rtp.ssrc") == [0xABCD])
        #expect(r["rtcp.pt"] == ["200", "202"] && r.integers("rtcp.pt") == [200, 202])
        #expect(r["stun.att"] == [] && r.raw("stun.att") == "")
        #expect(r["no.such"] == [])
        #expect(g.rows[9]?.integers("rtp.ssrc") == [0xFFFF_FFFF])
        #expect(g.rows[9]?["rtcp.pt"] == [])  // short row: trailing cells omitted
        #expect(g.rows[4] == nil)
        #expect(GoldenTable.integer("0x1f") == 31 && GoldenTable.integer("42") == 42 && GoldenTable.integer("x") == nil)
    }

    @Test func goldenTableRejectsMalformedText() {
        #expect(throws: GoldenError.self) { try GoldenTable(tsv: "") }
        #expect(throws: GoldenError.self) { try GoldenTable(tsv: "rtp.seq\n1\n") }
        #expect(throws: GoldenError.self) { try GoldenTable(tsv: "frame.number\ta\nx\t1\n") }
    }

    @Test func expectFieldComparesIntegersAndText() {
        var problems: [String] = []
        expectField("rtp.seq", golden: ["17"], actual: ["0x11"], into: &problems)
        expectField("rtp.ssrc", golden: ["0x0000abcd"], actual: ["43981"], into: &problems)
        expectField("stun.value", golden: ["ABCD"], actual: ["abcd"], into: &problems)
        #expect(problems.isEmpty)
        expectField("rtcp.pt", golden: ["200", "202"], actual: ["200"], into: &problems)
        expectField("rtp.seq", golden: ["17"], actual: ["18"], into: &problems)
        #expect(problems.count == 2)
    }

    @Test func captureFilesOfTheFixtureDirectory() throws {
        let paths = fixtureCaptures.map(\.path)
        #expect(paths == paths.sorted() && !paths.isEmpty && Set(paths).count == paths.count)
        #expect(fixtureCaptures.allSatisfy { $0.name.hasSuffix(".pcap") || $0.name.hasSuffix(".pcapng") })
        let plain = try #require(fixtureCaptures.first { $0.name == "loop-rtp.plain.pcap" })
        #expect(plain.isPlaintext && plain.stem.hasSuffix("/loop-rtp.plain"))
        let ng = try #require(fixtureCaptures.first { $0.name == "eth-udp4.pcapng" })
        #expect(!ng.isPlaintext && ng.stem.hasSuffix("/eth-udp4"))
        #expect(try ng.golden("rtp") == nil)
    }

    /// The Captures/ contract end to end on a fixture: a `*.plain.pcap` with a tshark RTP golden
    /// (`-o rtp.heuristic_rtp:TRUE -Y rtp`, as make-goldens.sh runs it) beside it.
    @Test func conformanceFlowOnAFixtureGolden() throws {
        let plain = try #require(fixtureCaptures.first { $0.name == "loop-rtp.plain.pcap" })
        let golden = try #require(try plain.golden("rtp"))
        let datagrams = try plain.udpDatagrams()
        #expect(datagrams.map(\.frameNumber) == [1, 2, 3, 4])
        #expect(datagrams[1].timestampNanoseconds - datagrams[0].timestampNanoseconds == 20_000_000)
        var report = ConformanceReport(module: "FIXTURE-RTP")
        for d in datagrams {
            let row = try #require(golden.rows[d.frameNumber])
            var problems: [String] = []
            let seq = d.payload.getInteger(at: d.payload.readerIndex + 2, as: UInt16.self) ?? 0
            let ssrc = d.payload.getInteger(at: d.payload.readerIndex + 8, as: UInt32.self) ?? 0
            expectField("rtp.seq", golden: row["rtp.seq"], actual: ["\(seq)"], into: &problems)
            expectField("rtp.ssrc", golden: row["rtp.ssrc"], actual: ["\(ssrc)"], into: &problems)
            report.record(capture: plain.name, frame: d.frameNumber, problems: problems)
            #expect(d.fiveTuple == udp4)
        }
        report.print()
        #expect(report.summary == "FIXTURE-RTP conformance: replayed 4 packets from 1 captures, 0 mismatched")
    }

    @Test func conformanceReportCountsAndCapsDetails() {
        var r = ConformanceReport(module: "RTP")
        r.maxDetails = 2
        r.record(capture: "a.pcap", frame: 1, problems: [])
        r.record(capture: "a.pcap", frame: 2, problems: ["rtp.seq: golden 1 vs parsed 2", "x"])
        r.record(capture: "b.pcap", frame: 5, problems: ["y"])
        r.record(capture: "b.pcap", frame: 6, problems: ["z"])
        #expect(r.replayed == 4 && r.mismatched == 3 && r.captures.count == 2)
        #expect(r.summary == "RTP conformance: replayed 4 packets from 2 captures, 3 mismatched")
        #expect(r.details == ["a.pcap frame 2: rtp.seq: golden 1 vs parsed 2; x", "b.pcap frame 5: y"])
    }

    @Test func corpusIsFoundAboveTheSources() {
        #expect(CaptureCorpus.directory.hasSuffix("/Captures"))
        #expect(!CaptureCorpus.captures.isEmpty)
        #expect(CaptureCorpus.captures.map(\.path) == CaptureCorpus.captures(in: CaptureCorpus.directory).map(\.path))
    }
}
