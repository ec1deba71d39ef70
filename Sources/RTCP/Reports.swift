import NIOCore
import RTCBase

/// Sender report, RTCP type 200 (RFC 3550 §6.4.1).
///
/// ```
/// |V=2|P|    RC   |   PT=SR=200   |             length            |
/// |                         SSRC of sender                        |
/// |              NTP timestamp, most significant word             |
/// |             NTP timestamp, least significant word             |
/// |                         RTP timestamp                         |
/// |                     sender's packet count                     |
/// |                      sender's octet count                     |
/// |                 report blocks (RC × 24 bytes)                 |
/// |                  profile-specific extensions                  |
/// ```
public struct RTCPSenderReport: Hashable, Sendable {
    public var ssrc: SSRC
    public var ntpTime: NTPTimestamp
    public var rtpTimestamp: UInt32
    public var packetCount: UInt32
    public var octetCount: UInt32
    public var reports: [RTCPReportBlock]
    /// Profile-specific extension bytes after the report blocks, kept verbatim.
    public var profileExtension: [UInt8]
    /// Bytes of RTCP padding (P bit), 0 for none.
    public var paddingLength: Int

    public init(ssrc: SSRC, ntpTime: NTPTimestamp, rtpTimestamp: UInt32, packetCount: UInt32, octetCount: UInt32,
                reports: [RTCPReportBlock] = [], profileExtension: [UInt8] = [], paddingLength: Int = 0) {
        self.ssrc = ssrc
        self.ntpTime = ntpTime
        self.rtpTimestamp = rtpTimestamp
        self.packetCount = packetCount
        self.octetCount = octetCount
        self.reports = reports
        self.profileExtension = profileExtension
        self.paddingLength = paddingLength
    }

    init(header: RTCPHeader, body b: ByteBuffer, offset: Int) throws(RTCPParseError) {
        let o = b.readerIndex
        guard b.readableBytes >= 24 + RTCPReportBlock.size * Int(header.count) else {
            throw .bodyTooShort(offset: offset, packetType: header.packetType)
        }
        ssrc = SSRC(rawValue: b.getInteger(at: o, as: UInt32.self)!)
        ntpTime = NTPTimestamp(rawValue: b.getInteger(at: o + 4, as: UInt64.self)!)
        rtpTimestamp = b.getInteger(at: o + 12, as: UInt32.self)!
        packetCount = b.getInteger(at: o + 16, as: UInt32.self)!
        octetCount = b.getInteger(at: o + 20, as: UInt32.self)!
        reports = (0..<Int(header.count)).map { RTCPReportBlock(reading: b, at: o + 24 + RTCPReportBlock.size * $0) }
        let used = 24 + RTCPReportBlock.size * Int(header.count)
        profileExtension = b.getBytes(at: o + used, length: b.readableBytes - used)!
        paddingLength = 0
    }

    var bodySize: Int { 24 + RTCPReportBlock.size * reports.count + profileExtension.count }

    func write(into b: inout ByteBuffer) {
        writePacket(into: &b, count: UInt8(reports.count), packetType: RTCPPacketType.senderReport, bodySize: bodySize, paddingLength: paddingLength) { b in
            b.writeInteger(ssrc.rawValue)
            b.writeInteger(ntpTime.rawValue)
            b.writeInteger(rtpTimestamp)
            b.writeInteger(packetCount)
            b.writeInteger(octetCount)
            for r in reports { r.write(into: &b) }
            b.writeBytes(profileExtension)
        }
    }
}

/// Receiver report, RTCP type 201 (RFC 3550 §6.4.2): the sender's SSRC and report blocks.
public struct RTCPReceiverReport: Hashable, Sendable {
    public var ssrc: SSRC
    public var reports: [RTCPReportBlock]
    public var profileExtension: [UInt8]
    public var paddingLength: Int

    public init(ssrc: SSRC, reports: [RTCPReportBlock] = [], profileExtension: [UInt8] = [], paddingLength: Int = 0) {
        self.ssrc = ssrc
        self.reports = reports
        self.profileExtension = profileExtension
        self.paddingLength = paddingLength
    }

    init(header: RTCPHeader, body b: ByteBuffer, offset: Int) throws(RTCPParseError) {
        let o = b.readerIndex
        let used = 4 + RTCPReportBlock.size * Int(header.count)
        guard b.readableBytes >= used else { throw .bodyTooShort(offset: offset, packetType: header.packetType) }
        ssrc = SSRC(rawValue: b.getInteger(at: o, as: UInt32.self)!)
        reports = (0..<Int(header.count)).map { RTCPReportBlock(reading: b, at: o + 4 + RTCPReportBlock.size * $0) }
        profileExtension = b.getBytes(at: o + used, length: b.readableBytes - used)!
        paddingLength = 0
    }

    var bodySize: Int { 4 + RTCPReportBlock.size * reports.count + profileExtension.count }

    func write(into b: inout ByteBuffer) {
        writePacket(into: &b, count: UInt8(reports.count), packetType: RTCPPacketType.receiverReport, bodySize: bodySize, paddingLength: paddingLength) { b in
            b.writeInteger(ssrc.rawValue)
            for r in reports { r.write(into: &b) }
            b.writeBytes(profileExtension)
        }
    }
}

/// Source description, RTCP type 202 (RFC 3550 §6.5): chunks of an SSRC and items, each chunk ending
/// with a zero item type and null padding to a 32-bit boundary.
///
/// ```
/// |V=2|P|    SC   |  PT=SDES=202  |             length            |
/// |                          SSRC/CSRC_1                          |
/// |    CNAME=1    |     length    | user and domain name        ...
/// ```
public struct RTCPSourceDescription: Hashable, Sendable {
    /// An SDES item: type (1 CNAME … 8 PRIV) and raw value.
    public struct Item: Hashable, Sendable {
        public var type: UInt8
        public var value: [UInt8]
        public init(type: UInt8, value: [UInt8]) {
            self.type = type
            self.value = value
        }
        /// The CNAME item for `cname`.
        public static func cname(_ cname: String) -> Item { Item(type: 1, value: Array(cname.utf8.prefix(255))) }
        /// The value as UTF-8 text.
        public var text: String { String(decoding: value, as: UTF8.self) }
    }

    public struct Chunk: Hashable, Sendable {
        public var ssrc: SSRC
        public var items: [Item]
        public init(ssrc: SSRC, items: [Item]) {
            self.ssrc = ssrc
            self.items = items
        }
        /// Bytes including the terminating null and padding to 4.
        var size: Int { pad4(4 + items.reduce(0) { $0 + 2 + $1.value.count } + 1) }
    }

    public var chunks: [Chunk]
    public var paddingLength: Int

    public init(chunks: [Chunk], paddingLength: Int = 0) {
        self.chunks = chunks
        self.paddingLength = paddingLength
    }

    init(header: RTCPHeader, body b: ByteBuffer, offset: Int) throws(RTCPParseError) {
        var chunks: [Chunk] = []
        var i = b.readerIndex
        let end = b.readerIndex + b.readableBytes
        for _ in 0..<Int(header.count) {
            guard i + 4 <= end else { throw .bodyTooShort(offset: offset, packetType: header.packetType) }
            let ssrc = SSRC(rawValue: b.getInteger(at: i, as: UInt32.self)!)
            let chunkStart = i
            i += 4
            var items: [Item] = []
            while true {
                guard i < end else { throw .malformed(offset: offset, packetType: header.packetType, reason: "SDES chunk without end") }
                let type = b.getInteger(at: i, as: UInt8.self)!
                if type == 0 { i += 1; break }
                guard i + 2 <= end else { throw .malformed(offset: offset, packetType: header.packetType, reason: "SDES item header truncated") }
                let len = Int(b.getInteger(at: i + 1, as: UInt8.self)!)
                guard i + 2 + len <= end else { throw .malformed(offset: offset, packetType: header.packetType, reason: "SDES item overruns") }
                items.append(Item(type: type, value: b.getBytes(at: i + 2, length: len)!))
                i += 2 + len
            }
            // null octets up to the next 32-bit boundary
            let aligned = chunkStart + pad4(i - chunkStart)
            guard aligned <= end else { throw .malformed(offset: offset, packetType: header.packetType, reason: "SDES padding overruns") }
            for j in i..<aligned where b.getInteger(at: j, as: UInt8.self)! != 0 {
                throw .malformed(offset: offset, packetType: header.packetType, reason: "non-null SDES padding")
            }
            i = aligned
            chunks.append(Chunk(ssrc: ssrc, items: items))
        }
        guard i == end else { throw .malformed(offset: offset, packetType: header.packetType, reason: "bytes after the last SDES chunk") }
        self.chunks = chunks
        paddingLength = 0
    }

    var bodySize: Int { chunks.reduce(0) { $0 + $1.size } }

    func write(into b: inout ByteBuffer) {
        writePacket(into: &b, count: UInt8(chunks.count), packetType: RTCPPacketType.sourceDescription, bodySize: bodySize, paddingLength: paddingLength) { b in
            for c in chunks {
                let start = b.writerIndex
                b.writeInteger(c.ssrc.rawValue)
                for item in c.items {
                    b.writeInteger(item.type)
                    b.writeInteger(UInt8(item.value.count))
                    b.writeBytes(item.value)
                }
                b.writeInteger(UInt8(0))
                while (b.writerIndex - start) % 4 != 0 { b.writeInteger(UInt8(0)) }
            }
        }
    }
}

/// Goodbye, RTCP type 203 (RFC 3550 §6.6): SSRCs leaving and an optional reason.
public struct RTCPGoodbye: Hashable, Sendable {
    public var ssrcs: [SSRC]
    public var reason: [UInt8]?
    public var paddingLength: Int

    public init(ssrcs: [SSRC], reason: String? = nil, paddingLength: Int = 0) {
        self.ssrcs = ssrcs
        self.reason = reason.map { Array($0.utf8.prefix(255)) }
        self.paddingLength = paddingLength
    }

    init(header: RTCPHeader, body b: ByteBuffer, offset: Int) throws(RTCPParseError) {
        let o = b.readerIndex
        guard b.readableBytes >= 4 * Int(header.count) else { throw .bodyTooShort(offset: offset, packetType: header.packetType) }
        ssrcs = (0..<Int(header.count)).map { SSRC(rawValue: b.getInteger(at: o + 4 * $0, as: UInt32.self)!) }
        let used = 4 * Int(header.count)
        if b.readableBytes > used {
            let len = Int(b.getInteger(at: o + used, as: UInt8.self)!)
            guard used + 1 + len <= b.readableBytes, pad4(used + 1 + len) == b.readableBytes else {
                throw .malformed(offset: offset, packetType: header.packetType, reason: "BYE reason length")
            }
            reason = b.getBytes(at: o + used + 1, length: len)
            for j in (used + 1 + len)..<b.readableBytes where b.getInteger(at: o + j, as: UInt8.self)! != 0 {
                throw .malformed(offset: offset, packetType: header.packetType, reason: "non-null BYE reason padding")
            }
        } else {
            reason = nil
        }
        paddingLength = 0
    }

    var bodySize: Int { 4 * ssrcs.count + (reason.map { pad4(1 + $0.count) } ?? 0) }

    func write(into b: inout ByteBuffer) {
        writePacket(into: &b, count: UInt8(ssrcs.count), packetType: RTCPPacketType.goodbye, bodySize: bodySize, paddingLength: paddingLength) { b in
            for s in ssrcs { b.writeInteger(s.rawValue) }
            if let reason {
                b.writeInteger(UInt8(reason.count))
                b.writeBytes(reason)
                b.writeRepeatingByte(0, count: pad4(1 + reason.count) - 1 - reason.count)
            }
        }
    }
}

/// Application-defined, RTCP type 204 (RFC 3550 §6.7).
public struct RTCPApplicationDefined: Hashable, Sendable {
    public var subtype: UInt8
    public var ssrc: SSRC
    /// Four ASCII characters.
    public var name: [UInt8]
    public var data: [UInt8]
    public var paddingLength: Int

    public init(subtype: UInt8, ssrc: SSRC, name: String, data: [UInt8], paddingLength: Int = 0) {
        precondition(data.count % 4 == 0, "APP data is a multiple of 4 bytes")
        self.subtype = subtype & 0x1F
        self.ssrc = ssrc
        self.name = Array((Array(name.utf8) + [32, 32, 32, 32]).prefix(4))
        self.data = data
        self.paddingLength = paddingLength
    }

    init(header: RTCPHeader, body b: ByteBuffer, offset: Int) throws(RTCPParseError) {
        guard b.readableBytes >= 8 else { throw .bodyTooShort(offset: offset, packetType: header.packetType) }
        subtype = header.count
        ssrc = SSRC(rawValue: b.getInteger(at: b.readerIndex, as: UInt32.self)!)
        name = b.getBytes(at: b.readerIndex + 4, length: 4)!
        data = b.getBytes(at: b.readerIndex + 8, length: b.readableBytes - 8)!
        paddingLength = 0
    }

    var bodySize: Int { 8 + data.count }

    func write(into b: inout ByteBuffer) {
        writePacket(into: &b, count: subtype, packetType: RTCPPacketType.applicationDefined, bodySize: bodySize, paddingLength: paddingLength) { b in
            b.writeInteger(ssrc.rawValue)
            b.writeBytes(name)
            b.writeBytes(data)
        }
    }
}
