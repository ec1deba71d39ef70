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
    /// The element's local identifier.
    public var id: HeaderExtensionID
    /// The element's data (a slice of the packet when read from one).
    public var value: ByteBuffer
    /// An element with `id` and `value`.
    public init(id: HeaderExtensionID, value: ByteBuffer) {
        self.id = id
        self.value = value
    }
}

/// The form of a packet's header extension block.
public enum RTPHeaderExtensionForm: Hashable, Sendable {
    /// RFC 8285 §4.2, profile 0xBEDE.
    case oneByte
    /// RFC 8285 §4.3, profile 0x100X; `appBits` is X, preserved when the block is rebuilt.
    case twoByte(appBits: UInt8)
    /// A non-RFC 8285 profile (RFC 3550 §5.3.1): the block is opaque and preserved as is.
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
            out.append(RTPHeaderExtensionElement(id: HeaderExtensionID(id), value: bytes.getSlice(at: bytes.readerIndex + offset, length: length)!))
            return true
        }
        return out
    }

    /// The value of the element with `id`, if present (the first one, should a sender repeat an id).
    public func headerExtension(id: HeaderExtensionID) -> ByteBuffer? {
        var found: ByteBuffer?
        forEachElement { eid, offset, length in
            if eid == id.rawValue { found = bytes.getSlice(at: bytes.readerIndex + offset, length: length); return false }
            return true
        }
        return found
    }

    /// Offset (from the start of the packet) and length of the element with `id`.
    func elementLocation(id: HeaderExtensionID) -> (offset: Int, length: Int)? {
        var found: (Int, Int)?
        forEachElement { eid, offset, length in
            if eid == id.rawValue { found = (offset, length); return false }
            return true
        }
        return found
    }

    /// Overwrites the data of the element `id` in place, without allocating, when it exists with exactly
    /// `length` bytes: `write(&bytes, offset)` gets the absolute offset of the data. Returns false
    /// otherwise (the caller then falls back to ``setHeaderExtension(id:value:)``).
    mutating func overwriteElement(id: HeaderExtensionID, length: Int, _ write: (inout ByteBuffer, Int) -> Void) -> Bool {
        guard let loc = elementLocation(id: id), loc.length == length else { return false }
        write(&bytes, bytes.readerIndex + loc.offset)
        return true
    }

    /// Overwrites the element `id` in place with the low `width` bytes of `value`, big-endian (a transport-wide
    /// sequence number or abs-send-time stamped when a paced packet leaves), when the element exists with exactly
    /// `width` bytes. Never allocates when the buffer is not shared; returns false, writing nothing, otherwise.
    @discardableResult
    public mutating func overwriteHeaderExtension(id: HeaderExtensionID, bigEndian value: UInt64, width: Int) -> Bool {
        overwriteElement(id: id, length: width) { b, offset in
            for k in 0..<width { b.setInteger(UInt8(truncatingIfNeeded: value >> (8 * UInt64(width - 1 - k))), at: offset + k) }
        }
    }

    /// Sets the element `id` to `value`, keeping the payload (and padding) intact.
    ///
    /// When an element with the same id and length exists its data is overwritten in place. Otherwise
    /// the extension block is rebuilt: in the one-byte form when the packet has no block or a one-byte
    /// block and every element fits it (ids 1–14, 1–16 bytes); else in the two-byte form (keeping the
    /// appbits of an existing two-byte block). Converting to the two-byte form is only valid on streams
    /// that negotiated `a=extmap-allow-mixed` (RFC 8285 §6). Element order is kept; a new element is
    /// appended. Elements after a one-byte id-15 terminator are dropped.
    public mutating func setHeaderExtension<C: Collection>(id: HeaderExtensionID, value: C) throws(RTPExtensionError) where C.Element == UInt8 {
        guard id.rawValue >= 1 else { throw .invalidID(Int(id.rawValue)) }
        let count = value.count
        guard count <= 255 else { throw .valueTooLong(count) }
        if case .other(let p) = extensionForm { throw .opaqueProfile(p) }
        if overwriteElement(id: id, length: count, { b, offset in b.setBytes(value, at: offset) }) { return }
        var elements = headerExtensions.map { ($0.id.rawValue, Array($0.value.readableBytesView)) }
        if let i = elements.firstIndex(where: { $0.0 == id.rawValue }) {
            elements[i].1 = Array(value)
        } else {
            elements.append((id.rawValue, Array(value)))
        }
        try rebuildExtensions(elements)
    }

    /// Removes the element `id` (the extension block and the X bit disappear with its last element).
    /// Removing an absent id, or from an opaque profile, changes nothing.
    public mutating func removeHeaderExtension(id: HeaderExtensionID) {
        guard elementLocation(id: id) != nil else { return }
        // Removing never grows the block (every remaining element already fits its form), so the
        // size check in rebuildExtensions cannot fail here.
        try? rebuildExtensions(headerExtensions.filter { $0.id != id }.map { ($0.id.rawValue, Array($0.value.readableBytesView)) })
    }

    mutating func rebuildExtensions(_ elements: [(UInt8, [UInt8])]) throws(RTPExtensionError) {
        let fitsOneByte = elements.allSatisfy { (1...14).contains($0.0) && (1...16).contains($0.1.count) }
        var form = RTPHeaderExtensionWriter.Form.oneByte
        if case .twoByte(let appBits) = extensionForm { form = .twoByte(appBits: appBits) } else if !fitsOneByte { form = .twoByte(appBits: 0) }
        let elementBytes = elements.reduce(0) { $0 + RTPHeaderExtensionWriter.elementSize(length: $1.1.count, form: form) }
        let block = RTPHeaderExtensionWriter.blockSize(elementBytes: elementBytes)
        guard block <= 4 + 4 * Int(UInt16.max) else { throw .blockTooLarge(bytes: block - 4) }
        guard let rebuilt = rebuilt(header: nil, form: form, elementBytes: elementBytes, reservingCapacity: 8, { writer in
            for (id, value) in elements { value.withUnsafeBytes { writer.append(id: id, bytes: $0) } }
        }) else { return }
        self = rebuilt
    }
}
