import CLibPCAP
import NIOCore

/// Why a capture file could not be read or written.
public struct PacketCaptureError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Which step failed: opening or creating a file, reading a record, writing, or creating a writer
    /// for a link type ``PacketSynthesizer`` cannot frame (see ``LinkType/supported``).
    public enum Code: Hashable, Sendable { case open, read, write, unsupportedLinkType }
    /// Which step failed.
    public var code: Code
    /// libpcap's message (file name and reason).
    public var message: String
    /// `"<code>: <message>"`.
    public var description: String { "\(code): \(message)" }
}

/// One frame of a capture file, with its 1-based position (tshark's `frame.number`), its time and
/// what it decodes to.
public struct CapturedFrame: Hashable, Sendable {
    /// 1-based index of the frame in the file, counting every frame.
    public var number: Int
    /// Capture time in nanoseconds since the Unix epoch.
    public var timestampNanoseconds: UInt64
    /// Link type of the file (or of this frame's interface, for pcapng).
    public var linkType: LinkType
    /// The captured bytes of the frame (possibly fewer than were on the wire).
    public var bytes: ByteBuffer
    /// Length of the frame on the wire.
    public var originalLength: Int
    /// The decoded UDP datagram, TCP segment, or the reason it is neither.
    public var content: FrameContent
}

/// Reads pcap and pcapng files through libpcap, one ``CapturedFrame`` at a time.
///
/// Not thread-safe: use one reader from one thread.
public final class PCAPReader: Sequence, IteratorProtocol {
    private var handle: OpaquePointer?
    /// Link type of the file.
    public let linkType: LinkType
    private var count = 0
    private let allocator = ByteBufferAllocator()
    /// Set when reading stopped on a libpcap error rather than at the end of the file.
    public private(set) var error: PacketCaptureError?

    /// Opens `path` (pcap or pcapng) with nanosecond timestamps.
    public init(path: String) throws(PacketCaptureError) {
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        guard let h = pcap_open_offline_with_tstamp_precision(path, UInt32(PCAP_TSTAMP_PRECISION_NANO), &errbuf) else {
            throw PacketCaptureError(code: .open, message: String(decoding: errbuf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        handle = h
        linkType = LinkType(rawValue: pcap_datalink(h))
    }

    deinit { if let handle { pcap_close(handle) } }

    /// The next frame, or `nil` at the end of the file (check ``error`` to tell a failure apart).
    public func next() -> CapturedFrame? {
        guard let handle else { return nil }
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        let rc = pcap_next_ex(handle, &header, &data)
        guard rc == 1, let header, let data else {
            if rc == PCAP_ERROR {
                error = PacketCaptureError(code: .read, message: String(cString: pcap_geterr(handle)))
            }
            return nil
        }
        count += 1
        let h = header.pointee
        var bytes = allocator.buffer(capacity: Int(h.caplen))
        bytes.writeBytes(UnsafeRawBufferPointer(start: data, count: Int(h.caplen)))
        let ts = UInt64(h.ts.tv_sec) &* 1_000_000_000 &+ UInt64(h.ts.tv_usec)   // tv_usec holds ns (nano precision)
        return CapturedFrame(number: count, timestampNanoseconds: ts, linkType: linkType, bytes: bytes,
                             originalLength: Int(h.len), content: FrameDecoder.decode(bytes, linkType: linkType))
    }

    /// Every frame of the file at `path`.
    public static func readAll(path: String) throws(PacketCaptureError) -> [CapturedFrame] {
        let reader = try PCAPReader(path: path)
        let frames = Array(reader)
        if let e = reader.error { throw e }
        return frames
    }
}

/// Writes classic pcap files (nanosecond timestamps) through libpcap.
///
/// Not thread-safe. Call ``close()`` (or let it deinitialise) to flush.
public final class PCAPWriter {
    private var dead: OpaquePointer?
    private var dumper: OpaquePointer?
    /// The link type every frame written must carry.
    public let linkType: LinkType

    /// Creates (truncates) `path` for frames of `linkType`.
    /// Throws code `.unsupportedLinkType` unless `linkType` is one of ``LinkType/supported``.
    public init(path: String, linkType: LinkType, snapshotLength: Int32 = 262_144) throws(PacketCaptureError) {
        guard LinkType.supported.contains(linkType) else {
            throw PacketCaptureError(code: .unsupportedLinkType, message: "cannot write frames of link type \(linkType)")
        }
        self.linkType = linkType
        // libpcap takes DLT values here and stores the matching LINKTYPE value in the file.
        let dlt = linkType == .raw ? LinkType.rawDLT.rawValue : linkType.rawValue
        guard let d = pcap_open_dead_with_tstamp_precision(dlt, snapshotLength, UInt32(PCAP_TSTAMP_PRECISION_NANO)) else {
            throw PacketCaptureError(code: .open, message: "pcap_open_dead failed for \(linkType)")
        }
        guard let dump = pcap_dump_open(d, path) else {
            let message = String(cString: pcap_geterr(d))
            pcap_close(d)
            throw PacketCaptureError(code: .open, message: message)
        }
        dead = d
        dumper = dump
    }

    deinit { close() }

    /// Appends one frame (link header included) captured at `timestampNanoseconds`.
    public func write(frame: ByteBuffer, timestampNanoseconds: UInt64) {
        guard let dumper else { return }
        var header = pcap_pkthdr()
        header.ts.tv_sec = Int(timestampNanoseconds / 1_000_000_000)
        header.ts.tv_usec = Int(timestampNanoseconds % 1_000_000_000)
        header.caplen = UInt32(frame.readableBytes)
        header.len = UInt32(frame.readableBytes)
        frame.withUnsafeReadableBytes { raw in
            pcap_dump(UnsafeMutableRawPointer(dumper).assumingMemoryBound(to: UInt8.self), &header,
                      raw.baseAddress?.assumingMemoryBound(to: UInt8.self))
        }
    }

    /// Appends a UDP datagram wrapped in synthetic IP/UDP and link headers (see ``PacketSynthesizer``).
    public func writeUDP(_ payload: ByteBuffer, fiveTuple: FiveTuple, timestampNanoseconds: UInt64) {
        write(frame: PacketSynthesizer.frame(linkType: linkType, fiveTuple: fiveTuple, payload: payload),
              timestampNanoseconds: timestampNanoseconds)
    }

    /// Flushes buffered frames to disk.
    public func flush() { if let dumper { pcap_dump_flush(dumper) } }

    /// Flushes and closes the file. Further writes are ignored.
    public func close() {
        if let dumper { pcap_dump_close(dumper) }
        if let dead { pcap_close(dead) }
        dumper = nil
        dead = nil
    }
}
