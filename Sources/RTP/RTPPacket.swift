import NIOCore
import RTCBase

/// An RTP packet (RFC 3550 §5.1) that owns its bytes: the header is validated once at parse time and
/// fields are read from — and written through to — the buffer. Copying a packet is a reference-count
/// bump (`ByteBuffer` is copy-on-write), so fanning one packet out to many consumers and rewriting
/// SSRC, sequence number or timestamp for each copies the bytes once, when the copy is first written.
///
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |V=2|P|X|  CC   |M|     PT      |       sequence number         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                           timestamp                           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |           synchronization source (SSRC) identifier            |
/// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
/// |            contributing source (CSRC) identifiers             |
/// |                             ....                              |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |      defined by profile       |           length              |  if X: RFC 3550 §5.3.1,
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+  RFC 8285 one-byte (0xBEDE)
/// |                        header extension                       |  or two-byte (0x100X)
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+  elements
/// |                   payload  ....  | padding ... | pad count    |  if P
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
public struct RTPPacket: Hashable, Sendable {
    /// The whole packet, exactly as received or built.
    public internal(set) var bytes: ByteBuffer
    /// Bytes of fixed header, CSRCs and header extension.
    public internal(set) var headerLength: Int
    /// Bytes of padding at the end (0 when the packet was parsed header-only).
    public internal(set) var paddingLength: Int

    /// The extension profile value of RFC 8285's one-byte form.
    public static let oneByteProfile: UInt16 = 0xBEDE

    /// Parses a complete RTP packet, validating header, CSRCs, header extension elements and padding.
    public init(parsing bytes: ByteBuffer) throws(RTPParseError) {
        let normalized = bytes.getSlice(at: bytes.readerIndex, length: bytes.readableBytes)!
        let header = try Self.validateHeader(normalized)
        var padding = 0
        if normalized.getInteger(at: 0, as: UInt8.self)! & 0x20 != 0 {
            let count = Int(normalized.getInteger(at: normalized.readableBytes - 1, as: UInt8.self) ?? 0)
            guard count > 0 else { throw .paddingZero }
            guard count <= normalized.readableBytes - header else {
                throw .paddingTooLarge(count: count, available: normalized.readableBytes - header)
            }
            padding = count
        }
        self.bytes = normalized
        self.headerLength = header
        self.paddingLength = padding
    }

    /// Parses only the header of an RTP (or SRTP) packet. The padding count is not interpreted —
    /// SRTP encrypts it — so ``payload`` is everything after the header (for SRTP: ciphertext,
    /// padding and authentication tag).
    public init(parsingHeaderOf bytes: ByteBuffer) throws(RTPParseError) {
        let normalized = bytes.getSlice(at: bytes.readerIndex, length: bytes.readableBytes)!
        self.headerLength = try Self.validateHeader(normalized)
        self.bytes = normalized
        self.paddingLength = 0
    }

    /// Builds a packet from its fields.
    public init(payloadType: PayloadType, sequenceNumber: RTPSequenceNumber, timestamp: RTPTimestamp, ssrc: SSRC,
                marker: Bool = false, csrcs: [SSRC] = [], payload: ByteBuffer) {
        precondition(csrcs.count <= 15, "at most 15 CSRCs")
        var b = ByteBufferAllocator().buffer(capacity: 12 + 4 * csrcs.count + payload.readableBytes + 16)
        b.writeInteger(UInt8(0x80 | UInt8(csrcs.count)))
        b.writeInteger((marker ? 0x80 : 0) | payloadType.rawValue)
        b.writeInteger(sequenceNumber.rawValue)
        b.writeInteger(timestamp.rawValue)
        b.writeInteger(ssrc.rawValue)
        for c in csrcs { b.writeInteger(c.rawValue) }
        var p = payload
        b.writeBuffer(&p)
        self.bytes = b
        self.headerLength = 12 + 4 * csrcs.count
        self.paddingLength = 0
    }

    /// Validates the header and returns its length.
    static func validateHeader(_ b: ByteBuffer) throws(RTPParseError) -> Int {
        let total = b.readableBytes
        guard total >= 12 else { throw .headerTooShort(total) }
        let first = b.getInteger(at: 0, as: UInt8.self)!
        guard first >> 6 == 2 else { throw .badVersion(first >> 6) }
        var offset = 12 + 4 * Int(first & 0x0F)
        guard offset <= total else { throw .csrcTruncated }
        if first & 0x10 != 0 {
            guard offset + 4 <= total else { throw .extensionHeaderTruncated }
            let profile = b.getInteger(at: offset, as: UInt16.self)!
            let length = 4 * Int(b.getInteger(at: offset + 2, as: UInt16.self)!)
            guard offset + 4 + length <= total else { throw .extensionTruncated(needed: offset + 4 + length, available: total) }
            try validateElements(b, start: offset + 4, end: offset + 4 + length, profile: profile)
            offset += 4 + length
        }
        return offset
    }

    static func validateElements(_ b: ByteBuffer, start: Int, end: Int, profile: UInt16) throws(RTPParseError) {
        if profile == oneByteProfile {
            var i = start
            while i < end {
                let h = b.getInteger(at: i, as: UInt8.self)!
                let id = h >> 4
                if id == 0 { i += 1; continue }          // padding
                if id == 15 { return }                    // reserved: stop parsing
                let len = Int(h & 0x0F) + 1
                guard i + 1 + len <= end else { throw .extensionElementOverrun(id: id) }
                i += 1 + len
            }
        } else if profile & 0xFFF0 == 0x1000 {
            var i = start
            while i < end {
                let id = b.getInteger(at: i, as: UInt8.self)!
                if id == 0 { i += 1; continue }
                guard i + 2 <= end else { throw .extensionElementOverrun(id: id) }
                let len = Int(b.getInteger(at: i + 1, as: UInt8.self)!)
                guard i + 2 + len <= end else { throw .extensionElementOverrun(id: id) }
                i += 2 + len
            }
        }
    }

    // MARK: Fixed header

    @inlinable var firstByte: UInt8 { bytes.getInteger(at: bytes.readerIndex, as: UInt8.self)! }

    /// Always 2 for a parsed packet.
    public var version: UInt8 { firstByte >> 6 }
    /// The P bit.
    public var hasPadding: Bool { firstByte & 0x20 != 0 }
    /// The X bit.
    public var hasExtension: Bool { firstByte & 0x10 != 0 }
    /// The CC field.
    public var csrcCount: Int { Int(firstByte & 0x0F) }

    /// The M bit.
    public var marker: Bool {
        get { bytes.getInteger(at: bytes.readerIndex + 1, as: UInt8.self)! & 0x80 != 0 }
        set {
            let b = bytes.getInteger(at: bytes.readerIndex + 1, as: UInt8.self)!
            bytes.setInteger(newValue ? b | 0x80 : b & 0x7F, at: bytes.readerIndex + 1)
        }
    }

    /// The payload type.
    public var payloadType: PayloadType {
        get { PayloadType(rawValue: bytes.getInteger(at: bytes.readerIndex + 1, as: UInt8.self)! & 0x7F)! }
        set {
            let b = bytes.getInteger(at: bytes.readerIndex + 1, as: UInt8.self)!
            bytes.setInteger((b & 0x80) | newValue.rawValue, at: bytes.readerIndex + 1)
        }
    }

    /// The sequence number.
    public var sequenceNumber: RTPSequenceNumber {
        get { RTPSequenceNumber(rawValue: bytes.getInteger(at: bytes.readerIndex + 2, as: UInt16.self)!) }
        set { bytes.setInteger(newValue.rawValue, at: bytes.readerIndex + 2) }
    }

    /// The timestamp.
    public var timestamp: RTPTimestamp {
        get { RTPTimestamp(rawValue: bytes.getInteger(at: bytes.readerIndex + 4, as: UInt32.self)!) }
        set { bytes.setInteger(newValue.rawValue, at: bytes.readerIndex + 4) }
    }

    /// The synchronization source.
    public var ssrc: SSRC {
        get { SSRC(rawValue: bytes.getInteger(at: bytes.readerIndex + 8, as: UInt32.self)!) }
        set { bytes.setInteger(newValue.rawValue, at: bytes.readerIndex + 8) }
    }

    /// The contributing sources.
    public var csrcs: [SSRC] {
        (0..<csrcCount).map { SSRC(rawValue: bytes.getInteger(at: bytes.readerIndex + 12 + 4 * $0, as: UInt32.self)!) }
    }

    // MARK: Payload and padding

    /// The payload: after the header, before the padding.
    public var payload: ByteBuffer {
        bytes.getSlice(at: bytes.readerIndex + headerLength, length: bytes.readableBytes - headerLength - paddingLength)!
    }

    /// Offset of the payload from the start of ``bytes``.
    public var payloadOffset: Int { headerLength }

    /// Number of payload bytes.
    public var payloadLength: Int { bytes.readableBytes - headerLength - paddingLength }

    /// Overwrites payload bytes starting at `offset` (relative to the payload), in place. Used by
    /// codec descriptor rewrites (picture id, TL0PICIDX). Returns false, writing nothing, if the range
    /// is not inside the payload.
    @discardableResult
    public mutating func setPayloadBytes<C: Collection>(_ newBytes: C, at offset: Int) -> Bool where C.Element == UInt8 {
        guard offset >= 0, newBytes.count <= payloadLength - offset else { return false }
        bytes.setBytes(newBytes, at: bytes.readerIndex + headerLength + offset)
        return true
    }

    /// Overwrites a big-endian integer in the payload at `offset`, in place and without allocating.
    /// Returns false, writing nothing, if it does not fit inside the payload.
    @discardableResult
    public mutating func setPayloadInteger<T: FixedWidthInteger>(_ value: T, at offset: Int) -> Bool {
        guard offset >= 0, MemoryLayout<T>.size <= payloadLength - offset else { return false }
        bytes.setInteger(value, at: bytes.readerIndex + headerLength + offset)
        return true
    }

    /// Replaces the payload (padding is dropped).
    public mutating func setPayload(_ payload: ByteBuffer) {
        var b = ByteBufferAllocator().buffer(capacity: headerLength + payload.readableBytes)
        var header = bytes.getSlice(at: bytes.readerIndex, length: headerLength)!
        b.writeBuffer(&header)
        var p = payload
        b.writeBuffer(&p)
        b.setInteger(b.getInteger(at: 0, as: UInt8.self)! & ~0x20, at: 0)
        bytes = b
        paddingLength = 0
    }

    /// Sets `count` bytes of padding (RFC 3550 §5.1; zeros then the count), or removes padding when 0.
    /// The payload is kept. On a header-only parse (``init(parsingHeaderOf:)``) the existing padding is
    /// unknown and stays part of the payload.
    public mutating func setPadding(_ count: UInt8) {
        var b = ByteBufferAllocator().buffer(capacity: headerLength + payloadLength + Int(count))
        var kept = bytes.getSlice(at: bytes.readerIndex, length: headerLength + payloadLength)!
        b.writeBuffer(&kept)
        let first = b.getInteger(at: 0, as: UInt8.self)!
        if count == 0 {
            b.setInteger(first & ~0x20, at: 0)
        } else {
            b.writeRepeatingByte(0, count: Int(count) - 1)
            b.writeInteger(count)
            b.setInteger(first | 0x20, at: 0)
        }
        bytes = b
        paddingLength = Int(count)
    }
}

extension RTPPacket: WireEncodable {
    public var encodedSize: Int { bytes.readableBytes }
    public func encode(into buffer: inout ByteBuffer) {
        var b = bytes
        buffer.writeBuffer(&b)
    }
}
