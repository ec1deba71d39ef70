import NIOCore
import RTCBase

/// Generic NACK, RTPFB FMT 1 (RFC 4585 §6.2.1): lost packets as (PID, BLP) pairs.
///
/// ```
/// |V=2|P|  FMT=1  |   PT=205      |          length               |
/// |                  SSRC of packet sender                        |
/// |                  SSRC of media source                         |
/// |            PID                |             BLP               |  (one or more)
/// ```
/// BLP bit i set means PID + i + 1 is lost too.
public struct RTCPGenericNACK: Hashable, Sendable {
    public struct Entry: Hashable, Sendable {
        public var packetID: UInt16
        public var lostBitmask: UInt16
        public init(packetID: UInt16, lostBitmask: UInt16) {
            self.packetID = packetID
            self.lostBitmask = lostBitmask
        }
    }
    public var senderSSRC: SSRC
    public var mediaSSRC: SSRC
    public var entries: [Entry]
    public var paddingLength: Int

    public init(senderSSRC: SSRC, mediaSSRC: SSRC, entries: [Entry], paddingLength: Int = 0) {
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
        self.entries = entries
        self.paddingLength = paddingLength
    }

    /// A NACK for `lost` sequence numbers, compressed into as few (PID, BLP) pairs as possible
    /// (wrap-aware: numbers are taken in the order given, which should be ascending mod 2^16).
    public init(senderSSRC: SSRC, mediaSSRC: SSRC, lost: [UInt16]) {
        var entries: [Entry] = []
        for seq in lost {
            if var last = entries.last {
                let d = seq &- last.packetID
                if d >= 1 && d <= 16 {
                    last.lostBitmask |= 1 << (d - 1)
                    entries[entries.count - 1] = last
                    continue
                }
                if d == 0 { continue }
            }
            entries.append(Entry(packetID: seq, lostBitmask: 0))
        }
        self.init(senderSSRC: senderSSRC, mediaSSRC: mediaSSRC, entries: entries)
    }

    /// Every sequence number reported lost, in order.
    public var lostSequenceNumbers: [UInt16] {
        var out: [UInt16] = []
        for e in entries {
            out.append(e.packetID)
            for i in 0..<16 where e.lostBitmask & (UInt16(1) << UInt16(i)) != 0 {
                out.append(e.packetID &+ UInt16(i + 1))
            }
        }
        return out
    }

    init(header: RTCPHeader, body b: ByteBuffer, offset: Int) throws(RTCPParseError) {
        guard b.readableBytes >= 12, b.readableBytes % 4 == 0 else { throw .bodyTooShort(offset: offset, packetType: header.packetType) }
        let o = b.readerIndex
        senderSSRC = SSRC(rawValue: b.getInteger(at: o, as: UInt32.self)!)
        mediaSSRC = SSRC(rawValue: b.getInteger(at: o + 4, as: UInt32.self)!)
        entries = stride(from: 8, to: b.readableBytes, by: 4).map {
            Entry(packetID: b.getInteger(at: o + $0, as: UInt16.self)!, lostBitmask: b.getInteger(at: o + $0 + 2, as: UInt16.self)!)
        }
        paddingLength = 0
    }

    var bodySize: Int { 8 + 4 * entries.count }

    func write(into b: inout ByteBuffer) {
        writePacket(into: &b, count: 1, packetType: RTCPPacketType.transportFeedback, bodySize: bodySize, paddingLength: paddingLength) { b in
            b.writeInteger(senderSSRC.rawValue)
            b.writeInteger(mediaSSRC.rawValue)
            for e in entries {
                b.writeInteger(e.packetID)
                b.writeInteger(e.lostBitmask)
            }
        }
    }
}

/// Picture loss indication, PSFB FMT 1 (RFC 4585 §6.3.1): no FCI.
public struct RTCPPictureLossIndication: Hashable, Sendable {
    public var senderSSRC: SSRC
    public var mediaSSRC: SSRC
    public var paddingLength: Int
    public init(senderSSRC: SSRC, mediaSSRC: SSRC, paddingLength: Int = 0) {
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
        self.paddingLength = paddingLength
    }

    init(header: RTCPHeader, body b: ByteBuffer, offset: Int) throws(RTCPParseError) {
        guard b.readableBytes == 8 else {
            throw b.readableBytes < 8 ? .bodyTooShort(offset: offset, packetType: header.packetType)
                : .malformed(offset: offset, packetType: header.packetType, reason: "PLI carries no FCI")
        }
        senderSSRC = SSRC(rawValue: b.getInteger(at: b.readerIndex, as: UInt32.self)!)
        mediaSSRC = SSRC(rawValue: b.getInteger(at: b.readerIndex + 4, as: UInt32.self)!)
        paddingLength = 0
    }

    func write(into b: inout ByteBuffer) {
        writePacket(into: &b, count: 1, packetType: RTCPPacketType.payloadFeedback, bodySize: 8, paddingLength: paddingLength) { b in
            b.writeInteger(senderSSRC.rawValue)
            b.writeInteger(mediaSSRC.rawValue)
        }
    }
}

/// Full intra request, PSFB FMT 4 (RFC 5104 §4.3.1): per target SSRC a command sequence number.
///
/// ```
/// |                              SSRC                             |
/// | Seq nr.       |    Reserved                                   |
/// ```
public struct RTCPFullIntraRequest: Hashable, Sendable {
    public struct Entry: Hashable, Sendable {
        public var ssrc: SSRC
        public var sequenceNumber: UInt8
        public init(ssrc: SSRC, sequenceNumber: UInt8) {
            self.ssrc = ssrc
            self.sequenceNumber = sequenceNumber
        }
    }
    public var senderSSRC: SSRC
    /// Unused by FIR (RFC 5104 says 0), kept as carried.
    public var mediaSSRC: SSRC
    public var entries: [Entry]
    public var paddingLength: Int

    public init(senderSSRC: SSRC, mediaSSRC: SSRC = 0, entries: [Entry], paddingLength: Int = 0) {
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
        self.entries = entries
        self.paddingLength = paddingLength
    }

    init(header: RTCPHeader, body b: ByteBuffer, offset: Int) throws(RTCPParseError) {
        guard b.readableBytes >= 16, b.readableBytes % 8 == 0 else { throw .bodyTooShort(offset: offset, packetType: header.packetType) }
        let o = b.readerIndex
        senderSSRC = SSRC(rawValue: b.getInteger(at: o, as: UInt32.self)!)
        mediaSSRC = SSRC(rawValue: b.getInteger(at: o + 4, as: UInt32.self)!)
        var entries: [Entry] = []
        for i in stride(from: 8, to: b.readableBytes, by: 8) {
            guard b.getInteger(at: o + i + 5, as: UInt16.self)! == 0, b.getInteger(at: o + i + 7, as: UInt8.self)! == 0 else {
                throw .malformed(offset: offset, packetType: header.packetType, reason: "FIR reserved bits set")
            }
            entries.append(Entry(ssrc: SSRC(rawValue: b.getInteger(at: o + i, as: UInt32.self)!), sequenceNumber: b.getInteger(at: o + i + 4, as: UInt8.self)!))
        }
        self.entries = entries
        paddingLength = 0
    }

    var bodySize: Int { 8 + 8 * entries.count }

    func write(into b: inout ByteBuffer) {
        writePacket(into: &b, count: 4, packetType: RTCPPacketType.payloadFeedback, bodySize: bodySize, paddingLength: paddingLength) { b in
            b.writeInteger(senderSSRC.rawValue)
            b.writeInteger(mediaSSRC.rawValue)
            for e in entries {
                b.writeInteger(e.ssrc.rawValue)
                b.writeInteger(e.sequenceNumber)
                b.writeRepeatingByte(0, count: 3)
            }
        }
    }
}

/// Receiver estimated maximum bitrate, PSFB FMT 15 with "REMB" (draft-alvestrand-rmcat-remb-03).
///
/// ```
/// |  Unique identifier 'R' 'E' 'M' 'B'                            |
/// |  Num SSRC     | BR Exp    |  BR Mantissa                      |
/// |   SSRC feedback                                               |  (Num SSRC times)
/// ```
/// bitrate = mantissa × 2^exp bits per second (6-bit exponent, 18-bit mantissa).
public struct RTCPREMB: Hashable, Sendable {
    public var senderSSRC: SSRC
    public var mediaSSRC: SSRC
    public var exponent: UInt8
    public var mantissa: UInt32
    public var ssrcs: [SSRC]
    public var paddingLength: Int

    /// The estimate in bits per second.
    public var bitrate: UInt64 { UInt64(mantissa) << UInt64(exponent) }

    /// A REMB for `bitrate` (rounded down to what 18 bits of mantissa can say).
    public init(senderSSRC: SSRC, bitrate: UInt64, ssrcs: [SSRC], paddingLength: Int = 0) {
        var exp: UInt8 = 0
        var m = bitrate
        while m > 0x3FFFF { m >>= 1; exp += 1 }
        self.init(senderSSRC: senderSSRC, mediaSSRC: 0, exponent: min(exp, 63), mantissa: UInt32(m), ssrcs: ssrcs, paddingLength: paddingLength)
    }

    public init(senderSSRC: SSRC, mediaSSRC: SSRC, exponent: UInt8, mantissa: UInt32, ssrcs: [SSRC], paddingLength: Int = 0) {
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
        self.exponent = exponent & 0x3F
        self.mantissa = mantissa & 0x3FFFF
        self.ssrcs = ssrcs
        self.paddingLength = paddingLength
    }

    static func matches(_ b: ByteBuffer) -> Bool {
        b.readableBytes >= 12 && b.getInteger(at: b.readerIndex + 8, as: UInt32.self) == 0x5245_4D42
    }

    init(header: RTCPHeader, body b: ByteBuffer, offset: Int) throws(RTCPParseError) {
        let o = b.readerIndex
        guard b.readableBytes >= 16 else { throw .bodyTooShort(offset: offset, packetType: header.packetType) }
        senderSSRC = SSRC(rawValue: b.getInteger(at: o, as: UInt32.self)!)
        mediaSSRC = SSRC(rawValue: b.getInteger(at: o + 4, as: UInt32.self)!)
        let n = Int(b.getInteger(at: o + 12, as: UInt8.self)!)
        let w = b.getInteger(at: o + 12, as: UInt32.self)!
        exponent = UInt8((w >> 18) & 0x3F)
        mantissa = w & 0x3FFFF
        guard b.readableBytes == 16 + 4 * n else {
            throw .malformed(offset: offset, packetType: header.packetType, reason: "REMB SSRC count \(n) does not match length")
        }
        ssrcs = (0..<n).map { SSRC(rawValue: b.getInteger(at: o + 16 + 4 * $0, as: UInt32.self)!) }
        paddingLength = 0
    }

    var bodySize: Int { 16 + 4 * ssrcs.count }

    func write(into b: inout ByteBuffer) {
        writePacket(into: &b, count: 15, packetType: RTCPPacketType.payloadFeedback, bodySize: bodySize, paddingLength: paddingLength) { b in
            b.writeInteger(senderSSRC.rawValue)
            b.writeInteger(mediaSSRC.rawValue)
            b.writeInteger(UInt32(0x5245_4D42))
            b.writeInteger(UInt32(ssrcs.count) << 24 | UInt32(exponent) << 18 | mantissa)
            for s in ssrcs { b.writeInteger(s.rawValue) }
        }
    }
}

/// Extended report, RTCP type 207 (RFC 3611): report blocks of which RRTR (BT 4) and DLRR (BT 5) are
/// interpreted; others are kept verbatim.
///
/// ```
/// |V=2|P|reserved |   PT=XR=207   |             length            |
/// |                              SSRC                             |
/// |      BT       | type-specific |         block length          |  (block length in words)
/// ```
public struct RTCPExtendedReport: Hashable, Sendable {
    public struct DLRRItem: Hashable, Sendable {
        public var ssrc: SSRC
        public var lastRR: UInt32
        public var delaySinceLastRR: UInt32
        public init(ssrc: SSRC, lastRR: UInt32, delaySinceLastRR: UInt32) {
            self.ssrc = ssrc
            self.lastRR = lastRR
            self.delaySinceLastRR = delaySinceLastRR
        }
    }
    public enum Block: Hashable, Sendable {
        /// Receiver reference time (RFC 3611 §4.4).
        case receiverReferenceTime(NTPTimestamp)
        /// DLRR (RFC 3611 §4.5).
        case dlrr([DLRRItem])
        case other(blockType: UInt8, typeSpecific: UInt8, contents: [UInt8])
    }
    public var ssrc: SSRC
    /// The 5 bits after P in the header (reserved, normally 0).
    public var reserved: UInt8
    public var blocks: [Block]
    public var paddingLength: Int

    public init(ssrc: SSRC, blocks: [Block], reserved: UInt8 = 0, paddingLength: Int = 0) {
        self.ssrc = ssrc
        self.blocks = blocks
        self.reserved = reserved
        self.paddingLength = paddingLength
    }

    init(header: RTCPHeader, body b: ByteBuffer, offset: Int) throws(RTCPParseError) {
        guard b.readableBytes >= 4 else { throw .bodyTooShort(offset: offset, packetType: header.packetType) }
        let o = b.readerIndex
        ssrc = SSRC(rawValue: b.getInteger(at: o, as: UInt32.self)!)
        reserved = header.count
        var blocks: [Block] = []
        var i = 4
        while i < b.readableBytes {
            guard i + 4 <= b.readableBytes else { throw .malformed(offset: offset, packetType: header.packetType, reason: "XR block header truncated") }
            let bt = b.getInteger(at: o + i, as: UInt8.self)!
            let ts = b.getInteger(at: o + i + 1, as: UInt8.self)!
            let len = 4 * Int(b.getInteger(at: o + i + 2, as: UInt16.self)!)
            guard i + 4 + len <= b.readableBytes else { throw .malformed(offset: offset, packetType: header.packetType, reason: "XR block overruns") }
            switch bt {
            case 4 where len == 8 && ts == 0:
                blocks.append(.receiverReferenceTime(NTPTimestamp(rawValue: b.getInteger(at: o + i + 4, as: UInt64.self)!)))
            case 5 where len % 12 == 0 && ts == 0:
                blocks.append(.dlrr(stride(from: 0, to: len, by: 12).map {
                    DLRRItem(ssrc: SSRC(rawValue: b.getInteger(at: o + i + 4 + $0, as: UInt32.self)!),
                             lastRR: b.getInteger(at: o + i + 8 + $0, as: UInt32.self)!,
                             delaySinceLastRR: b.getInteger(at: o + i + 12 + $0, as: UInt32.self)!)
                }))
            default:
                blocks.append(.other(blockType: bt, typeSpecific: ts, contents: b.getBytes(at: o + i + 4, length: len)!))
            }
            i += 4 + len
        }
        self.blocks = blocks
        paddingLength = 0
    }

    var bodySize: Int {
        4 + blocks.reduce(0) { n, block in
            switch block {
            case .receiverReferenceTime: return n + 12
            case .dlrr(let items): return n + 4 + 12 * items.count
            case .other(_, _, let c): return n + 4 + c.count
            }
        }
    }

    func write(into b: inout ByteBuffer) {
        writePacket(into: &b, count: reserved, packetType: RTCPPacketType.extendedReport, bodySize: bodySize, paddingLength: paddingLength) { b in
            b.writeInteger(ssrc.rawValue)
            for block in blocks {
                switch block {
                case .receiverReferenceTime(let t):
                    b.writeInteger(UInt8(4)); b.writeInteger(UInt8(0)); b.writeInteger(UInt16(2))
                    b.writeInteger(t.rawValue)
                case .dlrr(let items):
                    b.writeInteger(UInt8(5)); b.writeInteger(UInt8(0)); b.writeInteger(UInt16(3 * items.count))
                    for it in items {
                        b.writeInteger(it.ssrc.rawValue)
                        b.writeInteger(it.lastRR)
                        b.writeInteger(it.delaySinceLastRR)
                    }
                case .other(let bt, let ts, let c):
                    precondition(c.count % 4 == 0, "XR block contents are whole words")
                    b.writeInteger(bt); b.writeInteger(ts); b.writeInteger(UInt16(c.count / 4))
                    b.writeBytes(c)
                }
            }
        }
    }
}
