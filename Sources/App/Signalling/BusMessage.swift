import DTLS
import SFU

/// Which of a session's streams (odoo/sfu `STREAM_TYPE`).
enum StreamType: String, CaseIterable, Sendable {
    case audio, camera, screen
    var kind: MediaKind { self == .audio ? .audio : .video }
    /// The SessionInfo key that follows this stream (docs/protocol.md §5.9).
    var infoKey: String? {
        switch self {
        case .audio: nil
        case .camera: "isCameraOn"
        case .screen: "isScreenSharingOn"
        }
    }
}

/// One item of a bus frame a client sent (docs/protocol.md §4.1), decoded once: the rest of the signalling layer
/// switches on these cases, never on message-name strings.
enum ClientItem: Equatable {
    /// The answer to a request this server sent (`responseTo`).
    case response(to: String, message: JSONValue?)
    /// A request the client expects an answer to (`needResponse`).
    case request(id: JSONValue, ClientRequest)
    /// A plain message.
    case message(ClientMessage)

    /// The items of a bus frame, or nil when the frame is not a JSON array.
    static func decode(frame: [UInt8]) -> [ClientItem]? {
        guard case .array(let items)? = JSONValue.parse(frame) else { return nil }
        return items.map(decode(item:))
    }

    static func decode(item: JSONValue) -> ClientItem {
        if case .string(let id)? = item["responseTo"] { return .response(to: id, message: item["message"]) }
        let name: String? = if case .string(let n)? = item["message"]?["name"] { n } else { nil }
        let payload = item["message"]?["payload"]
        if let id = item["needResponse"] { return .request(id: id, ClientRequest(name: name, payload: payload)) }
        return .message(ClientMessage(name: name, payload: payload))
    }
}

/// Which of a session's two transports a CONNECT_* request is about.
enum TransportDirection: Hashable, Sendable {
    /// CONNECT_CTS_TRANSPORT: client to server (the send transport, the session's producers).
    case clientToServer
    /// CONNECT_STC_TRANSPORT: server to client (the receive transport, its consumers).
    case serverToClient
}

/// The DTLS parameters of CONNECT_* (docs/protocol.md §5.5, §6.4): mediasoup uses the first fingerprint; an empty
/// list, an unknown algorithm or an unknown role is refused.
struct DTLSParameters: Equatable, Sendable {
    var role: WebRtcTransport.RemoteDTLSRole
    var fingerprints: [DTLSFingerprint]

    init?(_ value: JSONValue?) {
        guard case .array(let list)? = value?["fingerprints"], let first = list.first,
              case .string(let algorithm)? = first["algorithm"], case .string(let hex)? = first["value"],
              ["sha-1", "sha-224", "sha-256", "sha-384", "sha-512"].contains(algorithm.lowercased()), !hex.isEmpty else { return nil }
        var role = WebRtcTransport.RemoteDTLSRole.auto
        if let r = value?["role"] {
            guard case .string(let name) = r, let parsed = WebRtcTransport.RemoteDTLSRole(rawValue: name) else { return nil }
            role = parsed
        }
        self.role = role
        fingerprints = [DTLSFingerprint(algorithm: algorithm.lowercased(), value: hex)]
    }
}

/// INIT_PRODUCER's payload, checked for shape (docs/protocol.md §5.6): the RTP parameters are parsed and
/// validated by the negotiator.
struct ProducerRequest: Equatable {
    var type: StreamType
    var kind: MediaKind
    var rtpParameters: JSONValue
}

/// A request from a client (docs/protocol.md §5.5, §5.6); anything else is answered empty (§4.5).
enum ClientRequest: Equatable {
    /// CONNECT_CTS_TRANSPORT / CONNECT_STC_TRANSPORT; nil parameters: invalid `dtlsParameters`.
    case connectTransport(TransportDirection, DTLSParameters?)
    /// INIT_PRODUCER; nil: invalid `type`, `kind` (or one that does not fit the type) or missing `rtpParameters`.
    case initProducer(ProducerRequest?)
    /// Any other name (START_RECORDING & co. of newer clients): answered with the empty response.
    case other(name: String?)

    init(name: String?, payload: JSONValue?) {
        switch name {
        case "CONNECT_CTS_TRANSPORT": self = .connectTransport(.clientToServer, DTLSParameters(payload?["dtlsParameters"]))
        case "CONNECT_STC_TRANSPORT": self = .connectTransport(.serverToClient, DTLSParameters(payload?["dtlsParameters"]))
        case "INIT_PRODUCER":
            guard case .string(let typeName)? = payload?["type"], let type = StreamType(rawValue: typeName),
                  case .string(let kindName)? = payload?["kind"], let kind = MediaKind(rawValue: kindName), kind == type.kind,
                  let parameters = payload?["rtpParameters"] else {
                self = .initProducer(nil)
                return
            }
            self = .initProducer(ProducerRequest(type: type, kind: kind, rtpParameters: parameters))
        default: self = .other(name: name)
        }
    }
}

/// One SessionInfo key and its value (docs/protocol.md §5.9).
struct InfoEntry: Equatable, Sendable {
    var key: String
    var value: Bool
}

/// A stream type turned on or off (PRODUCTION_CHANGE, CONSUMPTION_CHANGE).
struct StreamState: Equatable, Sendable {
    var type: StreamType
    var active: Bool
}

/// CONSUMPTION_CHANGE's payload: which of another session's streams the sender wants.
struct ConsumptionChange: Equatable {
    var sessionID: JSONValue
    /// Known stream types, in key order.
    var states: [StreamState]
}

/// A message from a client (docs/protocol.md §5.7–§5.9, §5.11); unknown names are ignored.
enum ClientMessage: Equatable {
    /// C_INFO_CHANGE: the known SessionInfo keys it sets (truthiness, in key order), and `needRefresh`.
    case infoChange([InfoEntry], needRefresh: Bool)
    /// BROADCAST: relayed to the others as is.
    case broadcast(JSONValue?)
    /// PRODUCTION_CHANGE: a stream of the sender's turned on or off; nil: no known `type`.
    case productionChange(StreamState?)
    /// CONSUMPTION_CHANGE; nil: no `sessionId` or no `states` object.
    case consumptionChange(ConsumptionChange?)
    case unknown(name: String?)

    /// SessionInfo keys a client may set (docs/protocol.md §5.9).
    static let infoKeys: Set<String> = ["isTalking", "isCameraOn", "isScreenSharingOn", "isSelfMuted", "isDeaf", "isRaisingHand"]

    init(name: String?, payload: JSONValue?) {
        switch name {
        case "C_INFO_CHANGE":
            var info: [InfoEntry] = []
            if case .object(let members)? = payload?["info"] {
                for (key, value) in members.sorted(by: { $0.key < $1.key }) where Self.infoKeys.contains(key) {
                    info.append(InfoEntry(key: key, value: value.isTruthy))
                }
            }
            self = .infoChange(info, needRefresh: payload?["needRefresh"]?.isTruthy == true)
        case "BROADCAST":
            self = .broadcast(payload)
        case "PRODUCTION_CHANGE":
            guard case .string(let typeName)? = payload?["type"], let type = StreamType(rawValue: typeName) else {
                self = .productionChange(nil)
                return
            }
            self = .productionChange(StreamState(type: type, active: payload?["active"]?.isTruthy ?? false))
        case "CONSUMPTION_CHANGE":
            guard let sessionID = payload?["sessionId"], case .object(let states)? = payload?["states"] else {
                self = .consumptionChange(nil)
                return
            }
            let known = states.sorted(by: { $0.key < $1.key }).compactMap { name, value in
                StreamType(rawValue: name).map { StreamState(type: $0, active: value.isTruthy) }
            }
            self = .consumptionChange(ConsumptionChange(sessionID: sessionID, states: known))
        default:
            self = .unknown(name: name)
        }
    }
}

/// Server-side bus items (docs/protocol.md §4.1).
enum ServerItem {
    /// A plain message item: `{message: {name, payload}}`.
    static func message(_ name: String, payload: JSONValue) -> JSONValue {
        .object(["message": .object(["name": .string(name), "payload": payload])])
    }

    /// A request item: `{message: {name, payload?}, needResponse: id}`.
    static func request(_ name: String, payload: JSONValue?, id: String) -> JSONValue {
        var message: [String: JSONValue] = ["name": .string(name)]
        if let payload { message["payload"] = payload }
        return .object(["message": .object(message), "needResponse": .string(id)])
    }

    /// A response item: `{responseTo: id, message?}`.
    static func response(to id: JSONValue, message: JSONValue?) -> JSONValue {
        var object: [String: JSONValue] = ["responseTo": id]
        if let message { object["message"] = message }
        return .object(object)
    }

    /// A frame of `items`.
    static func frame(_ items: [JSONValue]) -> String { JSONValue.array(items).jsonText }
}
