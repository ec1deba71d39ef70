import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import Synchronization

/// Shared server state: the HTTP API (and its channel registry) behind a lock, plus the loggers.
final class ServerState: Sendable {
    let api: Mutex<HTTPAPI>
    let httpLogger: Logger
    /// Closes sessions `/v1/disconnect` kicked (set by the WebSocket layer).
    let kickHandler = Mutex<(@Sendable ([(channel: String, sessionID: JSONValue)]) -> Void)?>(nil)
    /// Closes the sessions of a channel that was closed (set by the WebSocket layer).
    let channelClosedHandler = Mutex<(@Sendable (String) -> Void)?>(nil)

    init(api: HTTPAPI, httpLogger: Logger) {
        self.api = Mutex(api)
        self.httpLogger = httpLogger
    }

    /// Runs one request through the API at the current wall-clock time and emits its log lines.
    func handle(_ request: APIRequest) -> APIResponse {
        let now = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
        let (response, events, kicks) = api.withLock { api in
            let (response, events) = api.handle(request, nowMilliseconds: now)
            return (response, events, api.takeKicks())
        }
        if !kicks.isEmpty, let kick = kickHandler.withLock({ $0 }) { kick(kicks) }
        for event in events {
            switch event {
            case .verbose(let text): httpLogger.trace("\(text)")
            case .info(let text): httpLogger.info("\(text)")
            case .warn(let text): httpLogger.warning("\(text)")
            case .error(let text): httpLogger.error("\(text)")
            }
        }
        return response
    }

    /// A worker's channels changed session counts: `/v1/stats` figures and the empty-channel timers follow.
    func sessionsChanged(_ stats: [String: ChannelSessionStats]) {
        let now = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
        api.withLock { api in
            for (uuid, s) in stats {
                api.sessionStats[uuid] = s.count > 0 ? s : nil
                api.registry.sessionCountChanged(uuid: uuid, count: s.count, nowMilliseconds: now)
            }
        }
    }

    /// Closes channels whose empty-channel timer fired.
    func expireChannels() {
        let now = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
        let closed = api.withLock { $0.registry.expire(nowMilliseconds: now) }
        let handler = channelClosedHandler.withLock { $0 }
        for channel in closed {
            httpLogger.info("channel \(channel.uuid) closed (timeout)")
            handler?(channel.uuid)
        }
    }

    /// Closes every channel (shutdown, SIGALRM soft reset).
    func closeAllChannels() {
        let closed = api.withLock { $0.registry.closeAll() }
        let handler = channelClosedHandler.withLock { $0 }
        for channel in closed {
            httpLogger.info("channel \(channel.uuid) closed")
            handler?(channel.uuid)
        }
    }
}

/// The thin NIO edge: takes one aggregated HTTP/1.1 request (NIO's `NIOHTTPServerRequestAggregator` collects
/// head and body, answering 413 itself beyond ``maxBodySize``), hands it to ``ServerState``, writes the response.
///
/// The pipeline is built with `configureHTTPServerPipeline`, so the WebSocket upgrader
/// (`NIOWebSocketServerUpgrader`) can later be passed as `withServerUpgrade:` on the same port.
final class HTTPRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOHTTPServerRequestFull
    typealias OutboundOut = HTTPServerResponsePart

    /// Bodies above this size are refused with 413 (the real server has no limit; Odoo bodies are < 1 KiB).
    static let maxBodySize = 1 << 20

    private let state: ServerState

    init(state: ServerState) {
        self.state = state
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let request = unwrapInboundIn(data)
        let head = request.head
        let response: APIResponse
        if head.headers["upgrade"].contains(where: { $0.lowercased() == "websocket" }) && head.method != .GET {
            response = APIResponse(status: 405)   // what Node's ws answers a WebSocket upgrade that is not a GET
        } else {
            let peer = context.channel.remoteAddress?.ipAddress ?? "unknown"
            response = state.handle(APIRequest(method: head.method.rawValue, uri: head.uri, headers: head.headers.map { ($0.name, $0.value) },
                                               body: request.body.map { Array($0.readableBytesView) } ?? [], peerAddress: peer))
        }
        write(response, keepAlive: head.isKeepAlive && response.status != 405, version: head.version, context: context)
    }

    private func write(_ response: APIResponse, keepAlive: Bool, version: HTTPVersion, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        for (name, value) in response.headers.sorted(by: { $0.key < $1.key }) { headers.add(name: name, value: value) }
        headers.add(name: "content-length", value: String(response.body.count))
        headers.add(name: "connection", value: keepAlive ? "keep-alive" : "close")
        let head = HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: response.status),
                                    headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if !response.body.isEmpty {
            var buffer = context.channel.allocator.buffer(capacity: response.body.count)
            buffer.writeBytes(response.body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        let done = context.writeAndFlushWithPromise(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A body over the limit was already answered (413) by the aggregator, which closes when it must; a refused
        // WebSocket upgrade (not a GET) goes on as a plain request, answered 405 above.
        if error is NIOHTTPObjectAggregatorError || error is NIOWebSocketUpgradeError { return }
        context.close(promise: nil)
    }
}

/// The HTTP connection timers of Node's http server, which odoo/sfu runs on (`headersTimeout` 60 s,
/// `keepAliveTimeout` 5 s, `requestTimeout` 300 s), so that a client holding a connection open without finishing a
/// request cannot hold a file descriptor forever.
struct HTTPTimeouts: Equatable, Sendable {
    /// A new connection must deliver a complete request head within this time.
    var headers: Duration = .seconds(60)
    /// After a response on a keep-alive connection, the next request head must be complete within this time.
    var keepAlive: Duration = .seconds(5)
    /// A request's body must be complete within this time of its head.
    var request: Duration = .seconds(300)
}

/// Closes an HTTP connection whose client is too slow (``HTTPTimeouts``). One deadline runs at a time: for the
/// request head (from the connection's start, or from the previous response), then for the body, none while the
/// server answers. NIO's `IdleStateHandler` is not enough here: it measures silence, so a client trickling one byte
/// every few seconds would never be closed — the slow-header attack these timers exist for. Removed when the
/// connection upgrades to a WebSocket (which has its own timers).
final class HTTPTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let timeouts: HTTPTimeouts
    private let logger: Logger
    private var deadline: Scheduled<Void>?

    init(timeouts: HTTPTimeouts, logger: Logger) {
        self.timeouts = timeouts
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context, timeouts.headers, "request head") }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context, timeouts.headers, "request head")
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { disarm() }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: arm(context, timeouts.request, "request body")
        case .body: break
        case .end: disarm()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { arm(context, timeouts.keepAlive, "next request head") }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext, _ timeout: Duration, _ what: String) {
        disarm()
        let channel = context.channel, logger = self.logger
        deadline = context.eventLoop.scheduleTask(in: .nanoseconds(timeout.nanoseconds)) {
            logger.debug("connection from \(channel.remoteAddress?.description ?? "?"): no complete \(what) in time, closed")
            channel.close(promise: nil)
        }
    }

    private func disarm() {
        deadline?.cancel()
        deadline = nil
    }
}

extension ChannelHandlerContext {
    fileprivate func writeAndFlushWithPromise(_ data: NIOAny) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        writeAndFlush(data, promise: promise)
        return promise.futureResult
    }
}

/// Binds the HTTP listener and drives the channel close timers.
struct HTTPServer {
    /// Binds `host:port`; the returned channel is the listener.
    static func start(host: String, port: Int, state: ServerState, webSocket: WebSocketState? = nil, timeouts: HTTPTimeouts,
                      group: any EventLoopGroup) throws -> any Channel {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let timeout = HTTPTimeoutHandler(timeouts: timeouts, logger: state.httpLogger)
                    let aggregator = NIOHTTPServerRequestAggregator(maxContentLength: HTTPRequestHandler.maxBodySize)
                    let http = HTTPRequestHandler(state: state)
                    if let webSocket {
                        // WebSocket upgrades on any path (GET only); the HTTP handlers leave the pipeline afterwards.
                        let upgrade: NIOHTTPServerUpgradeSendableConfiguration = (
                            upgraders: [webSocketUpgrader(state: webSocket)],
                            completionHandler: { context in
                                for handler in [timeout, aggregator, http] as [any RemovableChannelHandler] {
                                    context.pipeline.removeHandler(handler, promise: nil)
                                }
                            })
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withServerUpgrade: upgrade, withErrorHandling: true)
                    } else {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    }
                    try channel.pipeline.syncOperations.addHandlers([timeout, aggregator, http])
                }
            }
            .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
        let channel = try bootstrap.bind(host: host, port: port).wait()
        channel.eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
            state.expireChannels()
        }
        return channel
    }
}
