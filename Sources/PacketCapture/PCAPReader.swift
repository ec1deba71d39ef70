import CLibPCAP
import NIOCore

/// Reads a pcap or pcapng file through libpcap, yielding every frame in order, decoded.
///
/// Timestamps are read with nanosecond precision (`pcap_open_offline_with_tstamp_precision`), so
/// microsecond files are scaled and nanosecond files are exact. Not thread-safe; use one reader per task.
///
/// ```swift
/// let reader = try PCAPReader(path: "call.pcapng")
/// while let frame = try reader.next() {
///     if case .udp(let d) = frame.transport { print(frame.number, d.fiveTuple, d.payload.readableBytes) }
/// }
/// ```
public final class PCAPReader {
    /// The file path given at creation.
    public let path: String
    /// The link-layer type of the file (for pcapng, of its first interface).
    public let linkType: LinkType
    private var handle: OpaquePointer?
    private var frameNumber = 0

    /// Opens `path`. Throws ``PacketCaptureError/cannotOpen(path:reason:)`` when libpcap cannot read it and
    /// ``PacketCaptureError/unsupportedLinkType(_:)`` when its link type is not decodable.
    public init(path: String) throws(PacketCaptureError) {
        self.path = path
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        guard let h = pcap_open_offline_with_tstamp_precision(path, UInt32(PCAP_TSTAMP_PRECISION_NANO), &errbuf) else {
            throw .cannotOpen(path: path, reason: String(decoding: errbuf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        let dlt = LinkType(rawValue: pcap_datalink(h))
        guard dlt.isSupported else {
            pcap_close(h)
            throw .unsupportedLinkType(dlt.rawValue)
        }
        self.handle = h
        self.linkType = dlt
    }

    deinit {
        if let handle { pcap_close(handle) }
    }

    /// The next frame, or `nil` at the end of the file. Throws ``PacketCaptureError/readFailed(path:frameNumber:reason:)``
    /// when the file is damaged part-way (for example a truncated last record).
    public func next() throws(PacketCaptureError) -> CapturedFrame? {
        guard let handle else { return nil }
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        let rc = pcap_next_ex(handle, &header, &data)
        switch rc {
        case 1:
            guard let header, let data else { return nil }
            frameNumber += 1
            let h = header.pointee
            let caplen = Int(h.caplen)
            var bytes = ByteBuffer()
            bytes.writeBytes(UnsafeRawBufferPointer(start: data, count: caplen))
            // With nanosecond precision libpcap stores nanoseconds in tv_usec.
            let nanos = Int64(h.ts.tv_sec) * 1_000_000_000 + Int64(h.ts.tv_usec)
            return CapturedFrame(number: frameNumber, timestampNanos: nanos, linkType: linkType,
                                 originalLength: Int(h.len), data: bytes,
                                 transport: FrameDecoder.decode(bytes, linkType: linkType))
        case -2:
            close()
            return nil
        default:
            let reason = String(cString: pcap_geterr(handle))
            close()
            throw .readFailed(path: path, frameNumber: frameNumber + 1, reason: reason)
        }
    }

    /// Releases the libpcap handle early; later ``next()`` calls return `nil`.
    public func close() {
        if let handle { pcap_close(handle) }
        handle = nil
    }

    /// Reads every frame of `path`.
    public static func readAll(path: String) throws(PacketCaptureError) -> [CapturedFrame] {
        let reader = try PCAPReader(path: path)
        var frames: [CapturedFrame] = []
        while let f = try reader.next() { frames.append(f) }
        return frames
    }
}
