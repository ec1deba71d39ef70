import NIOCore

/// A link-layer header type as libpcap reports it (`pcap_datalink`, a `DLT_` value).
///
/// Note that libpcap maps the on-disk `LINKTYPE_` value to the platform's `DLT_` value: a file that
/// says `LINKTYPE_RAW` (101) is reported as `DLT_RAW` (12 on Linux).
public struct LinkType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The `DLT_` value.
    public var rawValue: Int32
    /// Wraps a `DLT_` value.
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// BSD loopback (`DLT_NULL`, 0): 4-byte address family in the *capturing host's* byte order.
    public static let null = LinkType(rawValue: 0)
    /// Ethernet (`DLT_EN10MB`, 1), including 802.1Q / 802.1ad VLAN tags.
    public static let ethernet = LinkType(rawValue: 1)
    /// Raw IP (`DLT_RAW`, 12 on Linux; `LINKTYPE_RAW` 101 on disk): version taken from the first nibble.
    public static let raw = LinkType(rawValue: 12)
    /// OpenBSD loopback (`DLT_LOOP`, 108): 4-byte address family in *network* byte order.
    public static let loop = LinkType(rawValue: 108)
    /// Linux cooked capture v1 (`DLT_LINUX_SLL`, 113), 16-byte header.
    public static let linuxSLL = LinkType(rawValue: 113)
    /// Raw IPv4 (`DLT_IPV4`, 228).
    public static let ipv4 = LinkType(rawValue: 228)
    /// Raw IPv6 (`DLT_IPV6`, 229).
    public static let ipv6 = LinkType(rawValue: 229)
    /// Linux cooked capture v2 (`DLT_LINUX_SLL2`, 276), 20-byte header.
    public static let linuxSLL2 = LinkType(rawValue: 276)

    /// Every link type this module decodes and can write.
    public static let supported: [LinkType] = [.null, .ethernet, .raw, .loop, .linuxSLL, .ipv4, .ipv6, .linuxSLL2]

    /// Whether ``FrameDecoder`` understands this link type. `DLT_RAW` is also accepted as 14 (OpenBSD)
    /// and 101 (the on-disk `LINKTYPE_RAW` value).
    public var isSupported: Bool { LinkType.supported.contains(self) || rawValue == 14 || rawValue == 101 }

    /// A short name such as `"EN10MB"` or `"LINUX_SLL2"`.
    public var description: String {
        switch rawValue {
        case 0: "NULL"
        case 1: "EN10MB"
        case 12, 14, 101: "RAW"
        case 108: "LOOP"
        case 113: "LINUX_SLL"
        case 228: "IPV4"
        case 229: "IPV6"
        case 276: "LINUX_SLL2"
        default: "DLT(\(rawValue))"
        }
    }
}

/// TCP header flags (RFC 9293 §3.1, plus the ECN bits of RFC 3168).
public struct TCPFlags: OptionSet, Hashable, Sendable {
    /// The 8 flag bits of byte 13 of the TCP header (CWR is the top bit, FIN the bottom).
    public var rawValue: UInt8
    /// Wraps raw flag bits.
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// FIN: no more data from sender.
    public static let fin = TCPFlags(rawValue: 0x01)
    /// SYN: synchronise sequence numbers.
    public static let syn = TCPFlags(rawValue: 0x02)
    /// RST: reset the connection.
    public static let rst = TCPFlags(rawValue: 0x04)
    /// PSH: push function.
    public static let psh = TCPFlags(rawValue: 0x08)
    /// ACK: the acknowledgment field is significant.
    public static let ack = TCPFlags(rawValue: 0x10)
    /// URG: the urgent pointer is significant.
    public static let urg = TCPFlags(rawValue: 0x20)
    /// ECE: ECN echo.
    public static let ece = TCPFlags(rawValue: 0x40)
    /// CWR: congestion window reduced.
    public static let cwr = TCPFlags(rawValue: 0x80)
}

/// One UDP datagram decoded from a frame.
public struct UDPDatagram: Hashable, Sendable {
    /// Addresses, ports and protocol (always `.udp`).
    public var fiveTuple: FiveTuple
    /// The UDP checksum field as found on the wire (0 means "not computed" over IPv4).
    public var checksum: UInt16
    /// The UDP payload (bounded by the UDP length field).
    public var payload: ByteBuffer

    /// Creates a datagram value.
    public init(fiveTuple: FiveTuple, checksum: UInt16 = 0, payload: ByteBuffer) {
        self.fiveTuple = fiveTuple
        self.checksum = checksum
        self.payload = payload
    }
}

/// One TCP segment decoded from a frame.
public struct TCPSegment: Hashable, Sendable {
    /// Addresses, ports and protocol (always `.tcp`).
    public var fiveTuple: FiveTuple
    /// Sequence number (raw, not relative).
    public var sequenceNumber: UInt32
    /// Acknowledgment number (raw; meaningful when `flags` contains `.ack`).
    public var acknowledgmentNumber: UInt32
    /// Header flags.
    public var flags: TCPFlags
    /// Receive window (unscaled).
    public var window: UInt16
    /// The TCP checksum field as found on the wire.
    public var checksum: UInt16
    /// Urgent pointer.
    public var urgentPointer: UInt16
    /// The raw option bytes between the fixed 20-byte header and the payload (possibly empty).
    public var options: ByteBuffer
    /// The segment payload.
    public var payload: ByteBuffer

    /// Creates a segment value.
    public init(fiveTuple: FiveTuple, sequenceNumber: UInt32, acknowledgmentNumber: UInt32, flags: TCPFlags,
                window: UInt16 = 65535, checksum: UInt16 = 0, urgentPointer: UInt16 = 0,
                options: ByteBuffer = ByteBuffer(), payload: ByteBuffer) {
        self.fiveTuple = fiveTuple
        self.sequenceNumber = sequenceNumber
        self.acknowledgmentNumber = acknowledgmentNumber
        self.flags = flags
        self.window = window
        self.checksum = checksum
        self.urgentPointer = urgentPointer
        self.options = options
        self.payload = payload
    }
}

/// What a frame carried at the transport layer.
public enum CapturedTransport: Hashable, Sendable {
    /// A complete UDP datagram.
    case udp(UDPDatagram)
    /// A TCP segment.
    case tcp(TCPSegment)
    /// Anything else, with a short reason: `"ethertype 0x0806"`, `"IPv4 fragment id=… offset=…"`,
    /// `"IPv6 fragment"`, `"ip protocol 1"`, `"truncated UDP header"`, …
    case other(String)

    /// The UDP datagram, if this is one.
    public var udp: UDPDatagram? { if case .udp(let d) = self { d } else { nil } }
    /// The TCP segment, if this is one.
    public var tcp: TCPSegment? { if case .tcp(let s) = self { s } else { nil } }
    /// The five-tuple of a UDP datagram or TCP segment.
    public var fiveTuple: FiveTuple? {
        switch self {
        case .udp(let d): d.fiveTuple
        case .tcp(let s): s.fiveTuple
        case .other: nil
        }
    }
    /// The transport payload of a UDP datagram or TCP segment.
    public var payload: ByteBuffer? {
        switch self {
        case .udp(let d): d.payload
        case .tcp(let s): s.payload
        case .other: nil
        }
    }
}

/// One record of a capture file, decoded down to the transport layer.
public struct CapturedFrame: Hashable, Sendable {
    /// 1-based index of the frame in the file, counting every frame (tshark's `frame.number`).
    public var number: Int
    /// Capture time in nanoseconds since the Unix epoch.
    public var timestampNanos: Int64
    /// Link-layer header type of the file.
    public var linkType: LinkType
    /// Length of the frame on the wire (may exceed `data.readableBytes` when the snap length cut it).
    public var originalLength: Int
    /// The captured bytes, starting at the link-layer header.
    public var data: ByteBuffer
    /// The decoded transport layer.
    public var transport: CapturedTransport

    /// Creates a frame value.
    public init(number: Int, timestampNanos: Int64, linkType: LinkType, originalLength: Int, data: ByteBuffer, transport: CapturedTransport) {
        self.number = number
        self.timestampNanos = timestampNanos
        self.linkType = linkType
        self.originalLength = originalLength
        self.data = data
        self.transport = transport
    }
}
