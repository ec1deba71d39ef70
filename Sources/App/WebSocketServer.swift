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
    /// The largest incoming message, all its frames together (MAX_BUF_IN, or 1 MiB).
    let maxMessageSize: Int
    let logger = Logger(label: "WS")
    /// The media workers; set once at startup, before the listener accepts connections.
    let workers = Mutex<[MediaWorker]>([])
    /// Which worker owns each live channel (assigned at the first join, least loaded first).
    private let assignment = Mutex<[String: Int]>([:])

    init(api: ServerState, channelSize: Int, maxMessageSize: Int) {
        self.api = api
        self.channelSize = channelSize
        self.maxMessageSize = maxMessageSize
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

/// A WebSocket connection's protocol (docs/protocol.md §3.2): a 10 s authentication timer, the first text frame as
/// credentials, the `""` acknowledgement, the join, then bus frames to the session hub.
final class WSSessionHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let state: WebSocketState
    private var connection: WSConnection?
    private var authenticated = false
    private var authTimer: Scheduled<Void>?
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
        case .text:
            // Whole messages: NIOWebSocketFrameAggregator joined the fragments, within the size limit.
            guard let text = String(validating: frame.unmaskedData.readableBytesView, as: UTF8.self) else {
                state.logger.warning("connection \(connection.id): text message that is not UTF-8, closing with 1007")
                return connection.close(.invalidPayload)
            }
            handleMessage(Array(text.utf8), connection: connection)
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
        let code = Self.closeCode(for: error)
        state.logger.warning("connection \(connection?.id ?? 0): \(error), closing with \(code.rawValue)")
        connection?.close(code)
    }

    /// The close code for what broke a connection: RFC 6455 says 1009 for a message too big and 1002 for a protocol
    /// violation; anything else is a server-side error (1011).
    static func closeCode(for error: any Error) -> WSCloseCode {
        switch error {
        case NIOWebSocketError.invalidFrameLength: .messageTooBig
        case is NIOWebSocketError: .protocolError
        case NIOWebSocketFrameAggregator.Error.accumulatedFrameSizeIsTooLarge, NIOWebSocketFrameAggregator.Error.tooManyFragments: .messageTooBig
        case is NIOWebSocketFrameAggregator.Error, is WebSocketFrameValidator.Violation: .protocolError
        default: .error
        }
    }
}

extension HTTPServer {
    /// The WebSocket upgrader for GET on any path (docs/protocol.md §3.1): frames are checked against RFC 6455
    /// (``WebSocketFrameValidator``) and joined into messages by NIO's `NIOWebSocketFrameAggregator`, each message —
    /// and so each frame — at most ``WebSocketState/maxMessageSize`` bytes, before or after authentication.
    static func webSocketUpgrader(state: WebSocketState) -> NIOWebSocketServerUpgrader {
        NIOWebSocketServerUpgrader(
            maxFrameSize: state.maxMessageSize,
            automaticErrorHandling: false,   // WSSessionHandler closes with the right code (1002 / 1009)
            shouldUpgrade: { channel, head in
                // Node's ws refuses an upgrade that is not a GET (405): the request goes on to the HTTP handler.
                channel.eventLoop.makeSucceededFuture(head.method == .GET ? HTTPHeaders() : nil)
            },
            upgradePipelineHandler: { channel, _ in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        WebSocketFrameValidator(),
                        NIOWebSocketFrameAggregator(minNonFinalFragmentSize: 1, maxAccumulatedFrameCount: 1_024,
                                                    maxAccumulatedFrameSize: state.maxMessageSize),
                        WSSessionHandler(state: state),
                    ])
                }
            })
    }
}

/// The RFC 6455 rules NIO's frame decoder leaves to the application (§5.1–§5.5): a client's frames are masked, no
/// extension was negotiated (RSV bits clear), opcodes are defined ones, control frames are whole and short. A frame
/// that breaks one is an error (the session handler closes with 1002); the aggregator after it checks fragmentation.
final class WebSocketFrameValidator: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame

    enum Violation: Error, Hashable {
        case unmasked, reservedBits, reservedOpcode, fragmentedControlFrame, controlFrameTooLong
    }

    static let definedOpcodes: [WebSocketOpcode] = [.continuation, .text, .binary, .connectionClose, .ping, .pong]

    private var failed = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        let frame = unwrapInboundIn(data)
        let violation: Violation? =
            if frame.maskKey == nil { .unmasked }
            else if frame.rsv1 || frame.rsv2 || frame.rsv3 { .reservedBits }
            else if !Self.definedOpcodes.contains(frame.opcode) { .reservedOpcode }
            else if frame.opcode.isControlOpcode && !frame.fin { .fragmentedControlFrame }
            else if frame.opcode.isControlOpcode && frame.length > 125 { .controlFrameTooLong }
            else { nil }
        if let violation {
            failed = true
            context.fireErrorCaught(violation)
            return
        }
        context.fireChannelRead(data)
    }
}
