/// A pcap link-layer header type (the `LINKTYPE_`/`DLT_` registry of tcpdump.org).
///
/// Only the types WebRTC captures on Linux produce are decoded; others still read, as
/// ``FrameContent/other(_:)``.
public struct LinkType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The `DLT_` value libpcap reports (`pcap_datalink`).
    public var rawValue: Int32
    /// Wraps a `DLT_` value.
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// BSD loopback: a 4-byte address family in the *writer's* byte order.
    public static let null = LinkType(rawValue: 0)
    /// Ethernet II (what `tshark -i lo` records on Linux).
    public static let ethernet = LinkType(rawValue: 1)
    /// Raw IP as libpcap's `DLT_RAW` on Linux (files store it as `LINKTYPE_RAW` 101).
    public static let rawDLT = LinkType(rawValue: 12)
    /// Raw IP, `LINKTYPE_RAW`.
    public static let raw = LinkType(rawValue: 101)
    /// OpenBSD loopback: a 4-byte address family in network byte order.
    public static let loop = LinkType(rawValue: 108)
    /// Linux cooked capture v1 (`tshark -i any`), 16-byte header.
    public static let linuxSLL = LinkType(rawValue: 113)
    /// Raw IPv4 only.
    public static let ipv4 = LinkType(rawValue: 228)
    /// Raw IPv6 only.
    public static let ipv6 = LinkType(rawValue: 229)
    /// Linux cooked capture v2, 20-byte header.
    public static let linuxSLL2 = LinkType(rawValue: 276)

    /// The link types ``FrameDecoder`` decodes and ``PacketSynthesizer`` / ``PCAPWriter`` write.
    public static let supported: [LinkType] = [.null, .ethernet, .rawDLT, .raw, .loop, .linuxSLL, .ipv4, .ipv6, .linuxSLL2]

    /// libpcap-style name such as `"EN10MB"` or `"LINUX_SLL2"`.
    public var description: String {
        switch self {
        case .null: return "NULL"
        case .ethernet: return "EN10MB"
        case .rawDLT, .raw: return "RAW"
        case .loop: return "LOOP"
        case .linuxSLL: return "LINUX_SLL"
        case .ipv4: return "IPV4"
        case .ipv6: return "IPV6"
        case .linuxSLL2: return "LINUX_SLL2"
        default: return "DLT \(rawValue)"
        }
    }
}
