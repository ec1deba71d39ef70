import NIOCore

/// Builds link + IP + transport headers around a payload, so traffic that never crossed a
/// network interface (decrypted RTP/RTCP inside the SFU, say) can be written as a pcap that
/// Wireshark dissects — the idea of Janus's text2pcap dumps.
///
/// IPv4 headers get a correct header checksum; the UDP checksum is 0 ("not computed", allowed for
/// IPv4 by RFC 768) for IPv4 and computed for IPv6, where it is mandatory (RFC 8200 §8.1). TCP
/// segments carry the given sequence/ack numbers and flags with a zero checksum.
public enum PacketSynthesizer {
    /// A complete frame for `linkType` carrying `payload` as UDP (or TCP when the tuple says so).
    public static func frame(linkType: LinkType, fiveTuple: FiveTuple, payload: ByteBuffer,
                             tcpSequence: UInt32 = 0, tcpAcknowledgment: UInt32 = 0, tcpFlags: UInt16 = 0x18) -> ByteBuffer {
        let v6 = fiveTuple.source.isIPv6
        var out = ByteBufferAllocator().buffer(capacity: payload.readableBytes + 80)
        let ethertype: UInt16 = v6 ? 0x86DD : 0x0800
        switch linkType {
        case .ethernet:
            out.writeBytes([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])   // zero MACs, as Linux lo uses
            out.writeInteger(ethertype)
        case .linuxSLL:
            out.writeInteger(UInt16(0))            // packet type: to us
            out.writeInteger(UInt16(772))          // ARPHRD_LOOPBACK
            out.writeInteger(UInt16(6))            // address length
            out.writeBytes([UInt8](repeating: 0, count: 8))
            out.writeInteger(ethertype)
        case .linuxSLL2:
            out.writeInteger(ethertype)
            out.writeInteger(UInt16(0))            // reserved
            out.writeInteger(UInt32(1))            // interface index
            out.writeInteger(UInt16(772))          // ARPHRD_LOOPBACK
            out.writeInteger(UInt8(0))             // packet type
            out.writeInteger(UInt8(6))             // address length
            out.writeBytes([UInt8](repeating: 0, count: 8))
        case .null:
            out.writeInteger(UInt32(v6 ? 24 : 2), endianness: .little)   // writer's (x86) byte order
        case .loop:
            out.writeInteger(UInt32(v6 ? 24 : 2), endianness: .big)
        default:
            break   // raw, ipv4, ipv6: no link header
        }
        let isTCP = fiveTuple.transport == .tcp
        let transportLength = (isTCP ? 20 : 8) + payload.readableBytes
        let proto: UInt8 = isTCP ? 6 : 17
        let ipStart = out.writerIndex
        if v6 {
            out.writeInteger(UInt32(0x6000_0000))
            out.writeInteger(UInt16(truncatingIfNeeded: transportLength))
            out.writeInteger(proto)
            out.writeInteger(UInt8(64))
            out.writeBytes(fiveTuple.source.bytes)
            out.writeBytes(fiveTuple.destination.bytes)
        } else {
            out.writeInteger(UInt8(0x45))
            out.writeInteger(UInt8(0))
            out.writeInteger(UInt16(truncatingIfNeeded: 20 + transportLength))
            out.writeInteger(UInt16(0))            // identification
            out.writeInteger(UInt16(0x4000))       // don't fragment
            out.writeInteger(UInt8(64))
            out.writeInteger(proto)
            out.writeInteger(UInt16(0))            // checksum, patched below
            out.writeBytes(fiveTuple.source.bytes)
            out.writeBytes(fiveTuple.destination.bytes)
            let sum = internetChecksum(out.getBytes(at: ipStart, length: 20)!)
            out.setInteger(sum, at: ipStart + 10)
        }
        let transportStart = out.writerIndex
        out.writeInteger(fiveTuple.sourcePort)
        out.writeInteger(fiveTuple.destinationPort)
        if isTCP {
            out.writeInteger(tcpSequence)
            out.writeInteger(tcpAcknowledgment)
            out.writeInteger(UInt16(5 << 12) | (tcpFlags & 0x01FF))
            out.writeInteger(UInt16(65_535))       // window
            out.writeInteger(UInt16(0))            // checksum (not computed)
            out.writeInteger(UInt16(0))            // urgent pointer
        } else {
            out.writeInteger(UInt16(truncatingIfNeeded: transportLength))
            out.writeInteger(UInt16(0))
        }
        var body = payload
        out.writeBuffer(&body)
        if v6 && !isTCP {
            var pseudo = fiveTuple.source.bytes + fiveTuple.destination.bytes
            pseudo += [UInt8(truncatingIfNeeded: transportLength >> 24), UInt8(truncatingIfNeeded: transportLength >> 16),
                       UInt8(truncatingIfNeeded: transportLength >> 8), UInt8(truncatingIfNeeded: transportLength), 0, 0, 0, 17]
            var sum = internetChecksum(pseudo + out.getBytes(at: transportStart, length: transportLength)!)
            if sum == 0 { sum = 0xFFFF }
            out.setInteger(sum, at: transportStart + 6)
        }
        return out
    }

    /// The RFC 1071 Internet checksum of `bytes`.
    public static func internetChecksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var i = 0
        while i + 1 < bytes.count {
            sum &+= UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1])
            i += 2
        }
        if i < bytes.count { sum &+= UInt32(bytes[i]) << 8 }
        while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }
}
