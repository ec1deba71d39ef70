/// Base64 decoding with Node.js `Buffer.from(string, "base64")` semantics (docs/protocol.md §2.2).
///
/// - Both alphabets, mixed freely: `+`/`-` = 62, `/`/`_` = 63.
/// - Any other character outside the alphabet (whitespace, punctuation, non-ASCII) is skipped.
/// - The first `=` ends decoding; padding is optional and excess padding is harmless.
/// - A trailing single sextet is dropped, two sextets give one byte, three give two.
/// - Never fails.
///
/// Used for JWT segments, `AUTH_KEY` and the per-channel `key` claim: strict decoders reject real Odoo tokens.
enum NodeBase64 {
    /// Decodes `string` the way Node's lenient base64 decoder does.
    static func decode(_ string: String) -> [UInt8] {
        decode(utf8: string.utf8)
    }

    /// Decodes UTF-8 bytes the way Node's lenient base64 decoder does.
    static func decode<C: Collection<UInt8>>(utf8 bytes: C) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 3 / 4)
        var acc: UInt32 = 0
        var count = 0
        for byte in bytes {
            if byte == UInt8(ascii: "=") { break }
            guard let value = sextet(byte) else { continue }
            acc = (acc << 6) | UInt32(value)
            count += 1
            if count == 4 {
                out.append(UInt8(truncatingIfNeeded: acc >> 16))
                out.append(UInt8(truncatingIfNeeded: acc >> 8))
                out.append(UInt8(truncatingIfNeeded: acc))
                acc = 0
                count = 0
            }
        }
        switch count {
        case 2:
            out.append(UInt8(truncatingIfNeeded: acc >> 4))
        case 3:
            out.append(UInt8(truncatingIfNeeded: acc >> 10))
            out.append(UInt8(truncatingIfNeeded: acc >> 2))
        default:
            break
        }
        return out
    }

    private static func sextet(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return byte - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return byte - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"), UInt8(ascii: "-"): return 62
        case UInt8(ascii: "/"), UInt8(ascii: "_"): return 63
        default: return nil
        }
    }
}
