import DTLS
import ICE
import NIOCore
import SFU

/// A frame for one connection, or its close with a code: what the WebSocket layer must send.
enum BusTransmit: Equatable, Sendable {
    case send(UInt64, String)
    case close(UInt64, WSCloseCode)
}

/// A producer as the media plane needs it (names are mediasoup-style UUIDs; the worker maps them to router ids).
struct ProducerSpec: Equatable, Sendable {
    let id: String
    let channel: String
    let transport: String
    let kind: MediaKind
    let type: StreamType
    let parameters: RTPParameters
    let mapping: RTPParametersMapping
    let consumable: RTPParameters
}

/// A consumer as the media plane needs it.
struct ConsumerSpec: Equatable, Sendable {
    let id: String
    let transport: String
    let producerID: String
    let kind: MediaKind
    let parameters: RTPParameters
}

/// What the signalling asks of the media plane.
enum MediaCommand: Equatable, Sendable {
    case createTransport(String, ICECredentials, maxIncomingBitrate: Int?, maxOutgoingBitrate: Int?)
    case connectTransport(String, WebRtcTransport.RemoteDTLSRole, [DTLSFingerprint])
    case closeTransport(String)
    case createProducer(ProducerSpec)
    case setProducerPaused(String, Bool)
    case closeProducer(String)
    /// Created paused; forwarding starts with ``setConsumerActive(_:_:)``.
    case createConsumer(ConsumerSpec)
    /// Start (with a key-frame request) or stop forwarding to a consumer.
    case setConsumerActive(String, Bool)
    case closeConsumer(String)
}

/// A log line of the signalling layer, with its level.
struct SessionLog: Equatable, Sendable {
    enum Level: Sendable { case debug, info, warning }
    var level: Level
    var text: String
}

/// What the signalling layer tells its owner: commands for the media plane, and log lines.
enum SessionEvent: Equatable, Sendable {
    case media(MediaCommand)
    case log(SessionLog)
}

/// The hub's two output queues (frames to send, events), in the order things were decided.
struct Outbox {
    private(set) var transmits = CircularBuffer<BusTransmit>(initialCapacity: 16)
    private(set) var events = CircularBuffer<SessionEvent>(initialCapacity: 16)

    mutating func send(_ connection: UInt64, _ text: String) { transmits.append(.send(connection, text)) }
    mutating func close(_ connection: UInt64, _ code: WSCloseCode) { transmits.append(.close(connection, code)) }
    mutating func media(_ command: MediaCommand) { events.append(.media(command)) }
    mutating func log(_ text: String, _ level: SessionLog.Level = .info) { events.append(.log(SessionLog(level: level, text: text))) }

    mutating func popTransmit() -> BusTransmit? { transmits.popFirst() }
    mutating func popEvent() -> SessionEvent? { events.popFirst() }
}
