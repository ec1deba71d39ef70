import SFU

// The `sfu` executable. Until the Odoo drop-in issue lands it prints its version and the
// configuration it would start with, read from the environment.
let version = "0.1.0"
let args = CommandLine.arguments.dropFirst()
if args.contains("--version") {
    print("sfu \(version)")
} else {
    print("sfu \(version) — WebRTC SFU (Odoo-compatible), signalling not implemented yet")
}
