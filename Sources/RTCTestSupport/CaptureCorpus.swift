import NIOCore
import PacketCapture
#if canImport(Glibc)
import Glibc
#endif

/// The repository's `Captures/` corpus of real WebRTC traffic, for conformance tests, fuzz seeds and
/// benchmarks. Found by walking up from this source file, so it works from any test target without
/// SwiftPM resources (which cannot reach outside a target's folder).
public enum CaptureCorpus {
    /// Absolute path of the `Captures/` directory.
    public static let directory: String = {
        var dir = String(#filePath)
        while let slash = dir.lastIndex(of: "/"), dir != "/" {
            dir = String(dir[..<slash])
            let candidate = dir + "/Captures"
            if isDirectory(candidate) && isFile(dir + "/Package.swift") { return candidate }
        }
        fatalError("Captures/ not found above \(#filePath)")
    }()

    /// Every `*.pcap` / `*.pcapng` under `Captures/` (recursively, excluding `tools/`), sorted by path.
    public static var captures: [CaptureFile] { captures(in: directory) }

    /// Every `*.pcap` / `*.pcapng` under `directory` (recursively, excluding `tools/`), sorted by path.
    /// Used by tests that run against their own fixture directories rather than `Captures/`.
    public static func captures(in directory: String) -> [CaptureFile] {
        listFiles(directory).filter { ($0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng")) && !$0.contains("/tools/") }
            .sorted().map(CaptureFile.init(path:))
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    static func isFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    static func listFiles(_ dir: String) -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var out: [String] = []
        while let entry = readdir(d) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            let path = dir + "/" + name
            if isDirectory(path) { out += listFiles(path) } else { out.append(path) }
        }
        return out
    }
}

/// One UDP datagram of a capture, with the frame it came from.
public struct CapturedDatagram: Sendable {
    /// tshark's `frame.number` of the frame (1-based).
    public var frameNumber: Int
    /// Capture time, nanoseconds since the Unix epoch.
    public var timestampNanoseconds: UInt64
    /// Addresses and ports.
    public var fiveTuple: FiveTuple
    /// The UDP payload.
    public var payload: ByteBuffer
}

/// A capture file of the corpus.
public struct CaptureFile: Sendable, CustomStringConvertible {
    /// Absolute path.
    public var path: String
    /// A capture file at `path` (need not be under `Captures/`).
    public init(path: String) { self.path = path }

    /// File name, e.g. `chromium-aiortc-av.plain.pcap`.
    public var name: String { String(path.split(separator: "/").last ?? "") }
    /// The path without `.pcap`/`.pcapng`; goldens are `<stem>.<protocol>.tsv`.
    public var stem: String {
        if path.hasSuffix(".pcapng") { return String(path.dropLast(7)) }
        if path.hasSuffix(".pcap") { return String(path.dropLast(5)) }
        return path
    }
    /// Whether this is a decrypted twin (`*.plain.pcap`): RTP payloads and RTCP bodies are plaintext.
    public var isPlaintext: Bool { name.hasSuffix(".plain.pcap") }
    /// The file name.
    public var description: String { name }

    /// Every frame of the file.
    public func frames() throws(PacketCaptureError) -> [CapturedFrame] { try PCAPReader.readAll(path: path) }

    /// Every UDP datagram of the file, in order.
    public func udpDatagrams() throws(PacketCaptureError) -> [CapturedDatagram] {
        try frames().compactMap { frame in
            guard case .udp(let d) = frame.content else { return nil }
            return CapturedDatagram(frameNumber: frame.number, timestampNanoseconds: frame.timestampNanoseconds,
                                    fiveTuple: d.fiveTuple, payload: d.payload)
        }
    }

    /// The tshark golden for `protocol` (`stun`, `rtp`, `rtcp`), or `nil` when there is none.
    public func golden(_ protocol: String) throws -> GoldenTable? {
        let file = "\(stem).\(`protocol`).tsv"
        guard CaptureCorpus.isFile(file) else { return nil }
        return try GoldenTable(path: file)
    }
}
