import Foundation
import NIOCore
import RTCBase
import PacketCapture
import RTCTestSupport
import Testing

/// Fixtures recorded by tshark (Ethernet, SLL, SLL2; pcap and pcapng) or written by text2pcap (null,
/// loop, raw, IPv4, IPv6 link types), each checked against tshark's own view saved beside it.
@Suite struct FixtureTests {
    static let dir = String(#filePath).split(separator: "/").dropLast().joined(separator: "/").prepending("/") + "/Fixtures"

    static let fixtures = ["lo-eth.pcapng", "lo-eth-classic.pcap", "any-sll.pcap", "any-sll2.pcapng",
                           "text2pcap-null.pcap", "text2pcap-loop.pcap", "text2pcap-raw.pcap",
                           "text2pcap-ipv4.pcap", "text2pcap-ipv6.pcap"]

    struct TsharkRow {
        var frame: Int, epoch: String, length: Int
        var src: String, srcPort: UInt16?, dst: String, dstPort: UInt16?
        var payloadHex: String, tcpSeq: UInt32?, tcpFlags: UInt16?
    }

    static func tshark(_ name: String) throws -> [TsharkRow] {
        let text = try String(contentsOfFile: "\(dir)/\(name).tsv", encoding: .utf8)
        return text.split(separator: "\n").map { line in
            let c = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) + Array(repeating: "", count: 15)
            return TsharkRow(frame: Int(c[0])!, epoch: c[1], length: Int(c[2])!,
                             src: c[3].isEmpty ? c[4] : c[3], srcPort: UInt16(c[5]) ?? UInt16(c[6]),
                             dst: c[7].isEmpty ? c[8] : c[7], dstPort: UInt16(c[9]) ?? UInt16(c[10]),
                             payloadHex: c[11].isEmpty ? c[12] : c[11], tcpSeq: UInt32(c[13]),
                             tcpFlags: GoldenTable.integer(c[14]).map { UInt16($0) })
        }
    }

    @Test(arguments: fixtures)
    func matchesTshark(_ name: String) throws {
        let expected = try Self.tshark(name)
        let frames = try PCAPReader.readAll(path: "\(Self.dir)/\(name)")
        #expect(frames.count == expected.count)
        #expect(!frames.isEmpty)
        for (frame, row) in zip(frames, expected) {
            #expect(frame.number == row.frame)
            #expect(frame.originalLength == row.length)
            // tshark prints seconds with 9 decimals (6 for microsecond files, padded with zeros).
            let secs = frame.timestampNanoseconds / 1_000_000_000
            let frac = frame.timestampNanoseconds % 1_000_000_000
            let fracText = String(frac).leftPadded(to: 9)
            #expect("\(secs).\(fracText)".hasPrefix(row.epoch) || row.epoch == "\(secs).\(fracText)")
            switch frame.content {
            case .udp(let d):
                #expect(d.fiveTuple.source.description == row.src)
                #expect(d.fiveTuple.destination.description == row.dst)
                #expect(d.fiveTuple.sourcePort == row.srcPort && d.fiveTuple.destinationPort == row.dstPort)
                #expect(d.payload.hexString == row.payloadHex)
            case .tcp(let s):
                #expect(s.fiveTuple.source.description == row.src && s.fiveTuple.sourcePort == row.srcPort)
                #expect(s.fiveTuple.destination.description == row.dst && s.fiveTuple.destinationPort == row.dstPort)
                #expect(s.payload.hexString == row.payloadHex)
                #expect(s.sequenceNumber == row.tcpSeq)
                #expect(s.flags == row.tcpFlags)
            case .other(let why):
                Issue.record("frame \(frame.number) of \(name) not decoded: \(why)")
            }
        }
    }

    @Test func linkTypes() throws {
        let expected: [String: LinkType] = [
            "lo-eth.pcapng": .ethernet, "lo-eth-classic.pcap": .ethernet, "any-sll.pcap": .linuxSLL,
            "any-sll2.pcapng": .linuxSLL2, "text2pcap-null.pcap": .null, "text2pcap-loop.pcap": .loop,
            "text2pcap-raw.pcap": .rawDLT, "text2pcap-ipv4.pcap": .ipv4, "text2pcap-ipv6.pcap": .ipv6,
        ]
        for (name, type) in expected {
            #expect(try PCAPReader(path: "\(Self.dir)/\(name)").linkType == type, "\(name)")
        }
    }

    @Test func missingAndCorruptFilesThrowTypedErrors() throws {
        #expect(throws: PacketCaptureError.self) { try PCAPReader(path: "/nonexistent/x.pcap") }
        let path = "/tmp/packetcapture-corrupt-\(getpid()).pcap"
        let garbage = [UInt8](repeating: 0x42, count: 64)
        FileManagerLite.write(garbage, to: path)
        defer { FileManagerLite.remove(path) }
        do {
            _ = try PCAPReader(path: path)
            Issue.record("garbage opened as a capture")
        } catch {
            #expect(error.code == .open)
        }
    }
}

extension String {
    func prepending(_ s: String) -> String { s + self }
    func leftPadded(to n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}
