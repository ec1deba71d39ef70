import NIOCore

extension Array where Element == UInt8 {
    /// Bytes from hex text; spaces, newlines, colons and `0x` prefixes are ignored. Traps on bad hex
    /// (test fixtures only).
    public init(hex: String) {
        let clean = hex.replacingOccurrences(of: "0x", with: "").filter { $0.isHexDigit }
        precondition(clean.count % 2 == 0, "odd number of hex digits")
        var out: [UInt8] = []
        out.reserveCapacity(clean.count / 2)
        var it = clean.makeIterator()
        while let h = it.next(), let l = it.next() { out.append(UInt8(String([h, l]), radix: 16)!) }
        self = out
    }
}

extension ByteBuffer {
    /// A buffer holding the bytes of hex text (see `[UInt8](hex:)`).
    public init(hex: String) { self.init(bytes: [UInt8](hex: hex)) }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
