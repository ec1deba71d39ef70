import NIOCore

extension ByteBuffer {
    /// The readable bytes as lowercase hex without separators, e.g. `"8060"`, the form tshark's
    /// `-T fields` prints for byte fields once colons are removed.
    public var hexString: String {
        var out = ""
        out.reserveCapacity(readableBytes * 2)
        let digits = Array("0123456789abcdef".utf8)
        withUnsafeReadableBytes { raw in
            for b in raw {
                out.unicodeScalars.append(Unicode.Scalar(digits[Int(b >> 4)]))
                out.unicodeScalars.append(Unicode.Scalar(digits[Int(b & 0xF)]))
            }
        }
        return out
    }
}
