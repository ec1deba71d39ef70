@testable import App
import RTCBase

/// The hub's outputs of one input, in one list as the tests compare them: the media commands it emitted, then the
/// frames and closes it queued (log lines are left out).
extension SessionHub {
    enum Output: Equatable {
        case send(UInt64, String)
        case close(UInt64, WSCloseCode)
        case media(MediaCommand)
    }

    /// Drains both queues into one list: media commands first, then frames and closes, each in order.
    mutating func drain() -> [Output] {
        var out: [Output] = []
        while let event = pollEvent() { if case .media(let command) = event { out.append(.media(command)) } }
        while let transmit = pollTransmit() {
            switch transmit {
            case .send(let c, let text): out.append(.send(c, text))
            case .close(let c, let code): out.append(.close(c, code))
            }
        }
        return out
    }

    mutating func join(channel: String, sessionID: JSONValue, connection: UInt64, capacity: Int, webRTC: Bool = true,
                       now: Duration = .zero) -> [Output] {
        handle(.join(channel: channel, sessionID: sessionID, connection: connection, capacity: capacity, webRTC: webRTC), now: now)
        return drain()
    }

    mutating func handleFrame(_ bytes: [UInt8], from connection: UInt64, now: Duration = .zero) -> [Output] {
        handle(.frame(bytes, from: connection), now: now)
        return drain()
    }

    mutating func leave(connection: UInt64, now: Duration = .zero) -> [Output] {
        handle(.leave(connection), now: now)
        return drain()
    }

    mutating func kick(channel: String, sessionID: JSONValue, now: Duration = .zero) -> [Output] {
        handle(.kick(channel: channel, sessionID: sessionID), now: now)
        return drain()
    }

    mutating func closeChannel(_ channel: String, now: Duration = .zero) -> [Output] {
        handle(.closeChannel(channel), now: now)
        return drain()
    }

    mutating func closeAll(code: WSCloseCode, now: Duration = .zero) -> [Output] {
        handle(.closeAll(code), now: now)
        return drain()
    }

    /// Runs the timers at `now` and returns what they produced.
    mutating func timeout(now: Duration) -> [Output] {
        handleTimeout(now: now)
        return drain()
    }
}
