import SFU

/// A connection the signalling layer does not know (it never joined, or its session closed): a typed error, so
/// that a late or stray input is ignored with a log line instead of trapping.
enum SessionError: Error, Hashable, Sendable {
    case unknownSession(connection: UInt64)
}

/// One session: a WebSocket connection joined to a channel (docs/protocol.md §3.2), its bus, its SessionInfo and
/// its media state.
struct Session {
    typealias ConnectionID = UInt64

    let connection: ConnectionID
    /// The `session_id` claim, kept with its JSON type (`57` ≠ `"57"`).
    let sessionID: JSONValue
    let channel: String
    /// Whether the session has media (the channel was created with WebRTC and the hub has a media environment).
    let webRTC: Bool
    /// SessionInfo keys that have been set (docs/protocol.md §5.9), in first-set order.
    var info: [InfoEntry] = []
    /// CONNECTED: INIT_TRANSPORTS answered (or at once without WebRTC); until then the connection timer runs.
    var connected: Bool
    var connectionDeadline: Duration?
    var nextPing: Duration
    var bus: BusChannel
    var media: SessionMedia

    /// Sets a SessionInfo key, keeping the first-set order.
    mutating func setInfo(_ key: String, _ value: Bool) {
        if let i = info.firstIndex(where: { $0.key == key }) { info[i].value = value } else { info.append(InfoEntry(key: key, value: value)) }
    }

    /// Whether `key` is set to true.
    func infoIsOn(_ key: String) -> Bool { info.contains { $0.key == key && $0.value } }
}

/// The sessions of the channels on one worker: by connection, and in join order per channel (JavaScript `Map`
/// iteration order in odoo/sfu, which decides the order of broadcasts and consumption).
struct SessionDirectory {
    typealias ConnectionID = UInt64

    private(set) var sessions: [ConnectionID: Session] = [:]
    private var order: [String: [ConnectionID]] = [:]

    /// The session of `connection`.
    func session(_ connection: ConnectionID) throws(SessionError) -> Session {
        guard let s = sessions[connection] else { throw .unknownSession(connection: connection) }
        return s
    }

    /// Whether `connection` has a session.
    func contains(_ connection: ConnectionID) -> Bool { sessions[connection] != nil }

    /// Changes the session of `connection` in place.
    @discardableResult
    mutating func update<R>(_ connection: ConnectionID, _ body: (inout Session) -> R) throws(SessionError) -> R {
        guard var session = sessions.removeValue(forKey: connection) else { throw .unknownSession(connection: connection) }
        defer { sessions[connection] = session }
        return body(&session)
    }

    /// Adds a session at the end of its channel's join order.
    mutating func insert(_ session: Session) {
        sessions[session.connection] = session
        order[session.channel, default: []].append(session.connection)
    }

    /// Removes and returns the session of `connection` (nil when there is none).
    mutating func remove(_ connection: ConnectionID) -> Session? {
        guard let session = sessions.removeValue(forKey: connection) else { return nil }
        order[session.channel]?.removeAll { $0 == connection }
        if order[session.channel]?.isEmpty == true { order[session.channel] = nil }
        return session
    }

    /// Number of sessions in `channel`.
    func count(in channel: String) -> Int { order[channel]?.count ?? 0 }

    /// The connections of `channel`, in join order.
    func connections(in channel: String) -> [ConnectionID] { order[channel] ?? [] }

    /// The sessions of `channel`, in join order.
    func sessions(in channel: String) -> [Session] { connections(in: channel).compactMap { sessions[$0] } }

    /// The channels with sessions.
    var channels: Dictionary<String, [ConnectionID]>.Keys { order.keys }

    /// Every session of `connection`'s channel but `connection`, in join order.
    func others(of connection: ConnectionID) -> [ConnectionID] {
        guard let channel = sessions[connection]?.channel else { return [] }
        return connections(in: channel).filter { $0 != connection }
    }

    /// The connection of session `sessionID` (type-exact) in `channel`.
    func connection(of sessionID: JSONValue, in channel: String) -> ConnectionID? {
        connections(in: channel).first { sessions[$0]?.sessionID == sessionID }
    }

    /// The channel whose session owns media transport `transport` (a mediasoup-style UUID).
    func channel(ofTransport transport: String) -> String? {
        sessions.values.first { $0.media.cts == transport || $0.media.stc == transport }?.channel
    }

    /// For log lines: `<sessionId>@<channel>`.
    func describe(_ connection: ConnectionID) -> String {
        sessions[connection].map { "\($0.sessionID.jsonText)@\($0.channel)" } ?? "connection \(connection)"
    }

    /// `{"<sessionId>": {info…}, …}` (session ids become object keys as JavaScript would stringify them).
    static func infoMap(_ sessions: [Session]) -> JSONValue {
        var map: [String: JSONValue] = [:]
        for s in sessions { map[s.sessionID.propertyKey] = .object(Dictionary(uniqueKeysWithValues: s.info.map { ($0.key, .bool($0.value)) })) }
        return .object(map)
    }

    /// Posts a message item to `connection` (batched, docs/protocol.md §4.3) into `outbox`.
    mutating func post(_ item: JSONValue, to connection: ConnectionID, now: Duration, into outbox: inout Outbox) {
        guard let text = try? update(connection, { $0.bus.post(item, now: now) }) else { return }
        outbox.send(connection, text)
    }

    /// Sends a request to `connection` into `outbox` and remembers it as `pending`.
    mutating func request(_ name: String, payload: JSONValue?, to connection: ConnectionID, pending: BusChannel.Pending, batched: Bool,
                          now: Duration, timeout: Duration = BusChannel.Timing.request, into outbox: inout Outbox) {
        guard let text = try? update(connection, {
            $0.bus.request(name, payload: payload, pending: pending, batched: batched, now: now, timeout: timeout)
        }) else { return }
        outbox.send(connection, text)
    }
}
