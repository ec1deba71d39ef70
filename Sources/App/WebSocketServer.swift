import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOWebSocket
import Synchronization

/// One WebSocket connection, addressable from any thread (writes hop to its event loop).
final class WSConnection: Sendable {
    let id: UInt64
    let channel: any Channel

    init(id: UInt64, channel: any Channel) {
        self.id = id
        self.channel = channel
    }

    /// Sends a text frame.
    func send(_ text: String) {
        let channel = self.channel
        channel.eventLoop.execute {
            var buffer = channel.allocator.buffer(capacity: text.utf8.count)
            buffer.writeString(text)
            channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .text, data: buffer), promise: nil)
        }
    }

    /// Sends a close frame with `code` and closes the connection.
    func close(_ code: WSCloseCode) {
        let channel = self.channel
        channel.eventLoop.execute {
            var buffer = channel.allocator.buffer(capacity: 2)
            buffer.writeInteger(code.rawValue)
            channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .connectionClose, data: buffer)).whenComplete { _ in
                channel.close(promise: nil)
            }
        }
    }
}

/// The WebSocket side of the server: connections (any thread) and the workers that own the channels.
final class WebSocketState: Sendable {
    let api: ServerState
    let connections = Mutex([UInt64: WSConnection]())
    let nextID = Atomic<UInt64>(1)
    let channelSize: Int
    let maxFrameSize: Int
    let logger = Logger(label: "WS")
    /// The media workers; set once at startup, before the listener accepts connections.
    let workers = Mutex<[MediaWorker]>([])
    /// Which worker owns each live channel (assigned at the first join, least loaded first).
    private let assignment = Mutex<[String: Int]>([:])

    init(api: ServerState, channelSize: Int, maxFrameSize: Int) {
        self.api = api
        self.channelSize = channelSize
        self.maxFrameSize = maxFrameSize
    }

    func register(_ channel: any Channel) -> WSConnection {
        let c = WSConnection(id: nextID.add(1, ordering: .relaxed).oldValue, channel: channel)
        connections.withLock { $0[c.id] = c }
        return c
    }

    func connection(_ id: UInt64) -> WSConnection? { connections.withLock { $0[id] } }

    /// The worker that owns `channel` (assigning one if needed).
    func worker(for channel: String) -> MediaWorker? {
        let workers = self.workers.withLock { $0 }
        guard !workers.isEmpty else { return nil }
        let index = assignment.withLock { assignment -> Int in
            if let i = assignment[channel] { return i }
            let i = Self.leastLoaded(assignment, workerCount: workers.count)
            assignment[channel] = i
            return i
        }
        return workers[index]
    }

    /// The worker with the fewest channels (the lowest index among equals), odoo/sfu `getWorker`-style.
    static func leastLoaded(_ assignment: [String: Int], workerCount: Int) -> Int {
        var load = [Int](repeating: 0, count: max(1, workerCount))
        for i in assignment.values where load.indices.contains(i) { load[i] += 1 }
        return load.indices.min { load[$0] < load[$1] || (load[$0] == load[$1] && $0 < $1) }!
    }

    /// The channel was closed: its sessions are closed with 4108 and it is unassigned.
    func channelClosed(_ channel: String) {
        let index = assignment.withLock { $0.removeValue(forKey: channel) }
        guard let index, let worker = workers.withLock({ $0.indices.contains(index) ? $0[index] : nil }) else { return }
        worker.loop.execute { worker.closeChannel(channel) }
    }

    /// Closes sessions `/v1/disconnect` kicked.
    func kick(_ sessions: [(channel: String, sessionID: JSONValue)]) {
        for (channel, id) in sessions {
            logger.info("kicking session \(id.jsonText) of channel \(channel)")
            guard let worker = worker(for: channel) else { continue }
            worker.loop.execute { worker.kick(channel: channel, sessionID: id) }
        }
    }

    func disconnected(_ connection: WSConnection, worker: MediaWorker?) {
        connections.withLock { _ = $0.removeValue(forKey: connection.id) }
        guard let worker else { return }
        worker.loop.execute { worker.disconnected(connection.id) }
    }
}

/// A WebSocket connection's protocol (spec §3.2): a 10 s authentication timer, the first text frame as
/// credentials, the `""` acknowledgement, the join, then bus frames to the session hub.
final class WSSessionHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let state: WebSocketState
    private var connection: WSConnection?
    private var authenticated = false
    private var authTimer: Scheduled<Void>?
    private var fragments: ByteBuffer?
    /// The worker of the channel this connection joined.
    private var worker: MediaWorker?

    init(state: WebSocketState) { self.state = state }

    func handlerAdded(context: ChannelHandlerContext) {
        let connection = state.register(context.channel)
        self.connection = connection
        authTimer = context.eventLoop.scheduleTask(in: .seconds(10)) { [state] in
            state.logger.info("connection \(connection.id): no credentials within 10 s")
            connection.close(.timeout)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        authTimer?.cancel()
        if let connection { state.disconnected(connection, worker: worker) }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard let connection else { return }
        switch frame.opcode {
        case .connectionClose:
            connection.close(.clean)
            return
        case .ping:
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
            return
        case .text, .continuation:
            var data = frame.unmaskedData
            if frame.opcode == .text { fragments = data } else { fragments?.writeBuffer(&data) }
            guard frame.fin, let whole = fragments else { return }
            fragments = nil
            handleMessage(Array(whole.readableBytesView), connection: connection)
        default:
            return   // binary frames are not part of the protocol
        }
    }

    private func handleMessage(_ bytes: [UInt8], connection: WSConnection) {
        guard authenticated else {
            authTimer?.cancel()
            let now = Int64(Date().timeIntervalSince1970)
            let result = state.api.api.withLock { api in
                WSHandshake.authenticate(firstMessage: bytes, registry: api.registry, globalVerifier: api.globalVerifier, now: now)
            }
            switch result {
            case .failure(let code):
                state.logger.warning("connection \(connection.id): authentication failed, closing with \(code.rawValue)")
                connection.close(code)
            case .success(let accepted):
                authenticated = true
                connection.send("")   // the acknowledgement: the first frame, never a bus frame
                guard let worker = state.worker(for: accepted.channelUUID) else {
                    connection.close(.error)
                    return
                }
                self.worker = worker
                let record = state.api.api.withLock { $0.registry.channel(uuid: accepted.channelUUID) }
                let (webRTC, tap) = (record?.webRTC ?? true, record?.tapped ?? false)
                state.logger.info("session \(accepted.sessionID.jsonText) joined channel \(accepted.channelUUID)")
                let capacity = state.channelSize, channel = accepted.channelUUID, sessionID = accepted.sessionID, id = connection.id
                worker.loop.execute { worker.join(channel: channel, sessionID: sessionID, connection: id, capacity: capacity,
                                                       webRTC: webRTC, tap: tap) }
            }
            return
        }
        guard let worker else { return }
        let id = connection.id
        worker.loop.execute { worker.frame(bytes, from: id) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        state.logger.warning("connection \(connection?.id ?? 0): \(error)")
        connection?.close(.error)
    }
}

extension HTTPServer {
    /// The WebSocket upgrader for any path on the HTTP port (spec §3.1), with frames limited to
    /// MAX_BUF_IN bytes.
    static func webSocketUpgrader(state: WebSocketState) -> NIOWebSocketServerUpgrader {
        NIOWebSocketServerUpgrader(
            maxFrameSize: state.maxFrameSize,
            shouldUpgrade: { channel, _ in channel.eventLoop.makeSucceededFuture(HTTPHeaders()) },
            upgradePipelineHandler: { channel, _ in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(WSSessionHandler(state: state))
                }
            })
    }
}
