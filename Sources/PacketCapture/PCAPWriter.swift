import CLibPCAP
import NIOCore

/// Timestamp resolution of a written classic pcap file.
public enum PCAPTimestampPrecision: Sendable {
    /// Microseconds (magic `a1b2c3d4`): the most widely readable form. Nanoseconds are truncated.
    case microseconds
    /// Nanoseconds (magic `a1b23c4d`): exact; read by Wireshark, tshark and libpcap ≥ 1.5.
    case nanoseconds
}

/// Writes a classic pcap file through libpcap (`pcap_open_dead_with_tstamp_precision`, `pcap_dump_open`,
/// `pcap_dump`), with a chosen link type.
///
/// Use ``write(frame:timestampNanos:originalLength:)`` for ready-made link-layer frames, or
/// ``writeUDP(payload:fiveTuple:timestampNanos:)`` / ``writeTCP(payload:fiveTuple:sequenceNumber:acknowledgmentNumber:flags:window:timestampNanos:)``
/// to have IP and transport headers synthesised (text2pcap-style) around a payload — for example
/// to dump decrypted RTP/RTCP that Wireshark can open. See ``PacketSynthesis`` for the header details.
public final class PCAPWriter {
    /// Output path.
    public let path: String
    /// Link-layer type written in the file header.
    public let linkType: LinkType
    /// Timestamp resolution.
    public let precision: PCAPTimestampPrecision
    private var pcap: OpaquePointer?
    private var dumper: OpaquePointer?
    private var ipIdentification: UInt16 = 0

    /// Creates (truncates) `path`. `linkType` must be one of ``LinkType/supported``.
    public init(path: String, linkType: LinkType, precision: PCAPTimestampPrecision = .microseconds,
                snapLength: Int32 = 262_144) throws(PacketCaptureError) {
        guard LinkType.supported.contains(linkType) else { throw .unsupportedLinkType(linkType.rawValue) }
        self.path = path
        self.linkType = linkType
        self.precision = precision
        let p = UInt32(precision == .nanoseconds ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO)
        guard let pcap = pcap_open_dead_with_tstamp_precision(linkType.rawValue, snapLength, p) else {
            throw .cannotCreate(path: path, reason: "pcap_open_dead failed")
        }
        guard let dumper = pcap_dump_open(pcap, path) else {
            let reason = String(cString: pcap_geterr(pcap))
            pcap_close(pcap)
            throw .cannotCreate(path: path, reason: reason)
        }
        self.pcap = pcap
        self.dumper = dumper
    }

    deinit { close() }

    /// Appends one link-layer frame. `originalLength` defaults to the frame's length.
    public func write(frame: ByteBuffer, timestampNanos: Int64, originalLength: Int? = nil) throws(PacketCaptureError) {
        guard let dumper else { throw .writeFailed(reason: "writer for \(path) is closed") }
        var header = pcap_pkthdr()
        let seconds = timestampNanos >= 0 ? timestampNanos / 1_000_000_000 : (timestampNanos - 999_999_999) / 1_000_000_000
        let subsecond = timestampNanos - seconds * 1_000_000_000
        header.ts.tv_sec = Int(seconds)
        header.ts.tv_usec = Int(precision == .nanoseconds ? subsecond : subsecond / 1000)
        header.caplen = UInt32(frame.readableBytes)
        header.len = UInt32(originalLength ?? frame.readableBytes)
        frame.withUnsafeReadableBytes { raw in
            let user = UnsafeMutableRawPointer(dumper).assumingMemoryBound(to: UInt8.self)
            pcap_dump(user, &header, raw.bindMemory(to: UInt8.self).baseAddress)
        }
    }

    /// Synthesises IP + UDP headers for `fiveTuple` around `payload`, frames it for the writer's link type
    /// and appends it.
    public func writeUDP(payload: ByteBuffer, fiveTuple: FiveTuple, timestampNanos: Int64) throws(PacketCaptureError) {
        ipIdentification &+= 1
        let ip = try PacketSynthesis.udpPacket(payload: payload, fiveTuple: fiveTuple, identification: ipIdentification)
        try write(frame: PacketSynthesis.frame(ip, linkType: linkType), timestampNanos: timestampNanos)
    }

    /// Synthesises IP + TCP headers (no options) for `fiveTuple` around `payload`, frames it and appends it.
    public func writeTCP(payload: ByteBuffer, fiveTuple: FiveTuple, sequenceNumber: UInt32, acknowledgmentNumber: UInt32 = 0,
                         flags: TCPFlags = [.ack, .psh], window: UInt16 = 65535, timestampNanos: Int64) throws(PacketCaptureError) {
        ipIdentification &+= 1
        let ip = try PacketSynthesis.tcpPacket(payload: payload, fiveTuple: fiveTuple, sequenceNumber: sequenceNumber,
                                               acknowledgmentNumber: acknowledgmentNumber, flags: flags, window: window,
                                               identification: ipIdentification)
        try write(frame: PacketSynthesis.frame(ip, linkType: linkType), timestampNanos: timestampNanos)
    }

    /// Flushes buffered records to disk.
    public func flush() {
        if let dumper { pcap_dump_flush(dumper) }
    }

    /// Flushes and closes the file. Further writes throw.
    public func close() {
        if let dumper { pcap_dump_close(dumper) }
        if let pcap { pcap_close(pcap) }
        dumper = nil
        pcap = nil
    }
}
