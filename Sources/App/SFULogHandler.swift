import Foundation
import Logging

/// A swift-log handler printing odoo/sfu's line format:
/// `[<ISO-8601 timestamp> ]odoo-sfu <colour>:<LEVEL>: [<NAME>] - <message><reset>`.
///
/// Levels map to odoo/sfu's: trace → verbose, debug → debug, info/notice → info, warning → warn,
/// error/critical → error. Every line goes to stderr (odoo/sfu prints info/debug/verbose on stdout).
struct SFULogHandler: LogHandler {
    /// Formats one line (pure, for tests).
    static func format(level: Logger.Level, label: String, message: String, timestamp: String?, color: Bool) -> String {
        let (tag, colour) = Self.tag(level)
        var text = "\(tag) [\(label)] - \(message)"
        if color { text = (colour ?? "") + text + "\u{1B}[0m" }
        return (timestamp.map { $0 + " " } ?? "") + "odoo-sfu " + text
    }

    /// The swift-log level that enables exactly the odoo/sfu levels at or above `level`.
    static func swiftLogLevel(_ level: SFULogLevel) -> Logger.Level? {
        switch level {
        case .none: return nil
        case .error: return .error
        case .warn: return .warning
        case .info: return .info
        case .debug: return .debug
        case .verbose: return .trace
        }
    }

    private static func tag(_ level: Logger.Level) -> (String, String?) {
        switch level {
        case .trace: return (":VERBOSE:", "\u{1B}[37m")
        case .debug: return (":DEBUG:", nil)
        case .info, .notice: return (":INFO:", "\u{1B}[32m")
        case .warning: return (":WARN:", "\u{1B}[33m")
        case .error, .critical: return (":ERROR:", "\u{1B}[31m")
        }
    }

    let label: String
    let enabled: Bool
    let timestamp: Bool
    let color: Bool
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    init(label: String, level: SFULogLevel, timestamp: Bool, color: Bool) {
        self.label = label
        self.enabled = Self.swiftLogLevel(level) != nil
        self.logLevel = Self.swiftLogLevel(level) ?? .critical
        self.timestamp = timestamp
        self.color = color
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        guard enabled else { return }
        let stamp = timestamp ? ISO8601Milliseconds.format(milliseconds: Int64(Date().timeIntervalSince1970 * 1000)) : nil
        let line = Self.format(level: event.level, label: label, message: "\(event.message)", timestamp: stamp, color: color) + "\n"
        FileHandle.standardError.write(Data(line.utf8))
    }
}
