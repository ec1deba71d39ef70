import Foundation
import ICE
import NIOCore
import SFU

/// A worker's debugging aids, none of which odoo/sfu has; each is off unless its variable is set:
/// - `RTC_SIMULATED_LOSS`: media datagrams (RTP/RTCP by their first byte, RFC 7983) dropped at random each way;
/// - `SSLKEYLOGFILE`: NSS key-log lines appended to a file, so Wireshark decrypts DTLS;
/// - `RTC_PLAINTEXT_TAP_DIR` (+ `RTC_PLAINTEXT_TAP=all|channel`): every tapped transport's RTP/RTCP in the clear
///   as a pcap (``PlaintextTap``).
///
/// Runs on the worker's event loop.
final class DebugHooks {
    /// The share of media datagrams dropped each way (0 = none).
    let simulatedLoss: Double
    private let keyLog: FileHandle?
    private(set) var tap: PlaintextTap?
    /// Which channels the tap records.
    let tapScope: PlaintextTapScope
    /// Channels on this worker whose transports the tap records (decided at join from the scope and `?tap=true`).
    private var tappedChannels: Set<String> = []

    init(simulatedLoss: Double, keyLogPath: String?, tapScope: PlaintextTapScope) {
        self.simulatedLoss = simulatedLoss
        self.tapScope = tapScope
        keyLog = keyLogPath.flatMap { path in
            if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
            let handle = FileHandle(forWritingAtPath: path)
            handle?.seekToEndOfFile()
            return handle
        }
    }

    /// Turns the tap on (RTC_PLAINTEXT_TAP_DIR), once the worker knows its ports; `channel` names a transport's
    /// channel for file names.
    func startTap(directory: String, announcedAddress: String, udpPort: Int, tcpPort: Int?, label: String,
                  notify: @escaping (PlaintextTap.Notice) -> Void, channel: @escaping (String) -> String?) {
        tap = PlaintextTap(directory: directory, serverAddress: announcedAddress, udpPort: udpPort, tcpPort: tcpPort,
                           fallbackLabel: label, notify: notify, label: channel)
    }

    // MARK: Simulated loss

    /// Whether this datagram (either way) is lost on purpose.
    func drops(_ datagram: ByteBuffer) -> Bool {
        guard simulatedLoss > 0, let first = datagram.getInteger(at: datagram.readerIndex, as: UInt8.self), (128...191).contains(first) else {
            return false
        }
        return Double.random(in: 0..<1) < simulatedLoss
    }

    // MARK: Key log

    /// Appends an NSS key-log line.
    func writeKeyLog(_ line: String) { keyLog?.write(Data((line + "\n").utf8)) }

    // MARK: Tap

    /// A session joins `channel` (`requested`: the channel was created with `?tap=true`).
    func joined(channel: String, requested: Bool) {
        if tap != nil, requested || tapScope == .all { tappedChannels.insert(channel) }
    }

    /// Whether transports of `channel` are tapped.
    func taps(channel: String?) -> Bool { channel.map(tappedChannels.contains) ?? false }

    /// Forgets channels that have no sessions left.
    func keepTapping(only live: (String) -> Bool) { tappedChannels = tappedChannels.filter(live) }

    /// Writes one tapped packet of transport `name`.
    func record(_ name: String, _ packet: PlaintextPacket) { tap?.record(name, packet) }

    /// Closes transport `name`'s capture.
    func closed(transport name: String) { tap?.close(name) }

    /// Periodic flush.
    func tick(now: Duration) { tap?.tick(now: now) }
}
