#if canImport(Glibc)
import Glibc
#endif

/// Errors reading a golden file.
public struct GoldenError: Error, CustomStringConvertible {
    /// What went wrong.
    public var description: String
}

/// A tshark `-T fields` dissection saved as TSV (see `Captures/tools/make-goldens.sh`): a header row of
/// field names, then one row per frame; the first column is `frame.number`; a field that occurs several
/// times in one frame holds its values comma-joined; an empty cell means the field is absent.
public struct GoldenTable: Sendable {
    /// Field names in column order (the first is `frame.number`).
    public var columns: [String]
    /// Rows keyed by frame number.
    public var rows: [Int: Row]

    /// One frame's fields.
    public struct Row: Sendable {
        var cells: [String: String]
        /// The values of `field` in order of occurrence; empty when absent.
        public subscript(field: String) -> [String] {
            guard let cell = cells[field], !cell.isEmpty else { return [] }
            return cell.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }
        /// The raw cell text of `field` (comma-joined values), `""` when absent.
        public func raw(_ field: String) -> String { cells[field] ?? "" }
        /// The values of `field` as integers (decimal or `0x` hex); `nil` entries for unparsable text.
        public func integers(_ field: String) -> [UInt64?] { self[field].map(GoldenTable.integer) }
    }

    /// Parses a decimal or `0x`-prefixed hexadecimal integer as tshark prints them.
    public static func integer(_ text: String) -> UInt64? {
        if text.hasPrefix("0x") { return UInt64(text.dropFirst(2), radix: 16) }
        return UInt64(text)
    }

    /// Loads the table at `path`.
    public init(path: String) throws {
        guard let f = fopen(path, "r") else { throw GoldenError(description: "cannot open \(path)") }
        defer { fclose(f) }
        var text: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = fread(&chunk, 1, chunk.count, f)
            if n <= 0 { break }
            text += chunk[0..<n]
        }
        try self.init(tsv: String(decoding: text, as: UTF8.self))
    }

    /// Parses TSV text.
    public init(tsv: String) throws {
        var lines = tsv.split(separator: "\n", omittingEmptySubsequences: true)
        guard !lines.isEmpty else { throw GoldenError(description: "empty golden") }
        columns = lines.removeFirst().split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        guard columns.first == "frame.number" else { throw GoldenError(description: "first column must be frame.number") }
        rows = [:]
        for line in lines {
            let cells = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard let frame = Int(cells[0]) else { throw GoldenError(description: "bad frame number in \(line)") }
            var dict: [String: String] = [:]
            for (i, c) in columns.enumerated().dropFirst() where i < cells.count { dict[c] = cells[i] }
            rows[frame] = Row(cells: dict)
        }
    }
}
