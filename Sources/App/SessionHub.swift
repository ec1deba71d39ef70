/// The live sessions of each channel and the bus traffic between them (spec §3.2 join, §4 framing,
/// §5.9–§5.11), as plain state: frames in, frames out, no I/O. Connections are opaque numbers chosen by
/// the WebSocket layer.
///
/// Not yet here (later issues): transports and INIT_TRANSPORTS, producers/consumers, the connection and
/// PING timers, batching (each outgoing frame is a one-element array — receivers accept any length).
struct SessionHub: Sendable {
    typealias ConnectionID = UInt64

    struct Session: Sendable {
        let connection: ConnectionID
        let sessionID: JSONValue
        /// SessionInfo keys that have been set (spec §5.9), in first-set order.
        var info: [(key: String, value: Bool)] = []
    }

    static let infoKeys: Set<String> = ["isTalking", "isCameraOn", "isScreenSharingOn", "isSelfMuted", "isDeaf", "isRaisingHand"]

    private(set) var sessionsByChannel: [String: [Session]] = [:]
    private var channelOf: [ConnectionID: String] = [:]

    /// A frame for one connection, or a close with a code.
    enum Output: Equatable, Sendable {
        case send(ConnectionID, String)
        case close(ConnectionID, WSCloseCode)
    }

    /// Number of sessions in `channel`.
    func count(in channel: String) -> Int { sessionsByChannel[channel]?.count ?? 0 }

    /// Joins `connection` to `channel` as `sessionID`. A full channel (`capacity` sessions) closes the
    /// newcomer with 4109; a live session with the same id is closed with 4108 and its leave is announced.
    mutating func join(channel: String, sessionID: JSONValue, connection: ConnectionID, capacity: Int) -> [Output] {
        var out: [Output] = []
        if let old = sessionsByChannel[channel]?.first(where: { $0.sessionID == sessionID }) {
            out += leave(connection: old.connection)
            out.append(.close(old.connection, .kicked))
        }
        guard count(in: channel) < capacity else { return out + [.close(connection, .channelFull)] }
        sessionsByChannel[channel, default: []].append(Session(connection: connection, sessionID: sessionID))
        channelOf[connection] = channel
        return out
    }

    /// Removes `connection`'s session and tells the others (SESSION_LEAVE, spec §5.10).
    mutating func leave(connection: ConnectionID) -> [Output] {
        guard let channel = channelOf.removeValue(forKey: connection),
              let session = sessionsByChannel[channel]?.first(where: { $0.connection == connection }) else { return [] }
        sessionsByChannel[channel]?.removeAll { $0.connection == connection }
        if sessionsByChannel[channel]?.isEmpty == true { sessionsByChannel[channel] = nil }
        let frame = Self.message("SESSION_LEAVE", payload: .object(["sessionId": session.sessionID]))
        return others(of: connection, in: channel).map { .send($0, frame) }
    }

    /// Kicks session `sessionID` (type-exact match) of `channel`: its leave is announced and it is closed
    /// with 4108 (spec §1.5).
    mutating func kick(channel: String, sessionID: JSONValue) -> [Output] {
        guard let session = sessionsByChannel[channel]?.first(where: { $0.sessionID == sessionID }) else { return [] }
        return leave(connection: session.connection) + [.close(session.connection, .kicked)]
    }

    /// Every session of `channel` but `connection`.
    private func others(of connection: ConnectionID, in channel: String) -> [ConnectionID] {
        (sessionsByChannel[channel] ?? []).map(\.connection).filter { $0 != connection }
    }

    /// Handles one bus frame (a JSON array of payloads) from `connection`.
    mutating func handleFrame(_ text: [UInt8], from connection: ConnectionID) -> [Output] {
        guard let channel = channelOf[connection], case .array(let items)? = JSONValue.parse(text) else { return [] }
        var out: [Output] = []
        for item in items {
            if item["responseTo"] != nil { continue }   // no server requests are outstanding yet
            let name: String? = { if case .string(let n)? = item["message"]?["name"] { return n } else { return nil } }()
            let payload = item["message"]?["payload"]
            if let id = item["needResponse"] {
                // Every request is answered; requests this server does not implement yet get the empty
                // response (spec §4.5: what the client does for unknown names), never a 5 s timeout.
                out.append(.send(connection, JSONValue.array([.object(["responseTo": id])]).jsonText))
                continue
            }
            switch name {
            case "C_INFO_CHANGE": out += infoChange(payload, from: connection, in: channel)
            case "BROADCAST":
                guard let me = session(connection, channel) else { continue }
                let frame = Self.message("BROADCAST", payload: .object(["senderId": me.sessionID, "message": payload ?? .null]))
                out += others(of: connection, in: channel).map { .send($0, frame) }
            default: break   // unknown messages are ignored
            }
        }
        return out
    }

    private func session(_ connection: ConnectionID, _ channel: String) -> Session? {
        sessionsByChannel[channel]?.first { $0.connection == connection }
    }

    private mutating func infoChange(_ payload: JSONValue?, from connection: ConnectionID, in channel: String) -> [Output] {
        guard let index = sessionsByChannel[channel]?.firstIndex(where: { $0.connection == connection }) else { return [] }
        if case .object(let info)? = payload?["info"] {
            for (key, value) in info.sorted(by: { $0.key < $1.key }) where Self.infoKeys.contains(key) {
                var entries = sessionsByChannel[channel]![index].info
                if let i = entries.firstIndex(where: { $0.key == key }) { entries[i].value = value.isTruthy } else { entries.append((key, value.isTruthy)) }
                sessionsByChannel[channel]![index].info = entries
            }
        }
        let me = sessionsByChannel[channel]![index]
        var out: [Output] = []
        let everyone = sessionsByChannel[channel]!
        if payload?["needRefresh"]?.isTruthy == true && everyone.count > 1 {
            let others = everyone.filter { $0.connection != connection }
            out.append(.send(connection, Self.message("S_INFO_CHANGE", payload: Self.infoMap(others))))
        }
        let mine = Self.message("S_INFO_CHANGE", payload: Self.infoMap([me]))
        out += everyone.filter { $0.connection != connection }.map { .send($0.connection, mine) }
        return out
    }

    /// `{"<sessionId>": {info…}, …}` (session ids become object keys as JavaScript would stringify them).
    static func infoMap(_ sessions: [Session]) -> JSONValue {
        var map: [String: JSONValue] = [:]
        for s in sessions { map[s.sessionID.propertyKey] = .object(Dictionary(uniqueKeysWithValues: s.info.map { ($0.key, .bool($0.value)) })) }
        return .object(map)
    }

    /// A one-message bus frame.
    static func message(_ name: String, payload: JSONValue) -> String {
        JSONValue.array([.object(["message": .object(["name": .string(name), "payload": payload])])]).jsonText
    }
}
