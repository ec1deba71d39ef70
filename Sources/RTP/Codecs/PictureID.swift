import NIOCore

/// The picture id field VP8 (RFC 7741 §4.2) and VP9 (RFC 9628 §4.2) share: one byte with M = 0 (7 bits), or two
/// bytes with M = 1 (15 bits).
///
/// ```
/// |M| PictureID   |  (M = 1:)  | extended PictureID |
/// ```
struct PictureIDField {
    var value: UInt16
    var is15Bit: Bool
    /// Bytes the field occupies (1 or 2).
    var length: Int { is15Bit ? 2 : 1 }

    /// Reads the field at `offset` of `payload`; `nil` when the payload ends inside it.
    static func read(_ payload: ByteBuffer, at offset: Int) -> PictureIDField? {
        guard let m = payload.getInteger(at: payload.readerIndex + offset, as: UInt8.self) else { return nil }
        guard m & 0x80 != 0 else { return PictureIDField(value: UInt16(m), is15Bit: false) }
        guard let low = payload.getInteger(at: payload.readerIndex + offset + 1, as: UInt8.self) else { return nil }
        return PictureIDField(value: UInt16(m & 0x7F) << 8 | UInt16(low), is15Bit: true)
    }
}
