extension JSONValue {
    /// Compact JSON text, numbers printed as JavaScript's `JSON.stringify` prints them for the values the
    /// bus carries (integers without a fraction).
    var jsonText: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let n):
            if n.isFinite && n == n.rounded() && abs(n) < 9.007_199_254_740_992e15 { return String(Int64(n)) }
            return n.isFinite ? String(n) : "null"
        case .string(let s): return JSONText.string(s)
        case .array(let items): return "[" + items.map(\.jsonText).joined(separator: ",") + "]"
        case .object(let members):
            return "{" + members.sorted { $0.key < $1.key }.map { JSONText.string($0.key) + ":" + $0.value.jsonText }.joined(separator: ",") + "}"
        }
    }

    /// The value as an object key, as JavaScript coerces it (`57` → "57").
    var propertyKey: String {
        if case .string(let s) = self { return s }
        return jsonText
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral {
    init(stringLiteral value: String) { self = .string(value) }
    init(booleanLiteral value: Bool) { self = .bool(value) }
}
