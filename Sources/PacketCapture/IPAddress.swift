/// An IPv4 or IPv6 address as a small value type.
///
/// `description` prints the textual form tshark uses: dotted quad for IPv4 (`"127.0.0.1"`) and the
/// RFC 5952 canonical form for IPv6 (`"::1"`, `"2001:db8::1"`), so it compares directly with the
/// `ip.src` / `ipv6.src` columns of a golden TSV.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    /// An IPv4 address, host integer in network (big-endian) significance: `127.0.0.1` is `0x7F00_0001`.
    case v4(UInt32)
    /// An IPv6 address as its high and low 64 bits (network significance).
    case v6(high: UInt64, low: UInt64)

    /// IPv4 address from four octets.
    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        self = .v4(UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d))
    }

    /// `::1`, the IPv6 loopback address.
    public static let ipv6Loopback = IPAddress.v6(high: 0, low: 1)
    /// `127.0.0.1`, the IPv4 loopback address.
    public static let ipv4Loopback = IPAddress(127, 0, 0, 1)

    /// Parses dotted-quad IPv4 or RFC 4291 textual IPv6 (with `::` compression; no zone, no embedded IPv4).
    /// Returns `nil` when the text is not an address.
    public init?(_ text: String) {
        if text.contains(":") {
            guard let (hi, lo) = IPAddress.parseV6(text) else { return nil }
            self = .v6(high: hi, low: lo)
        } else {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 4 else { return nil }
            var value: UInt32 = 0
            for p in parts {
                guard !p.isEmpty, p.count <= 3, let octet = UInt8(p) else { return nil }
                value = value << 8 | UInt32(octet)
            }
            self = .v4(value)
        }
    }

    /// 4 for IPv4, 6 for IPv6.
    public var version: Int {
        if case .v4 = self { return 4 }
        return 6
    }

    /// The address in network byte order (4 or 16 bytes).
    public var bytes: [UInt8] {
        switch self {
        case .v4(let v):
            return [UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
        case .v6(let hi, let lo):
            var out: [UInt8] = []
            out.reserveCapacity(16)
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: hi >> UInt64(shift))) }
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: lo >> UInt64(shift))) }
            return out
        }
    }

    /// Textual form (see the type's documentation).
    public var description: String {
        switch self {
        case .v4(let v):
            return "\(v >> 24).\((v >> 16) & 0xFF).\((v >> 8) & 0xFF).\(v & 0xFF)"
        case .v6(let hi, let lo):
            var groups = [UInt16](repeating: 0, count: 8)
            for i in 0..<4 {
                groups[i] = UInt16(truncatingIfNeeded: hi >> UInt64(48 - 16 * i))
                groups[4 + i] = UInt16(truncatingIfNeeded: lo >> UInt64(48 - 16 * i))
            }
            // RFC 5952 §4.2: compress the longest run (length >= 2) of zero groups, the first one on ties.
            var bestStart = -1, bestLen = 0, runStart = -1
            for i in 0...8 {
                if i < 8 && groups[i] == 0 {
                    if runStart < 0 { runStart = i }
                } else if runStart >= 0 {
                    let len = i - runStart
                    if len > bestLen && len >= 2 { bestStart = runStart; bestLen = len }
                    runStart = -1
                }
            }
            func hex(_ g: UInt16) -> String { String(g, radix: 16) }
            if bestStart < 0 { return groups.map(hex).joined(separator: ":") }
            let head = groups[0..<bestStart].map(hex).joined(separator: ":")
            let tail = groups[(bestStart + bestLen)...].map(hex).joined(separator: ":")
            return head + "::" + tail
        }
    }

    private static func parseV6(_ text: String) -> (UInt64, UInt64)? {
        func groups(_ s: Substring) -> [UInt16]? {
            if s.isEmpty { return [] }
            var out: [UInt16] = []
            for g in s.split(separator: ":", omittingEmptySubsequences: false) {
                guard !g.isEmpty, g.count <= 4, let v = UInt16(g, radix: 16) else { return nil }
                out.append(v)
            }
            return out
        }
        var all: [UInt16]
        let scalars = Array(text.utf8)
        var split: Int? = nil
        for i in 0..<max(0, scalars.count - 1) where scalars[i] == UInt8(ascii: ":") && scalars[i + 1] == UInt8(ascii: ":") {
            split = i
            break
        }
        if let split {
            let lower = text.utf8.index(text.utf8.startIndex, offsetBy: split)
            let upper = text.utf8.index(lower, offsetBy: 2)
            guard let head = groups(text[..<lower]), let tail = groups(text[upper...]),
                  head.count + tail.count <= 7 else { return nil }
            all = head + [UInt16](repeating: 0, count: 8 - head.count - tail.count) + tail
        } else {
            guard let g = groups(Substring(text)), g.count == 8 else { return nil }
            all = g
        }
        var hi: UInt64 = 0, lo: UInt64 = 0
        for i in 0..<4 { hi = hi << 16 | UInt64(all[i]); lo = lo << 16 | UInt64(all[4 + i]) }
        return (hi, lo)
    }
}

/// The transport protocol of a ``FiveTuple``.
public enum TransportProtocol: UInt8, Hashable, Sendable, CustomStringConvertible {
    /// TCP, IP protocol number 6.
    case tcp = 6
    /// UDP, IP protocol number 17.
    case udp = 17

    /// `"tcp"` or `"udp"`.
    public var description: String { self == .tcp ? "tcp" : "udp" }
}

/// Source and destination address and port plus the transport protocol of one datagram or segment.
public struct FiveTuple: Hashable, Sendable, CustomStringConvertible {
    /// Source IP address.
    public var source: IPAddress
    /// Source port.
    public var sourcePort: UInt16
    /// Destination IP address.
    public var destination: IPAddress
    /// Destination port.
    public var destinationPort: UInt16
    /// UDP or TCP.
    public var proto: TransportProtocol

    /// Creates a five-tuple. Source and destination should be of the same IP version.
    public init(source: IPAddress, sourcePort: UInt16, destination: IPAddress, destinationPort: UInt16, proto: TransportProtocol) {
        self.source = source
        self.sourcePort = sourcePort
        self.destination = destination
        self.destinationPort = destinationPort
        self.proto = proto
    }

    /// The same flow seen from the other side (source and destination swapped).
    public var reversed: FiveTuple {
        FiveTuple(source: destination, sourcePort: destinationPort, destination: source, destinationPort: sourcePort, proto: proto)
    }

    /// `"udp 127.0.0.1:5000 -> 127.0.0.1:6000"` (IPv6 addresses in brackets).
    public var description: String {
        func ep(_ a: IPAddress, _ p: UInt16) -> String { a.version == 6 ? "[\(a)]:\(p)" : "\(a):\(p)" }
        return "\(proto) \(ep(source, sourcePort)) -> \(ep(destination, destinationPort))"
    }
}
