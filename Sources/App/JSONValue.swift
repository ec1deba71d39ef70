import Foundation

/// A parsed JSON value, kept with its exact JSON type (the Odoo protocol is type-sensitive: `5` ≠ `"5"`).
enum JSONValue: Equatable, Sendable, Decodable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// Parses JSON text (top-level scalars allowed, like `JSON.parse`); `nil` on a syntax error.
    static func parse(_ bytes: [UInt8]) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }

    /// Member lookup like JavaScript's `value[key]` on a parsed object; `nil` (undefined) otherwise.
    subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// JavaScript truthiness of the value.
    var isTruthy: Bool {
        switch self {
        case .null: return false
        case .bool(let value): return value
        case .number(let value): return value != 0 && !value.isNaN
        case .string(let value): return !value.isEmpty
        case .array, .object: return true
        }
    }

    /// JavaScript `ToNumber` of the value (used by the relational comparisons of the JWT time checks).
    var jsNumber: Double {
        switch self {
        case .null: return 0
        case .bool(let value): return value ? 1 : 0
        case .number(let value): return value
        case .string(let value): return JSNumber.parse(value)
        case .array(let elements):
            if elements.isEmpty { return 0 }
            if elements.count == 1 { return elements[0].jsStringForNumber.map(JSNumber.parse) ?? .nan }
            return .nan
        case .object: return .nan
        }
    }

    private var jsStringForNumber: String? {
        switch self {
        case .null: return ""
        case .string(let value): return value
        case .number(let value): return JSNumber.format(value)
        case .bool(let value): return value ? "true" : "false"
        case .array(let elements) where elements.isEmpty: return ""
        default: return nil
        }
    }

    /// JavaScript `String(value)` for scalars (used to build the `remoteAddress::iss` registry key).
    var jsString: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .number(let value): return JSNumber.format(value)
        case .string(let value): return value
        case .array(let elements): return elements.map { $0 == .null ? "" : $0.jsString }.joined(separator: ",")
        case .object: return "[object Object]"
        }
    }
}

/// JavaScript `Number(string)` semantics, as odoo/sfu's configuration relies on them.
enum JSNumber {
    /// `Number(text)`: trims whitespace, `""` → 0, `0x`/`0o`/`0b` prefixes, `Infinity`, decimal/exponent; NaN otherwise.
    static func parse(_ text: String) -> Double {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { return 0 }
        let lower = trimmed.lowercased()
        for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] where lower.hasPrefix(prefix) {
            let digits = lower.dropFirst(2)
            guard !digits.isEmpty else { return .nan }
            var value = 0.0
            for ch in digits {
                guard let digit = ch.hexDigitValue, digit < radix else { return .nan }
                value = value * Double(radix) + Double(digit)
            }
            return value
        }
        switch trimmed {
        case "Infinity", "+Infinity": return .infinity
        case "-Infinity": return -.infinity
        default: break
        }
        // Decimal literal: [+-] digits [. digits] [e [+-] digits], at least one digit in the mantissa.
        var sawDigit = false
        var index = trimmed.startIndex
        func peek() -> Character? { index < trimmed.endIndex ? trimmed[index] : nil }
        if let c = peek(), c == "+" || c == "-" { index = trimmed.index(after: index) }
        while let c = peek(), c.isASCII, c.isNumber { sawDigit = true; index = trimmed.index(after: index) }
        if peek() == "." {
            index = trimmed.index(after: index)
            while let c = peek(), c.isASCII, c.isNumber { sawDigit = true; index = trimmed.index(after: index) }
        }
        guard sawDigit else { return .nan }
        if let c = peek(), c == "e" || c == "E" {
            index = trimmed.index(after: index)
            if let s = peek(), s == "+" || s == "-" { index = trimmed.index(after: index) }
            var expDigit = false
            while let c = peek(), c.isASCII, c.isNumber { expDigit = true; index = trimmed.index(after: index) }
            guard expDigit else { return .nan }
        }
        guard index == trimmed.endIndex else { return .nan }
        return Double(trimmed) ?? .nan
    }

    /// Formats a number the way JavaScript prints integers (enough for ids and NumericDates).
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "Infinity" : "-Infinity" }
        if value == value.rounded(), abs(value) < 1e21 { return String(Int64(value)) }
        return String(value)
    }
}
