import NIOCore
import PacketCapture
import RTCBase
import RTCTestSupport
import Testing

/// Every committed fixture (recorded by tshark, written by text2pcap, or written by PCAPWriter) read
/// through PCAPReader must agree field by field with tshark's view of it, `<stem>.frames.tsv`
/// (made by make-fixtures.sh), loaded through RTCTestSupport's GoldenTable.
@Suite struct ReaderConformanceTests {
    static let expectedLinkTypes: [String: LinkType] = [
        "lo-eth.pcapng": .ethernet, "lo-eth-classic.pcap": .ethernet, "any-sll.pcap": .linuxSLL, "any-sll2.pcapng": .linuxSLL2,
        "text2pcap-null.pcap": .null, "text2pcap-loop.pcap": .loop, "text2pcap-raw.pcap": .rawDLT,
        "text2pcap-ipv4.pcap": .ipv4, "text2pcap-ipv6.pcap": .ipv6,
        "eth-udp4.pcapng": .ethernet, "eth-tcp4.pcap": .ethernet, "eth-udp6.pcap": .ethernet,
        "eth-udp4-snap64.pcap": .ethernet, "eth-handmade.pcap": .ethernet,
        "sll-udp6.pcap": .linuxSLL, "sll-tcp4.pcapng": .linuxSLL, "sll2-udp4.pcap": .linuxSLL2, "sll2-tcp6.pcapng": .linuxSLL2,
        "null-udp.pcap": .null, "loop-udp.pcap": .loop, "loop-rtp.plain.pcap": .loop, "raw-mixed.pcap": .rawDLT,
        "ipv4-tcp.pcap": .ipv4, "ipv6-udp.pcap": .ipv6,
    ]

    @Test func everyFixtureIsKnown() {
        #expect(Set(fixtureCaptures.map(\.name)) == Set(Self.expectedLinkTypes.keys))
    }

    @Test(arguments: fixtureCaptures)
    func readerMatchesTshark(_ capture: CaptureFile) throws {
        let frames = try capture.frames()
        let golden = try #require(try capture.golden("frames"), "missing frames.tsv for \(capture.name)")
        #expect(frames.count == golden.rows.count && !frames.isEmpty)
        #expect(frames.map(\.number) == Array(1...frames.count))
        for f in frames {
            let row = try #require(golden.rows[f.number])
            let ctx = "\(capture.name) frame \(f.number)"
            #expect(f.linkType == Self.expectedLinkTypes[capture.name], "\(ctx)")
            #expect(f.timestampNanoseconds == row["frame.time_epoch"].first.flatMap(epochNanos), "\(ctx)")
            #expect(row.integers("frame.len") == [UInt64(f.originalLength)], "\(ctx)")
            #expect(row.integers("frame.cap_len") == [UInt64(f.bytes.readableBytes)], "\(ctx)")
            let truncated = f.bytes.readableBytes < f.originalLength
            var problems: [String] = []
            switch f.content {
            case .udp(let d):
                let t = d.fiveTuple
                expectField("src", golden: row[t.source.isIPv6 ? "ipv6.src" : "ip.src"], actual: ["\(t.source)"], into: &problems)
                expectField("dst", golden: row[t.destination.isIPv6 ? "ipv6.dst" : "ip.dst"], actual: ["\(t.destination)"], into: &problems)
                expectField("udp.srcport", golden: row["udp.srcport"], actual: ["\(t.sourcePort)"], into: &problems)
                expectField("udp.dstport", golden: row["udp.dstport"], actual: ["\(t.destinationPort)"], into: &problems)
                #expect(d.payload.hexString == row.raw("udp.payload"), "\(ctx)")
                #expect(!truncated && t.transport == .udp, "\(ctx)")
            case .tcp(let s):
                let t = s.fiveTuple
                expectField("src", golden: row[t.source.isIPv6 ? "ipv6.src" : "ip.src"], actual: ["\(t.source)"], into: &problems)
                expectField("tcp.srcport", golden: row["tcp.srcport"], actual: ["\(t.sourcePort)"], into: &problems)
                expectField("tcp.dstport", golden: row["tcp.dstport"], actual: ["\(t.destinationPort)"], into: &problems)
                expectField("tcp.seq_raw", golden: row["tcp.seq_raw"], actual: ["\(s.sequenceNumber)"], into: &problems)
                expectField("tcp.ack_raw", golden: row["tcp.ack_raw"], actual: ["\(s.acknowledgmentNumber)"], into: &problems)
                expectField("tcp.flags", golden: row["tcp.flags"], actual: ["\(s.flags)"], into: &problems)
                #expect(s.payload.hexString == row.raw("tcp.payload"), "\(ctx)")
                #expect(!truncated, "\(ctx)")
            case .other(let reason):
                // Only frames tshark does not see as a whole UDP/TCP packet, or frames cut by the snap length.
                let tsharkTransport = !row["udp.srcport"].isEmpty || !row["tcp.srcport"].isEmpty
                #expect(!tsharkTransport || (truncated && reason.hasPrefix("truncated")), "\(ctx): \(reason)")
            }
            #expect(problems.isEmpty, "\(ctx): \(problems)")
        }
    }

    @Test func snapLengthCutFramesAreReportedAsTruncated() throws {
        let frames = try PCAPReader.readAll(path: fixturesDirectory + "/eth-udp4-snap64.pcap")
        let kinds = frames.map { f -> String in
            switch f.content {
            case .udp: "udp"
            case .tcp: "tcp"
            case .other(let r): r
            }
        }
        let cut = "truncated IPv4 packet (50 of 232 bytes captured)"
        #expect(kinds == ["udp", "udp", "udp", "udp", cut, cut])
    }

    @Test func handmadeFramesDecodeAsExpected() throws {
        let t = try PCAPReader.readAll(path: fixturesDirectory + "/eth-handmade.pcap").map(\.content)
        try #require(t.count == 8)
        func udp(_ c: FrameContent) -> UDPDatagram? { if case .udp(let d) = c { d } else { nil } }
        #expect(udp(t[0])?.fiveTuple == udp4)                                       // 802.1Q
        #expect(udp(t[1])?.fiveTuple == udp6)                                       // QinQ
        #expect(udp(t[2])?.fiveTuple == udp4 && udp(t[2])?.payload.readableBytes == 12)  // IPv4 options
        #expect(udp(t[3])?.fiveTuple == udp6 && udp(t[3])?.payload.readableBytes == 13)  // IPv6 extension headers
        #expect(t[4] == .other("IPv4 fragment"))
        #expect(t[5] == .other("IPv6 fragment"))
        #expect(t[6] == .other("ethertype 0x806"))
        #expect(udp(t[7]).map { bytes($0.payload) } == [0, 7])                      // Ethernet padding trimmed
    }

    @Test func randomBytesNeverTrap() {
        var rng = SplitMix64.announced("ReaderConformanceTests.randomBytesNeverTrap")
        for link in [LinkType.ethernet, .linuxSLL, .linuxSLL2, .null, .loop, .raw, .rawDLT, .ipv4, .ipv6] {
            for _ in 0..<300 {
                let n = Int.random(in: 0..<120, using: &rng)
                var b = ByteBuffer(bytes: (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) })
                if n > 20, link == .ethernet { b.setInteger(UInt16(0x0800), at: 12); b.setInteger(UInt8(0x45), at: 14) }
                if n > 20, link == .ipv6 { b.setInteger(UInt8(0x60), at: 0); b.setInteger(UInt8(0), at: 6) }
                _ = FrameDecoder.decode(b, linkType: link)
            }
        }
    }
}

@Suite struct ReaderErrorTests {
    @Test(arguments: ["eth-udp4.pcapng", "eth-tcp4.pcap"])
    func truncatedLastRecordIsAReadError(_ name: String) throws {
        let data = try #require(FileManagerData.read(fixturesDirectory + "/" + name))
        let path = temporaryPath(name)
        FileManagerData.write(Array(data.dropLast(7)), to: path)
        #expect { try PCAPReader.readAll(path: path) } throws: { e in (e as? PacketCaptureError)?.code == .read }
        let reader = try PCAPReader(path: path)
        let frames = Array(reader)
        #expect(!frames.isEmpty && reader.error?.code == .read)
    }

    @Test func unknownLinkTypeReadsAsOther() throws {
        // Classic pcap header (microsecond magic, v2.4, snaplen 65535, link type 147 = USER0) and one 3-byte record.
        var file: [UInt8] = [0xD4, 0xC3, 0xB2, 0xA1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0, 147, 0, 0, 0]
        file += [1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0, 0xAA, 0xBB, 0xCC]
        let path = temporaryPath("user0.pcap")
        FileManagerData.write(file, to: path)
        let frames = try PCAPReader.readAll(path: path)
        #expect(frames.count == 1)
        #expect(frames.first?.linkType == LinkType(rawValue: 147))
        #expect(frames.first?.timestampNanoseconds == 1_000_002_000)
        #expect(frames.first?.content == .other("unsupported link type DLT 147"))
    }
}

import Foundation
enum FileManagerData {
    static func read(_ path: String) -> [UInt8]? { FileManager.default.contents(atPath: path).map { Array($0) } }
    static func write(_ bytes: [UInt8], to path: String) { FileManager.default.createFile(atPath: path, contents: Data(bytes)) }
}

@Suite struct WriterLinkTypeTests {
    @Test(arguments: [Int32(147), 105, 127, 2])
    func writerRejectsLinkTypesItCannotFrame(_ dlt: Int32) {
        #expect { try PCAPWriter(path: temporaryPath("x.pcap"), linkType: LinkType(rawValue: dlt)) } throws: { e in
            (e as? PacketCaptureError)?.code == .unsupportedLinkType
        }
    }

    @Test func everySupportedLinkTypeIsWritableAndDecodable() throws {
        #expect(Set(LinkType.supported) == [.ethernet, .linuxSLL, .linuxSLL2, .null, .loop, .raw, .rawDLT, .ipv4, .ipv6])
        for link in LinkType.supported {
            let path = temporaryPath("ok.pcap")
            let w = try PCAPWriter(path: path, linkType: link)
            let tuple = link == .ipv6 ? udp6 : udp4
            w.writeUDP(ByteBuffer(bytes: [1, 2, 3]), fiveTuple: tuple, timestampNanoseconds: 5)
            w.close()
            let frames = try PCAPReader.readAll(path: path)
            guard frames.count == 1, case .udp(let d) = frames[0].content else { Issue.record("\(link): \(frames)"); continue }
            #expect(d.fiveTuple == tuple && bytes(d.payload) == [1, 2, 3] && frames[0].timestampNanoseconds == 5, "\(link)")
        }
    }
}
