// transport-probe: one WebRtcTransport (ICE-lite + DTLS + SRTP) on a UDP socket on 127.0.0.1, for the
// end-to-end tests with real peers (Tests/Peers). It prints its parameters as one JSON line, decrypts what
// the peer sends, answers with receiver reports every second (so a browser shows remote-inbound-rtp), and
// on "stats" from stdin prints its counters as one JSON line and exits.
//
//   transport-probe [--dtls-role server|client] [--port N] [--echo PT:SSRC,PT:SSRC...]
//
// With --echo, every RTP packet received with payload type PT is protected and sent back to the peer
// with SSRC SSRC (so a peer that announced those SSRCs in its remote description receives media that
// this server protected).
import DTLS
import Foundation
import ICE
import NIOCore
import NIOPosix
import RTCBase
import RTCP
import RTP
import SFU
import STUN

let args = CommandLine.arguments
let role: DTLSRole = args.firstIndex(of: "--dtls-role").map { args[$0 + 1] == "client" ? .client : .server } ?? .server
let port = args.firstIndex(of: "--port").flatMap { Int(args[$0 + 1]) } ?? 0
let echo: [UInt8: UInt32] = args.firstIndex(of: "--echo").map { i in
    Dictionary(uniqueKeysWithValues: args[i + 1].split(separator: ",").compactMap { pair -> (UInt8, UInt32)? in
        let parts = pair.split(separator: ":")
        guard parts.count == 2, let pt = UInt8(parts[0]), let ssrc = UInt32(parts[1]) else { return nil }
        return (pt, ssrc)
    })
} ?? [:]

var rng = SystemRandomNumberGenerator()
let credentials = ICECredentials.random(using: &rng)
let certificate = try DTLSCertificate.generate(commonName: "transport-probe")
let context = try DTLSContext(certificate: certificate, keyLogging: ProcessInfo.processInfo.environment["SSLKEYLOGFILE"] != nil)
let start = ContinuousClock.now
func now() -> Duration { ContinuousClock.now - start }

/// Per-SSRC receive statistics for receiver reports (RFC 3550 §6.4.1, A.3, A.8).
struct ReceiveStats {
    var unwrapper = RTPSequenceNumberUnwrapper()
    var first: Int64 = 0, received: Int64 = 0, expectedPrior: Int64 = 0, receivedPrior: Int64 = 0
    var lastSR: UInt32 = 0, lastSRAt: Duration?
    mutating func record(_ p: RTPPacket) {
        let ext = unwrapper.unwrap(p.sequenceNumber)
        if received == 0 { first = ext }
        received += 1
    }
    mutating func block(ssrc: SSRC, now: Duration) -> RTCPReportBlock {
        let highest = unwrapper.highest ?? 0
        let expected = highest - first + 1
        let lost = max(0, expected - received)
        let expectedInterval = expected - expectedPrior, receivedInterval = received - receivedPrior
        expectedPrior = expected
        receivedPrior = received
        let lostInterval = expectedInterval - receivedInterval
        let fraction = expectedInterval > 0 && lostInterval > 0 ? UInt8(min(255, (lostInterval << 8) / expectedInterval)) : 0
        let dlsr: UInt32 = lastSRAt.map { UInt32(truncatingIfNeeded: Int64((now - $0).components.seconds) * 65_536 + Int64((now - $0).components.attoseconds / 15_258_789_062_500)) } ?? 0
        return RTCPReportBlock(ssrc: ssrc, fractionLost: fraction, cumulativeLost: Int32(min(lost, 0x7F_FFFF)),
                               extendedHighestSequenceNumber: UInt32(truncatingIfNeeded: highest), jitter: 0,
                               lastSenderReport: lastSR, delaySinceLastSenderReport: dlsr)
    }
}

final class Probe: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let transport: WebRtcTransport
    var channel: Channel?
    var stats: [SSRC: ReceiveStats] = [:]
    var dropped: [String] = []
    var dtlsConnected = false, dtlsFailure: String?
    var iceState = "new"
    var rrSent = 0
    var echoed = 0
    var remotes: [ICETuple: SocketAddress] = [:]

    init(transport: WebRtcTransport) { self.transport = transport }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard let tuple = Self.tuple(envelope.remoteAddress) else { return }
        remotes[tuple] = envelope.remoteAddress
        transport.handle(Datagram(envelope.data, from: tuple), now: now())
        flush()
    }

    static func tuple(_ a: SocketAddress) -> ICETuple? {
        guard let ip = a.ipAddress, let port = a.port else { return nil }
        if let v4 = IPv4Parts(ip) { return ICETuple(remote: .v4(address: v4, port: UInt16(port))) }
        return nil
    }

    static func IPv4Parts(_ s: String) -> UInt32? {
        let p = s.split(separator: ".").compactMap { UInt32($0) }
        return p.count == 4 ? p.reduce(0) { $0 << 8 | $1 } : nil
    }

    func flush() {
        while let e = transport.pollEvent() {
            switch e {
            case .rtp(let p):
                stats[p.ssrc, default: ReceiveStats()].record(p)
                if let ssrc = echo[p.payloadType.rawValue] {
                    var copy = p
                    copy.ssrc = SSRC(ssrc)
                    if transport.sendRTP(copy) { echoed += 1 }
                }
            case .rtcp(let packets):
                for case .senderReport(let sr) in packets {
                    stats[sr.ssrc, default: ReceiveStats()].lastSR = sr.ntpTime.middle32
                    stats[sr.ssrc, default: ReceiveStats()].lastSRAt = now()
                }
            case .dropped(let reason, let source):
                if dropped.count < 20 { dropped.append("\(reason) from \(source)") }
                FileHandle.standardError.write("probe: dropped from \(source): \(reason)\n".data(using: .utf8)!)
            case .dtlsConnected: dtlsConnected = true
            case .dtlsFailed(let err):
                dtlsFailure = err.description
                FileHandle.standardError.write("probe: DTLS failed: \(err)\n".data(using: .utf8)!)
            case .iceStateChanged(let s): iceState = "\(s)"
            default: break
            }
        }
        guard let channel else { return }
        while let t = transport.pollTransmit() {
            guard let address = remotes[t.destination] else { continue }
            channel.writeAndFlush(AddressedEnvelope(remoteAddress: address, data: t.bytes), promise: nil)
        }
        rearm()
    }

    /// When the next receiver report is due (one a second once media flows).
    var nextReport: Duration = .seconds(1)
    /// The scheduled timer and the time it was asked for.
    var armed: (deadline: Duration, task: Scheduled<Void>)?

    /// Runs the transport's timers and, when due, sends a receiver report; then re-arms.
    func fire() {
        armed = nil
        let t = now()
        transport.handleTimeout(now: t)
        if t >= nextReport {
            nextReport = t + .seconds(1)
            if transport.isSecure && !stats.isEmpty {
                let blocks = stats.keys.sorted().map { stats[$0]!.block(ssrc: $0, now: t) }
                if transport.sendRTCP([.receiverReport(RTCPReceiverReport(ssrc: 0x5EED_0001, reports: Array(blocks.prefix(31))))]) { rrSent += 1 }
            }
        }
        flush()
    }

    /// One timer at the earliest of the transport's deadline and the next report, moved when it comes earlier.
    func rearm() {
        guard let loop = channel?.eventLoop else { return }
        let next = earliest(transport.nextDeadline, nextReport) ?? nextReport
        if let armed, armed.deadline <= next { return }
        armed?.task.cancel()
        let (seconds, atto) = (next - now()).components
        let delay = TimeAmount.nanoseconds(max(0, seconds * 1_000_000_000 + atto / 1_000_000_000))
        armed = (next, loop.scheduleTask(in: delay) { [self] in fire() })
    }

    var summary: [String: Any] {
        ["iceState": iceState, "dtlsConnected": dtlsConnected, "dtlsFailure": dtlsFailure as Any,
         "srtpProfile": transport.srtpProfile.map { "\($0)" } as Any,
         "rtpReceived": transport.counters.rtpReceived, "rtcpReceived": transport.counters.rtcpReceived,
         "srtpFailures": transport.counters.srtpFailures, "receiverReportsSent": rrSent, "rtpEchoed": echoed,
         "ssrcs": stats.keys.map { $0.rawValue }, "dropped": dropped]
    }
}

let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let transport = try WebRtcTransport(iceCredentials: credentials, dtlsContext: context, dtlsRole: role, remoteFingerprints: [], now: now())
transport.reportsDrops = true
let probe = Probe(transport: transport)
let channel = try DatagramBootstrap(group: group)
    .channelInitializer { $0.pipeline.addHandler(probe) }
    .bind(host: "127.0.0.1", port: port).wait()
probe.channel = channel
try channel.eventLoop.submit { probe.rearm() }.wait()

let params: [String: Any] = ["ufrag": credentials.usernameFragment, "pwd": credentials.password,
                             "fingerprint": certificate.fingerprint()!.value, "setup": role == .server ? "passive" : "active",
                             "port": channel.localAddress!.port!]
func emit(_ object: [String: Any]) {
    var data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data("{}".utf8)
    data.append(0x0A)
    FileHandle.standardOutput.write(data)
}
emit(params)

// The peer's fingerprint arrives on stdin ("fingerprint <sha-256 value>"), then "stats" ends the run.
while let line = readLine() {
    if line.hasPrefix("fingerprint ") {
        let fp = DTLSFingerprint(algorithm: "sha-256", value: String(line.dropFirst(12)))
        try channel.eventLoop.submit { probe.transport.dtls?.setRemoteFingerprints([fp]) }.wait()
    } else if line == "stats" {
        let json = try channel.eventLoop.submit { () -> String in
            String(decoding: (try? JSONSerialization.data(withJSONObject: probe.summary)) ?? Data("{}".utf8), as: UTF8.self)
        }.wait()
        FileHandle.standardOutput.write(Data((json + "\n").utf8))
        break
    }
}
try? channel.close().wait()
try? group.syncShutdownGracefully()
