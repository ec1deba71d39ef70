import DTLS
import Dispatch
import Foundation
import Logging
import NIOCore
import NIOPosix
import SFU

// The `sfu` executable: `sfu` starts the server from the environment (like odoo/sfu's `npm run start`),
// `sfu --help` documents every variable, `sfu --version` prints the version.

// The signals the server handles (SIGTERM/SIGINT shutdown, SIGFPE restart, SIGALRM soft reset, SIGIO stats) are
// blocked in this thread before any other thread exists, so every thread inherits the mask and the kernel keeps
// them pending for Dispatch's signal sources (signalfd on Linux). Otherwise a process-directed signal can land
// on an event-loop thread, where the disposition is SIG_IGN, and vanish — seen as a SIGTERM or SIGFPE that is
// sometimes lost.
let handledSignals: [Int32] = [SIGTERM, SIGINT, SIGFPE, SIGALRM, SIGIO]
var blockedSignals = sigset_t()
sigemptyset(&blockedSignals)
for number in handledSignals { sigaddset(&blockedSignals, number) }
pthread_sigmask(SIG_BLOCK, &blockedSignals, nil)

let arguments = Array(CommandLine.arguments.dropFirst())
switch CommandLineAction.parse(arguments) {
case .help:
    print(CommandLineAction.helpText)
    exit(0)
case .version:
    print("sfu \(CommandLineAction.versionString)")
    exit(0)
case .invalid(let argument):
    FileHandle.standardError.write(Data("sfu: unknown argument '\(argument)'\n\(CommandLineAction.usage)\n".utf8))
    exit(2)
case .run:
    break
}

let configuration: Configuration
do {
    configuration = try Configuration(environment: ProcessInfo.processInfo.environment,
                                      availableParallelism: ProcessInfo.processInfo.activeProcessorCount)
} catch {
    FileHandle.standardError.write(Data("sfu: configuration error: \(error)\n".utf8))
    exit(1)
}

let useColor = configuration.logColor ?? (isatty(STDOUT_FILENO) == 1)
let logLevel = configuration.logLevel
let logTimestamp = configuration.logTimestamp
LoggingSystem.bootstrap { label in
    // odoo/sfu's SERVER logger is created with logLevel "all": every level enabled.
    SFULogHandler(label: label, level: label == "SERVER" ? .verbose : logLevel, timestamp: logTimestamp, color: useColor)
}
let serverLogger = Logger(label: "SERVER")
let state = ServerState(api: HTTPAPI(configuration: configuration), httpLogger: Logger(label: "HTTP"))
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let workerGroup = MultiThreadedEventLoopGroup(numberOfThreads: configuration.numWorkers)

let listener: any NIOCore.Channel
let webSocket: WebSocketState
do {
    Logger(label: "AUTH").info("auth key set")
    Logger(label: "HTTP").info("starting...")
    // MAX_BUF_IN bounds incoming WebSocket messages (all their frames together) when set; 0 (the default) means 1 MiB.
    webSocket = WebSocketState(api: state, channelSize: configuration.channelSize, maxMessageSize: configuration.webSocketMessageLimit)
    state.kickHandler.withLock { $0 = { [webSocket] kicks in webSocket.kick(kicks) } }
    state.channelClosedHandler.withLock { $0 = { [webSocket] uuid in webSocket.channelClosed(uuid) } }
    // One DTLS certificate for the whole server (mediasoup: one per worker process), its fingerprints
    // listed as mediasoup lists them; the router capabilities are the same for every channel.
    let certificate = try DTLSCertificate.generate(commonName: "odoo-sfu")
    let dtlsContext = try DTLSContext(certificate: certificate, keyLogging: ProcessInfo.processInfo.environment["SSLKEYLOGFILE"] != nil)
    let environment = SessionHub.Environment(
        routerCapabilities: ORTC.routerCapabilities(audioCodecs: configuration.audioCodecs, videoCodecs: configuration.videoCodecs),
        producerOptionsByKind: configuration.producerOptionsByKind,
        announcedAddress: configuration.publicIP, udpPort: 0, tcpPort: nil,
        fingerprints: ["sha-1", "sha-224", "sha-256", "sha-384", "sha-512"].compactMap { certificate.fingerprint(algorithm: $0) },
        maxBitrateIn: configuration.maxBitrateIn, maxBitrateOut: configuration.maxBitrateOut)
    var workers: [MediaWorker] = []
    for (index, loop) in workerGroup.makeIterator().enumerated() {
        let hooks = DebugHooks(simulatedLoss: configuration.simulatedLoss, keyLogPath: ProcessInfo.processInfo.environment["SSLKEYLOGFILE"],
                               tapScope: configuration.plaintextTapScope)
        let worker = MediaWorker(index: index, loop: loop, webSocket: webSocket, dtlsContext: dtlsContext, hooks: hooks,
                                 congestionControl: configuration.congestionControl)
        if index == 0, configuration.congestionControl != .sendSide {
            Logger(label: "RTC").warning("RTC_CONGESTION_CONTROL=\(configuration.congestionControl.rawValue): layers follow receiver-reported loss only")
        }
        if configuration.simulatedLoss > 0 {
            Logger(label: "RTC").warning("RTC_SIMULATED_LOSS: dropping \(configuration.simulatedLoss * 100)% of media datagrams each way")
        }
        try worker.start(host: configuration.rtcInterface, ports: configuration.rtcMinPort...configuration.rtcMaxPort,
                         offset: index * max(1, (configuration.rtcMaxPort - configuration.rtcMinPort + 1) / configuration.numWorkers),
                         environment: environment, tapDirectory: configuration.plaintextTapDirectory)
        if index == 0, let directory = configuration.plaintextTapDirectory {
            let which = configuration.plaintextTapScope == .all ? "every transport" : "the transports of channels created with ?tap=true"
            Logger(label: "RTC").warning("RTC_PLAINTEXT_TAP_DIR: writing the decrypted RTP/RTCP of \(which) to \(directory)")
        }
        Logger(label: "RTC").info("worker \(index) listening on udp \(configuration.rtcInterface):\(worker.endpoint.port)\(worker.tcp.map { ", tcp \($0.port)" } ?? "")")
        workers.append(worker)
    }
    webSocket.workers.withLock { [workers] in $0 = workers }
    listener = try HTTPServer.start(host: configuration.httpInterface, port: configuration.port,
                                    state: state, webSocket: webSocket, timeouts: configuration.httpTimeouts, group: group)
    Logger(label: "HTTP").info("http listening at \(configuration.httpInterface):\(configuration.port)")
} catch {
    serverLogger.error("failed to start: \(error)")
    exit(1)
}
serverLogger.info("ready - PID: \(getpid())")

/// Installs a Dispatch handler for `signal` (the default action is ignored first).
func onSignal(_ number: Int32, _ handler: @escaping @Sendable () -> Void) -> any DispatchSourceSignal {
    signal(number, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: number, queue: .main)
    source.setEventHandler(handler: handler)
    source.resume()
    return source
}

/// Closes every session with `code` on every worker and waits for the close frames to be queued.
func closeAllSessions(_ code: WSCloseCode) {
    for worker in webSocket.workers.withLock({ $0 }) {
        try? worker.loop.submit { worker.closeAll(code: code) }.wait()
    }
}

let shutdown: @Sendable () -> Void = {
    closeAllSessions(.clean)   // odoo/sfu closeAllWebSockets: 1000
    Thread.sleep(forTimeInterval: 0.1)   // let the close frames leave before the loops stop
    state.closeAllChannels()
    try? listener.close().wait()
    try? group.syncShutdownGracefully()
    try? workerGroup.syncShutdownGracefully()
    serverLogger.info("cleanup complete")
    exit(0)
}
let signalSources = [
    onSignal(SIGTERM, shutdown),
    onSignal(SIGINT, shutdown),
    // 8: odoo/sfu restarts its services; without sessions/media that means forgetting every channel.
    onSignal(SIGFPE) {
        serverLogger.info("SIGFPE: restarting (closing every channel)")
        state.closeAllChannels()
    },
    // 14: soft reset, kicks every session and closes channels.
    onSignal(SIGALRM) {
        serverLogger.info("SIGALRM: soft reset (closing every channel)")
        state.closeAllChannels()
    },
    // 29: prints server stats.
    onSignal(SIGIO) {
        let (channels, stats) = state.api.withLock { ($0.registry.channels, $0.sessionStats) }
        var total = 0
        for channel in channels {
            let s = stats[channel.uuid] ?? ChannelSessionStats()
            total += s.totalBitrate
            serverLogger.info("Channel \(channel.uuid): \(s.count) sessions")
            serverLogger.info("-- audio: \(s.audioBitrate) bps")
            serverLogger.info("-- camera: \(s.cameraBitrate) bps")
            serverLogger.info("-- screen: \(s.screenBitrate) bps")
            serverLogger.info("-- total: \(s.totalBitrate) bps")
        }
        serverLogger.info("\(channels.count) channels total")
        serverLogger.info("Global incoming bitrate: \(total) bps")
        for worker in webSocket.workers.withLock({ $0 }) {
            let summary = (try? worker.loop.submit { worker.lateness.summary }.wait()) ?? "unavailable"
            serverLogger.info("worker \(worker.index) timer lateness: \(summary)")
        }
    },
]
withExtendedLifetime(signalSources) {
    dispatchMain()
}
