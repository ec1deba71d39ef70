import Foundation
import NIOCore
import PacketCapture

/// One UDP datagram replayed from a capture file.
public struct CapturedDatagram: Sendable, Hashable {
    /// 1-based frame number in the file (tshark's `frame.number`); the key into a ``GoldenTable``.
    public var frameNumber: Int
    /// Capture time, nanoseconds since the Unix epoch.
    public var timestampNanos: Int64
    /// Addresses and ports.
    public var fiveTuple: FiveTuple
    /// The UDP payload.
    public var payload: ByteBuffer
}

/// A pcap or pcapng file of the corpus, with its goldens beside it.
public struct CaptureFile: Sendable, Hashable, CustomStringConvertible {
    /// File name, e.g. `"chrome-aiortc.pcapng"`.
    public let name: String
    /// Absolute path.
    public let path: String
    /// Path relative to the corpus root, e.g. `"chrome-aiortc/chrome-aiortc.pcapng"` (used in reports).
    public let relativePath: String

    /// Creates a value for a file at `path`; `relativePath` defaults to the file name.
    public init(path: String, relativePath: String? = nil) {
        self.path = path
        self.name = (path as NSString).lastPathComponent
        self.relativePath = relativePath ?? (path as NSString).lastPathComponent
    }

    /// Whether this is a decrypted counterpart (`*.plain.pcap`).
    public var isPlaintext: Bool { name.hasSuffix(".plain.pcap") }

    /// The file name without `.pcap` / `.pcapng`: `x.plain.pcap` → `x.plain`.
    public var stem: String {
        for ext in [".pcapng", ".pcap"] where name.hasSuffix(ext) { return String(name.dropLast(ext.count)) }
        return name
    }

    /// `relativePath`.
    public var description: String { relativePath }

    /// Every frame of the file, decoded.
    public func frames() throws(PacketCaptureError) -> [CapturedFrame] {
        try PCAPReader.readAll(path: path)
    }

    /// Every UDP datagram of the file, in frame order.
    public func udpDatagrams() throws(PacketCaptureError) -> [CapturedDatagram] {
        let reader = try PCAPReader(path: path)
        var out: [CapturedDatagram] = []
        while let f = try reader.next() {
            if case .udp(let d) = f.transport {
                out.append(CapturedDatagram(frameNumber: f.number, timestampNanos: f.timestampNanos,
                                            fiveTuple: d.fiveTuple, payload: d.payload))
            }
        }
        return out
    }

    /// Path of the golden TSV for `protocol` (`<dir>/<stem>.<protocol>.tsv`), whether or not it exists.
    public func goldenPath(_ protocol: String) -> String {
        ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent("\(stem).\(`protocol`).tsv")
    }

    /// The golden table for `protocol` (`"stun"`, `"rtp"`, `"rtcp"`, …), or `nil` when there is no such file.
    public func golden(_ protocol: String) throws(GoldenTableError) -> GoldenTable? {
        let p = goldenPath(`protocol`)
        guard FileManager.default.fileExists(atPath: p) else { return nil }
        return try GoldenTable(contentsOfFile: p)
    }
}

/// The repository's corpus of real captures under `Captures/`.
public enum CaptureCorpus {
    /// The `Captures/` directory found by walking up from this source file, or `nil` when there is none.
    public static let root: String? = findRoot(from: "\(#filePath)")

    /// Every capture under ``root``, sorted by relative path; empty when there is no `Captures/` directory.
    public static let captures: [CaptureFile] = root.map { captures(in: $0) } ?? []

    /// Walks up from `path` (a file or directory) looking for a `Captures` directory.
    public static func findRoot(from path: String) -> String? {
        var dir = URL(fileURLWithPath: path).deletingLastPathComponent()
        while true {
            let candidate = dir.appendingPathComponent("Captures")
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDir), isDir.boolValue {
                return candidate.path
            }
            let parent = dir.deletingLastPathComponent()
            if parent.path == dir.path { return nil }
            dir = parent
        }
    }

    /// Every `*.pcap` / `*.pcapng` under `directory`, recursively, sorted by relative path (stable across runs).
    public static func captures(in directory: String) -> [CaptureFile] {
        guard let e = FileManager.default.enumerator(atPath: directory) else { return [] }
        var out: [CaptureFile] = []
        while let rel = e.nextObject() as? String {
            guard rel.hasSuffix(".pcap") || rel.hasSuffix(".pcapng") else { continue }
            let full = (directory as NSString).appendingPathComponent(rel)
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: full, isDirectory: &isDir), !isDir.boolValue else { continue }
            out.append(CaptureFile(path: full, relativePath: rel))
        }
        return out.sorted { $0.relativePath < $1.relativePath }
    }
}
