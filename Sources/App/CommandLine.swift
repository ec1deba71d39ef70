/// What the command line asks for.
enum CommandLineAction: Equatable, Sendable {
    case run, help, version
    case invalid(String)

    static let versionString = "0.1.0"

    static let usage = "usage: sfu [--help | --version]   (no argument: start the server from the environment)"

    static func parse(_ arguments: [String]) -> CommandLineAction {
        guard let first = arguments.first else { return .run }
        switch first {
        case "--help", "-h", "help": return .help
        case "--version", "-v", "version": return .version
        default: return .invalid(first)
        }
    }

    /// `sfu --help`: every environment variable with its default and meaning.
    static var helpText: String {
        var lines = [
            "sfu \(versionString) — WebRTC SFU, drop-in replacement for odoo/sfu",
            "",
            usage,
            "",
            "Configuration is read from environment variables:",
        ]
        let width = Configuration.variables.map(\.name.count).max() ?? 0
        for variable in Configuration.variables {
            let name = variable.name.padding(toLength: width, withPad: " ", startingAt: 0)
            lines.append("  \(name)  \(variable.meaning) [default: \(variable.defaultValue)]")
        }
        lines.append("")
        lines.append("Signals: SIGTERM/SIGINT graceful shutdown; SIGALRM soft reset; SIGFPE restart; SIGIO print stats.")
        return lines.joined(separator: "\n")
    }
}
