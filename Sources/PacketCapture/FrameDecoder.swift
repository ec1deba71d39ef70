import NIOCore

/// A UDP datagram found in a captured frame.
public struct UDPDatagram: Hashable, Sendable {
    /// Addresses, ports and `.udp`.
    public var fiveTuple: FiveTuple
    /// The UDP payload (as many bytes as the UDP length field says and the frame holds).
    public var payload: ByteBuffer
}

/// A TCP segment found in a captured frame.
public struct TCPSegment: Hashable, Sendable {
    /// Addresses, ports and `.tcp`.
    public var fiveTuple: FiveTuple
    /// Sequence number as on the wire (not relative).
    public var sequenceNumber: UInt32
    /// Acknowledgment number as on the wire (meaningful when ACK is set).
    public var acknowledgmentNumber: UInt32
    /// The flag bits of the TCP header (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, …).
    public var flags: UInt16
    /// The segment payload, after the header and its options.
    public var payload: ByteBuffer
}

/// What a captured frame carries, as far as this module decodes it.
public enum FrameContent: Hashable, Sendable {
    /// A complete UDP datagram.
    case udp(UDPDatagram)
    /// A TCP segment.
    case tcp(TCPSegment)
    /// Anything else — ARP, ICMP, fragments, truncated or malformed headers — with a reason.
    case other(String)
}

/// Decodes link, network and transport headers of one captured frame. Pure and total: any byte
/// string yields a ``FrameContent``, never a trap (the fuzz target and truncation tests hold it to that).
///
/// ```
/// link header (Ethernet / SLL / SLL2 / null / loop / none)
///   → IPv4 (RFC 791; options skipped; fragments reported) or IPv6 (RFC 8200; hop-by-hop,
///     routing and destination-options headers skipped; fragments reported)
///     → UDP (RFC 768) or TCP (RFC 9293; options skipped)
/// ```
public enum FrameDecoder {
    /// Decodes `frame` captured with `linkType`.
    public static func decode(_ frame: ByteBuffer, linkType: LinkType) -> FrameContent {
        var view = frame
        let ethertype: UInt16?
        switch linkType {
        case .ethernet:
            guard var type = view.getInteger(at: view.readerIndex + 12, as: UInt16.self) else { return .other("truncated Ethernet header") }
            var offset = 14
            while type == 0x8100 || type == 0x88A8 {   // 802.1Q / 802.1ad tags
                guard let inner = view.getInteger(at: view.readerIndex + offset + 2, as: UInt16.self) else { return .other("truncated VLAN tag") }
                type = inner
                offset += 4
            }
            view.moveReaderIndex(forwardBy: min(offset, view.readableBytes))
            ethertype = type
        case .linuxSLL:
            guard let type = view.getInteger(at: view.readerIndex + 14, as: UInt16.self) else { return .other("truncated SLL header") }
            view.moveReaderIndex(forwardBy: 16)
            ethertype = type
        case .linuxSLL2:
            guard let type = view.getInteger(at: view.readerIndex, as: UInt16.self), view.readableBytes >= 20 else { return .other("truncated SLL2 header") }
            view.moveReaderIndex(forwardBy: 20)
            ethertype = type
        case .null, .loop:
            guard let raw = view.getInteger(at: view.readerIndex, as: UInt32.self) else { return .other("truncated loopback header") }
            view.moveReaderIndex(forwardBy: 4)
            // The family is in the writer's byte order for NULL and big-endian for LOOP; accept both.
            let family = raw > 0xFFFF ? raw.byteSwapped : raw
            switch family {
            case 2: ethertype = 0x0800
            case 24, 28, 30: ethertype = 0x86DD   // AF_INET6 differs between BSDs
            default: return .other("loopback family \(family)")
            }
        case .raw, .rawDLT:
            ethertype = nil
        case .ipv4:
            ethertype = 0x0800
        case .ipv6:
            ethertype = 0x86DD
        default:
            return .other("unsupported link type \(linkType)")
        }
        switch ethertype {
        case 0x0800: return decodeIPv4(view)
        case 0x86DD: return decodeIPv6(view)
        case nil:
            guard let first = view.getInteger(at: view.readerIndex, as: UInt8.self) else { return .other("empty raw IP frame") }
            switch first >> 4 {
            case 4: return decodeIPv4(view)
            case 6: return decodeIPv6(view)
            default: return .other("raw frame with IP version \(first >> 4)")
            }
        case let t?: return .other("ethertype 0x" + String(t, radix: 16))
        }
    }

    static func decodeIPv4(_ packet: ByteBuffer) -> FrameContent {
        let base = packet.readerIndex
        guard packet.readableBytes >= 20, let vihl = packet.getInteger(at: base, as: UInt8.self), vihl >> 4 == 4 else {
            return .other("truncated or bad IPv4 header")
        }
        let ihl = Int(vihl & 0x0F) * 4
        guard ihl >= 20, packet.readableBytes >= ihl,
              let total = packet.getInteger(at: base + 2, as: UInt16.self),
              let fragment = packet.getInteger(at: base + 6, as: UInt16.self),
              let proto = packet.getInteger(at: base + 9, as: UInt8.self),
              let src = packet.getBytes(at: base + 12, length: 4), let dst = packet.getBytes(at: base + 16, length: 4)
        else { return .other("truncated IPv4 header") }
        if fragment & 0x3FFF != 0 { return .other("IPv4 fragment") }
        // The total length bounds the packet (frames may carry Ethernet padding beyond it). A packet cut
        // short by the snap length is reported, not decoded from a partial payload. Zero (TSO/GSO
        // captures) means "what was captured".
        if Int(total) > packet.readableBytes {
            return .other("truncated IPv4 packet (\(packet.readableBytes) of \(total) bytes captured)")
        }
        let end = Int(total) >= ihl ? Int(total) : packet.readableBytes
        guard let body = packet.getSlice(at: base + ihl, length: end - ihl) else { return .other("truncated IPv4 packet") }
        return decodeTransport(proto, body, IPAddress(bytes: src)!, IPAddress(bytes: dst)!)
    }

    static func decodeIPv6(_ packet: ByteBuffer) -> FrameContent {
        let base = packet.readerIndex
        guard packet.readableBytes >= 40, let v = packet.getInteger(at: base, as: UInt8.self), v >> 4 == 6,
              let payloadLength = packet.getInteger(at: base + 4, as: UInt16.self),
              var next = packet.getInteger(at: base + 6, as: UInt8.self),
              let src = packet.getBytes(at: base + 8, length: 16), let dst = packet.getBytes(at: base + 24, length: 16)
        else { return .other("truncated or bad IPv6 header") }
        if payloadLength != 0 && 40 + Int(payloadLength) > packet.readableBytes {
            return .other("truncated IPv6 packet (\(packet.readableBytes) of \(40 + Int(payloadLength)) bytes captured)")
        }
        let end = payloadLength == 0 ? packet.readableBytes : 40 + Int(payloadLength)   // 0: jumbogram / TSO
        var offset = 40
        while true {
            switch next {
            case 0, 43, 60:   // hop-by-hop, routing, destination options
                guard let n = packet.getInteger(at: base + offset, as: UInt8.self),
                      let len = packet.getInteger(at: base + offset + 1, as: UInt8.self), offset + 2 <= end
                else { return .other("truncated IPv6 extension header") }
                next = n
                offset += (Int(len) + 1) * 8
                guard offset <= end else { return .other("truncated IPv6 extension header") }
            case 44: return .other("IPv6 fragment")
            default:
                guard let body = packet.getSlice(at: base + offset, length: end - offset) else { return .other("truncated IPv6 packet") }
                return decodeTransport(next, body, IPAddress(bytes: src)!, IPAddress(bytes: dst)!)
            }
        }
    }

    static func decodeTransport(_ proto: UInt8, _ body: ByteBuffer, _ src: IPAddress, _ dst: IPAddress) -> FrameContent {
        let base = body.readerIndex
        switch proto {
        case 17:
            guard let sp = body.getInteger(at: base, as: UInt16.self), let dp = body.getInteger(at: base + 2, as: UInt16.self),
                  let len = body.getInteger(at: base + 4, as: UInt16.self), body.readableBytes >= 8
            else { return .other("truncated UDP header") }
            guard len >= 8, Int(len) <= body.readableBytes, let payload = body.getSlice(at: base + 8, length: Int(len) - 8) else {
                return .other("UDP length \(len) does not fit the \(body.readableBytes)-byte packet")
            }
            return .udp(UDPDatagram(fiveTuple: FiveTuple(source: src, sourcePort: sp, destination: dst, destinationPort: dp, transport: .udp), payload: payload))
        case 6:
            guard body.readableBytes >= 20,
                  let sp = body.getInteger(at: base, as: UInt16.self), let dp = body.getInteger(at: base + 2, as: UInt16.self),
                  let seq = body.getInteger(at: base + 4, as: UInt32.self), let ack = body.getInteger(at: base + 8, as: UInt32.self),
                  let offFlags = body.getInteger(at: base + 12, as: UInt16.self)
            else { return .other("truncated TCP header") }
            let headerLength = Int(offFlags >> 12) * 4
            guard headerLength >= 20, headerLength <= body.readableBytes,
                  let payload = body.getSlice(at: base + headerLength, length: body.readableBytes - headerLength)
            else { return .other("bad TCP data offset") }
            let tuple = FiveTuple(source: src, sourcePort: sp, destination: dst, destinationPort: dp, transport: .tcp)
            return .tcp(TCPSegment(fiveTuple: tuple, sequenceNumber: seq, acknowledgmentNumber: ack, flags: offFlags & 0x01FF, payload: payload))
        default:
            return .other("IP protocol \(proto)")
        }
    }
}
