import NIOCore
import PacketCapture

/// Hand-built Ethernet frames for decoder corner cases (also written to the eth-handmade fixture and
/// cross-checked with tshark by make-fixtures.sh).
enum HandFrames {
    static let macs: [UInt8] = [0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01]

    static func ethernet(_ tags: [(UInt16, UInt16)], etherType: UInt16, _ payload: ByteBuffer) -> ByteBuffer {
        var b = ByteBuffer(bytes: macs)
        for (tpid, tci) in tags { b.writeInteger(tpid); b.writeInteger(tci) }
        b.writeInteger(etherType)
        var p = payload
        b.writeBuffer(&p)
        return b
    }

    static func udpPayload(_ n: Int) -> ByteBuffer { ByteBuffer(bytes: (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 7) }) }

    /// 802.1Q-tagged IPv4/UDP.
    static func vlan() throws -> ByteBuffer {
        ethernet([(0x8100, 10)], etherType: 0x0800, ipPacket(udpPayload(10), udp4))
    }

    /// 802.1ad + 802.1Q (QinQ) tagged IPv6/UDP.
    static func qinq() throws -> ByteBuffer {
        ethernet([(0x88A8, 100), (0x8100, 10)], etherType: 0x86DD, ipPacket(udpPayload(11), udp6))
    }

    /// IPv4 with 4 bytes of options (Router Alert) carrying UDP.
    static func ipv4Options() throws -> ByteBuffer {
        let ip = ipPacket(udpPayload(12), udp4)
        var out = ByteBuffer()
        var header = ip.getSlice(at: ip.readerIndex, length: 20)!
        header.setInteger(UInt8(0x46), at: header.readerIndex)
        header.setInteger(UInt16(ip.readableBytes + 4), at: header.readerIndex + 2)
        header.setInteger(UInt16(0), at: header.readerIndex + 10)
        header.writeBytes([0x94, 0x04, 0x00, 0x00])
        header.setInteger(PacketSynthesizer.internetChecksum(header.getBytes(at: header.readerIndex, length: header.readableBytes)!), at: header.readerIndex + 10)
        out.writeBuffer(&header)
        var rest = ip.getSlice(at: ip.readerIndex + 20, length: ip.readableBytes - 20)!
        out.writeBuffer(&rest)
        return ethernet([], etherType: 0x0800, out)
    }

    /// IPv6 with hop-by-hop and destination-options extension headers carrying UDP.
    static func ipv6Extensions() throws -> ByteBuffer {
        let ip = ipPacket(udpPayload(13), udp6)
        var out = ip.getSlice(at: ip.readerIndex, length: 40)!
        out.setInteger(UInt16(ip.readableBytes - 40 + 16), at: out.readerIndex + 4)
        out.setInteger(UInt8(0), at: out.readerIndex + 6)                  // next: hop-by-hop
        out.writeBytes([60, 0, 0x01, 0x04, 0, 0, 0, 0])                    // hop-by-hop, next: dest opts, PadN
        out.writeBytes([17, 0, 0x01, 0x04, 0, 0, 0, 0])                    // dest opts, next: UDP, PadN
        var rest = ip.getSlice(at: ip.readerIndex + 40, length: ip.readableBytes - 40)!
        out.writeBuffer(&rest)
        return ethernet([], etherType: 0x86DD, out)
    }

    /// First fragment of a fragmented IPv4/UDP datagram (MF set).
    static func ipv4Fragment() throws -> ByteBuffer {
        let ip = ipPacket(udpPayload(64), udp4)
        var out = ip.getSlice(at: ip.readerIndex, length: 20 + 32)!
        out.setInteger(UInt16(52), at: out.readerIndex + 2)
        out.setInteger(UInt16(0x2000), at: out.readerIndex + 6)
        out.setInteger(UInt16(0), at: out.readerIndex + 10)
        out.setInteger(UInt16(0x4242), at: out.readerIndex + 4)
        out.setInteger(PacketSynthesizer.internetChecksum(out.getBytes(at: out.readerIndex, length: 20)!), at: out.readerIndex + 10)
        return ethernet([], etherType: 0x0800, out)
    }

    /// IPv6 packet with a fragment header (first fragment, M set).
    static func ipv6Fragment() throws -> ByteBuffer {
        let ip = ipPacket(udpPayload(16), udp6)
        var out = ip.getSlice(at: ip.readerIndex, length: 40)!
        out.setInteger(UInt16(ip.readableBytes - 40 + 8), at: out.readerIndex + 4)
        out.setInteger(UInt8(44), at: out.readerIndex + 6)
        out.writeBytes([17, 0, 0x00, 0x01, 0, 0, 0x12, 0x34])  // next UDP, offset 0, M=1, id 0x1234
        var rest = ip.getSlice(at: ip.readerIndex + 40, length: ip.readableBytes - 40)!
        out.writeBuffer(&rest)
        return ethernet([], etherType: 0x86DD, out)
    }

    /// An ARP request (not IP).
    static func arp() -> ByteBuffer {
        var p = ByteBuffer(bytes: [0, 1, 8, 0, 6, 4, 0, 1] + [0x02, 0, 0, 0, 0, 0x01, 10, 0, 0, 1])
        p.writeBytes([0, 0, 0, 0, 0, 0, 10, 0, 0, 2])
        return ethernet([], etherType: 0x0806, p)
    }

    /// A tiny IPv4/UDP datagram padded to the 60-byte Ethernet minimum.
    static func padded() throws -> ByteBuffer {
        var f = ethernet([], etherType: 0x0800, ipPacket(udpPayload(2), udp4))
        f.writeRepeatingByte(0xEE, count: 60 - f.readableBytes)
        return f
    }

    /// Every hand frame with the transport the decoder must report for it.
    static func all() throws -> [(name: String, frame: ByteBuffer)] {
        [("vlan", try vlan()), ("qinq", try qinq()), ("ipv4-options", try ipv4Options()),
         ("ipv6-extensions", try ipv6Extensions()), ("ipv4-fragment", try ipv4Fragment()),
         ("ipv6-fragment", try ipv6Fragment()), ("arp", arp()), ("padded", try padded())]
    }
}
