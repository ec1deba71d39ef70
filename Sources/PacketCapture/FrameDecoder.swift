import NIOCore

/// Decodes one captured frame from its link-layer header down to UDP or TCP.
///
/// Pure function over bytes: never traps, never allocates beyond slices of the input buffer.
/// Link layers: Ethernet (with stacked 802.1Q/802.1ad tags), Linux SLL and SLL2, BSD NULL (either byte
/// order), LOOP, raw IP. Network layers: IPv4 (options skipped; fragments are reported, not reassembled;
/// Ethernet padding trimmed by the total-length field) and IPv6 (hop-by-hop, routing and destination-options
/// extension headers skipped; fragments reported).
public enum FrameDecoder {
    /// Decodes `frame` (starting at the link-layer header) for the given link type.
    public static func decode(_ frame: ByteBuffer, linkType: LinkType) -> CapturedTransport {
        let base = frame.readerIndex
        let count = frame.readableBytes
        func u16(_ off: Int) -> UInt16? { off + 2 <= count ? frame.getInteger(at: base + off, as: UInt16.self) : nil }

        switch linkType.rawValue {
        case LinkType.ethernet.rawValue:
            var off = 12
            guard var etherType = u16(off) else { return .other("truncated Ethernet header") }
            off += 2
            // 802.1Q (0x8100), 802.1ad (0x88A8) and the legacy QinQ 0x9100 tags: 4 bytes each.
            while etherType == 0x8100 || etherType == 0x88A8 || etherType == 0x9100 {
                guard let inner = u16(off + 2) else { return .other("truncated VLAN tag") }
                etherType = inner
                off += 4
            }
            return network(frame, from: off, etherType: etherType)
        case LinkType.linuxSLL.rawValue:
            guard let proto = u16(14), count >= 16 else { return .other("truncated SLL header") }
            return network(frame, from: 16, etherType: proto)
        case LinkType.linuxSLL2.rawValue:
            guard let proto = u16(0), count >= 20 else { return .other("truncated SLL2 header") }
            return network(frame, from: 20, etherType: proto)
        case LinkType.null.rawValue, LinkType.loop.rawValue:
            guard count >= 4, let be = frame.getInteger(at: base, as: UInt32.self) else {
                return .other("truncated loopback header")
            }
            // DLT_NULL is in the writer's host order, DLT_LOOP in network order; families are < 2^16,
            // so a big-endian reading with high bits set means the value was little-endian.
            let family = be > 0xFFFF ? be.byteSwapped : be
            switch family {
            case 2: return ipv4(frame, from: 4)
            case 10, 24, 28, 30: return ipv6(frame, from: 4)
            default: return .other("loopback family \(family)")
            }
        case LinkType.raw.rawValue, 14, 101:
            guard count >= 1, let first = frame.getInteger(at: base, as: UInt8.self) else { return .other("empty raw IP frame") }
            switch first >> 4 {
            case 4: return ipv4(frame, from: 0)
            case 6: return ipv6(frame, from: 0)
            default: return .other("raw IP version \(first >> 4)")
            }
        case LinkType.ipv4.rawValue:
            return ipv4(frame, from: 0)
        case LinkType.ipv6.rawValue:
            return ipv6(frame, from: 0)
        default:
            return .other("unsupported link type \(linkType)")
        }
    }

    /// Decodes an IP packet (IPv4 or IPv6, by its version nibble) that starts at the buffer's reader index.
    public static func decodeIP(_ packet: ByteBuffer) -> CapturedTransport {
        decode(packet, linkType: .raw)
    }

    private static func network(_ frame: ByteBuffer, from off: Int, etherType: UInt16) -> CapturedTransport {
        switch etherType {
        case 0x0800: return ipv4(frame, from: off)
        case 0x86DD: return ipv6(frame, from: off)
        default: return .other("ethertype 0x" + hex4(etherType))
        }
    }

    private static func hex4(_ v: UInt16) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 4 - s.count) + s
    }

    private static func ipv4(_ frame: ByteBuffer, from off: Int) -> CapturedTransport {
        let start = frame.readerIndex + off
        let available = frame.readableBytes - off
        guard available >= 20,
              let vihl = frame.getInteger(at: start, as: UInt8.self),
              let totalLength = frame.getInteger(at: start + 2, as: UInt16.self),
              let ident = frame.getInteger(at: start + 4, as: UInt16.self),
              let fragField = frame.getInteger(at: start + 6, as: UInt16.self),
              let proto = frame.getInteger(at: start + 9, as: UInt8.self),
              let src = frame.getInteger(at: start + 12, as: UInt32.self),
              let dst = frame.getInteger(at: start + 16, as: UInt32.self)
        else { return .other("truncated IPv4 header") }
        guard vihl >> 4 == 4 else { return .other("IPv4 header with version \(vihl >> 4)") }
        let headerLength = Int(vihl & 0x0F) * 4
        guard headerLength >= 20 else { return .other("IPv4 header length \(headerLength) < 20") }
        guard available >= headerLength else { return .other("truncated IPv4 options") }
        // TSO/GSO captures may carry total length 0; fall back to what was captured.
        var end = available
        if totalLength != 0 {
            guard Int(totalLength) >= headerLength else { return .other("IPv4 total length \(totalLength) < header") }
            guard Int(totalLength) <= available else { return .other("truncated IPv4 packet (\(available) of \(totalLength) bytes)") }
            end = Int(totalLength)
        }
        let moreFragments = fragField & 0x2000 != 0
        let fragmentOffset = Int(fragField & 0x1FFF) * 8
        if moreFragments || fragmentOffset != 0 {
            return .other("IPv4 fragment id=0x\(hex4(ident)) offset=\(fragmentOffset)\(moreFragments ? " more" : "")")
        }
        return transport(frame, from: start + headerLength, length: end - headerLength, proto: proto,
                         source: .v4(src), destination: .v4(dst))
    }

    private static func ipv6(_ frame: ByteBuffer, from off: Int) -> CapturedTransport {
        let start = frame.readerIndex + off
        let available = frame.readableBytes - off
        guard available >= 40,
              let first = frame.getInteger(at: start, as: UInt8.self),
              let payloadLength = frame.getInteger(at: start + 4, as: UInt16.self),
              var next = frame.getInteger(at: start + 6, as: UInt8.self),
              let sh = frame.getInteger(at: start + 8, as: UInt64.self),
              let sl = frame.getInteger(at: start + 16, as: UInt64.self),
              let dh = frame.getInteger(at: start + 24, as: UInt64.self),
              let dl = frame.getInteger(at: start + 32, as: UInt64.self)
        else { return .other("truncated IPv6 header") }
        guard first >> 4 == 6 else { return .other("IPv6 header with version \(first >> 4)") }
        var end = available
        if payloadLength != 0 {  // 0 = jumbogram or TSO; use what was captured
            guard 40 + Int(payloadLength) <= available else {
                return .other("truncated IPv6 packet (\(available) of \(40 + Int(payloadLength)) bytes)")
            }
            end = 40 + Int(payloadLength)
        }
        var pos = 40
        // RFC 8200 §4: skip hop-by-hop (0), routing (43) and destination options (60).
        while next == 0 || next == 43 || next == 60 || next == 44 {
            if next == 44 { return .other("IPv6 fragment") }
            guard pos + 2 <= end,
                  let nh = frame.getInteger(at: start + pos, as: UInt8.self),
                  let len = frame.getInteger(at: start + pos + 1, as: UInt8.self)
            else { return .other("truncated IPv6 extension header") }
            let extLength = (Int(len) + 1) * 8
            guard pos + extLength <= end else { return .other("truncated IPv6 extension header") }
            next = nh
            pos += extLength
        }
        return transport(frame, from: start + pos, length: end - pos, proto: next,
                         source: .v6(high: sh, low: sl), destination: .v6(high: dh, low: dl))
    }

    private static func transport(_ frame: ByteBuffer, from start: Int, length: Int, proto: UInt8,
                                  source: IPAddress, destination: IPAddress) -> CapturedTransport {
        switch proto {
        case 17:
            guard length >= 8,
                  let sp = frame.getInteger(at: start, as: UInt16.self),
                  let dp = frame.getInteger(at: start + 2, as: UInt16.self),
                  let udpLength = frame.getInteger(at: start + 4, as: UInt16.self),
                  let checksum = frame.getInteger(at: start + 6, as: UInt16.self)
            else { return .other("truncated UDP header") }
            // A zero UDP length happens with IPv6 jumbograms; otherwise it must fit.
            var payloadLength = length - 8
            if udpLength != 0 {
                guard udpLength >= 8 else { return .other("UDP length \(udpLength) < 8") }
                guard Int(udpLength) <= length else { return .other("truncated UDP datagram (\(length) of \(udpLength) bytes)") }
                payloadLength = Int(udpLength) - 8
            }
            guard let payload = frame.getSlice(at: start + 8, length: payloadLength) else {
                return .other("truncated UDP payload")
            }
            let tuple = FiveTuple(source: source, sourcePort: sp, destination: destination, destinationPort: dp, proto: .udp)
            return .udp(UDPDatagram(fiveTuple: tuple, checksum: checksum, payload: payload))
        case 6:
            guard length >= 20,
                  let sp = frame.getInteger(at: start, as: UInt16.self),
                  let dp = frame.getInteger(at: start + 2, as: UInt16.self),
                  let seq = frame.getInteger(at: start + 4, as: UInt32.self),
                  let ack = frame.getInteger(at: start + 8, as: UInt32.self),
                  let offsetByte = frame.getInteger(at: start + 12, as: UInt8.self),
                  let flags = frame.getInteger(at: start + 13, as: UInt8.self),
                  let window = frame.getInteger(at: start + 14, as: UInt16.self),
                  let checksum = frame.getInteger(at: start + 16, as: UInt16.self),
                  let urgent = frame.getInteger(at: start + 18, as: UInt16.self)
            else { return .other("truncated TCP header") }
            let headerLength = Int(offsetByte >> 4) * 4
            guard headerLength >= 20 else { return .other("TCP data offset \(headerLength) < 20") }
            guard headerLength <= length,
                  let options = frame.getSlice(at: start + 20, length: headerLength - 20),
                  let payload = frame.getSlice(at: start + headerLength, length: length - headerLength)
            else { return .other("truncated TCP options") }
            let tuple = FiveTuple(source: source, sourcePort: sp, destination: destination, destinationPort: dp, proto: .tcp)
            return .tcp(TCPSegment(fiveTuple: tuple, sequenceNumber: seq, acknowledgmentNumber: ack,
                                   flags: TCPFlags(rawValue: flags), window: window, checksum: checksum,
                                   urgentPointer: urgent, options: options, payload: payload))
        default:
            return .other("ip protocol \(proto)")
        }
    }
}
