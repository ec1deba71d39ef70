import DTLS
import Foundation
import ICE
import Logging
import NIOCore
import NIOPosix
import SFU

/// One worker: an event loop that owns a shared UDP socket (``UDPEndpoint``) and an ICE-TCP listener, the
/// ``MediaRouter`` of every transport of the channels assigned to it, and those channels' signalling
/// (``SessionHub``), joined by a ``MediaCommandExecutor``; ``DebugHooks`` add loss simulation, the key log and the
/// plaintext tap. Everything here runs on `loop`, so nothing on the packet path takes a lock; other threads reach
/// a worker with `loop.execute`.
///
/// Time: one task is scheduled at the earliest deadline of the router and the hub, re-armed after every input
/// batch when that deadline moved earlier — no fixed tick. How late the task fires is kept (``TimerLateness``)
/// and logged with the stats on SIGIO.
final class MediaWorker: @unchecked Sendable {
    let index: Int
    let loop: any EventLoop
    let logger: Logger
    private let webSocket: WebSocketState
    let endpoint = UDPEndpoint()
    /// ICE-TCP (passive) listener of this worker, `nil` when no port of the range was free (ICETCPServer.swift).
    private(set) var tcp: ICETCPServer?
    private var hub: SessionHub
    private let router: MediaRouter
    private let executor: MediaCommandExecutor
    let hooks: DebugHooks
    private let origin = NIODeadline.now()
    /// The scheduled deadline task and the time it was asked for.
    private var armed: (deadline: Duration, task: Scheduled<Void>)?
    /// The hub's deadline as of its last input or timeout (it changes only then).
    private var hubDeadline: Duration?
    private(set) var lateness = TimerLateness()
    private var housekeeping: RepeatedTask?
    /// Session counts last published to the HTTP side.
    private var publishedStats: [String: ChannelSessionStats] = [:]

    init(index: Int, loop: any EventLoop, webSocket: WebSocketState, dtlsContext: DTLSContext, hooks: DebugHooks,
         congestionControl: CongestionControlMode) {
        self.index = index
        self.loop = loop
        self.webSocket = webSocket
        self.hooks = hooks
        let logger = Logger(label: "WORKER-\(index)")
        self.logger = logger
        router = MediaRouter(dtlsContext: dtlsContext,
                             clock: NTPClock(unixTimeAtOrigin: .nanoseconds(Int64(Date().timeIntervalSince1970 * 1e9))),
                             random: SystemRandomNumberGenerator(), congestionControl: congestionControl)
        executor = MediaCommandExecutor(router: router, logger: logger) { [hooks] channel in hooks.taps(channel: channel) }
        // Refused datagrams are counted either way; as events (and debug log lines) only when debug logging is on.
        router.reportsDrops = logger.logLevel <= .debug
        hub = SessionHub()
    }

    /// The time every sans-IO layer of this worker is driven with: since the worker started, on NIO's monotonic
    /// clock (the one its timers use).
    var now: Duration { .nanoseconds(Int64(NIODeadline.now().uptimeNanoseconds &- origin.uptimeNanoseconds)) }

    /// Binds the worker's UDP socket to the first free port of `ports` (starting at an offset so that workers spread
    /// over the range) and its ICE-TCP listener, sets up the signalling with `environment` (its ports filled in) and,
    /// with `tapDirectory`, the plaintext tap. Called once, before any connection is routed here.
    func start(host: String, ports: ClosedRange<Int>, offset: Int, environment: SessionHub.Environment, tapDirectory: String?) throws {
        try endpoint.bind(loop: loop, host: host, ports: ports, offset: offset,
                          receive: { [unowned self] envelope in received(envelope) }, readComplete: { [unowned self] in inputDone() })
        var environment = environment
        environment.udpPort = endpoint.port
        // ICE-TCP hook: a passive TCP candidate on the same interface and port range (announced when bound).
        let tcp = ICETCPServer(loop: loop, logger: logger) { [unowned self] frame, tuple in receivedTCP(frame, from: tuple) }
        do {
            environment.tcpPort = try tcp.start(host: host, ports: ports, offset: offset)
            self.tcp = tcp
        } catch {
            logger.warning("no free TCP port in \(ports) for ICE-TCP: \(error)")
        }
        let final = environment
        try loop.submit { [self] in
            hub = SessionHub(environment: final)
            if let tapDirectory {
                hooks.startTap(directory: tapDirectory, announcedAddress: final.announcedAddress, udpPort: final.udpPort,
                               tcpPort: final.tcpPort, label: "worker\(index)", notify: { [logger] in logger.info("plaintext tap: \($0)") },
                               channel: { [unowned self] name in hub.directory.channel(ofTransport: name) })
            }
            // Not media timers: statistics for the HTTP side and the tap's flush, once a second.
            housekeeping = loop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { [self] _ in
                hooks.tick(now: now)
                publishStats()
            }
        }.wait()
    }

    // MARK: - Signalling entry points (called on `loop`)

    /// A session joins `channel`; `tap` when the channel was created with `?tap=true`.
    func join(channel: String, sessionID: JSONValue, connection: UInt64, capacity: Int, webRTC: Bool, tap: Bool) {
        hooks.joined(channel: channel, requested: tap)
        signal(.join(channel: channel, sessionID: sessionID, connection: connection, capacity: capacity, webRTC: webRTC))
    }

    func frame(_ bytes: [UInt8], from connection: UInt64) { signal(.frame(bytes, from: connection)) }
    func disconnected(_ connection: UInt64) { signal(.leave(connection)) }
    func kick(channel: String, sessionID: JSONValue) { signal(.kick(channel: channel, sessionID: sessionID)) }
    func closeChannel(_ channel: String) { signal(.closeChannel(channel)) }
    func closeAll(code: WSCloseCode) { signal(.closeAll(code)) }

    private func signal(_ input: SessionHub.Input) {
        hub.handle(input, now: now)
        applyHub()
    }

    /// Session counts and incoming bitrates of the channels on this worker (for /v1/stats and SIGIO).
    func channelStats() -> [String: ChannelSessionStats] {
        var stats: [String: ChannelSessionStats] = [:]
        for channel in hub.directory.channels {
            let sessions = hub.sessions(in: channel)
            stats[channel] = ChannelSessionStats(count: sessions.count, cameraCount: sessions.count { $0.infoIsOn("isCameraOn") },
                                                 screenCount: sessions.count { $0.infoIsOn("isScreenSharingOn") })
        }
        let now = self.now
        for (name, producer) in executor.producers {
            let bps = executor.producer(name).map { router.producerFirstStreamBitrate($0, now: now) } ?? 0
            switch producer.type {
            case .audio: stats[producer.channel]?.audioBitrate += bps
            case .camera: stats[producer.channel]?.cameraBitrate += bps
            case .screen: stats[producer.channel]?.screenBitrate += bps
            }
        }
        return stats
    }

    // MARK: - Outputs

    /// Carries out what the hub decided: media commands, log lines, frames and closes; then sends what the router
    /// produced and re-arms the timer.
    private func applyHub() {
        while let event = hub.pollEvent() {
            switch event {
            case .media(let command):
                var channel: String?
                if case .createTransport(let name, _, _, _) = command { channel = hub.directory.channel(ofTransport: name) }
                executor.perform(command, channel: channel, now: now)
                if case .closeTransport(let name) = command {
                    hooks.closed(transport: name)
                    endpoint.forgetAddresses(keeping: router.isBound)
                }
            case .log(let line):
                switch line.level {
                case .debug: logger.debug("\(line.text)")
                case .info: logger.info("\(line.text)")
                case .warning: logger.warning("\(line.text)")
                }
            }
        }
        while let transmit = hub.pollTransmit() {
            switch transmit {
            case .send(let id, let text): webSocket.connection(id)?.send(text)
            case .close(let id, let code): webSocket.connection(id)?.close(code)
            }
        }
        hubDeadline = hub.nextDeadline
        publishStats()
        inputDone()
    }

    /// Tells the HTTP side when session counts changed.
    private func publishStats() {
        let stats = channelStats()
        guard stats != publishedStats else { return }
        var changed = stats.filter { publishedStats[$0.key] != $0.value }
        for gone in publishedStats.keys where stats[gone] == nil { changed[gone] = ChannelSessionStats() }
        publishedStats = stats
        hooks.keepTapping { stats[$0] != nil }
        webSocket.api.sessionsChanged(changed)
    }

    // MARK: - Datagrams and timers

    private func received(_ envelope: AddressedEnvelope<ByteBuffer>) {
        guard let tuple = ICETuple(envelope.remoteAddress), !hooks.drops(envelope.data) else { return }
        router.handle(Datagram(envelope.data, from: tuple), now: now)
    }

    /// ICE-TCP hook: one RFC 4571 frame from a TCP connection; `true` when the tuple is (now) valid for a transport.
    private func receivedTCP(_ frame: ByteBuffer, from tuple: ICETuple) -> Bool {
        router.handle(Datagram(frame, from: tuple), now: now)
        inputDone()
        return router.isBound(tuple)
    }

    /// After a batch of inputs: send what the router produced (one flush), log its events, re-arm the timer.
    private func inputDone() {
        flushRouter()
        rearm()
    }

    /// Sends what the router queued and acts on its events.
    private func flushRouter() {
        while let event = router.pollEvent() {
            switch event {
            case .transport(let id, let e):
                let name = executor.name(of: id) ?? id.description
                switch e {
                case .iceStateChanged(let state): logger.debug("transport \(name): ICE \(state)")
                case .iceSelectedTupleChanged(let tuple): logger.debug("transport \(name): selected tuple \(tuple.map { "\($0)" } ?? "none")")
                case .dtlsConnected(let result): logger.info("transport \(name): DTLS connected (\(result.cipher), \(result.profile))")
                case .dtlsFailed(let error): logger.warning("transport \(name): DTLS failed: \(error)")
                case .dtlsClosed: logger.debug("transport \(name): DTLS closed")
                case .dropped(let reason, let source): logger.debug("transport \(name): dropped from \(source): \(reason)")
                case .keyLog(let line): hooks.writeKeyLog(line)
                case .plaintext(let packet): if let known = executor.name(of: id) { hooks.record(known, packet) }   // none after close
                case .rtp, .rtcp: break
                }
            case .dropped(let reason, let source):
                logger.debug("dropped from \(source): \(reason)")
            case .congestion(let id, let r):
                let e = r.estimate
                logger.debug("transport \(executor.name(of: id) ?? id.description): estimate \(e.target) bps (delay \(e.delayBased), loss \(e.lossBased), acked \(e.acknowledged.map(String.init) ?? "-"), delivered \(e.delivered.map(String.init) ?? "-"), \(e.usage.rawValue)\(e.inALR ? ", ALR" : ""), loss \(Int(e.loss * 100))%), desired \(r.desired), pacer max \(r.pacerMaxQueueTime), queued \(r.pacerQueuedBytes) B")
            case .probe(let id, let result):
                logger.debug("transport \(executor.name(of: id) ?? id.description): probe \(result.cluster) at \(result.target) bps: \(result.bitrate) bps\(result.saturated ? " (saturated)" : "")")
            case .pacerOverflow(let id, let dropped):
                logger.debug("transport \(executor.name(of: id) ?? id.description): pacer dropped \(dropped) queued video packets, restarting at a key frame")
            case .consumerLayers(let id, let share):
                logger.debug("consumer \(id): \(share.step.map { "layer \($0.spatial), temporal \($0.temporal.map(String.init) ?? "all"), \($0.bitrate) bps" } ?? "paused (no room)")")
            }
        }
        while let t = router.pollTransmit() {
            if t.destination.transport == .tcp { tcp?.send(t.bytes, to: t.destination); continue }   // ICE-TCP hook
            if hooks.drops(t.bytes) { continue }
            endpoint.send(t.bytes, to: t.destination)
        }
        endpoint.flush()
    }

    /// Schedules the deadline task at the earliest deadline of the router and the hub, unless the armed one fires
    /// no later (an early firing finds nothing due and re-arms).
    private func rearm() {
        guard let next = earliest(router.nextDeadline, hubDeadline) else { return }
        if let armed, armed.deadline <= next { return }
        armed?.task.cancel()
        let at = NIODeadline.uptimeNanoseconds(origin.uptimeNanoseconds &+ UInt64(max(0, next.nanoseconds)))
        armed = (next, loop.scheduleTask(deadline: at) { [unowned self] in fire(requested: next) })
    }

    private func fire(requested: Duration) {
        let now = self.now
        lateness.record(now - requested)
        armed = nil
        router.handleTimeout(now: now)
        if let due = hubDeadline, due <= now {
            hub.handleTimeout(now: now)
            applyHub()   // carries the hub's outputs out, then flushes the router and re-arms
        } else {
            inputDone()
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

extension Duration {
    /// Whole nanoseconds.
    var nanoseconds: Int64 {
        let (seconds, atto) = components
        return seconds &* 1_000_000_000 &+ atto / 1_000_000_000
    }
}
