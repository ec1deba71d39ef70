import NIOCore

/// The one encoding shape every wire type in this stack follows: it knows its encoded size and
/// appends exactly that many bytes to a buffer. Decoding is a throwing initialiser on each type
/// (`init(parsing:) throws(XParseError)`), so there is no decode requirement here.
public protocol WireEncodable {
    /// The number of bytes `encode(into:)` appends.
    var encodedSize: Int { get }
    /// Appends the wire form to `buffer`. Never fails: sizes are validated when values are built.
    func encode(into buffer: inout ByteBuffer)
}

extension WireEncodable {
    /// The wire form in a new buffer. Debug builds check that `encode` honoured `encodedSize`.
    public func encoded(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: encodedSize)
        encode(into: &buffer)
        assert(buffer.readableBytes == encodedSize, "\(Self.self).encode wrote \(buffer.readableBytes) bytes, declared \(encodedSize)")
        return buffer
    }
}
