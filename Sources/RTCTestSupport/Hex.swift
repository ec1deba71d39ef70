import NIOCore

/// Why a hex string could not be decoded.
public enum HexParseError: Error, Equatable, Sendable {
    /// A character that is neither a hex digit nor an allowed separator (space, tab, newline, colon).
    case invalidCharacter(Character)
    /// An odd number of hex digits.
    case oddLength
}

extension Array where Element == UInt8 {
    /// Decodes hex such as `"80 60 00:01\n0a0b"`: spaces, tabs, newlines and colons are ignored, digits
    /// may be upper or lower case, an optional leading `0x` is skipped.
    public init(hex: String) throws(HexParseError) {
        var out: [UInt8] = []
        out.reserveCapacity(hex.utf8.count / 2)
        var high: UInt8? = nil
        var text = Substring(hex)
        if text.hasPrefix("0x") || text.hasPrefix("0X") { text = text.dropFirst(2) }
        for ch in text.unicodeScalars {
            let v: UInt8
            switch ch {
            case "0"..."9": v = UInt8(ch.value - 48)
            case "a"..."f": v = UInt8(ch.value - 87)
            case "A"..."F": v = UInt8(ch.value - 55)
            case " ", "\t", "\n", "\r", ":": continue
            default: throw .invalidCharacter(Character(ch))
            }
            if let h = high { out.append(h << 4 | v); high = nil } else { high = v }
        }
        guard high == nil else { throw .oddLength }
        self = out
    }
}

extension ByteBuffer {
    /// A buffer holding the bytes of a hex string; see `[UInt8](hex:)` for the accepted syntax.
    public init(hex: String) throws(HexParseError) {
        let bytes = try [UInt8](hex: hex)
        self.init(bytes: bytes)
    }
}
