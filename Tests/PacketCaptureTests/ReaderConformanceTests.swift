import NIOCore
import PacketCapture
import RTCBase
import RTCTestSupport
import Testing

/// Every committed fixture read through PCAPReader must agree with tshark's view of it
/// (`<stem>.frames.tsv`, made by make-fixtures.sh).
@Suite struct ReaderConformanceTests {
    static let expectedLinkTypes: [String: LinkType] = [
        "eth": .ethernet, "sll": .linuxSLL, "sll2": .linuxSLL2, "null": .null, "loop": .loop,
        "raw": .raw, "ipv4": .ipv4, "ipv6": .ipv6,
    ]

    @Test func fixturesCoverEveryLinkTypeAndBothFormats() {
        let names = fixtureCaptures.map(\.name)
        #expect(names.count >= 15)
        for prefix in Self.expectedLinkTypes.keys {
            #expect(names.contains { $0.hasPrefix(prefix + "-") }, "no fixture for \(prefix)")
        }
        #expect(names.contains { $0.hasSuffix(".pcapng") })
        #expect(names.contains { $0.hasSuffix(".pcap") })
    }

    @Test(arguments: fixtureCaptures)
    func readerMatchesTshark(_ capture: CaptureFile) throws {
        let frames = try capture.frames()
        let golden = try #require(try capture.golden("frames"), "missing \(capture.stem).frames.tsv")
        let prefix = String(capture.name.prefix { $0 != "-" })
        let link = try #require(Self.expectedLinkTypes[prefix])

        #expect(frames.count == golden.rows.count)
        #expect(frames.map(\.number) == Array(1...frames.count))
        for f in frames {
            let row = try #require(golden[f.number])
            let ctx = "\(capture.name) frame \(f.number)"
            #expect(f.linkType == link, "\(ctx)")
            #expect(f.timestampNanos == row.first("frame.time_epoch").flatMap(epochNanos), "\(ctx)")
            #expect(f.originalLength == row.int("frame.len"), "\(ctx)")
            #expect(f.data.readableBytes == row.int("frame.cap_len"), "\(ctx)")
            let truncated = f.data.readableBytes < f.originalLength
            switch f.transport {
            case .udp(let d):
                #expect(!truncated, "\(ctx)")
                let t = d.fiveTuple
                let src = t.source.version == 4 ? row["ip.src"] : row["ipv6.src"]
                let dst = t.destination.version == 4 ? row["ip.dst"] : row["ipv6.dst"]
                #expect(src == ["\(t.source)"] && dst == ["\(t.destination)"], "\(ctx)")
                #expect(row.check("udp.srcport", t.sourcePort) == nil, "\(ctx)")
                #expect(row.check("udp.dstport", t.destinationPort) == nil, "\(ctx)")
                #expect(t.proto == .udp)
                #expect(d.payload.hexString == (row.first("udp.payload") ?? ""), "\(ctx)")
            case .tcp(let s):
                let t = s.fiveTuple
                let src = t.source.version == 4 ? row["ip.src"] : row["ipv6.src"]
                #expect(src == ["\(t.source)"], "\(ctx)")
                #expect(row.check("tcp.srcport", t.sourcePort) == nil, "\(ctx)")
                #expect(row.check("tcp.dstport", t.destinationPort) == nil, "\(ctx)")
                #expect(row.check("tcp.seq_raw", s.sequenceNumber) == nil, "\(ctx)")
                #expect(row.check("tcp.ack_raw", s.acknowledgmentNumber) == nil, "\(ctx)")
                #expect(row.check("tcp.flags", s.flags.rawValue) == nil, "\(ctx)")
                #expect(s.payload.hexString == (row.first("tcp.payload") ?? ""), "\(ctx)")
            case .other(let reason):
                // Only frames tshark did not see as a whole UDP/TCP packet, or truncated ones.
                let tsharkTransport = !row["udp.srcport"].isEmpty || !row["tcp.srcport"].isEmpty
                #expect(!tsharkTransport || truncated, "\(ctx): \(reason)")
                if truncated { #expect(reason.contains("truncated"), "\(ctx): \(reason)") }
            }
        }
    }

    @Test func truncatedCaptureReportsTruncatedFrames() throws {
        let capture = try #require(fixtureCaptures.first { $0.name == "eth-udp4-snap64.pcap" })
        let frames = try capture.frames()
        let kinds = frames.map { f -> String in
            switch f.transport {
            case .udp: "udp"
            case .tcp: "tcp"
            case .other(let r): r.hasPrefix("truncated IPv4 packet (50 of 232") ? "truncated" : r
            }
        }
        #expect(kinds == ["udp", "udp", "udp", "udp", "truncated", "truncated"])
    }

    @Test func handmadeFramesDecodeAsExpected() throws {
        let capture = try #require(fixtureCaptures.first { $0.name == "eth-handmade.pcap" })
        let t = try capture.frames().map(\.transport)
        try #require(t.count == 8)
        #expect(t[0].fiveTuple == udp4)
        #expect(t[1].fiveTuple == udp6)
        #expect(t[2].fiveTuple == udp4 && t[2].payload?.readableBytes == 12)
        #expect(t[3].fiveTuple == udp6 && t[3].payload?.readableBytes == 13)
        #expect(t[4] == .other("IPv4 fragment id=0x4242 offset=0 more"))
        #expect(t[5] == .other("IPv6 fragment"))
        #expect(t[6] == .other("ethertype 0x0806"))
        #expect(t[7].payload.map(bytes) == [0, 7])
    }
}
