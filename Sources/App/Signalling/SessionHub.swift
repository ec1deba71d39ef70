import RTCBase
import SFU

/// The signalling side of the channels that live on one worker (docs/protocol.md §3.2 join, §3.4 timers, §4 bus,
/// §5 messages and requests), sans-IO (``SansIO``): joins, bus frames, leaves, kicks and channel closes go in with
/// the current time; frames and closes for connections come out of ``pollTransmit()``, media commands and log lines
/// out of ``pollEvent()``; ``nextDeadline`` says when the timers need ``handleTimeout(now:)``.
///
/// It is three parts put together: each session's ``BusChannel`` (request ids, pending requests, batching), the
/// ``SessionDirectory`` (who is in which channel, in join order, and their SessionInfo) and the
/// ``MediaNegotiator`` (transports, producers and consumers, emitting typed ``MediaCommand``s). Client frames are
/// decoded once into ``ClientItem``s. Connections are opaque numbers chosen by the WebSocket layer; time is a
/// `Duration` since the worker's origin.
struct SessionHub: SansIO {
    typealias ConnectionID = UInt64
    typealias Environment = MediaNegotiator.Environment

    /// What the WebSocket layer hands in.
    enum Input {
        /// `connection` authenticated for `channel` as `sessionID` (after the `""` ack was sent); a full channel
        /// (`capacity` sessions) refuses it.
        case join(channel: String, sessionID: JSONValue, connection: ConnectionID, capacity: Int, webRTC: Bool)
        /// A bus frame (a JSON array of items) from `connection`.
        case frame([UInt8], from: ConnectionID)
        /// The socket closed on the client side.
        case leave(ConnectionID)
        /// `/v1/disconnect` kicked session `sessionID` (type-exact) of `channel` (§1.5).
        case kick(channel: String, sessionID: JSONValue)
        /// The channel closed: its sessions are closed with 4108, without SESSION_LEAVE.
        case closeChannel(String)
        /// Every session closes with `code` (SIGALRM soft reset, SIGFPE restart, shutdown).
        case closeAll(WSCloseCode)
    }

    /// Session timers of odoo/sfu (`src/config.ts timeouts`).
    enum Timing {
        static let connection: Duration = .seconds(10)
        static let pingInterval: Duration = .seconds(60)
        static let pingTimeout: Duration = .seconds(10)
    }

    /// The media environment; nil for tests of the bus alone (then channels behave as `webRTC=false`).
    var environment: Environment? { negotiator?.environment }
    private(set) var directory = SessionDirectory()
    private var negotiator: MediaNegotiator?
    private var outbox = Outbox()

    init(environment: Environment? = nil, random: any RandomNumberGenerator = SystemRandomNumberGenerator()) {
        negotiator = environment.map { MediaNegotiator(environment: $0, random: random) }
    }

    /// Number of sessions in `channel`.
    func count(in channel: String) -> Int { directory.count(in: channel) }

    /// The sessions of `channel`, in join order.
    func sessions(in channel: String) -> [Session] { directory.sessions(in: channel) }

    // MARK: - The sans-IO contract

    mutating func handle(_ input: consuming Input, now: Duration) {
        switch input {
        case .join(let channel, let sessionID, let connection, let capacity, let webRTC):
            join(channel: channel, sessionID: sessionID, connection: connection, capacity: capacity, webRTC: webRTC, now: now)
        case .frame(let bytes, let connection):
            guard directory.contains(connection) else {
                return outbox.log("connection \(connection): \(SessionError.unknownSession(connection: connection)), frame ignored", .debug)
            }
            guard let items = ClientItem.decode(frame: bytes) else {
                return outbox.log("connection \(connection): bus frame is not a JSON array, ignored")
            }
            for item in items where directory.contains(connection) {
                do { try handle(item, from: connection, now: now) } catch { outbox.log("connection \(connection): \(error), item ignored", .debug) }
            }
        case .leave(let connection):
            close(connection, code: nil, announce: true, now: now)
        case .kick(let channel, let sessionID):
            if let connection = directory.connection(of: sessionID, in: channel) { close(connection, code: .kicked, announce: true, now: now) }
        case .closeChannel(let channel):
            for connection in directory.connections(in: channel) { close(connection, code: .kicked, announce: false, now: now) }
        case .closeAll(let code):
            for connection in directory.channels.flatMap({ directory.connections(in: $0) }) { close(connection, code: code, announce: false, now: now) }
        }
    }

    mutating func pollTransmit() -> BusTransmit? { outbox.popTransmit() }
    mutating func pollEvent() -> SessionEvent? { outbox.popEvent() }

    /// The earliest time ``handleTimeout(now:)`` has work to do.
    var nextDeadline: Duration? {
        var earliest: Duration?
        for s in directory.sessions.values {
            earliest = RTCBase.earliest(earliest, s.connectionDeadline)
            earliest = RTCBase.earliest(earliest, s.webRTC || s.connected ? s.nextPing : nil)
            earliest = RTCBase.earliest(earliest, s.bus.nextDeadline)
            for r in s.media.consumeRetries { earliest = RTCBase.earliest(earliest, r.at) }
        }
        return earliest
    }

    /// Connection timeout (4107), PING schedule and its 10 s deadline (4107), request timeouts, consumption
    /// retries and the end of batching windows.
    mutating func handleTimeout(now: Duration) {
        for connection in directory.sessions.keys.sorted() {
            guard let s = directory.sessions[connection] else { continue }
            if let deadline = s.connectionDeadline, now >= deadline {
                outbox.log("session \(directory.describe(connection)): not connected within 10 s")
                close(connection, code: .timeout, announce: true, now: now)
                continue
            }
            guard let expired = try? directory.update(connection, { $0.bus.expired(now: now) }) else { continue }
            for request in expired where directory.contains(connection) {
                switch request.what {
                case .ping:
                    outbox.log("session \(directory.describe(connection)): PING not answered within 10 s")
                    close(connection, code: .timeout, announce: true, now: now)
                case .initTransports:
                    break   // the connection timer decides
                case .initConsumer(let owner, let type, let consumerID):
                    if negotiator?.consumerTimedOut(connection, owner: owner, type: type, consumerID: consumerID, in: &directory, &outbox, now: now) == false {
                        close(connection, code: .error, announce: true, now: now)
                    }
                }
            }
            guard let pingDue = directory.sessions[connection].map({ now >= $0.nextPing }) else { continue }
            if pingDue {
                try? directory.update(connection) { $0.nextPing = now + Timing.pingInterval }
                directory.request("PING", payload: nil, to: connection, pending: .ping, batched: true, now: now, timeout: Timing.pingTimeout,
                                  into: &outbox)
            }
            negotiator?.retry(connection, in: &directory, &outbox, now: now)
            if let text = try? directory.update(connection, { $0.bus.flush(now: now) }) { outbox.send(connection, text) }
        }
    }

    // MARK: - Join and close

    private mutating func join(channel: String, sessionID: JSONValue, connection: ConnectionID, capacity: Int, webRTC: Bool, now: Duration) {
        if let old = directory.connection(of: sessionID, in: channel) { close(old, code: .kicked, announce: true, now: now) }
        guard directory.count(in: channel) < capacity else { return outbox.close(connection, .channelFull) }
        let withMedia = webRTC && negotiator != nil
        let media = negotiator?.newSessionMedia() ?? SessionMedia(cname: ProducerCNAME(fallback: ""))
        directory.insert(Session(connection: connection, sessionID: sessionID, channel: channel, webRTC: withMedia, connected: !withMedia,
                                 connectionDeadline: withMedia ? now + Timing.connection : nil, nextPing: now + Timing.pingInterval,
                                 bus: BusChannel(connection: connection), media: media))
        if withMedia { negotiator?.start(connection, in: &directory, &outbox, now: now) }
    }

    /// Session close (docs/protocol.md §5.12): consumers, producers and transports closed, SESSION_LEAVE to the
    /// others (unless the channel is closing), the socket closed with `code`.
    private mutating func close(_ connection: ConnectionID, code: WSCloseCode?, announce: Bool, now: Duration) {
        let name = directory.describe(connection)
        guard let session = directory.remove(connection) else { return }
        negotiator?.closed(session, in: &directory, &outbox)
        if announce {
            let leave = ServerItem.message("SESSION_LEAVE", payload: .object(["sessionId": session.sessionID]))
            for other in directory.connections(in: session.channel) { directory.post(leave, to: other, now: now, into: &outbox) }
        }
        if let code { outbox.close(connection, code) }
        outbox.log("session \(name) closed\(code.map { " (\($0.rawValue))" } ?? "")")
    }

    // MARK: - Bus items

    private mutating func handle(_ item: ClientItem, from connection: ConnectionID, now: Duration) throws(SessionError) {
        switch item {
        case .response(let id, let message):
            guard let pending = try directory.update(connection, { $0.bus.answered(id) }) else { return }   // unknown ids are ignored
            switch pending {
            case .ping:
                break
            case .initTransports:
                if negotiator?.transportsAnswered(connection, capabilities: message, in: &directory, &outbox, now: now) == false {
                    close(connection, code: .error, announce: true, now: now)
                }
            case .initConsumer(let owner, let type, let consumerID):
                negotiator?.consumerAnswered(connection, owner: owner, type: type, consumerID: consumerID, in: &directory, &outbox)
            }
        case .request(let id, .connectTransport(let direction, let parameters)):
            guard let negotiator else {
                let name = direction == .clientToServer ? "CONNECT_CTS_TRANSPORT" : "CONNECT_STC_TRANSPORT"
                return outbox.log("session \(directory.describe(connection)): \(name) without a transport, not answered")
            }
            try negotiator.connect(connection, direction, parameters, id: id, in: &directory, &outbox)
        case .request(let id, .initProducer(let request)):
            guard negotiator != nil else {
                return outbox.log("session \(directory.describe(connection)): INIT_PRODUCER without WebRTC, not answered")
            }
            if try negotiator?.initProducer(request, id: id, from: connection, in: &directory, &outbox, now: now) == true {
                try broadcastInfo(of: connection, now: now)
            }
        case .request(let id, .other):
            // Every other request is answered with the empty response (§4.5: what a client does for unknown names;
            // newer clients' START_RECORDING & co. then do not time out).
            outbox.send(connection, ServerItem.frame([ServerItem.response(to: id, message: nil)]))
        case .message(.infoChange(let info, let needRefresh)):
            try directory.update(connection) { s in for entry in info { s.setInfo(entry.key, entry.value) } }
            let everyone = directory.sessions(in: try directory.session(connection).channel)
            if needRefresh && everyone.count > 1 {
                let others = everyone.filter { $0.connection != connection }
                directory.post(ServerItem.message("S_INFO_CHANGE", payload: SessionDirectory.infoMap(others)), to: connection, now: now, into: &outbox)
            }
            try broadcastInfo(of: connection, now: now)
        case .message(.broadcast(let payload)):
            let frame = ServerItem.message("BROADCAST", payload: .object(["senderId": try directory.session(connection).sessionID,
                                                                          "message": payload ?? .null]))
            for other in directory.others(of: connection) { directory.post(frame, to: other, now: now, into: &outbox) }
        case .message(.productionChange(let change?)):
            if let key = change.type.infoKey { try directory.update(connection) { $0.setInfo(key, change.active) } }
            if try negotiator?.productionChange(change, from: connection, in: &directory, &outbox, now: now) == true {
                try broadcastInfo(of: connection, now: now)
            }
        case .message(.consumptionChange(let change?)):
            negotiator?.consumptionChange(change, from: connection, in: &directory, &outbox)
        case .message(.productionChange(nil)), .message(.consumptionChange(nil)), .message(.unknown):
            break   // unknown or malformed messages are ignored
        }
    }

    /// `S_INFO_CHANGE {"<ownId>": ownInfo}` to every other session.
    private mutating func broadcastInfo(of connection: ConnectionID, now: Duration) throws(SessionError) {
        let mine = ServerItem.message("S_INFO_CHANGE", payload: SessionDirectory.infoMap([try directory.session(connection)]))
        for other in directory.others(of: connection) { directory.post(mine, to: other, now: now, into: &outbox) }
    }
}
