import NIOCore

/// One header extension element (RFC 8285 §4.2 one-byte or §4.3 two-byte form).
///
/// ```
/// one-byte form (profile 0xBEDE)        two-byte form (profile 0x100X, X = appbits)
///  0                   1                  0                   1                   2
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3            0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+          +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  ID   |  len  |  data ...             |      ID       |    length     |  data ...
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+          +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///  ID 1..14, len = bytes - 1              ID 1..255, length = bytes (0..255)
/// ```
public struct RTPHeaderExtensionElement: Hashable, Sendable {
    public var id: UInt8
    public var value: ByteBuffer
    public init(id: UInt8, value: ByteBuffer) {
        self.id = id
        self.value = value
    }
}

/// The form of a packet's header extension block.
public enum RTPHeaderExtensionForm: Hashable, Sendable {
    case oneByte
    case twoByte(appBits: UInt8)
    /// A non-RFC 8285 profile: the block is opaque and preserved as is.
    case other(profile: UInt16)
}

extension RTPPacket {
    /// Offset of the extension header (profile) from the start of the packet, if X is set.
    var extensionStart: Int? { hasExtension ? 12 + 4 * csrcCount : nil }

    /// The "defined by profile" field of the extension header.
    public var extensionProfile: UInt16? {
        extensionStart.map { bytes.getInteger(at: bytes.readerIndex + $0, as: UInt16.self)! }
    }

    /// The length of the extension data in bytes (excluding its 4-byte header).
    public var extensionLength: Int? {
        extensionStart.map { 4 * Int(bytes.getInteger(at: bytes.readerIndex + $0 + 2, as: UInt16.self)!) }
    }

    /// The form of the extension block, if any.
    public var extensionForm: RTPHeaderExtensionForm? {
        guard let p = extensionProfile else { return nil }
        if p == Self.oneByteProfile { return .oneByte }
        if p & 0xFFF0 == 0x1000 { return .twoByte(appBits: UInt8(p & 0x0F)) }
        return .other(profile: p)
    }

    /// The raw extension data (after profile and length), if any.
    public var extensionData: ByteBuffer? {
        guard let s = extensionStart, let l = extensionLength else { return nil }
        return bytes.getSlice(at: bytes.readerIndex + s + 4, length: l)
    }

    /// Calls `body(id, offset, length)` for each element (offsets from the start of the packet);
    /// stops when `body` returns false. Nothing is called for opaque profiles.
    @inlinable
    func forEachElement(_ body: (UInt8, Int, Int) -> Bool) {
        guard hasExtension else { return }
        let base = bytes.readerIndex
        let start = 12 + 4 * csrcCount
        let profile = bytes.getInteger(at: base + start, as: UInt16.self)!
        let end = start + 4 + 4 * Int(bytes.getInteger(at: base + start + 2, as: UInt16.self)!)
        var i = start + 4
        if profile == Self.oneByteProfile {
            while i < end {
                let h = bytes.getInteger(at: base + i, as: UInt8.self)!
                let id = h >> 4
                if id == 0 { i += 1; continue }
                if id == 15 { return }
                let len = Int(h & 0x0F) + 1
                if !body(id, i + 1, len) { return }
                i += 1 + len
            }
        } else if profile & 0xFFF0 == 0x1000 {
            while i < end {
                let id = bytes.getInteger(at: base + i, as: UInt8.self)!
                if id == 0 { i += 1; continue }
                let len = Int(bytes.getInteger(at: base + i + 1, as: UInt8.self)!)
                if !body(id, i + 2, len) { return }
                i += 2 + len
            }
        }
    }

    /// Every extension element in order (empty for opaque profiles).
    public var headerExtensions: [RTPHeaderExtensionElement] {
        var out: [RTPHeaderExtensionElement] = []
        forEachElement { id, offset, length in
            out.append(RTPHeaderExtensionElement(id: id, value: bytes.getSlice(at: bytes.readerIndex + offset, length: length)!))
            return true
        }
        return out
    }

    /// The value of the element with `id`, if present.
    public func headerExtension(id: UInt8) -> ByteBuffer? {
        var found: ByteBuffer?
        forEachElement { eid, offset, length in
            if eid == id { found = bytes.getSlice(at: bytes.readerIndex + offset, length: length); return false }
            return true
        }
        return found
    }

    /// Offset and length of the element with `id`.
    func elementLocation(id: UInt8) -> (offset: Int, length: Int)? {
        var found: (Int, Int)?
        forEachElement { eid, offset, length in
            if eid == id { found = (offset, length); return false }
            return true
        }
        return found
    }

    /// Sets the element `id` to `value`: in place when an element with the same id and length exists;
    /// otherwise the extension block is rebuilt in the one-byte form when every element fits it (ids
    /// 1–14, 1–16 bytes) and the packet is not already two-byte, else in the two-byte form.
    public mutating func setHeaderExtension<C: Collection>(id: UInt8, value: C) throws(RTPExtensionError) where C.Element == UInt8 {
        guard id >= 1 else { throw .invalidID(Int(id)) }
        guard value.count <= 255 else { throw .valueTooLong(value.count) }
        if case .other(let p) = extensionForm { throw .opaqueProfile(p) }
        if let loc = elementLocation(id: id), loc.length == value.count {
            bytes.setBytes(value, at: bytes.readerIndex + loc.offset)
            return
        }
        var elements = headerExtensions.map { ($0.id, Array($0.value.readableBytesView)) }
        if let i = elements.firstIndex(where: { $0.0 == id }) {
            elements[i].1 = Array(value)
        } else {
            elements.append((id, Array(value)))
        }
        rebuildExtensions(elements)
    }

    /// Removes the element `id` (the extension block disappears with its last element).
    public mutating func removeHeaderExtension(id: UInt8) {
        guard elementLocation(id: id) != nil else { return }
        rebuildExtensions(headerExtensions.filter { $0.id != id }.map { ($0.id, Array($0.value.readableBytesView)) })
    }

    mutating func rebuildExtensions(_ elements: [(UInt8, [UInt8])]) {
        let fitsOneByte = elements.allSatisfy { (1...14).contains($0.0) && (1...16).contains($0.1.count) }
        let wasTwoByte: Bool
        let appBits: UInt8
        if case .twoByte(let a) = extensionForm { wasTwoByte = true; appBits = a } else { wasTwoByte = false; appBits = 0 }
        let oneByte = fitsOneByte && !wasTwoByte
        var block: [UInt8] = []
        for (id, value) in elements {
            if oneByte {
                block.append(id << 4 | UInt8(value.count - 1))
            } else {
                block.append(id)
                block.append(UInt8(value.count))
            }
            block += value
        }
        while block.count % 4 != 0 { block.append(0) }
        let csrcEnd = 12 + 4 * csrcCount
        var b = ByteBufferAllocator().buffer(capacity: bytes.readableBytes + block.count + 8)
        var fixed = bytes.getSlice(at: bytes.readerIndex, length: csrcEnd)!
        b.writeBuffer(&fixed)
        if elements.isEmpty {
            b.setInteger(b.getInteger(at: 0, as: UInt8.self)! & ~0x10, at: 0)
        } else {
            b.setInteger(b.getInteger(at: 0, as: UInt8.self)! | 0x10, at: 0)
            b.writeInteger(oneByte ? Self.oneByteProfile : UInt16(0x1000) | UInt16(appBits))
            b.writeInteger(UInt16(block.count / 4))
            b.writeBytes(block)
        }
        let newHeader = b.readableBytes
        var rest = bytes.getSlice(at: bytes.readerIndex + headerLength, length: bytes.readableBytes - headerLength)!
        b.writeBuffer(&rest)
        bytes = b
        headerLength = newHeader
    }
}
