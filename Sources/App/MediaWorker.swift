import DTLS
import Foundation
import ICE
import Logging
import NIOCore
import NIOPosix
import SFU
import STUN

/// One worker: an event loop that owns a shared UDP socket (inside RTC_MIN_PORT…RTC_MAX_PORT on
/// RTC_INTERFACE), every WebRTC transport of the channels assigned to it, and those channels' signalling
/// state (``SessionHub``). Everything here runs on `loop`, so nothing on the packet path takes a lock;
/// other threads reach a worker with `loop.execute`.
final class MediaWorker: @unchecked Sendable {
    let index: Int
    let loop: any EventLoop
    let logger: Logger
    private let webSocket: WebSocketState
    private let dtlsContext: DTLSContext
    private var socket: (any Channel)?
    private(set) var udpPort = 0
    /// ICE-TCP (passive) listener of this worker, `nil` when no port of the range was free (ICETCPServer.swift).
    private(set) var tcp: ICETCPServer?
    private var hub: SessionHub
    private let router: MediaRouter
    private var addresses: [ICETuple: SocketAddress] = [:]
    /// Producers by id (their channel and type, for statistics).
    private var producers: [String: ProducerSpec] = [:]
    private let origin = ContinuousClock.now
    private var tick: RepeatedTask?
    /// SSLKEYLOGFILE, when set: NSS key-log lines so Wireshark can decrypt DTLS.
    private let keyLog: FileHandle?
    /// Session counts last published to the HTTP side.
    private var publishedStats: [String: ChannelSessionStats] = [:]
    private var nextStatsPublication: Duration = .zero

    /// RTC_SIMULATED_LOSS (fraction): media datagrams dropped at random each way, for loss tests.
    var simulatedLoss = 0.0
    /// RTC_PLAINTEXT_TAP_DIR: set before ``start(host:ports:offset:environment:)`` to turn the tap on.
    var plaintextTapDirectory: String?
    /// RTC_PLAINTEXT_TAP: every channel's transports, or only those of channels created with `?tap=true`.
    var plaintextTapScope = PlaintextTapScope.all
    /// Channels on this worker whose transports the tap records (decided at join from the scope and
    /// `?tap=true`; pruned when they have no sessions left).
    private var tappedChannels: Set<String> = []
    /// Plaintext tap hook (PlaintextTap.swift): one pcap per transport, when RTC_PLAINTEXT_TAP_DIR is set.
    private var tap: PlaintextTap?

    init(index: Int, loop: any EventLoop, webSocket: WebSocketState, dtlsContext: DTLSContext) {
        self.index = index
        self.loop = loop
        self.webSocket = webSocket
        self.dtlsContext = dtlsContext
        self.router = MediaRouter(dtlsContext: dtlsContext,
                                  clock: NTPClock(unixTimeAtOrigin: .nanoseconds(Int64(Date().timeIntervalSince1970 * 1e9))))
        self.keyLog = ProcessInfo.processInfo.environment["SSLKEYLOGFILE"].flatMap { path in
            if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
            let handle = FileHandle(forWritingAtPath: path)
            handle?.seekToEndOfFile()
            return handle
        }
        self.hub = SessionHub()
        self.logger = Logger(label: "WORKER-\(index)")
    }

    /// The time every sans-IO layer of this worker is driven with.
    var now: Duration { ContinuousClock.now - origin }

    /// Binds the worker's UDP socket to the first free port of `ports` (starting at an offset so that
    /// workers spread over the range), sets up the signalling with `environment` (its port filled in) and
    /// starts the timer. Called once, before any connection is routed here.
    func start(host: String, ports: ClosedRange<Int>, offset: Int, environment: SessionHub.Environment) throws {
        let count = ports.count
        var lastError: (any Error)?
        for i in 0..<count {
            let port = ports.lowerBound + (offset + i) % count
            do {
                let channel = try DatagramBootstrap(group: loop)
                    .channelOption(.socketOption(.so_reuseaddr), value: 0)
                    .channelOption(.socketOption(.so_rcvbuf), value: 4 << 20)
                    .channelOption(.socketOption(.so_sndbuf), value: 4 << 20)
                    // Batched receive: up to 32 datagrams per recvmmsg(2). Sends are batched by writing every
                    // queued datagram and flushing once (NIO then uses sendmmsg(2)).
                    .channelOption(.datagramVectorReadMessageCount, value: 32)
                    .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 32 * 2048))
                    .channelInitializer { [self] channel in
                        channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(UDPHandler(worker: self)) }
                    }
                    .bind(host: host, port: port).wait()
                socket = channel
                udpPort = channel.localAddress?.port ?? port
                lastError = nil
                break
            } catch {
                lastError = error
            }
        }
        if let lastError { throw lastError }
        var environment = environment
        environment.udpPort = udpPort
        // ICE-TCP hook: a passive TCP candidate on the same interface and port range (announced when bound).
        let tcp = ICETCPServer(loop: loop, logger: logger) { [unowned self] frame, tuple in receivedTCP(frame, from: tuple) }
        do {
            environment.tcpPort = try tcp.start(host: host, ports: ports, offset: offset)
            self.tcp = tcp
        } catch {
            logger.warning("no free TCP port in \(ports) for ICE-TCP: \(error)")
        }
        let finalEnvironment = environment
        try loop.submit { [self] in hub = SessionHub(environment: finalEnvironment) }.wait()
        // Plaintext tap hook: transports created from now on report their RTP/RTCP in the clear.
        if let directory = plaintextTapDirectory {
            let (announced, tcpPort) = (environment.announcedAddress, environment.tcpPort)
            try loop.submit { [self] in
                tap = PlaintextTap(directory: directory, serverAddress: announced, udpPort: udpPort, tcpPort: tcpPort,
                                   fallbackLabel: "worker\(index)", notify: { [logger] in logger.info("plaintext tap: \($0)") }) {
                    [unowned self] id in channel(of: id)
                }
            }.wait()
        }
        tick = loop.scheduleRepeatedTask(initialDelay: .milliseconds(20), delay: .milliseconds(20)) { [self] _ in onTick() }
    }

    // MARK: - Signalling entry points (called on `loop`)

    /// A session joins `channel`; `tap` when the channel was created with `?tap=true`.
    func join(channel: String, sessionID: JSONValue, connection: UInt64, capacity: Int, webRTC: Bool, tap: Bool = false) {
        if self.tap != nil, tap || plaintextTapScope == .all { tappedChannels.insert(channel) }
        apply(hub.join(channel: channel, sessionID: sessionID, connection: connection, capacity: capacity, webRTC: webRTC, now: now))
    }

    func frame(_ bytes: [UInt8], from connection: UInt64) {
        apply(hub.handleFrame(bytes, from: connection, now: now))
    }

    func disconnected(_ connection: UInt64) {
        apply(hub.leave(connection: connection, now: now))
    }

    func kick(channel: String, sessionID: JSONValue) {
        apply(hub.kick(channel: channel, sessionID: sessionID, now: now))
    }

    func closeChannel(_ channel: String) {
        apply(hub.closeChannel(channel, now: now))
    }

    func closeAll(code: WSCloseCode) {
        apply(hub.closeAll(code: code, now: now))
    }

    /// The channel of a session's transport (nil once the session left).
    private func channel(of transport: TransportID) -> String? {
        hub.order.keys.first { hub.sessions(in: $0).contains { $0.stc == transport || $0.cts == transport } }
    }

    /// Session counts of the channels on this worker (for /v1/stats and SIGIO).
    func channelStats() -> [String: ChannelSessionStats] {
        var stats: [String: ChannelSessionStats] = [:]
        for channel in hub.order.keys {
            let sessions = hub.sessions(in: channel)
            stats[channel] = ChannelSessionStats(
                count: sessions.count,
                cameraCount: sessions.filter { $0.info.contains { $0.key == "isCameraOn" && $0.value } }.count,
                screenCount: sessions.filter { $0.info.contains { $0.key == "isScreenSharingOn" && $0.value } }.count)
        }
        let now = self.now
        for producer in producers.values where stats[producer.channel] != nil {
            let bps = router.producerFirstStreamBitrate(producer.id, now: now)
            switch producer.type {
            case "audio": stats[producer.channel]!.audioBitrate += bps
            case "camera": stats[producer.channel]!.cameraBitrate += bps
            default: stats[producer.channel]!.screenBitrate += bps
            }
        }
        return stats
    }

    // MARK: - Outputs

    private func apply(_ outputs: [SessionHub.Output]) {
        for line in hub.takeLog() { logger.info("\(line)") }
        for output in outputs {
            switch output {
            case .send(let id, let text): webSocket.connection(id)?.send(text)
            case .close(let id, let code): webSocket.connection(id)?.close(code)
            case .media(let command): perform(command)
            }
        }
        flushRouter()
        publishStats()
    }

    /// Tells the HTTP side when session counts changed.
    private func publishStats() {
        let stats = channelStats()
        guard stats != publishedStats else { return }
        var changed = stats.filter { publishedStats[$0.key] != $0.value }
        for gone in publishedStats.keys where stats[gone] == nil { changed[gone] = ChannelSessionStats() }
        publishedStats = stats
        tappedChannels = tappedChannels.filter { stats[$0] != nil }
        webSocket.api.sessionsChanged(changed)
    }

    private func perform(_ command: MediaCommand) {
        switch command {
        case .createTransport(let id, let credentials, let maxIncoming, let maxOutgoing):
            router.createTransport(id, credentials: credentials, tapsPlaintext: channel(of: id).map(tappedChannels.contains) ?? false)
            router.setBitrateLimits(id, maxIncoming: maxIncoming, maxOutgoing: maxOutgoing, now: now)
        case .connectTransport(let id, let role, let fingerprints):
            do {
                try router.connectTransport(id, remoteRole: role, fingerprints: fingerprints, now: now)
            } catch {
                logger.warning("transport \(id): connect failed: \(error)")
            }
        case .closeTransport(let id):
            router.closeTransport(id)
            tap?.close(id)   // plaintext tap hook
            addresses = addresses.filter { router.isBound($0.key) }   // forget the closed transport's peers
        case .createProducer(let spec):
            do {
                try router.createProducer(id: spec.id, transport: spec.transport, kind: spec.kind, parameters: spec.parameters, mapping: spec.mapping)
                producers[spec.id] = spec
            } catch {
                logger.warning("producer \(spec.id): \(error)")
            }
        case .closeProducer(let id):
            router.closeProducer(id)
            producers[id] = nil
        case .setProducerPaused(let id, let paused):
            router.setProducerPaused(id, paused, now: now)
        case .createConsumer(let spec):
            do {
                try router.createConsumer(id: spec.id, transport: spec.transport, producerID: spec.producerID, parameters: spec.parameters)
            } catch {
                logger.warning("consumer \(spec.id): \(error)")
            }
        case .setConsumerActive(let id, let active):
            router.setConsumerActive(id, active, now: now)
        case .closeConsumer(let id):
            router.closeConsumer(id)
        }
    }

    // MARK: - Datagrams and timers

    func received(_ envelope: AddressedEnvelope<ByteBuffer>) {
        guard let tuple = ICETuple(envelope.remoteAddress) else { return }
        if simulatedLoss > 0, isMedia(envelope.data), Double.random(in: 0..<1) < simulatedLoss { return }
        // Only sources ICE validated are remembered (a flood of spoofed sources must not grow the map).
        if router.handle(envelope.data, from: tuple, now: now), addresses[tuple] == nil { addresses[tuple] = envelope.remoteAddress }
        flushRouter()
    }

    /// ICE-TCP hook: one RFC 4571 frame from a TCP connection; `true` when the router found it valid.
    private func receivedTCP(_ frame: ByteBuffer, from tuple: ICETuple) -> Bool {
        let valid = router.handle(frame, from: tuple, now: now)
        flushRouter()
        return valid
    }

    /// Sends what the router queued (one flush per burst) and logs its events.
    private func flushRouter() {
        while let event = router.pollEvent() {
            guard case .transport(let id, let e) = event else { continue }
            switch e {
            case .iceStateChanged(let state): logger.debug("transport \(id): ICE \(state)")
            case .iceSelectedTupleChanged(let tuple): logger.debug("transport \(id): selected tuple \(tuple.map { "\($0)" } ?? "none")")
            case .dtlsConnected(let result): logger.info("transport \(id): DTLS connected (\(result.cipher), \(result.profile))")
            case .dtlsFailed(let error): logger.warning("transport \(id): DTLS failed: \(error)")
            case .dtlsClosed: logger.debug("transport \(id): DTLS closed")
            case .dropped(let reason): logger.debug("transport \(id): dropped: \(reason)")
            case .keyLog(let line): keyLog?.write(Data((line + "\n").utf8))
            case .plaintext(let packet): if router.transport(id) != nil { tap?.record(id, packet) }   // plaintext tap hook (none after close)
            case .rtp, .rtcp: break
            }
        }
        guard let socket else { return }
        var wrote = false
        while let t = router.pollTransmit() {
            if t.destination.transport == .tcp { tcp?.send(t.bytes, to: t.destination); continue }   // ICE-TCP hook
            guard let address = addresses[t.destination] ?? SocketAddress(t.destination) else { continue }
            if simulatedLoss > 0, isMedia(t.bytes), Double.random(in: 0..<1) < simulatedLoss { continue }
            socket.write(AddressedEnvelope(remoteAddress: address, data: t.bytes), promise: nil)
            wrote = true
        }
        if wrote { socket.flush() }
    }

    private func onTick() {
        let now = self.now
        tap?.tick(now: now)   // plaintext tap hook: periodic flush
        if now >= nextStatsPublication {
            nextStatsPublication = now + .seconds(1)
            publishStats()
        }
        if let deadline = hub.nextDeadline, deadline <= now { apply(hub.handleTimeout(now: now)) }
        if let deadline = router.nextDeadline(now: now), deadline <= now {
            router.handleTimeout(now: now)
            flushRouter()
        }
    }

    /// RTP or RTCP by the first byte (RFC 7983), the datagrams simulated loss applies to.
    private func isMedia(_ datagram: ByteBuffer) -> Bool {
        guard let first = datagram.getInteger(at: datagram.readerIndex, as: UInt8.self) else { return false }
        return (128...191).contains(first)
    }

    private final class UDPHandler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        let worker: MediaWorker
        init(worker: MediaWorker) { self.worker = worker }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            worker.received(unwrapInboundIn(data))
        }
    }
}

/// Session counts of one channel.
struct ChannelSessionStats: Sendable, Equatable {
    var count = 0
    var cameraCount = 0
    var screenCount = 0
    /// Incoming bitrates (bps) by producer type.
    var audioBitrate = 0
    var cameraBitrate = 0
    var screenBitrate = 0
    var totalBitrate: Int { audioBitrate + cameraBitrate + screenBitrate }
}

extension ICETuple {
    /// The UDP tuple of a NIO address (IPv4 or IPv6).
    init?(_ address: SocketAddress, transport: ICETransportProtocol = .udp) {
        switch address {
        case .v4(let a):
            self.init(remote: .v4(address: UInt32(bigEndian: a.address.sin_addr.s_addr), port: UInt16(bigEndian: a.address.sin_port)),
                      transport: transport)
        case .v6(let a):
            let bytes = withUnsafeBytes(of: a.address.sin6_addr) { Array($0) }
            let high = bytes[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let low = bytes[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            self.init(remote: .v6(high: high, low: low, port: UInt16(bigEndian: a.address.sin6_port)), transport: transport)
        default:
            return nil
        }
    }
}

extension SocketAddress {
    /// The NIO address of an ICE tuple's remote end.
    init?(_ tuple: ICETuple) {
        switch tuple.remote {
        case .v4(let address, let port):
            let text = "\(address >> 24).\(address >> 16 & 0xFF).\(address >> 8 & 0xFF).\(address & 0xFF)"
            guard let a = try? SocketAddress(ipAddress: text, port: Int(port)) else { return nil }
            self = a
        case .v6(let high, let low, let port):
            let groups = (0..<8).map { i -> String in
                let word = i < 4 ? high >> (48 - 16 * UInt64(i)) : low >> (48 - 16 * UInt64(i - 4))
                return String(word & 0xFFFF, radix: 16)
            }
            guard let a = try? SocketAddress(ipAddress: groups.joined(separator: ":"), port: Int(port)) else { return nil }
            self = a
        }
    }
}
