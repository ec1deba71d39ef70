/// An IPv4 or IPv6 address as carried in a captured packet.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    /// IPv4, most significant byte first (127.0.0.1 is `0x7F00_0001`).
    case v4(UInt32)
    /// IPv6, 16 bytes in network order.
    case v6(high: UInt64, low: UInt64)

    /// Builds an address from 4 or 16 network-order bytes; `nil` for any other length.
    public init?<C: Collection>(bytes: C) where C.Element == UInt8 {
        switch bytes.count {
        case 4: self = .v4(bytes.reduce(0) { $0 << 8 | UInt32($1) })
        case 16:
            let a = Array(bytes)
            self = .v6(high: a[0..<8].reduce(0) { $0 << 8 | UInt64($1) },
                       low: a[8..<16].reduce(0) { $0 << 8 | UInt64($1) })
        default: return nil
        }
    }

    /// Parses dotted-quad IPv4 or (possibly abbreviated) IPv6 text.
    public init?(_ text: String) {
        if text.contains(":") {
            let halves = text.split(separator: "::", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard halves.count <= 2 else { return nil }
            func groups(_ s: String) -> [UInt16]? {
                if s.isEmpty { return [] }
                var out: [UInt16] = []
                for part in s.split(separator: ":", omittingEmptySubsequences: false) {
                    guard part.count <= 4, let v = UInt16(part, radix: 16) else { return nil }
                    out.append(v)
                }
                return out
            }
            guard let head = groups(halves[0]) else { return nil }
            let tail = halves.count == 2 ? groups(halves[1]) : []
            guard let tail else { return nil }
            let fill = 8 - head.count - tail.count
            guard fill >= 0, halves.count == 2 || fill == 0 else { return nil }
            let all = head + Array(repeating: 0, count: fill) + tail
            self = .v6(high: all[0..<4].reduce(0) { $0 << 16 | UInt64($1) }, low: all[4..<8].reduce(0) { $0 << 16 | UInt64($1) })
        } else {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false).map { UInt8($0) }
            guard parts.count == 4, parts.allSatisfy({ $0 != nil }) else { return nil }
            self = .v4(parts.reduce(0) { $0 << 8 | UInt32($1!) })
        }
    }

    /// The address in network byte order (4 or 16 bytes).
    public var bytes: [UInt8] {
        switch self {
        case .v4(let a): return (0..<4).map { UInt8(truncatingIfNeeded: a >> (24 - 8 * $0)) }
        case .v6(let h, let l):
            return (0..<8).map { UInt8(truncatingIfNeeded: h >> (56 - 8 * $0)) } + (0..<8).map { UInt8(truncatingIfNeeded: l >> (56 - 8 * $0)) }
        }
    }

    /// Whether this is an IPv6 address.
    public var isIPv6: Bool { if case .v6 = self { return true } else { return false } }

    /// Text as tshark prints it: dotted quad, or RFC 5952 compressed IPv6 ("::1").
    public var description: String {
        switch self {
        case .v4: return bytes.map(String.init).joined(separator: ".")
        case .v6:
            let b = bytes
            let g = (0..<8).map { UInt16(b[2 * $0]) << 8 | UInt16(b[2 * $0 + 1]) }
            // Longest run of ≥ 2 zero groups becomes "::" (first such run on ties).
            var bestStart = -1, bestLen = 0, i = 0
            while i < 8 {
                if g[i] == 0 {
                    var j = i
                    while j < 8 && g[j] == 0 { j += 1 }
                    if j - i > bestLen && j - i >= 2 { bestStart = i; bestLen = j - i }
                    i = j
                } else { i += 1 }
            }
            let hex = g.map { String($0, radix: 16) }
            if bestStart < 0 { return hex.joined(separator: ":") }
            let head = hex[0..<bestStart].joined(separator: ":")
            let tail = hex[(bestStart + bestLen)...].joined(separator: ":")
            return head + "::" + tail
        }
    }
}

/// The transport protocol of a five-tuple.
public enum TransportProtocol: UInt8, Hashable, Sendable {
    /// TCP (IP protocol 6).
    case tcp = 6
    /// UDP (IP protocol 17).
    case udp = 17
}

/// Source and destination address and port plus the transport protocol of one packet.
public struct FiveTuple: Hashable, Sendable, CustomStringConvertible {
    /// Source address.
    public var source: IPAddress
    /// Source port.
    public var sourcePort: UInt16
    /// Destination address.
    public var destination: IPAddress
    /// Destination port.
    public var destinationPort: UInt16
    /// UDP or TCP.
    public var transport: TransportProtocol

    /// Creates a five-tuple; both addresses should be of the same IP version.
    public init(source: IPAddress, sourcePort: UInt16, destination: IPAddress, destinationPort: UInt16, transport: TransportProtocol) {
        self.source = source
        self.sourcePort = sourcePort
        self.destination = destination
        self.destinationPort = destinationPort
        self.transport = transport
    }

    /// The same flow seen from the other end.
    public var reversed: FiveTuple {
        FiveTuple(source: destination, sourcePort: destinationPort, destination: source, destinationPort: sourcePort, transport: transport)
    }

    /// `"udp 127.0.0.1:5000 → 192.0.2.7:40000"`, IPv6 addresses in brackets.
    public var description: String {
        func ep(_ a: IPAddress, _ p: UInt16) -> String { a.isIPv6 ? "[\(a)]:\(p)" : "\(a):\(p)" }
        return "\(transport) \(ep(source, sourcePort)) → \(ep(destination, destinationPort))"
    }
}
