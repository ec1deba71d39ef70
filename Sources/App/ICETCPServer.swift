import ICE
import Logging
import NIOCore
import NIOPosix
import RTCBase

/// ICE-TCP for one worker (RFC 6544, passive candidates only): a TCP listener on the worker's event loop,
/// inside the RTC port range, whose connections carry STUN, DTLS, RTP and RTCP framed by RFC 4571 (a 2-byte
/// big-endian length before each packet). Each connection is one ICE 5-tuple (`transport: .tcp`).
///
/// Every complete frame goes to `receive` (the worker hands it to its `MediaRouter`); ``send(_:to:)``
/// frames a packet and writes it to the connection of a tuple, flushing once per event-loop turn.
///
/// Bounded against broken or hostile peers: at most ``Limits/maxConnections`` connections; a connection is
/// closed when a frame is not STUN/DTLS/RTP/RTCP by its first byte (RFC 7983), when the framing is broken,
/// or when `receive` has accepted none of its frames within ``Limits/validationTimeout``; packets to a
/// connection whose peer does not read are dropped once ``Limits/writeBufferHighWaterMark`` bytes are queued.
///
/// Everything (callbacks included) runs on `loop`; call ``send(_:to:)`` only from there.
final class ICETCPServer: @unchecked Sendable {
    /// The bounds of one server.
    struct Limits: Sendable {
        /// Largest packet accepted in a frame.
        var maxFrameLength = 65_535
        /// Connections open at once; more are closed as soon as they are accepted.
        var maxConnections = 1000
        /// A connection none of whose frames `receive` accepted by then is closed.
        var validationTimeout: TimeAmount = .seconds(10)
        /// Bytes queued to a connection beyond which packets to it are dropped.
        var writeBufferHighWaterMark = 1 << 20
    }

    /// Takes one complete frame from a tuple; `true` when the frame was valid for that tuple
    /// (an ICE check that authenticated, or media on a tuple ICE already validated).
    typealias Receive = (ByteBuffer, ICETuple) -> Bool

    let loop: any EventLoop
    let limits: Limits
    private let logger: Logger
    private let receive: Receive
    private var listener: (any Channel)?
    /// The bound port, 0 before ``start(host:ports:offset:)``.
    private(set) var port = 0
    private var connections: [ICETuple: Connection] = [:]
    private var unflushed: [Connection] = []

    init(loop: any EventLoop, limits: Limits = Limits(), logger: Logger, receive: @escaping Receive) {
        self.loop = loop
        self.limits = limits
        self.logger = logger
        self.receive = receive
    }

    /// Connections currently open (read it on `loop`).
    var connectionCount: Int { connections.count }

    /// Listens on the first free port of `ports`, trying from `ports.lowerBound + offset` upwards (wrapping).
    /// Returns the port. Blocks until bound: call it off `loop`.
    @discardableResult
    func start(host: String, ports: ClosedRange<Int>, offset: Int = 0) throws -> Int {
        let count = ports.count
        var lastError: (any Error)?
        for i in 0..<count {
            let candidate = ports.lowerBound + (offset + i) % count
            do {
                let channel = try ServerBootstrap(group: loop, childGroup: loop)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .serverChannelOption(.backlog, value: 256)
                    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                    .childChannelOption(.writeBufferWaterMark,
                                        value: .init(low: limits.writeBufferHighWaterMark / 2, high: limits.writeBufferHighWaterMark))
                    .childChannelInitializer { [self] channel in accept(channel) }
                    .bind(host: host, port: candidate).wait()
                listener = channel
                port = channel.localAddress?.port ?? candidate
                return port
            } catch {
                lastError = error
            }
        }
        throw lastError ?? ChannelError.inputClosed
    }

    /// Frames `bytes` and queues it to the connection of `tuple`; `false` when there is no such connection,
    /// its peer is not reading (queue over the high-water mark) or the packet cannot be framed.
    /// Writes are flushed together once the current event-loop turn's work is done.
    @discardableResult
    func send(_ bytes: ByteBuffer, to tuple: ICETuple) -> Bool {
        guard let connection = connections[tuple], let channel = connection.channel, channel.isWritable,
              (1...limits.maxFrameLength).contains(bytes.readableBytes) else { return false }
        var framed = channel.allocator.buffer(capacity: bytes.readableBytes + 2)
        framed.writeInteger(UInt16(bytes.readableBytes))
        framed.writeImmutableBuffer(bytes)
        channel.write(framed, promise: nil)
        if !connection.needsFlush {
            connection.needsFlush = true
            if unflushed.isEmpty { loop.execute { [self] in flushPending() } }
            unflushed.append(connection)
        }
        return true
    }

    /// Closes the listener and every connection.
    func close() -> EventLoopFuture<Void> {
        loop.flatSubmit { [self] in
            for connection in connections.values { connection.channel?.close(promise: nil) }
            return listener?.close() ?? loop.makeSucceededVoidFuture()
        }
    }

    // MARK: - Connections (on `loop`)

    private func accept(_ channel: any Channel) -> EventLoopFuture<Void> {
        guard connections.count < limits.maxConnections, let address = channel.remoteAddress,
              let tuple = ICETuple(address, transport: .tcp), connections[tuple] == nil else {
            return channel.close()
        }
        let connection = Connection(server: self, tuple: tuple, maxFrameLength: limits.maxFrameLength)
        connections[tuple] = connection
        return channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(connection) }
    }

    private func flushPending() {
        let pending = unflushed
        unflushed.removeAll(keepingCapacity: true)
        for connection in pending {
            connection.needsFlush = false
            connection.channel?.flush()
        }
    }

    private func frameArrived(_ frame: ByteBuffer, from tuple: ICETuple) -> Bool { receive(frame, tuple) }

    private func forget(_ connection: Connection) {
        if connections[connection.tuple] === connection { connections[connection.tuple] = nil }
    }

    private func log(_ message: @autoclosure () -> Logger.Message) { logger.debug(message()) }

    /// One accepted connection: its RFC 4571 framer, validity timer and flush flag.
    private final class Connection: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        unowned let server: ICETCPServer
        let tuple: ICETuple
        private var framer: RFC4571Framer
        private(set) var channel: (any Channel)?
        private var validated = false
        private var timeout: Scheduled<Void>?
        var needsFlush = false

        init(server: ICETCPServer, tuple: ICETuple, maxFrameLength: Int) {
            self.server = server
            self.tuple = tuple
            self.framer = RFC4571Framer(maxPacketLength: maxFrameLength)
        }

        func handlerAdded(context: ChannelHandlerContext) {
            channel = context.channel
            let channel = context.channel
            timeout = context.eventLoop.scheduleTask(in: server.limits.validationTimeout) { [self] in
                guard !validated else { return }
                server.log("ICE-TCP \(tuple): nothing valid within \(server.limits.validationTimeout), closing")
                channel.close(promise: nil)
            }
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            framer.feed(unwrapInboundIn(data))
            while context.channel.isActive {
                let frame: ByteBuffer
                do {
                    guard let next = try framer.nextPacket() else {
                        // Refuse a stream that is not RFC 4571 media before its (bogus) length has arrived.
                        if let first = framer.nextPacketFirstByte, !Self.isMedia(firstByte: first) {
                            return drop(context, "not STUN/DTLS/RTP/RTCP")
                        }
                        return
                    }
                    frame = next
                } catch {
                    return drop(context, "framing error \(error)")
                }
                switch DatagramKind.classify(frame.readableBytesView) {
                case .stun, .dtls, .rtp, .rtcp:
                    if server.frameArrived(frame, from: tuple), !validated {
                        validated = true
                        timeout?.cancel()
                    }
                default:
                    return drop(context, "not STUN/DTLS/RTP/RTCP")
                }
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            timeout?.cancel()
            server.forget(self)
            channel = nil
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            drop(context, "\(error)")
        }

        /// STUN, DTLS or RTP/RTCP by the first byte (RFC 7983).
        private static func isMedia(firstByte: UInt8) -> Bool {
            switch DatagramKind.classify(firstByte: firstByte, secondByte: 0) {
            case .stun, .dtls, .rtp, .rtcp: return true
            default: return false
            }
        }

        private func drop(_ context: ChannelHandlerContext, _ reason: String) {
            server.log("ICE-TCP \(tuple): \(reason), closing")
            context.close(promise: nil)
        }
    }
}
