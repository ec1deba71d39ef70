/// Tallies a capture-replay conformance run and prints the one summary line the test command greps:
/// `<MODULE> conformance: replayed N packets from K captures, M mismatched`.
public struct ConformanceReport: Sendable {
    /// Module name printed first in the summary (`"RTP"`).
    public let module: String
    /// Packets recorded.
    public private(set) var replayed = 0
    /// Packets recorded with at least one problem.
    public private(set) var mismatched = 0
    /// Names of the captures that contributed packets.
    public private(set) var captures: Set<String> = []
    /// The first mismatches, for the test log.
    public private(set) var details: [String] = []
    /// How many mismatch details are kept and printed.
    public var maxDetails = 10

    /// An empty report for `module`.
    public init(module: String) { self.module = module }

    /// Records one replayed packet; `problems` empty means it matched.
    public mutating func record(capture: String, frame: Int, problems: [String]) {
        replayed += 1
        captures.insert(capture)
        if !problems.isEmpty {
            mismatched += 1
            if details.count < maxDetails { details.append("\(capture) frame \(frame): \(problems.joined(separator: "; "))") }
        }
    }

    /// The summary line.
    public var summary: String {
        "\(module) conformance: replayed \(replayed) packets from \(captures.count) captures, \(mismatched) mismatched"
    }

    /// Prints the summary and the first mismatch details.
    public func print() {
        Swift.print(summary)
        for d in details { Swift.print("  mismatch: \(d)") }
    }
}

/// Compares one field's expected (golden) values with the values a parser produced, appending a
/// description to `problems` on a mismatch. Values are compared as integers when both parse as
/// integers (so `0x0001` equals `1`), otherwise as lowercase text.
public func expectField(_ field: String, golden: [String], actual: [String], into problems: inout [String]) {
    guard golden.count == actual.count else {
        problems.append("\(field): golden \(golden) vs parsed \(actual)")
        return
    }
    for (g, a) in zip(golden, actual) {
        if let gi = GoldenTable.integer(g), let ai = GoldenTable.integer(a) {
            if gi != ai { problems.append("\(field): golden \(g) vs parsed \(a)"); return }
        } else if g.lowercased() != a.lowercased() {
            problems.append("\(field): golden \(g) vs parsed \(a)")
            return
        }
    }
}
