import Foundation
import NIOCore
import PacketCapture
import Testing

/// The PCAPWriter-made fixtures (cross-checked with tshark by make-fixtures.sh). With
/// `PCAP_WRITE_FIXTURES=<dir>` they are written there; otherwise they are written to a temporary
/// directory and must equal the committed bytes, so a writer change cannot go unnoticed.
@Suite struct WriterFixtureTests {
    static let base: UInt64 = 1_700_000_000_123_456_000

    static func tcp(_ w: PCAPWriter, _ payload: ByteBuffer, _ tuple: FiveTuple, seq: UInt32, ack: UInt32 = 0,
                    flags: UInt16 = 0x18, at t: UInt64) {
        w.write(frame: PacketSynthesizer.frame(linkType: w.linkType, fiveTuple: tuple, payload: payload, tcpSequence: seq,
                                               tcpAcknowledgment: ack, tcpFlags: flags), timestampNanoseconds: t)
    }

    static func writeAll(into dir: String) throws -> [String] {
        var names: [String] = []
        func make(_ name: String, _ link: LinkType, _ body: (PCAPWriter) throws -> Void) throws {
            let w = try PCAPWriter(path: dir + "/" + name, linkType: link)
            try body(w)
            w.close()
            names.append(name)
        }
        let t = base
        for (name, link) in [("null-udp.pcap", LinkType.null), ("loop-udp.pcap", LinkType.loop)] {
            try make(name, link) { w in
                w.writeUDP(rtpPayload(seq: 1), fiveTuple: udp4, timestampNanoseconds: t)
                w.writeUDP(rtpPayload(seq: 2), fiveTuple: udp4.reversed, timestampNanoseconds: t + 20_000_000)
                w.writeUDP(rtpPayload(seq: 3), fiveTuple: udp6, timestampNanoseconds: t + 40_000_000)
                tcp(w, ByteBuffer(string: "hello"), tcp6, seq: 7, ack: 9, at: t + 60_000_000)
            }
        }
        try make("raw-mixed.pcap", .raw) { w in
            w.writeUDP(rtpPayload(seq: 10), fiveTuple: udp4, timestampNanoseconds: t)
            tcp(w, ByteBuffer(string: "GET / HTTP/1.1\r\n\r\n"), tcp6, seq: 1_000, ack: 2_000, at: t + 1_000)
        }
        try make("ipv4-tcp.pcap", .ipv4) { w in
            tcp(w, ByteBuffer(), tcp4, seq: 0xFFFF_FFF0, flags: 0x02, at: t + 1)
            tcp(w, ByteBuffer(), tcp4.reversed, seq: 42, ack: 0xFFFF_FFF1, flags: 0x12, at: t + 2)
            tcp(w, ByteBuffer(string: "data"), tcp4, seq: 0xFFFF_FFF1, ack: 43, flags: 0x18, at: t + 3)
            tcp(w, ByteBuffer(), tcp4, seq: 0xFFFF_FFF5, ack: 43, flags: 0x11, at: t + 999_999_999)
        }
        try make("ipv6-udp.pcap", .ipv6) { w in
            w.writeUDP(ByteBuffer(bytes: [0x00, 0x01, 0x00, 0x00]), fiveTuple: udp6, timestampNanoseconds: t + 7)
            w.writeUDP(ByteBuffer(), fiveTuple: udp6.reversed, timestampNanoseconds: t + 8)
        }
        try make("eth-handmade.pcap", .ethernet) { w in
            for (i, f) in try HandFrames.all().enumerated() { w.write(frame: f.frame, timestampNanoseconds: t + UInt64(i)) }
        }
        try make("loop-rtp.plain.pcap", .loop) { w in
            for seq in UInt16(65533)...65535 {
                w.writeUDP(rtpPayload(seq: seq), fiveTuple: udp4, timestampNanoseconds: t + UInt64(seq) * 20_000_000)
            }
            w.writeUDP(rtpPayload(seq: 0), fiveTuple: udp4, timestampNanoseconds: t + 65536 * 20_000_000)
        }
        return names
    }

    @Test func writerFixturesAreReproducible() throws {
        if let target = ProcessInfo.processInfo.environment["PCAP_WRITE_FIXTURES"] {
            let names = try Self.writeAll(into: target)
            for n in names { #expect(FileManager.default.fileExists(atPath: target + "/" + n)) }
            return
        }
        let dir = (temporaryPath("x") as NSString).deletingLastPathComponent
        let names = try Self.writeAll(into: dir)
        #expect(names.count == 7)
        for n in names {
            let fresh = FileManager.default.contents(atPath: dir + "/" + n)
            let committed = FileManager.default.contents(atPath: fixturesDirectory + "/" + n)
            #expect(committed != nil, "fixture \(n) is not committed; run make-fixtures.sh")
            #expect(fresh == committed, "writer output for \(n) differs from the committed fixture")
        }
    }
}
