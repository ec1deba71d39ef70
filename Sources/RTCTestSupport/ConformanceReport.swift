/// Accumulates the result of replaying a capture corpus through one module's parser and prints the one
/// summary line the conformance contract asks for.
///
/// ```swift
/// var report = ConformanceReport(module: "RTP")
/// for capture in CaptureCorpus.captures {
///     let golden = try capture.golden("rtp")
///     for d in try capture.udpDatagrams() where DatagramKind.classify(d.payload) == .rtp {
///         var problems: [String] = []
///         // … parse, re-encode, compare with golden?[d.frameNumber] …
///         report.record(capture: capture.relativePath, frame: d.frameNumber, mismatches: problems)
///     }
/// }
/// report.printSummary()   // "RTP conformance: replayed 812 packets from 3 captures, 0 mismatched"
/// #expect(report.mismatched == 0 && report.replayed > 0)
/// ```
public struct ConformanceReport: Sendable {
    /// Module name printed first in the summary (`"RTP"`).
    public let module: String
    /// Maximum number of mismatch details kept and printed.
    public let maxDetails: Int
    /// Packets recorded.
    public private(set) var replayed = 0
    /// Packets recorded with at least one mismatch.
    public private(set) var mismatched = 0
    /// The first ``maxDetails`` mismatch descriptions, each prefixed with capture and frame.
    public private(set) var details: [String] = []
    private var captureNames: Set<String> = []

    /// Starts an empty report.
    public init(module: String, maxDetails: Int = 10) {
        self.module = module
        self.maxDetails = maxDetails
    }

    /// Number of distinct captures passed to ``record(capture:frame:mismatches:)`` or ``noteCapture(_:)``.
    public var captureCount: Int { captureNames.count }

    /// Counts a capture as replayed even if none of its packets were recorded.
    public mutating func noteCapture(_ capture: String) { captureNames.insert(capture) }

    /// Records one replayed packet; it counts as mismatched when `mismatches` is not empty.
    public mutating func record(capture: String, frame: Int, mismatches: [String] = []) {
        captureNames.insert(capture)
        replayed += 1
        guard !mismatches.isEmpty else { return }
        mismatched += 1
        if details.count < maxDetails {
            details.append("\(capture) frame \(frame): " + mismatches.joined(separator: "; "))
        }
    }

    /// Records one replayed packet, collecting mismatches from optional check results
    /// (for example ``GoldenRow/check(_:_:)-(_,BinaryInteger)`` values, `nil` meaning "agrees").
    public mutating func record(capture: String, frame: Int, checks: [String?]) {
        record(capture: capture, frame: frame, mismatches: checks.compactMap { $0 })
    }

    /// `"<MODULE> conformance: replayed N packets from K captures, M mismatched"`.
    public var summaryLine: String {
        "\(module) conformance: replayed \(replayed) packets from \(captureCount) captures, \(mismatched) mismatched"
    }

    /// The summary line followed by up to ``maxDetails`` indented mismatch details.
    public var text: String {
        ([summaryLine] + details.map { "  " + $0 }).joined(separator: "\n")
    }

    /// Prints ``text`` to standard output.
    public func printSummary() { print(text) }
}
