import Foundation
import ICE
import NIOCore
import PacketCapture
import SFU

/// The plaintext debugging tap (`RTC_PLAINTEXT_TAP_DIR`): every transport's RTP and RTCP in the clear
/// (after SRTP on the way in, before it on the way out), written as one classic pcap per transport that
/// Wireshark opens — like Janus's text2pcap dumps — so a call made through the server can become a new
/// capture in `Captures/`.
///
/// Files are `<directory>/<label>-<transportId>.pcap` (`…-1.pcap` and so on if that exists), the label being the transport's channel (or the
/// worker's name when the channel is unknown), created on the transport's first packet. Each packet gets
/// synthetic Ethernet/IP/UDP headers (``PacketSynthesizer``): inbound from the peer's address and port to
/// the server's announced address and port, outbound the other way, with the time it was tapped. ICE-TCP
/// tuples are written as UDP too (with the TCP port), since Wireshark dissects RTP over UDP directly.
///
/// Bounded: a file stops growing past ``Limits/maxFileBytes`` (the rest of that transport is not written);
/// at most ``Limits/maxOpenFiles`` files are open at once (later transports are not tapped). Files are
/// flushed every ``Limits/flushInterval`` by ``tick(now:)`` and closed by ``close(_:)``.
///
/// Not thread-safe: one tap per worker, used on the worker's event loop. Writes are buffered stdio writes
/// on that loop, acceptable for a debugging aid.
final class PlaintextTap {
    /// The bounds of one tap.
    struct Limits: Sendable {
        /// Bytes (pcap records included) after which a transport's file stops growing.
        var maxFileBytes = 200 << 20
        /// Files open at once.
        var maxOpenFiles = 256
        /// How often written files are flushed.
        var flushInterval: Duration = .seconds(1)
    }

    /// What happened to a transport's file, for logs.
    enum Notice: Equatable, Sendable, CustomStringConvertible {
        case opened(String, path: String)
        case failed(String, reason: String)
        case full(String, path: String)
        case tooManyFiles(String)

        var description: String {
            switch self {
            case .opened(let id, let path): return "transport \(id): writing plaintext RTP/RTCP to \(path)"
            case .failed(let id, let reason): return "transport \(id): cannot write its plaintext capture: \(reason)"
            case .full(let id, let path): return "transport \(id): \(path) reached its size limit, no longer written"
            case .tooManyFiles(let id): return "transport \(id): not tapped (too many capture files open)"
            }
        }
    }

    let directory: String
    let limits: Limits
    private let fallbackLabel: String
    private let serverAddress: String
    private let udpPort: UInt16
    private let tcpPort: UInt16
    private let label: (String) -> String?
    private var files: [String: File] = [:]
    private var dirty: [File] = []
    private var nextFlush: Duration = .zero
    private let notify: (Notice) -> Void

    private final class File {
        let path: String
        var writer: PCAPWriter?
        var bytes = 0
        var dirty = false
        init(path: String, writer: PCAPWriter?) {
            self.path = path
            self.writer = writer
        }
    }

    /// A tap writing into `directory` (created if missing) for a server announced at `serverAddress`
    /// (an IP address; anything else is written as the unspecified address) on `udpPort`/`tcpPort`.
    /// - Parameters:
    ///   - fallbackLabel: the file-name prefix when `label` does not know a transport (the worker's name).
    ///   - notify: told when a file is opened, fails, fills up or is not opened (the worker logs it).
    ///   - label: the channel of a transport, asked once, when its file is created.
    init(directory: String, serverAddress: String, udpPort: Int, tcpPort: Int?, fallbackLabel: String,
         limits: Limits = Limits(), notify: @escaping (Notice) -> Void = { _ in },
         label: @escaping (String) -> String? = { _ in nil }) {
        self.directory = directory
        self.serverAddress = serverAddress
        self.udpPort = UInt16(clamping: udpPort)
        self.tcpPort = UInt16(clamping: tcpPort ?? udpPort)
        self.fallbackLabel = fallbackLabel
        self.limits = limits
        self.label = label
        self.notify = notify
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    deinit { closeAll() }

    /// The wall-clock time in nanoseconds since the Unix epoch (pcap timestamps).
    static func wallClockNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// The file of transport `id` (`nil` until its first packet).
    func path(of id: String) -> String? { files[id]?.path }

    /// Files currently open.
    var openFileCount: Int { files.values.count { $0.writer != nil } }

    /// Writes one tapped packet of transport `id`.
    func record(_ id: String, _ packet: PlaintextPacket, timestampNanoseconds: UInt64 = wallClockNanoseconds()) {
        record(id, direction: packet.direction, remote: packet.remote, bytes: packet.bytes, timestampNanoseconds: timestampNanoseconds)
    }

    /// Writes one packet of transport `id`: RTP or RTCP in the clear, received from or sent to `remote`.
    func record(_ id: String, direction: PlaintextPacket.Direction, remote: ICETuple, bytes: ByteBuffer,
                timestampNanoseconds: UInt64 = wallClockNanoseconds()) {
        let file: File
        if let f = files[id] {
            file = f
        } else {
            file = open(id)
        }
        guard let writer = file.writer else { return }
        let frame = PacketSynthesizer.frame(linkType: writer.linkType, fiveTuple: fiveTuple(direction, remote), payload: bytes)
        let size = 16 + frame.readableBytes   // pcap record header + frame
        guard file.bytes + size <= limits.maxFileBytes else {
            writer.close()
            file.writer = nil
            notify(.full(id, path: file.path))
            return
        }
        writer.write(frame: frame, timestampNanoseconds: timestampNanoseconds)
        file.bytes += size
        if !file.dirty {
            file.dirty = true
            dirty.append(file)
        }
    }

    /// Flushes the files written since the last flush when ``Limits/flushInterval`` has passed.
    func tick(now: Duration) {
        guard now >= nextFlush else { return }
        nextFlush = now + limits.flushInterval
        flush()
    }

    /// Flushes every file written since the last flush.
    func flush() {
        for file in dirty {
            file.dirty = false
            file.writer?.flush()
        }
        dirty.removeAll(keepingCapacity: true)
    }

    /// Closes (and forgets) transport `id`'s file.
    func close(_ id: String) {
        guard let file = files.removeValue(forKey: id) else { return }
        file.writer?.close()
        file.writer = nil
        dirty.removeAll { $0 === file }
    }

    /// Closes every file.
    func closeAll() {
        for id in Array(files.keys) { close(id) }
    }

    // MARK: - Internals

    private func open(_ id: String) -> File {
        let name = Self.fileName(label: label(id) ?? fallbackLabel, transport: id)
        var path = (directory as NSString).appendingPathComponent(name)
        var copy = 1
        while FileManager.default.fileExists(atPath: path) {   // never truncate an earlier capture
            path = (directory as NSString).appendingPathComponent(String(name.dropLast(5)) + "-\(copy).pcap")
            copy += 1
        }
        guard openFileCount < limits.maxOpenFiles else {
            notify(.tooManyFiles(id))
            let file = File(path: path, writer: nil)
            files[id] = file
            return file
        }
        do {
            let file = File(path: path, writer: try PCAPWriter(path: path, linkType: .ethernet))
            file.bytes = 24   // pcap file header
            files[id] = file
            notify(.opened(id, path: path))
            return file
        } catch {
            notify(.failed(id, reason: "\(error)"))
            let file = File(path: path, writer: nil)
            files[id] = file
            return file
        }
    }

    /// `<label>-<transport>.pcap` with anything but letters, digits, `.`, `_` and `-` replaced by `_`.
    static func fileName(label: String, transport: String) -> String {
        func safe(_ s: String) -> String {
            let cleaned = String(s.unicodeScalars.map { c -> Character in
                c.isASCII && (CharacterSet.alphanumerics.contains(c) || "._-".unicodeScalars.contains(c)) ? Character(c) : "_"
            })
            return cleaned.hasPrefix(".") ? "_" + cleaned.dropFirst() : cleaned
        }
        return "\(safe(label))-\(safe(transport)).pcap"
    }

    /// Peer ↔ server as seen on the wire: inbound peer → server, outbound server → peer.
    private func fiveTuple(_ direction: PlaintextPacket.Direction, _ tuple: ICETuple) -> FiveTuple {
        let remote: IPAddress, remotePort: UInt16
        switch tuple.remote {
        case .v4(let address, let port): (remote, remotePort) = (.v4(address), port)
        case .v6(let high, let low, let port): (remote, remotePort) = (.v6(high: high, low: low), port)
        }
        var local = IPAddress(serverAddress) ?? (remote.isIPv6 ? .v6(high: 0, low: 0) : .v4(0))
        if local.isIPv6 != remote.isIPv6 { local = remote.isIPv6 ? .v6(high: 0, low: 0) : .v4(0) }
        let localPort = tuple.transport == .tcp ? tcpPort : udpPort
        let inbound = FiveTuple(source: remote, sourcePort: remotePort, destination: local, destinationPort: localPort, transport: .udp)
        return direction == .inbound ? inbound : inbound.reversed
    }
}
