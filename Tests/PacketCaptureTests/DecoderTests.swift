import Foundation
import NIOCore
import PacketCapture
import RTCTestSupport
import Testing

@Suite struct DecoderTests {
    @Test(arguments: [
        ("127.0.0.1", "127.0.0.1"), ("::1", "::1"), ("::", "::"), ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("2001:0db8:0000:0000:0000:0000:0002:0001", "2001:db8::2:1"), ("fe80::1:2", "fe80::1:2"),
        ("1:0:1:0:1:0:1:0", "1:0:1:0:1:0:1:0"), ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"), ("ff02::", "ff02::"),
    ])
    func addressText(_ input: String, _ canonical: String) throws {
        let a = try #require(IPAddress(input))
        #expect(a.description == canonical)
        #expect(IPAddress(canonical) == a)
        #expect(a.bytes.count == (a.version == 4 ? 4 : 16))
    }

    @Test(arguments: ["", "1.2.3", "1.2.3.256", "1.2.3.4.5", ":::", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "g::"])
    func badAddressText(_ input: String) { #expect(IPAddress(input) == nil) }

    @Test func fiveTupleDescription() {
        #expect(udp4.description == "udp 10.0.0.1:40000 -> 192.168.1.20:5004")
        #expect(tcp6.reversed.description == "tcp [fe80::1:2]:8443 -> [2001:db8::1]:50001")
    }

    /// Every prefix of every kind of frame decodes without trapping, and only the full frame yields
    /// a transport packet (except Ethernet padding, which is not needed).
    @Test(arguments: LinkType.supported)
    func everyPrefixIsSafe(_ link: LinkType) throws {
        let tuples = link == .ipv4 ? [udp4, tcp4] : link == .ipv6 ? [udp6, tcp6] : [udp4, udp6, tcp4, tcp6]
        for tuple in tuples {
            let ip = tuple.proto == .udp
                ? try PacketSynthesis.udpPacket(payload: rtpPayload(seq: 1, size: 3), fiveTuple: tuple)
                : try PacketSynthesis.tcpPacket(payload: rtpPayload(seq: 1, size: 3), fiveTuple: tuple, sequenceNumber: 1,
                                                acknowledgmentNumber: 0, flags: .syn)
            let frame = try PacketSynthesis.frame(ip, linkType: link)
            #expect(FrameDecoder.decode(frame, linkType: link).fiveTuple == tuple)
            for n in 0..<frame.readableBytes {
                let cut = frame.getSlice(at: frame.readerIndex, length: n)!
                guard case .other(let reason) = FrameDecoder.decode(cut, linkType: link) else {
                    Issue.record("\(link) \(tuple) prefix \(n) decoded as a packet"); continue
                }
                #expect(reason.contains("truncated") || reason.contains("empty"), "\(link) prefix \(n): \(reason)")
            }
        }
    }

    @Test func randomBytesNeverTrap() {
        var rng = SystemRandomNumberGenerator()
        for link in LinkType.supported {
            for _ in 0..<300 {
                let n = Int.random(in: 0..<120, using: &rng)
                var b = ByteBuffer(bytes: (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) })
                // Make the interesting paths likely: plausible link header and IP version.
                if n > 20, link == .ethernet { b.setInteger(UInt16(0x0800), at: 12); b.setInteger(UInt8(0x45), at: 14) }
                _ = FrameDecoder.decode(b, linkType: link)
            }
        }
    }

    @Test func headerFieldCornerCases() throws {
        // IPv4 header length below 20, UDP length below 8, TCP data offset below 5, unknown protocol.
        var ip = try PacketSynthesis.udpPacket(payload: ByteBuffer(bytes: [1, 2, 3]), fiveTuple: udp4)
        var bad = ip; bad.setInteger(UInt8(0x44), at: 0)
        #expect(FrameDecoder.decodeIP(bad) == .other("IPv4 header length 16 < 20"))
        bad = ip; bad.setInteger(UInt16(7), at: 24)
        #expect(FrameDecoder.decodeIP(bad) == .other("UDP length 7 < 8"))
        bad = ip; bad.setInteger(UInt8(1), at: 9)
        #expect(FrameDecoder.decodeIP(bad) == .other("ip protocol 1"))
        ip.writeBytes([0, 0, 0])  // trailing bytes beyond total length are ignored
        #expect(FrameDecoder.decodeIP(ip).payload.map(bytes) == [1, 2, 3])
        var tcp = try PacketSynthesis.tcpPacket(payload: ByteBuffer(), fiveTuple: tcp4, sequenceNumber: 1, acknowledgmentNumber: 2, flags: .ack)
        tcp.setInteger(UInt8(0x40), at: 32)
        #expect(FrameDecoder.decodeIP(tcp) == .other("TCP data offset 16 < 20"))
        #expect(FrameDecoder.decode(ByteBuffer(bytes: [0, 0, 0, 99]), linkType: .loop) == .other("loopback family 99"))
        #expect(FrameDecoder.decode(ByteBuffer(bytes: [1, 2]), linkType: LinkType(rawValue: 147)) == .other("unsupported link type DLT(147)"))
    }

    @Test func tcpOptionsAreExposed() throws {
        var seg = ByteBuffer()
        seg.writeInteger(UInt16(1)); seg.writeInteger(UInt16(2)); seg.writeInteger(UInt32(3)); seg.writeInteger(UInt32(4))
        seg.writeInteger(UInt8(7 << 4)); seg.writeInteger(TCPFlags.syn.rawValue); seg.writeInteger(UInt16(1000))
        seg.writeInteger(UInt16(0)); seg.writeInteger(UInt16(0))
        seg.writeBytes([2, 4, 0x05, 0xB4, 1, 1, 4, 2])  // MSS 1460, NOP, NOP, SACK permitted
        seg.writeBytes([0xAA])
        let ip = try PacketSynthesis.ipPacket(seg, fiveTuple: tcp4, protocolNumber: 6)
        let s = try #require(FrameDecoder.decodeIP(ip).tcp)
        #expect(bytes(s.options) == [2, 4, 0x05, 0xB4, 1, 1, 4, 2] && bytes(s.payload) == [0xAA])
        #expect(s.flags == .syn && s.window == 1000 && s.sequenceNumber == 3 && s.acknowledgmentNumber == 4)
    }

    @Test func nullFamilyInEitherByteOrder() throws {
        let ip = try PacketSynthesis.udpPacket(payload: ByteBuffer(), fiveTuple: udp6)
        for header: [UInt8] in [[10, 0, 0, 0], [0, 0, 0, 10], [30, 0, 0, 0], [0, 0, 0, 28], [24, 0, 0, 0]] {
            var f = ByteBuffer(bytes: header)
            var p = ip
            f.writeBuffer(&p)
            #expect(FrameDecoder.decode(f, linkType: .null).fiveTuple == udp6)
            #expect(FrameDecoder.decode(f, linkType: .loop).fiveTuple == udp6)
        }
    }
}

@Suite struct ErrorTests {
    @Test func missingFile() {
        #expect {
            try PCAPReader(path: "/nonexistent/x.pcap")
        } throws: { e in
            guard case PacketCaptureError.cannotOpen(let path, let reason) = e else { return false }
            return path == "/nonexistent/x.pcap" && !reason.isEmpty
        }
    }

    @Test(arguments: [[UInt8](), [0x00, 0x01, 0x02], Array("this is not a capture file at all".utf8),
                      [0xD4, 0xC3, 0xB2, 0xA1, 0x02, 0x00, 0x04, 0x00]])
    func corruptFileIsATypedError(_ content: [UInt8]) throws {
        let path = temporaryPath("corrupt.pcap")
        FileManager.default.createFile(atPath: path, contents: Data(content))
        #expect { try PCAPReader(path: path) } throws: { e in
            if case PacketCaptureError.cannotOpen = e { return true } else { return false }
        }
    }

    @Test(arguments: ["eth-udp4.pcapng", "eth-tcp4.pcap"])
    func truncatedLastRecordIsATypedError(_ name: String) throws {
        let data = try #require(FileManager.default.contents(atPath: fixturesDirectory + "/" + name))
        let path = temporaryPath(name)
        FileManager.default.createFile(atPath: path, contents: data.prefix(data.count - 7))
        let reader = try PCAPReader(path: path)
        var read = 0
        #expect { while try reader.next() != nil { read += 1 } } throws: { e in
            guard case PacketCaptureError.readFailed(_, let n, _) = e else { return false }
            return n == read + 1
        }
        #expect(read > 0)
        #expect(try reader.next() == nil)  // closed after the error
    }

    @Test func unsupportedLinkTypeIsATypedError() throws {
        // Classic pcap header (microsecond magic, v2.4, snaplen 65535) with link type 147 (USER0).
        var header: [UInt8] = [0xD4, 0xC3, 0xB2, 0xA1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0]
        header += [147, 0, 0, 0]
        let path = temporaryPath("user0.pcap")
        FileManager.default.createFile(atPath: path, contents: Data(header))
        #expect(throws: PacketCaptureError.unsupportedLinkType(147)) { try PCAPReader(path: path) }
    }
}
