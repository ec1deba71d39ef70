import ICE
import NIOCore
import NIOPosix

/// One worker's shared UDP socket (inside RTC_MIN_PORT…RTC_MAX_PORT on RTC_INTERFACE) and its address book: the
/// NIO address of every tuple the media plane sends to, made once per tuple instead of once per datagram.
///
/// Reads are batched (recvmmsg, up to ``readBatch`` datagrams per system call); each datagram goes to `receive`,
/// and the end of each batch to `readComplete`, where the worker sends what the batch produced (one flush per
/// batch: NIO then writes the queued datagrams with sendmmsg).
///
/// Everything runs on the endpoint's event loop.
final class UDPEndpoint: @unchecked Sendable {
    /// Datagrams per recvmmsg(2).
    static let readBatch = 32

    private var channel: (any Channel)?
    /// The bound port (0 before ``bind(loop:host:ports:offset:receive:readComplete:)``).
    private(set) var port = 0
    private var addresses: [ICETuple: SocketAddress] = [:]
    private var unflushed = false

    /// Binds the first free port of `ports`, trying from `ports.lowerBound + offset` upwards (wrapping), so that
    /// workers spread over the range. Blocks until bound: call it off the loop.
    func bind(loop: any EventLoop, host: String, ports: ClosedRange<Int>, offset: Int,
              receive: @escaping (AddressedEnvelope<ByteBuffer>) -> Void, readComplete: @escaping () -> Void) throws {
        var lastError: (any Error)?
        for i in 0..<ports.count {
            let candidate = ports.lowerBound + (offset + i) % ports.count
            do {
                let channel = try DatagramBootstrap(group: loop)
                    .channelOption(.socketOption(.so_reuseaddr), value: 0)
                    .channelOption(.socketOption(.so_rcvbuf), value: 4 << 20)
                    .channelOption(.socketOption(.so_sndbuf), value: 4 << 20)
                    .channelOption(.datagramVectorReadMessageCount, value: Self.readBatch)
                    .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: Self.readBatch * 2048))
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(Handler(receive: receive, readComplete: readComplete))
                        }
                    }
                    .bind(host: host, port: candidate).wait()
                self.channel = channel
                port = channel.localAddress?.port ?? candidate
                return
            } catch {
                lastError = error
            }
        }
        throw lastError ?? ChannelError.unknownLocalAddress
    }

    /// Queues `bytes` for `tuple` (flushed by ``flush()``).
    func send(_ bytes: ByteBuffer, to tuple: ICETuple) {
        guard let channel, let address = address(of: tuple) else { return }
        channel.write(AddressedEnvelope(remoteAddress: address, data: bytes), promise: nil)
        unflushed = true
    }

    /// Sends every queued datagram.
    func flush() {
        guard unflushed, let channel else { return }
        unflushed = false
        channel.flush()
    }

    /// Forgets the addresses of tuples `keep` refuses (the tuples of closed transports).
    func forgetAddresses(keeping keep: (ICETuple) -> Bool) {
        addresses = addresses.filter { keep($0.key) }
    }

    /// The NIO address of `tuple`, built on first use.
    private func address(of tuple: ICETuple) -> SocketAddress? {
        if let known = addresses[tuple] { return known }
        guard let address = SocketAddress(tuple) else { return nil }
        addresses[tuple] = address
        return address
    }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        let receive: (AddressedEnvelope<ByteBuffer>) -> Void
        let readComplete: () -> Void
        init(receive: @escaping (AddressedEnvelope<ByteBuffer>) -> Void, readComplete: @escaping () -> Void) {
            self.receive = receive
            self.readComplete = readComplete
        }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { receive(unwrapInboundIn(data)) }
        func channelReadComplete(context: ChannelHandlerContext) { readComplete() }
    }
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
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            sin.sin_addr.s_addr = address.bigEndian
            self.init(sin, host: "")
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
