import NIOCore

/// The header of a DTLS record (RFC 6347 §4.1; DTLS 1.2), parsed without decrypting anything — for
/// demultiplexing, logging and splitting a flight into MTU-sized datagrams.
///
/// ```
/// +-------------+---------+-------+-----------------+---------+
/// | ContentType | Version | Epoch | Sequence Number | Length  |   13 bytes, then `Length` bytes
/// |   1 byte    | 2 bytes | 2     | 6 bytes (48 b)  | 2 bytes |
/// +-------------+---------+-------+-----------------+---------+
/// ```
public struct DTLSRecordHeader: Hashable, Sendable {
    public var contentType: UInt8
    public var version: UInt16
    public var epoch: UInt16
    public var sequenceNumber: UInt64
    public var length: UInt16

    public init(contentType: UInt8, version: UInt16, epoch: UInt16, sequenceNumber: UInt64, length: UInt16) {
        self.contentType = contentType
        self.version = version
        self.epoch = epoch
        self.sequenceNumber = sequenceNumber
        self.length = length
    }

    /// Content types (RFC 5246 §6.2.1, RFC 6347).
    public static let changeCipherSpec: UInt8 = 20, alert: UInt8 = 21, handshake: UInt8 = 22, applicationData: UInt8 = 23

    /// Why bytes are not a sequence of DTLS records.
    public enum ParseError: Error, Hashable, Sendable {
        case truncatedHeader(offset: Int)
        case truncatedRecord(offset: Int, need: Int, have: Int)
        case notDTLS(offset: Int, contentType: UInt8)
    }

    /// Every record header of a datagram with the offset of each record, in order.
    public static func records(in datagram: ByteBuffer) throws(ParseError) -> [(offset: Int, header: DTLSRecordHeader)] {
        var out: [(Int, DTLSRecordHeader)] = []
        var o = 0
        let n = datagram.readableBytes
        let base = datagram.readerIndex
        while o < n {
            guard o + 13 <= n else { throw .truncatedHeader(offset: o) }
            let type = datagram.getInteger(at: base + o, as: UInt8.self)!
            guard (20...63).contains(type) else { throw .notDTLS(offset: o, contentType: type) }
            let seqHigh = UInt64(datagram.getInteger(at: base + o + 5, as: UInt16.self)!)
            let seqLow = UInt64(datagram.getInteger(at: base + o + 7, as: UInt32.self)!)
            let h = DTLSRecordHeader(contentType: type, version: datagram.getInteger(at: base + o + 1, as: UInt16.self)!,
                                     epoch: datagram.getInteger(at: base + o + 3, as: UInt16.self)!,
                                     sequenceNumber: seqHigh << 32 | seqLow,
                                     length: datagram.getInteger(at: base + o + 11, as: UInt16.self)!)
            guard o + 13 + Int(h.length) <= n else { throw .truncatedRecord(offset: o, need: 13 + Int(h.length), have: n - o) }
            out.append((o, h))
            o += 13 + Int(h.length)
        }
        return out
    }

    /// Splits concatenated records into datagrams of at most `mtu` bytes, never splitting a record (a
    /// record larger than `mtu` travels alone).
    public static func packIntoDatagrams(_ records: ByteBuffer, mtu: Int) -> [ByteBuffer] {
        guard let list = try? Self.records(in: records), !list.isEmpty else { return records.readableBytes > 0 ? [records] : [] }
        var out: [ByteBuffer] = []
        var start = 0, end = 0
        for (offset, h) in list {
            let recordEnd = offset + 13 + Int(h.length)
            if recordEnd - start > mtu && end > start {
                out.append(records.getSlice(at: records.readerIndex + start, length: end - start)!)
                start = end
            }
            end = recordEnd
        }
        if end > start { out.append(records.getSlice(at: records.readerIndex + start, length: end - start)!) }
        return out
    }
}
