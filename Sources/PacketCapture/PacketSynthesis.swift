import NIOCore

/// Builds IPv4/IPv6 + UDP/TCP packets around a payload and wraps them in a link-layer header, the way
/// `text2pcap` does, so payloads that never crossed a wire (for example decrypted SRTP) can be stored in a
/// pcap that Wireshark dissects.
///
/// Header choices: IPv4 with TTL 64, DF set, no options and a correct header checksum; IPv6 with hop limit
/// 64 and flow label 0. UDP and TCP checksums are computed over the pseudo-header for both IP versions
/// (RFC 768 allows a zero UDP checksum over IPv4, but a real one keeps Wireshark's optional checksum
/// validation quiet; RFC 8200 §8.1 makes it mandatory over IPv6). Link layers: Ethernet uses the locally
/// administered MACs `02:00:00:00:00:01` → `02:00:00:00:00:02`; SLL/SLL2 say "sent to us" on a loopback
/// device (ARPHRD 772, interface index 1); NULL writes the family little-endian and LOOP big-endian, with
/// AF_INET = 2 and the BSD AF_INET6 = 24.
public enum PacketSynthesis {
    /// IP packet (version from the five-tuple's source address) carrying a UDP datagram with `payload`.
    /// Throws ``PacketCaptureError/writeFailed(reason:)`` if the addresses mix IP versions or the payload is
    /// too large for one packet.
    public static func udpPacket(payload: ByteBuffer, fiveTuple: FiveTuple, identification: UInt16 = 0) throws(PacketCaptureError) -> ByteBuffer {
        let udpLength = 8 + payload.readableBytes
        guard udpLength <= 0xFFFF else { throw .writeFailed(reason: "UDP payload of \(payload.readableBytes) bytes too large") }
        var l4 = ByteBuffer()
        l4.reserveCapacity(udpLength)
        l4.writeInteger(fiveTuple.sourcePort)
        l4.writeInteger(fiveTuple.destinationPort)
        l4.writeInteger(UInt16(udpLength))
        l4.writeInteger(UInt16(0))
        var p = payload
        l4.writeBuffer(&p)
        var sum = checksum(l4, pseudoHeader: fiveTuple, protocolNumber: 17)
        if sum == 0 { sum = 0xFFFF }  // RFC 768: a computed zero is sent as all ones
        l4.setInteger(sum, at: l4.readerIndex + 6)
        return try ipPacket(l4, fiveTuple: fiveTuple, protocolNumber: 17, identification: identification)
    }

    /// IP packet carrying a TCP segment (20-byte header, no options) with `payload`.
    public static func tcpPacket(payload: ByteBuffer, fiveTuple: FiveTuple, sequenceNumber: UInt32, acknowledgmentNumber: UInt32,
                                 flags: TCPFlags, window: UInt16 = 65535, identification: UInt16 = 0) throws(PacketCaptureError) -> ByteBuffer {
        var l4 = ByteBuffer()
        l4.reserveCapacity(20 + payload.readableBytes)
        l4.writeInteger(fiveTuple.sourcePort)
        l4.writeInteger(fiveTuple.destinationPort)
        l4.writeInteger(sequenceNumber)
        l4.writeInteger(acknowledgmentNumber)
        l4.writeInteger(UInt8(5 << 4))
        l4.writeInteger(flags.rawValue)
        l4.writeInteger(window)
        l4.writeInteger(UInt16(0))  // checksum, filled below
        l4.writeInteger(UInt16(0))  // urgent pointer
        var p = payload
        l4.writeBuffer(&p)
        let sum = checksum(l4, pseudoHeader: fiveTuple, protocolNumber: 6)
        l4.setInteger(sum, at: l4.readerIndex + 16)
        return try ipPacket(l4, fiveTuple: fiveTuple, protocolNumber: 6, identification: identification)
    }

    /// Prepends an IPv4 or IPv6 header to a transport-layer segment.
    public static func ipPacket(_ transport: ByteBuffer, fiveTuple: FiveTuple, protocolNumber: UInt8,
                                identification: UInt16 = 0) throws(PacketCaptureError) -> ByteBuffer {
        var out = ByteBuffer()
        var segment = transport
        switch (fiveTuple.source, fiveTuple.destination) {
        case (.v4(let src), .v4(let dst)):
            let total = 20 + transport.readableBytes
            guard total <= 0xFFFF else { throw .writeFailed(reason: "IPv4 packet of \(total) bytes too large") }
            out.reserveCapacity(total)
            out.writeInteger(UInt8(0x45))
            out.writeInteger(UInt8(0))
            out.writeInteger(UInt16(total))
            out.writeInteger(identification)
            out.writeInteger(UInt16(0x4000))  // DF
            out.writeInteger(UInt8(64))
            out.writeInteger(protocolNumber)
            out.writeInteger(UInt16(0))
            out.writeInteger(src)
            out.writeInteger(dst)
            out.setInteger(ipv4HeaderChecksum(out), at: out.readerIndex + 10)
        case (.v6(let sh, let sl), .v6(let dh, let dl)):
            guard transport.readableBytes <= 0xFFFF else { throw .writeFailed(reason: "IPv6 payload too large") }
            out.reserveCapacity(40 + transport.readableBytes)
            out.writeInteger(UInt32(6 << 28))
            out.writeInteger(UInt16(transport.readableBytes))
            out.writeInteger(protocolNumber)
            out.writeInteger(UInt8(64))
            out.writeInteger(sh); out.writeInteger(sl)
            out.writeInteger(dh); out.writeInteger(dl)
        default:
            throw .writeFailed(reason: "five-tuple mixes IPv4 and IPv6: \(fiveTuple)")
        }
        out.writeBuffer(&segment)
        return out
    }

    /// Wraps an IP packet in the link-layer header of `linkType`.
    public static func frame(_ ipPacket: ByteBuffer, linkType: LinkType) throws(PacketCaptureError) -> ByteBuffer {
        guard let first = ipPacket.getInteger(at: ipPacket.readerIndex, as: UInt8.self), first >> 4 == 4 || first >> 4 == 6 else {
            throw .writeFailed(reason: "not an IP packet")
        }
        let isV6 = first >> 4 == 6
        let etherType: UInt16 = isV6 ? 0x86DD : 0x0800
        var out = ByteBuffer()
        out.reserveCapacity(ipPacket.readableBytes + 20)
        switch linkType {
        case .ethernet:
            out.writeBytes([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01])
            out.writeInteger(etherType)
        case .linuxSLL:
            out.writeInteger(UInt16(0))    // packet type: to us
            out.writeInteger(UInt16(772))  // ARPHRD_LOOPBACK
            out.writeInteger(UInt16(6))    // address length
            out.writeRepeatingByte(0, count: 8)
            out.writeInteger(etherType)
        case .linuxSLL2:
            out.writeInteger(etherType)
            out.writeInteger(UInt16(0))    // reserved
            out.writeInteger(UInt32(1))    // interface index
            out.writeInteger(UInt16(772))  // ARPHRD_LOOPBACK
            out.writeInteger(UInt8(0))     // packet type: to us
            out.writeInteger(UInt8(6))     // address length
            out.writeRepeatingByte(0, count: 8)
        case .null:
            out.writeInteger(UInt32(isV6 ? 24 : 2), endianness: .little)
        case .loop:
            out.writeInteger(UInt32(isV6 ? 24 : 2), endianness: .big)
        case .raw:
            break
        case .ipv4:
            guard !isV6 else { throw .writeFailed(reason: "IPv6 packet on an IPV4 link") }
        case .ipv6:
            guard isV6 else { throw .writeFailed(reason: "IPv4 packet on an IPV6 link") }
        default:
            throw .unsupportedLinkType(linkType.rawValue)
        }
        var ip = ipPacket
        out.writeBuffer(&ip)
        return out
    }

    /// The RFC 1071 one's-complement checksum of an IPv4 header (checksum field must be zero or is ignored
    /// by the caller). Verifying a correct header with its checksum in place yields 0.
    public static func ipv4HeaderChecksum(_ header: ByteBuffer) -> UInt16 {
        var sum: UInt32 = 0
        add(header, to: &sum)
        return finish(sum)
    }

    /// The UDP/TCP checksum over `segment` with the IPv4 or IPv6 pseudo-header of `fiveTuple`.
    public static func checksum(_ segment: ByteBuffer, pseudoHeader fiveTuple: FiveTuple, protocolNumber: UInt8) -> UInt16 {
        var sum: UInt32 = 0
        for b in [fiveTuple.source, fiveTuple.destination] {
            let bytes = b.bytes
            var i = 0
            while i < bytes.count { sum &+= UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1]); i += 2 }
        }
        let length = UInt32(segment.readableBytes)
        sum &+= length >> 16
        sum &+= length & 0xFFFF
        sum &+= UInt32(protocolNumber)
        add(segment, to: &sum)
        return finish(sum)
    }

    private static func add(_ buffer: ByteBuffer, to sum: inout UInt32) {
        buffer.withUnsafeReadableBytes { raw in
            var i = 0
            while i + 1 < raw.count {
                sum &+= UInt32(raw[i]) << 8 | UInt32(raw[i + 1])
                if sum > 0x7FFF_FFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
                i += 2
            }
            if i < raw.count { sum &+= UInt32(raw[i]) << 8 }
        }
    }

    private static func finish(_ s: UInt32) -> UInt16 {
        var sum = s
        while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }
}
