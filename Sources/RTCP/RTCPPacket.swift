import NIOCore
import RTCBase

/// One RTCP packet of a compound datagram: a closed set of the types this stack interprets, plus
/// ``unknown(header:body:)`` that keeps anything else byte for byte.
///
/// Leniency policy. ``parseCompound(_:)`` is strict: any malformed packet fails the whole datagram
/// with a typed ``RTCPParseError`` (tests and fuzzing use it). ``parseCompoundLeniently(_:)`` is what a
/// server uses on traffic: it stops at the first bad header or length (after which nothing can be
/// trusted) but keeps the packets before it, and keeps a packet whose *body* is malformed as
/// ``unknown(header:body:)`` so one bad feedback message never costs the others. Neither ever traps.
/// A datagram need not start with SR/RR (reduced-size RTCP, RFC 5506).
public enum RTCPPacket: Hashable, Sendable {
    case senderReport(RTCPSenderReport)
    case receiverReport(RTCPReceiverReport)
    case sourceDescription(RTCPSourceDescription)
    case goodbye(RTCPGoodbye)
    case applicationDefined(RTCPApplicationDefined)
    case nack(RTCPGenericNACK)
    case transportFeedback(RTCPTransportFeedback)
    case pictureLossIndication(RTCPPictureLossIndication)
    case fullIntraRequest(RTCPFullIntraRequest)
    case remb(RTCPREMB)
    case extendedReport(RTCPExtendedReport)
    /// Any other type or feedback format, or (lenient parsing) a body that did not parse.
    case unknown(header: RTCPHeader, body: ByteBuffer)

    /// The packet type field.
    public var packetType: UInt8 {
        switch self {
        case .senderReport: return RTCPPacketType.senderReport
        case .receiverReport: return RTCPPacketType.receiverReport
        case .sourceDescription: return RTCPPacketType.sourceDescription
        case .goodbye: return RTCPPacketType.goodbye
        case .applicationDefined: return RTCPPacketType.applicationDefined
        case .nack, .transportFeedback: return RTCPPacketType.transportFeedback
        case .pictureLossIndication, .fullIntraRequest, .remb: return RTCPPacketType.payloadFeedback
        case .extendedReport: return RTCPPacketType.extendedReport
        case .unknown(let h, _): return h.packetType
        }
    }

    /// The SSRC of the sender of this packet, where the type has one.
    public var senderSSRC: SSRC? {
        switch self {
        case .senderReport(let p): return p.ssrc
        case .receiverReport(let p): return p.ssrc
        case .sourceDescription(let p): return p.chunks.first?.ssrc
        case .goodbye(let p): return p.ssrcs.first
        case .applicationDefined(let p): return p.ssrc
        case .nack(let p): return p.senderSSRC
        case .transportFeedback(let p): return p.senderSSRC
        case .pictureLossIndication(let p): return p.senderSSRC
        case .fullIntraRequest(let p): return p.senderSSRC
        case .remb(let p): return p.senderSSRC
        case .extendedReport(let p): return p.ssrc
        case .unknown(_, let body): return body.getInteger(at: body.readerIndex, as: UInt32.self).map(SSRC.init(rawValue:))
        }
    }

    /// The media SSRCs this packet is about — where an SFU routes it (report blocks, feedback targets).
    public var mediaSSRCs: [SSRC] {
        switch self {
        case .senderReport(let p): return p.reports.map(\.ssrc)
        case .receiverReport(let p): return p.reports.map(\.ssrc)
        case .sourceDescription, .applicationDefined, .extendedReport: return []
        case .goodbye(let p): return p.ssrcs
        case .nack(let p): return [p.mediaSSRC]
        case .transportFeedback(let p): return [p.mediaSSRC]
        case .pictureLossIndication(let p): return [p.mediaSSRC]
        case .fullIntraRequest(let p): return p.entries.map(\.ssrc)
        case .remb(let p): return p.ssrcs
        case .unknown(let h, let body):
            guard h.packetType == 205 || h.packetType == 206 else { return [] }
            return body.getInteger(at: body.readerIndex + 4, as: UInt32.self).map { [SSRC(rawValue: $0)] } ?? []
        }
    }

    // MARK: Parsing

    /// Parses a compound datagram strictly.
    public static func parseCompound(_ datagram: ByteBuffer) throws(RTCPParseError) -> [RTCPPacket] {
        var out: [RTCPPacket] = []
        var offset = 0
        guard datagram.readableBytes > 0 else { throw .empty }
        while offset < datagram.readableBytes {
            let (header, body, size) = try readHeader(datagram, offset: offset, strict: true)
            out.append(try parseBody(header: header, body: body, offset: offset))
            offset += size
        }
        return out
    }

    /// Parses a compound datagram leniently (see the type's documentation); `error` says why parsing
    /// stopped early or which body was kept as unknown first.
    public static func parseCompoundLeniently(_ datagram: ByteBuffer) -> (packets: [RTCPPacket], error: RTCPParseError?) {
        var out: [RTCPPacket] = []
        var firstError: RTCPParseError?
        var offset = 0
        while offset < datagram.readableBytes {
            let header: RTCPHeader, body: ByteBuffer, size: Int
            do {
                (header, body, size) = try readHeader(datagram, offset: offset, strict: false)
            } catch {
                return (out, firstError ?? error)
            }
            do {
                out.append(try parseBody(header: header, body: body, offset: offset))
            } catch {
                if firstError == nil { firstError = error }
                out.append(.unknown(header: header, body: body))
            }
            offset += size
        }
        return (out, out.isEmpty ? (firstError ?? .empty) : firstError)
    }

    /// Strict mode also requires the padding octets before the count to be zero (RFC 3550 leaves
    /// their value open; libwebrtc writes zeros), so that a strict parse always re-encodes
    /// byte-identically. Lenient mode accepts any padding content.
    static func readHeader(_ d: ByteBuffer, offset: Int, strict: Bool) throws(RTCPParseError) -> (RTCPHeader, ByteBuffer, Int) {
        let base = d.readerIndex + offset
        let available = d.readableBytes - offset
        guard available >= 4 else { throw .truncatedHeader(offset: offset) }
        let b0 = d.getInteger(at: base, as: UInt8.self)!
        guard b0 >> 6 == 2 else { throw .badVersion(offset: offset, version: b0 >> 6) }
        let header = RTCPHeader(padding: b0 & 0x20 != 0, count: b0 & 0x1F, packetType: d.getInteger(at: base + 1, as: UInt8.self)!,
                                length: d.getInteger(at: base + 2, as: UInt16.self)!)
        let size = header.packetSize
        guard size <= available else { throw .badLength(offset: offset, length: size, available: available) }
        var bodyLength = size - 4
        if header.padding {
            let count = Int(d.getInteger(at: base + size - 1, as: UInt8.self)!)
            guard count >= 1, count <= bodyLength else { throw .badPadding(offset: offset) }
            bodyLength -= count
            if strict {
                for i in (size - count)..<(size - 1) where d.getInteger(at: base + i, as: UInt8.self)! != 0 {
                    throw .badPadding(offset: offset)
                }
            }
        }
        return (header, d.getSlice(at: base + 4, length: bodyLength)!, size)
    }

    static func parseBody(header h: RTCPHeader, body: ByteBuffer, offset: Int) throws(RTCPParseError) -> RTCPPacket {
        let padding = h.padding ? h.packetSize - 4 - body.readableBytes : 0
        var packet: RTCPPacket
        switch h.packetType {
        case RTCPPacketType.senderReport: packet = .senderReport(try RTCPSenderReport(header: h, body: body, offset: offset))
        case RTCPPacketType.receiverReport: packet = .receiverReport(try RTCPReceiverReport(header: h, body: body, offset: offset))
        case RTCPPacketType.sourceDescription: packet = .sourceDescription(try RTCPSourceDescription(header: h, body: body, offset: offset))
        case RTCPPacketType.goodbye: packet = .goodbye(try RTCPGoodbye(header: h, body: body, offset: offset))
        case RTCPPacketType.applicationDefined: packet = .applicationDefined(try RTCPApplicationDefined(header: h, body: body, offset: offset))
        case RTCPPacketType.transportFeedback where h.count == 1: packet = .nack(try RTCPGenericNACK(header: h, body: body, offset: offset))
        case RTCPPacketType.transportFeedback where h.count == 15: packet = .transportFeedback(try RTCPTransportFeedback(header: h, body: body, offset: offset))
        case RTCPPacketType.payloadFeedback where h.count == 1: packet = .pictureLossIndication(try RTCPPictureLossIndication(header: h, body: body, offset: offset))
        case RTCPPacketType.payloadFeedback where h.count == 4: packet = .fullIntraRequest(try RTCPFullIntraRequest(header: h, body: body, offset: offset))
        case RTCPPacketType.payloadFeedback where h.count == 15 && RTCPREMB.matches(body): packet = .remb(try RTCPREMB(header: h, body: body, offset: offset))
        case RTCPPacketType.extendedReport: packet = .extendedReport(try RTCPExtendedReport(header: h, body: body, offset: offset))
        default: return .unknown(header: h, body: body)
        }
        if padding > 0 { packet.paddingLength = padding }
        return packet
    }

    /// Bytes of RTCP padding of this packet.
    public var paddingLength: Int {
        get {
            switch self {
            case .senderReport(let p): return p.paddingLength
            case .receiverReport(let p): return p.paddingLength
            case .sourceDescription(let p): return p.paddingLength
            case .goodbye(let p): return p.paddingLength
            case .applicationDefined(let p): return p.paddingLength
            case .nack(let p): return p.paddingLength
            case .transportFeedback(let p): return p.paddingLength
            case .pictureLossIndication(let p): return p.paddingLength
            case .fullIntraRequest(let p): return p.paddingLength
            case .remb(let p): return p.paddingLength
            case .extendedReport(let p): return p.paddingLength
            case .unknown(let h, let body): return h.padding ? h.packetSize - 4 - body.readableBytes : 0
            }
        }
        set {
            switch self {
            case .senderReport(var p): p.paddingLength = newValue; self = .senderReport(p)
            case .receiverReport(var p): p.paddingLength = newValue; self = .receiverReport(p)
            case .sourceDescription(var p): p.paddingLength = newValue; self = .sourceDescription(p)
            case .goodbye(var p): p.paddingLength = newValue; self = .goodbye(p)
            case .applicationDefined(var p): p.paddingLength = newValue; self = .applicationDefined(p)
            case .nack(var p): p.paddingLength = newValue; self = .nack(p)
            case .transportFeedback(var p): p.paddingLength = newValue; self = .transportFeedback(p)
            case .pictureLossIndication(var p): p.paddingLength = newValue; self = .pictureLossIndication(p)
            case .fullIntraRequest(var p): p.paddingLength = newValue; self = .fullIntraRequest(p)
            case .remb(var p): p.paddingLength = newValue; self = .remb(p)
            case .extendedReport(var p): p.paddingLength = newValue; self = .extendedReport(p)
            case .unknown: break
            }
        }
    }
}

extension RTCPPacket: WireEncodable {
    public var encodedSize: Int {
        var b = ByteBufferAllocator().buffer(capacity: 64)
        encode(into: &b)
        return b.readableBytes
    }

    public func encode(into b: inout ByteBuffer) {
        switch self {
        case .senderReport(let p): p.write(into: &b)
        case .receiverReport(let p): p.write(into: &b)
        case .sourceDescription(let p): p.write(into: &b)
        case .goodbye(let p): p.write(into: &b)
        case .applicationDefined(let p): p.write(into: &b)
        case .nack(let p): p.write(into: &b)
        case .transportFeedback(let p): p.write(into: &b)
        case .pictureLossIndication(let p): p.write(into: &b)
        case .fullIntraRequest(let p): p.write(into: &b)
        case .remb(let p): p.write(into: &b)
        case .extendedReport(let p): p.write(into: &b)
        case .unknown(let h, let body):
            let padding = h.padding ? h.packetSize - 4 - body.readableBytes : 0
            writePacket(into: &b, count: h.count, packetType: h.packetType, bodySize: body.readableBytes, paddingLength: padding) { b in
                var copy = body
                b.writeBuffer(&copy)
            }
        }
    }

    /// A compound datagram of `packets`.
    public static func encodeCompound(_ packets: [RTCPPacket], allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var b = allocator.buffer(capacity: 128)
        for p in packets { p.encode(into: &b) }
        return b
    }
}
