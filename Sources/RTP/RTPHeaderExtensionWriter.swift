import NIOCore

/// The one writer of RFC 8285 header extension blocks in this stack: ``RTPPacket/setHeaderExtension(id:value:)``
/// rebuilds blocks with it, and so does the SFU's per-consumer rewrite (which writes a fresh block for every
/// forwarded packet). It writes into memory the caller sized with ``blockSize(elementBytes:)``, allocating
/// nothing.
///
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  0xBE (or 0x10) |  0xDE (or 0x0X) |     length (32-bit words)   |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  ID   |  len  |  data ...  (one-byte form, §4.2)   | ID | len | ...
/// |      ID       |    length     |  data ... (two-byte form, §4.3) ...
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                 ... padding (0) to a 32-bit boundary           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
public struct RTPHeaderExtensionWriter {
    /// The element form of a block.
    public enum Form: Hashable, Sendable {
        /// RFC 8285 §4.2, profile 0xBEDE: ids 1–14, 1–16 bytes.
        case oneByte
        /// RFC 8285 §4.3, profile 0x100X: ids 1–255, 0–255 bytes; `appBits` is X.
        case twoByte(appBits: UInt8)

        /// The "defined by profile" value.
        public var profile: UInt16 {
            switch self {
            case .oneByte: RTPPacket.oneByteProfile
            case .twoByte(let appBits): 0x1000 | UInt16(appBits & 0x0F)
            }
        }

        /// The smallest form for elements whose largest id is `maxID` and whose lengths lie in
        /// `minLength…maxLength` (one-byte whenever it fits).
        public static func fitting(maxID: UInt8, minLength: Int, maxLength: Int) -> Form {
            maxID <= 14 && minLength >= 1 && maxLength <= 16 ? .oneByte : .twoByte(appBits: 0)
        }
    }

    /// Bytes one element of `length` data bytes takes in `form`.
    @inlinable
    public static func elementSize(length: Int, form: Form) -> Int {
        form == .oneByte ? 1 + length : 2 + length
    }

    /// Bytes of a whole block — 4-byte header, elements, zero padding to 32 bits — for `elementBytes` bytes of
    /// elements; 0 when there are none (no block, X bit clear).
    @inlinable
    public static func blockSize(elementBytes: Int) -> Int {
        elementBytes == 0 ? 0 : 4 + (elementBytes + 3) / 4 * 4
    }

    @usableFromInline let base: UnsafeMutableRawPointer
    @usableFromInline let end: Int
    @usableFromInline let form: Form
    @usableFromInline var offset: Int

    /// Starts a block of `elementBytes` bytes of elements at `offset` of `memory` (which must hold
    /// ``blockSize(elementBytes:)`` bytes from there) and writes its header.
    public init(into memory: UnsafeMutableRawBufferPointer, at offset: Int, form: Form, elementBytes: Int) {
        let size = Self.blockSize(elementBytes: elementBytes)
        precondition(offset >= 0 && offset + size <= memory.count, "extension block does not fit")
        base = memory.baseAddress!
        self.form = form
        end = offset + size
        self.offset = offset
        guard size > 0 else { return }
        base.storeBytes(of: form.profile.bigEndian, toByteOffset: offset, as: UInt16.self)
        base.storeBytes(of: UInt16((size - 4) / 4).bigEndian, toByteOffset: offset + 2, as: UInt16.self)
        self.offset += 4
    }

    @inlinable
    mutating func elementHeader(id: UInt8, length: Int) {
        precondition(offset + Self.elementSize(length: length, form: form) <= end, "element overruns the block")
        if form == .oneByte {
            precondition((1...14).contains(id) && (1...16).contains(length), "element does not fit the one-byte form")
            base.storeBytes(of: id << 4 | UInt8(length - 1), toByteOffset: offset, as: UInt8.self)
            offset += 1
        } else {
            precondition(id >= 1 && length <= 255, "element does not fit the two-byte form")
            base.storeBytes(of: id, toByteOffset: offset, as: UInt8.self)
            base.storeBytes(of: UInt8(length), toByteOffset: offset + 1, as: UInt8.self)
            offset += 2
        }
    }

    /// Appends an element with `bytes` as its data.
    @inlinable
    public mutating func append(id: UInt8, bytes: UnsafeRawBufferPointer) {
        elementHeader(id: id, length: bytes.count)
        if let source = bytes.baseAddress, bytes.count > 0 { (base + offset).copyMemory(from: source, byteCount: bytes.count) }
        offset += bytes.count
    }

    /// Appends an element whose data is the low `width` bytes of `value`, big-endian (abs-send-time: 3,
    /// transport-wide sequence number: 2).
    @inlinable
    public mutating func append(id: UInt8, bigEndian value: UInt64, width: Int) {
        elementHeader(id: id, length: width)
        for i in 0..<width {
            base.storeBytes(of: UInt8(truncatingIfNeeded: value >> (8 * UInt64(width - 1 - i))), toByteOffset: offset + i, as: UInt8.self)
        }
        offset += width
    }

    /// Zero-pads the block to its end; returns the offset just after it.
    @discardableResult
    public mutating func finish() -> Int {
        while offset < end {
            base.storeBytes(of: UInt8(0), toByteOffset: offset, as: UInt8.self)
            offset += 1
        }
        return end
    }
}

/// Fixed-header values to write while a packet is rebuilt (``RTPPacket/rebuilt(header:form:elementBytes:reservingCapacity:_:)``).
public struct RTPHeaderRewrite: Hashable, Sendable {
    /// Outgoing payload type (the marker bit is kept).
    public var payloadType: PayloadType
    /// Outgoing sequence number.
    public var sequenceNumber: RTPSequenceNumber
    /// Outgoing timestamp.
    public var timestamp: RTPTimestamp
    /// Outgoing SSRC.
    public var ssrc: SSRC
    /// The four values.
    public init(payloadType: PayloadType, sequenceNumber: RTPSequenceNumber, timestamp: RTPTimestamp, ssrc: SSRC) {
        self.payloadType = payloadType
        self.sequenceNumber = sequenceNumber
        self.timestamp = timestamp
        self.ssrc = ssrc
    }
}

extension RTPPacket {
    /// A copy of this packet in one new buffer: fixed header and CSRCs (with `header`'s values when given), a new
    /// extension block of `elementBytes` bytes of elements in `form` written by `writeElements`, then payload and
    /// padding unchanged. `reservingCapacity` extra bytes stay free after it (an SRTP trailer, so protecting the
    /// copy never reallocates). With `elementBytes` 0 the packet has no extension block (X clear).
    ///
    /// Returns nil only if the result does not re-validate, which a packet built from a parsed one and elements
    /// that fill exactly `elementBytes` never does.
    public func rebuilt(header: RTPHeaderRewrite?, form: RTPHeaderExtensionWriter.Form, elementBytes: Int, reservingCapacity: Int,
                        _ writeElements: (inout RTPHeaderExtensionWriter) -> Void) -> RTPPacket? {
        let fixed = 12 + 4 * csrcCount
        let block = RTPHeaderExtensionWriter.blockSize(elementBytes: elementBytes)
        let rest = bytes.readableBytes - headerLength
        let total = fixed + block + rest
        var out = ByteBufferAllocator().buffer(capacity: total + reservingCapacity)
        bytes.withUnsafeReadableBytes { src in
            out.writeWithUnsafeMutableBytes(minimumWritableBytes: total) { dst -> Int in
                dst.baseAddress!.copyMemory(from: src.baseAddress!, byteCount: fixed)
                dst[0] = block == 0 ? src[0] & ~0x10 : src[0] | 0x10
                if let h = header {
                    dst[1] = (src[1] & 0x80) | h.payloadType.rawValue
                    dst.storeBytes(of: h.sequenceNumber.rawValue.bigEndian, toByteOffset: 2, as: UInt16.self)
                    dst.storeBytes(of: h.timestamp.rawValue.bigEndian, toByteOffset: 4, as: UInt32.self)
                    dst.storeBytes(of: h.ssrc.rawValue.bigEndian, toByteOffset: 8, as: UInt32.self)
                }
                if block > 0 {
                    var writer = RTPHeaderExtensionWriter(into: dst, at: fixed, form: form, elementBytes: elementBytes)
                    writeElements(&writer)
                    writer.finish()
                }
                if rest > 0 { (dst.baseAddress! + fixed + block).copyMemory(from: src.baseAddress! + headerLength, byteCount: rest) }
                return total
            }
        }
        if hasPadding && paddingLength == 0 { return try? RTPPacket(parsingHeaderOf: out) }
        return try? RTPPacket(parsing: out)
    }
}
