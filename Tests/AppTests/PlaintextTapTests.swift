import Foundation
import ICE
import NIOCore
import PacketCapture
import SFU
import Testing
@testable import App

/// ``PlaintextTap`` writes pcaps that PacketCapture's reader and tshark read back.
@Suite struct PlaintextTapTests {
    static let peer = ICETuple(remote: .v4(address: 0xC000_0207, port: 5000))              // 192.0.2.7:5000
    static let tcpPeer = ICETuple(remote: .v4(address: 0xC000_0208, port: 6000), transport: .tcp)
    static let v6Peer = ICETuple(remote: .v6(high: 0x2001_0DB8_0000_0000, low: 1, port: 7000))
    static let server = IPAddress("203.0.113.10")!

    /// An RTP packet: V=2, payload type `pt`, sequence number, timestamp, SSRC, then `payload`.
    static func rtp(pt: UInt8, seq: UInt16, timestamp: UInt32, ssrc: UInt32, payload: [UInt8]) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeInteger(UInt8(0x80))
        b.writeInteger(pt)
        b.writeInteger(seq)
        b.writeInteger(timestamp)
        b.writeInteger(ssrc)
        b.writeBytes(payload)
        return b
    }

    /// An RTCP receiver report with no report block from `ssrc`.
    static func rtcpRR(ssrc: UInt32) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeBytes([0x80, 201, 0, 1])
        b.writeInteger(ssrc)
        return b
    }

    static func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "plaintext-tap-\(UUID().uuidString)"
        return path
    }

    /// Collects a tap's notices.
    final class Notices { var all: [PlaintextTap.Notice] = [] }

    static func tap(_ dir: String, limits: PlaintextTap.Limits = .init(), notices: Notices = Notices()) -> PlaintextTap {
        PlaintextTap(directory: dir, serverAddress: "203.0.113.10", udpPort: 40_000, tcpPort: 40_001, fallbackLabel: "worker-0",
                     limits: limits, notify: { notices.all.append($0) }) { $0 == "a" ? "channel-1" : nil }
    }

    @Test func writesOnePcapPerTransportWithSynthesizedHeaders() throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let notices = Notices()
        let tap = Self.tap(dir, notices: notices)
        let a = "a", b = "b"
        let media = Self.rtp(pt: 111, seq: 65_535, timestamp: 960, ssrc: 0x1122_3344, payload: [1, 2, 3])
        tap.record(a, direction: .inbound, remote: Self.peer, bytes: media, timestampNanoseconds: 1_700_000_000_123_456_789)
        tap.record(a, direction: .outbound, remote: Self.peer, bytes: Self.rtcpRR(ssrc: 9), timestampNanoseconds: 1_700_000_001_000_000_000)
        tap.record(b, direction: .outbound, remote: Self.tcpPeer, bytes: media, timestampNanoseconds: 1_700_000_002_000_000_000)
        tap.record(b, direction: .inbound, remote: Self.v6Peer, bytes: media, timestampNanoseconds: 1_700_000_003_000_000_000)
        #expect(tap.path(of: a) == dir + "/channel-1-a.pcap")
        #expect(tap.path(of: b) == dir + "/worker-0-b.pcap")
        #expect(notices.all == [.opened(a, path: dir + "/channel-1-a.pcap"), .opened(b, path: dir + "/worker-0-b.pcap")])
        tap.close(a)
        tap.close(b)
        #expect(tap.openFileCount == 0)

        let framesA = try PCAPReader.readAll(path: dir + "/channel-1-a.pcap")
        #expect(framesA.map(\.linkType) == [.ethernet, .ethernet])
        #expect(framesA.map(\.timestampNanoseconds) == [1_700_000_000_123_456_789, 1_700_000_001_000_000_000])
        let peer = IPAddress("192.0.2.7")!
        #expect(framesA.map(Self.datagram) == [
            Datagram(fiveTuple: FiveTuple(source: peer, sourcePort: 5000, destination: Self.server, destinationPort: 40_000, transport: .udp),
                             payload: media),
            Datagram(fiveTuple: FiveTuple(source: Self.server, sourcePort: 40_000, destination: peer, destinationPort: 5000, transport: .udp),
                             payload: Self.rtcpRR(ssrc: 9)),
        ])
        let framesB = try PCAPReader.readAll(path: dir + "/worker-0-b.pcap")
        #expect(framesB.map(Self.datagram) == [
            // ICE-TCP peers are written as UDP, with the server's TCP port.
            Datagram(fiveTuple: FiveTuple(source: Self.server, sourcePort: 40_001, destination: IPAddress("192.0.2.8")!,
                                                  destinationPort: 6000, transport: .udp), payload: media),
            // An IPv6 peer of an IPv4-announced server: the server side is "::".
            Datagram(fiveTuple: FiveTuple(source: IPAddress("2001:db8::1")!, sourcePort: 7000, destination: IPAddress("::")!,
                                                  destinationPort: 40_000, transport: .udp), payload: media),
        ])
    }

    @Test func flushesOnTickWhileTheFileStaysOpen() throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let tap = Self.tap(dir, limits: .init(flushInterval: .seconds(1)))
        let a = "a"
        tap.tick(now: .seconds(10))                       // nothing written yet; next flush due at 11 s
        for seq in 0..<3 as Range<UInt16> {
            tap.record(a, direction: .inbound, remote: Self.peer, bytes: Self.rtp(pt: 96, seq: seq, timestamp: 0, ssrc: 1, payload: [0]))
        }
        tap.tick(now: .seconds(10) + .milliseconds(500))  // not due
        tap.tick(now: .seconds(11))                       // due: flushed
        let frames = try PCAPReader.readAll(path: try #require(tap.path(of: a)))
        #expect(frames.count == 3)
        let now = PlaintextTap.wallClockNanoseconds()
        #expect(frames.allSatisfy { $0.timestampNanoseconds <= now && now - $0.timestampNanoseconds < 60_000_000_000 })
        tap.closeAll()
    }

    @Test func stopsAFileAtItsSizeLimit() throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let packet = Self.rtp(pt: 96, seq: 1, timestamp: 0, ssrc: 1, payload: [UInt8](repeating: 0xAB, count: 58))   // 70 bytes
        let record = 16 + 14 + 20 + 8 + 70                                                                               // 128 bytes
        let notices = Notices()
        let tap = Self.tap(dir, limits: .init(maxFileBytes: 24 + 3 * record + 10), notices: notices)
        let a = "a"
        for _ in 0..<10 { tap.record(a, direction: .inbound, remote: Self.peer, bytes: packet) }
        let path = try #require(tap.path(of: a))
        #expect(notices.all == [.opened(a, path: path), .full(a, path: path)])
        #expect(tap.openFileCount == 0)
        #expect(try PCAPReader.readAll(path: path).count == 3)
        #expect((try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) == 24 + 3 * record)
        tap.closeAll()
    }

    @Test func tapsNoMoreThanMaxOpenFiles() throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let notices = Notices()
        let tap = Self.tap(dir, limits: .init(maxOpenFiles: 1), notices: notices)
        let packet = Self.rtp(pt: 96, seq: 1, timestamp: 0, ssrc: 1, payload: [0])
        tap.record("a", direction: .inbound, remote: Self.peer, bytes: packet)
        tap.record("b", direction: .inbound, remote: Self.peer, bytes: packet)
        tap.record("b", direction: .inbound, remote: Self.peer, bytes: packet)
        #expect(notices.all == [.opened("a", path: dir + "/channel-1-a.pcap"), .tooManyFiles("b")])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["channel-1-a.pcap"])
        tap.close("a")
        tap.close("b")
        tap.record("c", direction: .inbound, remote: Self.peer, bytes: packet)   // a slot is free again
        #expect(tap.openFileCount == 1)
        tap.close("c")
        tap.record("a", direction: .inbound, remote: Self.peer, bytes: packet)   // reopened: a new file
        #expect(tap.path(of: "a") == dir + "/channel-1-a-1.pcap")
        #expect(try PCAPReader.readAll(path: dir + "/channel-1-a.pcap").count == 1)   // the first one is intact
        tap.closeAll()
    }

    @Test(arguments: [
        ("0b5c3e1a-uuid", "t-1", "0b5c3e1a-uuid-t-1.pcap"),
        ("../etc/passwd", "x", "_._etc_passwd-x.pcap"),
        ("ch an/nel", "é", "ch_an_nel-_.pcap"),
    ])
    func fileNamesStayInTheDirectory(label: String, transport: String, expected: String) {
        #expect(PlaintextTap.fileName(label: label, transport: transport) == expected)
    }

    /// tshark (installed by scripts/setup.sh) dissects the tapped RTP with `-d udp.port==<port>,rtp`.
    @Test func tsharkDissectsTheTappedRTP() throws {
        let tshark = try #require(Self.inPath("tshark"), "tshark is not in PATH: install it (scripts/setup.sh installs tshark)")
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let tap = Self.tap(dir)
        let a = "a"
        for seq in [65_534, 65_535, 0] as [UInt16] {
            tap.record(a, direction: .inbound, remote: Self.peer,
                       bytes: Self.rtp(pt: 111, seq: seq, timestamp: 960 * UInt32(seq % 4), ssrc: 0xDEAD_BEEF, payload: [0xF8, 0xFF, 0xFE]))
        }
        tap.record(a, direction: .outbound, remote: Self.peer, bytes: Self.rtp(pt: 101, seq: 7, timestamp: 90_000, ssrc: 42, payload: [0x10, 0, 0]))
        let path = try #require(tap.path(of: a))
        tap.closeAll()

        let process = Process()
        process.executableURL = URL(fileURLWithPath: tshark)
        process.arguments = ["-r", path, "-d", "udp.port==40000,rtp", "-T", "fields", "-E", "separator=,",
                             "-e", "ip.src", "-e", "udp.srcport", "-e", "ip.dst", "-e", "udp.dstport",
                             "-e", "rtp.version", "-e", "rtp.p_type", "-e", "rtp.seq", "-e", "rtp.timestamp", "-e", "rtp.ssrc"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = Pipe()
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(text.split(separator: "\n").map(String.init) == [
            "192.0.2.7,5000,203.0.113.10,40000,2,111,65534,1920,0xdeadbeef",
            "192.0.2.7,5000,203.0.113.10,40000,2,111,65535,2880,0xdeadbeef",
            "192.0.2.7,5000,203.0.113.10,40000,2,111,0,0,0xdeadbeef",
            "203.0.113.10,40000,192.0.2.7,5000,2,101,7,90000,0x0000002a",
        ])
    }

    /// A frame's UDP five-tuple and payload (`nil` when it is not UDP).
    struct Datagram: Equatable {
        var fiveTuple: FiveTuple
        var payload: ByteBuffer
    }

    static func datagram(_ frame: CapturedFrame) -> Datagram? {
        guard case .udp(let d) = frame.content else { return nil }
        return Datagram(fiveTuple: d.fiveTuple, payload: d.payload)
    }

    static func inPath(_ tool: String) -> String? {
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        return dirs.map { "\($0)/\(tool)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
