import NIOCore
import RTCBase
import PacketCapture
import RTCTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Minimal file helpers without Foundation.
enum FileManagerLite {
    static func write(_ bytes: [UInt8], to path: String) {
        let f = fopen(path, "wb")!
        _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        fclose(f)
    }
    static func remove(_ path: String) { unlink(path) }
}

@Suite struct WriterTests {
    static let linkTypes: [LinkType] = [.ethernet, .linuxSLL, .linuxSLL2, .null, .loop, .raw, .ipv4, .ipv6]

    static let v4 = FiveTuple(source: IPAddress("127.0.0.1")!, sourcePort: 5000, destination: IPAddress("192.0.2.7")!,
                              destinationPort: 40_000, transport: .udp)
    static let v6 = FiveTuple(source: IPAddress("fd00::2")!, sourcePort: 443, destination: IPAddress("::1")!,
                              destinationPort: 3478, transport: .udp)

    @Test(arguments: linkTypes)
    func roundTrip(_ linkType: LinkType) throws {
        let path = "/tmp/packetcapture-\(linkType.rawValue)-\(getpid()).pcap"
        defer { FileManagerLite.remove(path) }
        let writer = try PCAPWriter(path: path, linkType: linkType)
        var tuples: [FiveTuple] = []
        if linkType != .ipv6 { tuples.append(Self.v4) }
        if linkType != .ipv4 { tuples.append(Self.v6) }
        var tcp = Self.v4
        tcp.transport = .tcp
        if linkType != .ipv6 { tuples.append(tcp) }
        for (i, t) in tuples.enumerated() {
            writer.writeUDP(ByteBuffer(bytes: [0x80, 0x60, UInt8(i), 1, 2, 3]), fiveTuple: t,
                            timestampNanoseconds: 1_700_000_000_123_456_789 + UInt64(i))
        }
        writer.close()
        let frames = try PCAPReader.readAll(path: path)
        #expect(frames.count == tuples.count)
        for (i, (frame, t)) in zip(frames, tuples).enumerated() {
            #expect(frame.timestampNanoseconds == 1_700_000_000_123_456_789 + UInt64(i))
            switch frame.content {
            case .udp(let d):
                #expect(t.transport == .udp)
                #expect(d.fiveTuple == t)
                #expect(Array(d.payload.readableBytesView) == [0x80, 0x60, UInt8(i), 1, 2, 3])
            case .tcp(let s):
                #expect(t.transport == .tcp)
                #expect(s.fiveTuple == t)
                #expect(Array(s.payload.readableBytesView) == [0x80, 0x60, UInt8(i), 1, 2, 3])
            case .other(let why):
                Issue.record("\(linkType): \(why)")
            }
        }
    }

    @Test func ipv4HeaderChecksumIsValid() {
        let frame = PacketSynthesizer.frame(linkType: .raw, fiveTuple: Self.v4, payload: ByteBuffer(bytes: [1, 2, 3]))
        let header = frame.getBytes(at: 0, length: 20)!
        #expect(PacketSynthesizer.internetChecksum(header) == 0)   // a valid header sums to 0xFFFF
    }

    @Test func ipv6UDPChecksumIsValid() {
        let frame = PacketSynthesizer.frame(linkType: .raw, fiveTuple: Self.v6, payload: ByteBuffer(bytes: [9, 8, 7]))
        let udp = frame.getBytes(at: 40, length: frame.readableBytes - 40)!
        let len = udp.count
        let pseudo = Self.v6.source.bytes + Self.v6.destination.bytes + [0, 0, UInt8(len >> 8), UInt8(len & 0xFF), 0, 0, 0, 17]
        #expect(PacketSynthesizer.internetChecksum(pseudo + udp) == 0)
    }

    /// Every prefix of a valid frame decodes to *something* without trapping, and only the complete
    /// frame (or one with at most trailing bytes cut from nothing) is a UDP datagram.
    @Test(arguments: linkTypes)
    func truncationAtEveryOffset(_ linkType: LinkType) {
        let t = linkType == .ipv6 ? Self.v6 : Self.v4
        let frame = PacketSynthesizer.frame(linkType: linkType, fiveTuple: t, payload: ByteBuffer(bytes: Array(0..<20)))
        for cut in 0..<frame.readableBytes {
            let prefix = frame.getSlice(at: 0, length: cut)!
            if case .udp = FrameDecoder.decode(prefix, linkType: linkType) {
                Issue.record("\(linkType): \(cut)-byte prefix decoded as a complete UDP datagram")
            }
        }
        guard case .udp = FrameDecoder.decode(frame, linkType: linkType) else {
            Issue.record("\(linkType): complete frame not decoded")
            return
        }
    }

    @Test(arguments: [("127.0.0.1", "127.0.0.1"), ("::1", "::1"), ("fd00::2", "fd00::2"), ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
                      ("fe80::fc:ff:fe00:1", "fe80::fc:ff:fe00:1"), ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"), ("::", "::")])
    func addressText(_ input: String, _ printed: String) {
        #expect(IPAddress(input)?.description == printed)
    }

    @Test(arguments: ["", "1.2.3", "256.1.1.1", "1::2::3", "12345::", "a.b.c.d"])
    func badAddressText(_ input: String) {
        #expect(IPAddress(input) == nil)
    }

    @Test func otherContent() {
        #expect(FrameDecoder.decode(ByteBuffer(bytes: [0x45]), linkType: LinkType(rawValue: 9999)) == .other("unsupported link type DLT 9999"))
        // ARP over Ethernet
        var arp = ByteBuffer(bytes: [UInt8](repeating: 0, count: 12) + [0x08, 0x06] + [UInt8](repeating: 0, count: 28))
        if case .other = FrameDecoder.decode(arp, linkType: .ethernet) {} else { Issue.record("ARP decoded") }
        arp.clear()
    }
}
