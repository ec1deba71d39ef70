import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
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

/// The thin NIO edge: aggregates one HTTP/1.1 request, hands it to ``ServerState``, writes the response.
///
/// The pipeline is built with `configureHTTPServerPipeline`, so the WebSocket upgrader
/// (`NIOWebSocketServerUpgrader`) can later be passed as `withServerUpgrade:` on the same port.
final class HTTPRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Bodies above this size are refused (the real server has no limit; Odoo bodies are < 1 KiB).
    static let maxBodySize = 1 << 20

    private let state: ServerState
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var tooLarge = false

    init(state: ServerState) {
        self.state = state
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = []
            tooLarge = false
        case .body(var buffer):
            if body.count + buffer.readableBytes > Self.maxBodySize {
                tooLarge = true
            } else if let bytes = buffer.readBytes(length: buffer.readableBytes) {
                body += bytes
            }
        case .end:
            guard let head else { return }
            self.head = nil
            let response: APIResponse
            if tooLarge {
                response = APIResponse(status: 413)
            } else {
                let peer = context.channel.remoteAddress?.ipAddress ?? "unknown"
                let request = APIRequest(method: head.method.rawValue, uri: head.uri,
                                         headers: head.headers.map { ($0.name, $0.value) },
                                         body: body, peerAddress: peer)
                response = state.handle(request)
            }
            body = []
            write(response, keepAlive: head.isKeepAlive && !tooLarge, version: head.version, context: context)
        }
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
        context.close(promise: nil)
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
    static func start(host: String, port: Int, state: ServerState, webSocket: WebSocketState? = nil,
                      group: any EventLoopGroup) throws -> any Channel {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let http = HTTPRequestHandler(state: state)
                    if let webSocket {
                        // WebSocket upgrades on any path; the HTTP handler leaves the pipeline afterwards.
                        let upgrade: NIOHTTPServerUpgradeSendableConfiguration = (
                            upgraders: [webSocketUpgrader(state: webSocket)],
                            completionHandler: { context in context.pipeline.removeHandler(http, promise: nil) })
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withServerUpgrade: upgrade, withErrorHandling: true)
                    } else {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    }
                    try channel.pipeline.syncOperations.addHandler(http)
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
