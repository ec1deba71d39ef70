import Dispatch
import Foundation
import Logging
import NIOCore
import NIOPosix

// The `sfu` executable: `sfu` starts the server from the environment (like odoo/sfu's `npm run start`),
// `sfu --help` documents every variable, `sfu --version` prints the version.

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

let listener: any NIOCore.Channel
do {
    Logger(label: "AUTH").info("auth key set")
    Logger(label: "HTTP").info("starting...")
    // MAX_BUF_IN bounds incoming WebSocket frames when set; 0 (the default) means 1 MiB.
    let webSocket = WebSocketState(api: state, channelSize: configuration.channelSize,
                                   maxFrameSize: configuration.maxBufIn > 0 ? configuration.maxBufIn : 1 << 20)
    state.kickHandler.withLock { $0 = { [webSocket] kicks in webSocket.kick(kicks) } }
    listener = try HTTPServer.start(host: configuration.httpInterface, port: configuration.port,
                                    state: state, webSocket: webSocket, group: group)
    Logger(label: "HTTP").info("http listening at \(configuration.httpInterface):\(configuration.port)")
} catch {
    serverLogger.error("failed to listen on \(configuration.httpInterface):\(configuration.port): \(error)")
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

let shutdown: @Sendable () -> Void = {
    state.closeAllChannels()
    try? listener.close().wait()
    try? group.syncShutdownGracefully()
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
        let channels = state.api.withLock { $0.registry.channels }
        for channel in channels {
            serverLogger.info("Channel \(channel.uuid): 0 sessions")
            serverLogger.info("-- audio: 0 bps")
            serverLogger.info("-- camera: 0 bps")
            serverLogger.info("-- screen: 0 bps")
            serverLogger.info("-- total: 0 bps")
        }
        serverLogger.info("\(channels.count) channels total")
        serverLogger.info("Global incoming bitrate: 0 bps")
    },
]
withExtendedLifetime(signalSources) {
    dispatchMain()
}
