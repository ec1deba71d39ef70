import Foundation
import NIOCore
import PacketCapture
import Testing

/// The PCAPWriter-made fixtures. With `PCAP_WRITE_FIXTURES=<dir>` (used by make-fixtures.sh) they are
/// written there; otherwise they are written to a temporary directory and must equal the committed bytes.
@Suite struct WriterFixtureTests {
    static let base: Int64 = 1_700_000_000_123_456_000

    static func writeAll(into dir: String) throws -> [String] {
        var names: [String] = []
        func make(_ name: String, _ link: LinkType, _ precision: PCAPTimestampPrecision = .microseconds,
                  _ body: (PCAPWriter) throws -> Void) throws {
            let w = try PCAPWriter(path: dir + "/" + name, linkType: link, precision: precision)
            try body(w)
            w.close()
            names.append(name)
        }
        let t = base
        for (name, link) in [("null-udp.pcap", LinkType.null), ("loop-udp.pcap", LinkType.loop)] {
            try make(name, link) { w in
                try w.writeUDP(payload: rtpPayload(seq: 1), fiveTuple: udp4, timestampNanos: t)
                try w.writeUDP(payload: rtpPayload(seq: 2), fiveTuple: udp4.reversed, timestampNanos: t + 20_000_000)
                try w.writeUDP(payload: rtpPayload(seq: 3), fiveTuple: udp6, timestampNanos: t + 40_000_000)
                try w.writeTCP(payload: ByteBuffer(string: "hello"), fiveTuple: tcp6, sequenceNumber: 7, acknowledgmentNumber: 9,
                               timestampNanos: t + 60_000_000)
            }
        }
        try make("raw-mixed.pcap", .raw) { w in
            try w.writeUDP(payload: rtpPayload(seq: 10), fiveTuple: udp4, timestampNanos: t)
            try w.writeTCP(payload: ByteBuffer(string: "GET / HTTP/1.1\r\n\r\n"), fiveTuple: tcp6, sequenceNumber: 1_000,
                           acknowledgmentNumber: 2_000, timestampNanos: t + 1_000)
        }
        try make("ipv4-tcp.pcap", .ipv4, .nanoseconds) { w in
            try w.writeTCP(payload: ByteBuffer(), fiveTuple: tcp4, sequenceNumber: 0xFFFF_FFF0, flags: [.syn], timestampNanos: t + 1)
            try w.writeTCP(payload: ByteBuffer(), fiveTuple: tcp4.reversed, sequenceNumber: 42, acknowledgmentNumber: 0xFFFF_FFF1,
                           flags: [.syn, .ack], timestampNanos: t + 2)
            try w.writeTCP(payload: ByteBuffer(string: "data"), fiveTuple: tcp4, sequenceNumber: 0xFFFF_FFF1, acknowledgmentNumber: 43,
                           flags: [.psh, .ack], window: 512, timestampNanos: t + 3)
            try w.writeTCP(payload: ByteBuffer(), fiveTuple: tcp4, sequenceNumber: 0xFFFF_FFF5, acknowledgmentNumber: 43,
                           flags: [.fin, .ack], timestampNanos: t + 999_999_999)
        }
        try make("ipv6-udp.pcap", .ipv6, .nanoseconds) { w in
            try w.writeUDP(payload: ByteBuffer(bytes: [0x00, 0x01, 0x00, 0x00]), fiveTuple: udp6, timestampNanos: t + 7)
            try w.writeUDP(payload: ByteBuffer(), fiveTuple: udp6.reversed, timestampNanos: t + 8)
        }
        try make("eth-handmade.pcap", .ethernet, .nanoseconds) { w in
            for (i, f) in try HandFrames.all().enumerated() { try w.write(frame: f.frame, timestampNanos: t + Int64(i)) }
        }
        try make("loop-rtp.plain.pcap", .loop) { w in
            for seq in UInt16(65533)...65535 {
                try w.writeUDP(payload: rtpPayload(seq: seq), fiveTuple: udp4, timestampNanos: t + Int64(seq) * 20_000_000)
            }
            try w.writeUDP(payload: rtpPayload(seq: 0), fiveTuple: udp4, timestampNanos: t + 65536 * 20_000_000)
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
