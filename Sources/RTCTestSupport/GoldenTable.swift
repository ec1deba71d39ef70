import Foundation

/// Why a golden TSV could not be loaded.
public enum GoldenTableError: Error, Equatable, Sendable {
    /// The file could not be read.
    case unreadable(path: String)
    /// No header row.
    case empty
    /// The first column of the header is not `frame.number`.
    case firstColumnNotFrameNumber(String)
    /// A row's first cell is not a positive integer.
    case badFrameNumber(line: Int, text: String)
    /// A row has more cells than the header.
    case tooManyCells(line: Int)
    /// Two rows for the same frame.
    case duplicateFrame(Int)
}

/// A golden table written by `Captures/tools/make-goldens.sh`: tshark `-T fields -E header=y
/// -E separator=/t -E occurrence=a -E aggregator=,` output, first column `frame.number`.
///
/// ```swift
/// let golden = try capture.golden("rtp")!
/// let row = golden[frame.frameNumber]!
/// row["rtp.seq"]          // ["4711"]; [] when the cell is empty or the column unknown
/// row.int("rtp.ssrc")     // 0x1234abcd parsed from "0x1234abcd"
/// ```
public struct GoldenTable: Sendable {
    /// Field names of the header row, `frame.number` first.
    public let columns: [String]
    /// Rows keyed by frame number.
    public let rows: [Int: GoldenRow]

    /// Frame numbers present, ascending.
    public var frameNumbers: [Int] { rows.keys.sorted() }

    /// The row of frame `frameNumber`, or `nil` when tshark did not match that frame.
    public subscript(frameNumber: Int) -> GoldenRow? { rows[frameNumber] }

    /// Parses TSV text. Trailing empty cells may be omitted; `\r\n` line ends are accepted.
    public init(tsv: String) throws(GoldenTableError) {
        var lines = tsv.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map { line -> Substring in
            line.hasSuffix("\r") ? line.dropLast() : line
        }
        while let last = lines.last, last.isEmpty { lines.removeLast() }
        guard let header = lines.first, !header.isEmpty else { throw .empty }
        let columns = header.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        guard columns[0] == "frame.number" else { throw .firstColumnNotFrameNumber(columns[0]) }
        var index: [String: Int] = [:]
        for (i, c) in columns.enumerated() where index[c] == nil { index[c] = i }
        var rows: [Int: GoldenRow] = [:]
        for (n, line) in lines.enumerated().dropFirst() where !line.isEmpty {
            let cells = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard cells.count <= columns.count else { throw .tooManyCells(line: n + 1) }
            guard let frame = Int(cells[0]), frame > 0 else { throw .badFrameNumber(line: n + 1, text: cells[0]) }
            guard rows[frame] == nil else { throw .duplicateFrame(frame) }
            rows[frame] = GoldenRow(frameNumber: frame, cells: cells, columnIndex: index)
        }
        self.columns = columns
        self.rows = rows
    }

    /// Loads a TSV file.
    public init(contentsOfFile path: String) throws(GoldenTableError) {
        guard let data = FileManager.default.contents(atPath: path) else { throw .unreadable(path: path) }
        try self.init(tsv: String(decoding: data, as: UTF8.self))
    }
}

/// One row of a ``GoldenTable``.
public struct GoldenRow: Sendable {
    /// The frame number (first column).
    public let frameNumber: Int
    /// The raw cells, in column order (may be shorter than the header when trailing cells were empty).
    public let cells: [String]
    private let columnIndex: [String: Int]

    init(frameNumber: Int, cells: [String], columnIndex: [String: Int]) {
        self.frameNumber = frameNumber
        self.cells = cells
        self.columnIndex = columnIndex
    }

    /// The raw cell text of `field`, or `nil` when the column is unknown or the cell is empty.
    public func raw(_ field: String) -> String? {
        guard let i = columnIndex[field], i < cells.count, !cells[i].isEmpty else { return nil }
        return cells[i]
    }

    /// The values of `field`, split on `,`; `[]` when the cell is empty (field absent) or the column unknown.
    public subscript(field: String) -> [String] {
        guard let r = raw(field) else { return [] }
        return r.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    }

    /// Whether the table has a column named `field` (regardless of this row's cell).
    public func hasColumn(_ field: String) -> Bool { columnIndex[field] != nil }

    /// The first value of `field`, if any.
    public func first(_ field: String) -> String? { self[field].first }

    /// The first value of `field` as an integer (decimal, or hex with a `0x` prefix), or `nil`.
    public func int(_ field: String) -> Int? { first(field).flatMap(GoldenRow.parseInt) }

    /// The first value of `field` as an unsigned 64-bit integer (decimal or `0x` hex), or `nil`.
    public func uint64(_ field: String) -> UInt64? { first(field).flatMap(GoldenRow.parseUInt64) }

    /// Every value of `field` as integers; `nil` if any value does not parse.
    public func ints(_ field: String) -> [Int]? {
        var out: [Int] = []
        for v in self[field] {
            guard let i = GoldenRow.parseInt(v) else { return nil }
            out.append(i)
        }
        return out
    }

    /// Parses `"42"`, `"-3"` or `"0x2a"` (case-insensitive hex).
    public static func parseInt(_ text: String) -> Int? {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t.hasPrefix("0x") || t.hasPrefix("0X") { return Int(t.dropFirst(2), radix: 16) }
        return Int(t)
    }

    /// Parses `"42"` or `"0x2a"` as `UInt64`.
    public static func parseUInt64(_ text: String) -> UInt64? {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t.hasPrefix("0x") || t.hasPrefix("0X") { return UInt64(t.dropFirst(2), radix: 16) }
        return UInt64(t)
    }

    /// Compares `field` with an integer: `nil` when they agree, otherwise a mismatch description
    /// (`"rtp.seq: golden [4711], parsed 4712"`). The golden value may be decimal or `0x` hex; the field
    /// must have exactly one value.
    public func check(_ field: String, _ actual: some BinaryInteger) -> String? {
        let values = self[field]
        if values.count == 1, let g = GoldenRow.parseInt(values[0]), Int(exactly: actual) == g { return nil }
        if values.count == 1, let g = GoldenRow.parseUInt64(values[0]), UInt64(exactly: actual) == g { return nil }
        return "\(field): golden \(values), parsed \(actual)"
    }

    /// Compares every value of `field` with `actual` integers (order matters).
    public func check(_ field: String, _ actual: [some BinaryInteger]) -> String? {
        let values = self[field]
        if values.count == actual.count,
           zip(values, actual).allSatisfy({ g, a in
               if let gi = GoldenRow.parseInt(g), Int(exactly: a) == gi { return true }
               if let gu = GoldenRow.parseUInt64(g), UInt64(exactly: a) == gu { return true }
               return false
           }) { return nil }
        return "\(field): golden \(values), parsed \(actual.map { "\($0)" })"
    }

    /// Compares `field` with strings exactly (for hex byte fields pass lowercase hex, as tshark prints).
    public func check(_ field: String, _ actual: [String]) -> String? {
        let values = self[field]
        return values == actual ? nil : "\(field): golden \(values), parsed \(actual)"
    }

    /// Compares a single-valued string `field` exactly.
    public func check(_ field: String, _ actual: String) -> String? { check(field, [actual]) }
}
