import Foundation
import ICE
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
@testable import App

/// ``ICETCPServer`` on 127.0.0.1 with small limits, driven by blocking POSIX sockets.
@Suite(.serialized) struct ICETCPServerTests {
    /// A blocking TCP client with a receive timeout.
    final class Client {
        private(set) var fd: Int32
        init(port: Int) throws {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var timeout = timeval(tv_sec: 3, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard rc == 0 else { close(fd); throw POSIXError(.ECONNREFUSED) }
        }
        deinit { shut() }

        func shut() {
            if fd >= 0 { close(fd) }
            fd = -1
        }

        /// The client's own port (the tuple the server sees).
        var localPort: UInt16 {
            var address = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            return UInt16(bigEndian: address.sin_port)
        }

        func send(_ bytes: [UInt8]) { _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }

        /// Up to `count` bytes; `[]` at EOF or reset, `nil` on timeout.
        func receive(_ count: Int) -> [UInt8]? {
            var buffer = [UInt8](repeating: 0, count: count)
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, count, 0) }
            if n > 0 { return Array(buffer[0..<n]) }
            if n == 0 || errno == ECONNRESET { return [] }
            return nil
        }

        /// Whether the connection is still open after a short wait with nothing to read.
        func isOpenAndIdle() -> Bool {
            var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            return receive(1) == nil
        }

        /// Exactly `count` bytes, or what arrived before EOF/timeout.
        func receiveExactly(_ count: Int) -> [UInt8] {
            var out: [UInt8] = []
            while out.count < count, let chunk = receive(count - out.count), !chunk.isEmpty { out += chunk }
            return out
        }
    }

    /// A server whose `receive` records frames and accepts those starting with 0x01 (a "valid" STUN response).
    final class Harness: Sendable {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let frames = NIOLockedValueBox<[(ICETuple, [UInt8])]>([])
        let server: ICETCPServer
        init(limits: ICETCPServer.Limits) throws {
            let frames = self.frames
            server = ICETCPServer(loop: group.next(), limits: limits, logger: .init(label: "test")) { frame, tuple in
                frames.withLockedValue { $0.append((tuple, Array(frame.readableBytesView))) }
                return frame.readableBytesView.first == 0x01
            }
            try server.start(host: "127.0.0.1", ports: 43_100...43_199, offset: 0)
        }
        /// Closes the server and stops its loop (called from the test's thread, never from the loop).
        func shutdown() {
            try? server.close().wait()
            try? group.syncShutdownGracefully()
        }
        var connectionCount: Int {
            let server = self.server
            return (try? server.loop.submit { server.connectionCount }.wait()) ?? -1
        }
        func waitFor(_ condition: () -> Bool) -> Bool {
            for _ in 0..<300 where !condition() { usleep(10_000) }
            return condition()
        }
    }

    static let stunResponse: [UInt8] = [0x01, 0x01, 0, 0, 0x21, 0x12, 0xA4, 0x42] + [UInt8](repeating: 7, count: 12)

    @Test func framesInAndOutAndForgetsClosedConnections() throws {
        let h = try Harness(limits: .init())
        defer { h.shutdown() }
        #expect((43_100...43_199).contains(h.server.port))
        let client = try Client(port: h.server.port)
        client.send([0, UInt8(Self.stunResponse.count)] + Self.stunResponse + [0, 2, 0x80, 0x60])
        #expect(h.waitFor { h.frames.withLockedValue { $0.count } == 2 })
        let tuple = ICETuple(remote: .v4(address: 0x7F00_0001, port: client.localPort), transport: .tcp)
        #expect(h.frames.withLockedValue { $0.map(\.0) } == [tuple, tuple])
        #expect(h.frames.withLockedValue { $0.map(\.1) } == [Self.stunResponse, [0x80, 0x60]])

        // Two sends in one loop turn: both framed, flushed together.
        let server = h.server
        let sent = try server.loop.submit {
            [server.send(ByteBuffer(bytes: [0x80, 1, 2]), to: tuple), server.send(ByteBuffer(bytes: [0x16, 0xFE]), to: tuple),
             server.send(ByteBuffer(bytes: [1]), to: ICETuple(remote: tuple.remote, transport: .udp)),
             server.send(ByteBuffer(), to: tuple)]
        }.wait()
        #expect(sent == [true, true, false, false])
        #expect(client.receiveExactly(9) == [0, 3, 0x80, 1, 2, 0, 2, 0x16, 0xFE])

        #expect(h.connectionCount == 1)
        client.shut()
        #expect(h.waitFor { h.connectionCount == 0 })
        #expect(try server.loop.submit { server.send(ByteBuffer(bytes: [0x80, 0]), to: tuple) }.wait() == false)
    }

    @Test func refusesConnectionsBeyondTheLimit() throws {
        let h = try Harness(limits: .init(maxConnections: 2))
        defer { h.shutdown() }
        let a = try Client(port: h.server.port), b = try Client(port: h.server.port)
        #expect(h.waitFor { h.connectionCount == 2 })
        let c = try Client(port: h.server.port)
        #expect(c.receive(1) == [])      // closed at once
        #expect(h.connectionCount == 2)
        withExtendedLifetime((a, b)) {}
    }

    @Test(arguments: [
        ("TURN channel", [0, 4, 0x40, 0, 0, 0]),
        ("zero length", [0, 0]),
        ("HTTP", Array("GET / HTTP/1.1\r\n".utf8)),
        ("one-byte RTP", [0, 1, 0x80]),
    ] as [(String, [UInt8])])
    func closesGarbage(_ name: String, _ bytes: [UInt8]) throws {
        let h = try Harness(limits: .init())
        defer { h.shutdown() }
        let good = try Client(port: h.server.port)
        good.send([0, UInt8(Self.stunResponse.count)] + Self.stunResponse)
        #expect(h.waitFor { h.frames.withLockedValue { $0.count } == 1 })
        let bad = try Client(port: h.server.port)
        bad.send(bytes)
        #expect(bad.receive(1) == [], "\(name)")
        #expect(h.waitFor { h.connectionCount == 1 })
        #expect(good.isOpenAndIdle())
    }

    @Test func closesConnectionsWithNothingValidInTime() throws {
        let h = try Harness(limits: .init(validationTimeout: .milliseconds(300)))
        defer { h.shutdown() }
        let valid = try Client(port: h.server.port)
        valid.send([0, UInt8(Self.stunResponse.count)] + Self.stunResponse)
        let silent = try Client(port: h.server.port)
        let invalid = try Client(port: h.server.port)
        invalid.send([0, 2, 0x00, 0x01])   // STUN-looking, refused by `receive`
        let start = ContinuousClock.now
        #expect(silent.receive(1) == [])
        #expect(invalid.receive(1) == [])
        #expect(ContinuousClock.now - start >= .milliseconds(250))
        #expect(h.waitFor { h.connectionCount == 1 })
        #expect(valid.isOpenAndIdle())
    }
}
