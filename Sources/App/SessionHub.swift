import DTLS
import ICE
import SFU

/// The signalling side of the channels that live on one worker (spec §3.2 join, §3.4 timers, §4 bus,
/// §5 messages and requests), as plain state: bus frames and the current time in, frames, closes and
/// media commands out, plus the next deadline. No I/O: the worker applies the outputs.
///
/// Connections are opaque numbers chosen by the WebSocket layer; time is a `Duration` since the worker's
/// origin.
struct SessionHub {
    typealias ConnectionID = UInt64

    /// What the hub needs to know about the server (constant for a worker).
    struct Environment {
        /// The router's RTP capabilities (built once from AUDIO_CODECS/VIDEO_CODECS).
        var routerCapabilities: RTPCapabilities
        /// `producerOptionsByKind` of INIT_TRANSPORTS (spec §5.2).
        var producerOptionsByKind: JSONValue
        /// Announced address (PUBLIC_IP) and the worker's shared ports.
        var announcedAddress: String
        var udpPort: Int
        var tcpPort: Int?
        /// The server certificate's fingerprints, in the order they are listed (the last one is what
        /// mediasoup-client puts in the SDP).
        var fingerprints: [DTLSFingerprint]
        /// MAX_BITRATE_IN / MAX_BITRATE_OUT (bps), applied to each session's CTS / STC transport.
        var maxBitrateIn: Int
        var maxBitrateOut: Int
    }

    /// Timers and limits of odoo/sfu (`src/config.ts timeouts`, `src/models/session.ts`).
    enum Timing {
        static let connection: Duration = .seconds(10)
        static let pingInterval: Duration = .seconds(60)
        static let pingTimeout: Duration = .seconds(10)
        static let request: Duration = .seconds(5)
        static let batchDelay: Duration = .milliseconds(300)
        static let consumeRetry: Duration = .seconds(2)
        static let maxSessionErrors = 6
    }

    /// A frame for one connection, a close with a code, or a command for the media plane.
    enum Output: Equatable {
        case send(ConnectionID, String)
        case close(ConnectionID, WSCloseCode)
        case media(MediaCommand)
    }

    /// Which of a session's streams (odoo/sfu `STREAM_TYPE`).
    enum StreamType: String, CaseIterable, Sendable {
        case audio, camera, screen
        var kind: MediaKind { self == .audio ? .audio : .video }
        var infoKey: String? {
            switch self {
            case .audio: nil
            case .camera: "isCameraOn"
            case .screen: "isScreenSharingOn"
            }
        }
    }

    struct Producer {
        let id: String
        let kind: MediaKind
        let consumable: RTPParameters
        var paused = false
    }

    struct Consumer {
        let id: String
        let producerID: String
        /// INIT_CONSUMER was answered: the client has its receiver.
        var ready = false
        /// The server-side pause (created paused, resumed after the INIT_CONSUMER answer, CONSUMPTION_CHANGE).
        var paused = true
        /// What the media plane was last told.
        var active = false
    }

    /// Requests this server sent and waits for.
    enum Pending: Equatable {
        case initTransports
        case initConsumer(owner: ConnectionID, type: StreamType, consumerID: String)
        case ping
    }

    struct Session {
        let connection: ConnectionID
        let sessionID: JSONValue
        let channel: String
        let webRTC: Bool
        /// SessionInfo keys that have been set (spec §5.9), in first-set order.
        var info: [(key: String, value: Bool)] = []
        /// CONNECTED (INIT_TRANSPORTS answered, or at once without WebRTC); until then the connection timer runs.
        var connected: Bool
        var connectionDeadline: Duration?
        var cts: TransportID?
        var stc: TransportID?
        var ctsConnected = false
        var stcConnected = false
        var capabilities: RTPCapabilities?
        var producers: [StreamType: Producer] = [:]
        /// Consumers of other sessions' producers, by (owner connection, type).
        var consumers: [ConsumerKey: Consumer] = [:]
        var nextMid = 0
        var cname: ProducerCNAME
        var pending: [String: (what: Pending, deadline: Duration)] = [:]
        var requestCounter = 0
        var nextPing: Duration
        var batch: [JSONValue] = []
        var batchWindowEnd: Duration?
        var errors = 0
        /// Owners whose consumption is retried at the given time after a failed INIT_CONSUMER.
        var consumeRetries: [(owner: ConnectionID, at: Duration)] = []
    }

    struct ConsumerKey: Hashable {
        let owner: ConnectionID
        let type: StreamType
    }

    static let infoKeys: Set<String> = ["isTalking", "isCameraOn", "isScreenSharingOn", "isSelfMuted", "isDeaf", "isRaisingHand"]

    let environment: Environment?
    private var random: any RandomNumberGenerator
    private(set) var sessions: [ConnectionID: Session] = [:]
    /// Join order per channel (JavaScript `Map` iteration order in odoo/sfu).
    private(set) var order: [String: [ConnectionID]] = [:]
    /// Log lines for the worker to print.
    private(set) var log: [String] = []

    /// A hub; `environment` is nil for tests of the bus alone (then channels behave as `webRTC=false`).
    init(environment: Environment? = nil, random: any RandomNumberGenerator = SystemRandomNumberGenerator()) {
        self.environment = environment
        self.random = random
    }

    mutating func takeLog() -> [String] {
        defer { log.removeAll() }
        return log
    }

    /// Number of sessions in `channel`.
    func count(in channel: String) -> Int { order[channel]?.count ?? 0 }

    /// The sessions of `channel`, in join order.
    func sessions(in channel: String) -> [Session] { (order[channel] ?? []).compactMap { sessions[$0] } }

    // MARK: - Join, leave, kick, channel close

    /// Joins `connection` to `channel` as `sessionID` (after the `""` ack was sent). A full channel
    /// (`capacity` sessions) closes the newcomer with 4109; a live session with the same id is closed with
    /// 4108 and its leave announced. With WebRTC the transports are created and INIT_TRANSPORTS is sent at
    /// once (spec §5.1 step 1); without, the session is CONNECTED at once.
    mutating func join(channel: String, sessionID: JSONValue, connection: ConnectionID, capacity: Int,
                       webRTC: Bool = true, now: Duration = .zero) -> [Output] {
        var out: [Output] = []
        if let old = sessions(in: channel).first(where: { $0.sessionID == sessionID }) {
            out += close(old.connection, code: .kicked, announce: true, now: now)
        }
        guard count(in: channel) < capacity else { return out + [.close(connection, .channelFull)] }
        let withMedia = webRTC && environment != nil
        var session = Session(connection: connection, sessionID: sessionID, channel: channel, webRTC: withMedia,
                              connected: !withMedia, cname: ProducerCNAME(fallback: Self.randomCNAME(using: &random)),
                              nextPing: now + Timing.pingInterval)
        order[channel, default: []].append(connection)
        if withMedia, let env = environment {
            session.connectionDeadline = now + Timing.connection
            let stc = TransportID(randomUUID()), cts = TransportID(randomUUID())
            let stcICE = ICECredentials.mediasoupStyle(using: &random), ctsICE = ICECredentials.mediasoupStyle(using: &random)
            session.stc = stc
            session.cts = cts
            out.append(.media(.createTransport(stc, stcICE, maxIncomingBitrate: nil, maxOutgoingBitrate: env.maxBitrateOut)))
            out.append(.media(.createTransport(cts, ctsICE, maxIncomingBitrate: env.maxBitrateIn, maxOutgoingBitrate: nil)))
            sessions[connection] = session
            let payload: JSONValue = .object([
                "capabilities": env.routerCapabilities.json,
                "stcConfig": Self.transportConfig(stc, stcICE, env),
                "ctsConfig": Self.transportConfig(cts, ctsICE, env),
                "producerOptionsByKind": env.producerOptionsByKind,
            ])
            out += request(connection, "INIT_TRANSPORTS", payload: payload, pending: .initTransports, batched: false, now: now)
        } else {
            sessions[connection] = session
        }
        return out
    }

    /// The session closed from the client side (socket gone): same as a `ws_closed` close, without a code.
    mutating func leave(connection: ConnectionID, now: Duration = .zero) -> [Output] {
        close(connection, code: nil, announce: true, now: now)
    }

    /// Kicks session `sessionID` (type-exact match) of `channel`: its leave is announced and it is closed
    /// with 4108 (spec §1.5).
    mutating func kick(channel: String, sessionID: JSONValue, now: Duration = .zero) -> [Output] {
        guard let session = sessions(in: channel).first(where: { $0.sessionID == sessionID }) else { return [] }
        return close(session.connection, code: .kicked, announce: true, now: now)
    }

    /// Closes every session of `channel` with 4108 and no SESSION_LEAVE (`channel_closed`).
    mutating func closeChannel(_ channel: String, now: Duration = .zero) -> [Output] {
        (order[channel] ?? []).flatMap { close($0, code: .kicked, announce: false, now: now) }
    }

    /// Closes every session of every channel (SIGALRM soft reset, SIGFPE restart, shutdown).
    mutating func closeAll(code: WSCloseCode, now: Duration = .zero) -> [Output] {
        order.values.flatMap { $0 }.flatMap { close($0, code: code, announce: false, now: now) }
    }

    /// Session close (spec §5.12): consumers, producers and transports closed, SESSION_LEAVE to the
    /// others (unless the channel is closing), the socket closed with `code`.
    private mutating func close(_ connection: ConnectionID, code: WSCloseCode?, announce: Bool, now: Duration) -> [Output] {
        guard let session = sessions.removeValue(forKey: connection) else { return [] }
        order[session.channel]?.removeAll { $0 == connection }
        if order[session.channel]?.isEmpty == true { order[session.channel] = nil }
        var out: [Output] = []
        for consumer in session.consumers.values { out.append(.media(.closeConsumer(consumer.id))) }
        for other in order[session.channel] ?? [] {
            for type in StreamType.allCases {
                if let consumer = sessions[other]?.consumers.removeValue(forKey: ConsumerKey(owner: connection, type: type)) {
                    out.append(.media(.closeConsumer(consumer.id)))
                }
            }
        }
        for producer in session.producers.values { out.append(.media(.closeProducer(producer.id))) }
        for transport in [session.cts, session.stc].compactMap({ $0 }) { out.append(.media(.closeTransport(transport))) }
        if announce {
            let leave = Self.message("SESSION_LEAVE", payload: .object(["sessionId": session.sessionID]))
            for other in order[session.channel] ?? [] { out += batch(other, leave, now: now) }
        }
        if let code { out.append(.close(connection, code)) }
        log.append("session \(session.sessionID.jsonText) of channel \(session.channel) closed\(code.map { " (\($0.rawValue))" } ?? "")")
        return out
    }

    // MARK: - Bus frames

    /// Handles one bus frame (a JSON array of payloads) from `connection`.
    mutating func handleFrame(_ text: [UInt8], from connection: ConnectionID, now: Duration = .zero) -> [Output] {
        guard sessions[connection] != nil else { return [] }
        guard case .array(let items)? = JSONValue.parse(text) else {
            log.append("connection \(connection): bus frame is not a JSON array, ignored")
            return []
        }
        var out: [Output] = []
        for item in items where sessions[connection] != nil {
            if case .string(let id)? = item["responseTo"] {
                out += response(id, item["message"], from: connection, now: now)
                continue
            }
            let name: String? = { if case .string(let n)? = item["message"]?["name"] { return n } else { return nil } }()
            let payload = item["message"]?["payload"]
            if let id = item["needResponse"] {
                out += handleRequest(name, payload, id: id, from: connection, now: now)
                continue
            }
            out += handleMessage(name, payload, from: connection, now: now)
        }
        return out
    }

    private mutating func handleRequest(_ name: String?, _ payload: JSONValue?, id: JSONValue, from connection: ConnectionID,
                                        now: Duration) -> [Output] {
        let answer: (JSONValue?) -> Output = { message in
            var object: [String: JSONValue] = ["responseTo": id]
            if let message { object["message"] = message }
            return .send(connection, JSONValue.array([.object(object)]).jsonText)
        }
        switch name {
        case "CONNECT_CTS_TRANSPORT", "CONNECT_STC_TRANSPORT":
            let isCTS = name == "CONNECT_CTS_TRANSPORT"
            guard let session = sessions[connection], let transport = isCTS ? session.cts : session.stc else {
                log.append("session \(describe(connection)): \(name!) without a transport, not answered")
                return []
            }
            guard !(isCTS ? session.ctsConnected : session.stcConnected) else {
                log.append("session \(describe(connection)): \(name!): connect() already called, not answered")
                return []
            }
            guard let (role, fingerprints) = Self.dtlsParameters(payload?["dtlsParameters"]) else {
                log.append("session \(describe(connection)): \(name!) with invalid dtlsParameters, not answered")
                return []
            }
            if isCTS { sessions[connection]!.ctsConnected = true } else { sessions[connection]!.stcConnected = true }
            return [.media(.connectTransport(transport, role, fingerprints)), answer(nil)]
        case "INIT_PRODUCER":
            return initProducer(payload, from: connection, now: now).map { [answer(.object(["id": .string($0)]))] + $1 } ?? []
        default:
            // Every other request is answered with the empty response (spec §4.5: what a client does for
            // unknown names; newer clients' START_RECORDING & co. then do not time out).
            return [answer(nil)]
        }
    }

    private mutating func handleMessage(_ name: String?, _ payload: JSONValue?, from connection: ConnectionID, now: Duration) -> [Output] {
        guard let me = sessions[connection] else { return [] }
        switch name {
        case "C_INFO_CHANGE":
            return infoChange(payload, from: connection, now: now)
        case "BROADCAST":
            let frame = Self.message("BROADCAST", payload: .object(["senderId": me.sessionID, "message": payload ?? .null]))
            return others(of: connection).flatMap { batch($0, frame, now: now) }
        case "PRODUCTION_CHANGE":
            return productionChange(payload, from: connection, now: now)
        case "CONSUMPTION_CHANGE":
            return consumptionChange(payload, from: connection)
        default:
            return []   // unknown messages are ignored
        }
    }

    private mutating func response(_ id: String, _ message: JSONValue?, from connection: ConnectionID, now: Duration) -> [Output] {
        guard let pending = sessions[connection]?.pending.removeValue(forKey: id) else { return [] }   // unknown ids are ignored
        switch pending.what {
        case .ping:
            return []
        case .initTransports:
            guard let message, let parsed = try? RTPCapabilities(json: message),
                  let capabilities = try? ORTC.validateCapabilities(parsed) else {
                log.append("session \(describe(connection)): unusable RTP capabilities in the INIT_TRANSPORTS answer")
                return close(connection, code: .error, announce: true, now: now)
            }
            sessions[connection]!.capabilities = capabilities
            sessions[connection]!.connected = true
            sessions[connection]!.connectionDeadline = nil
            log.append("session \(describe(connection)) connected")
            var out: [Output] = []
            for other in others(of: connection) where sessions[other]?.connected == true {
                out += consume(owner: other, into: connection, now: now)
                out += consume(owner: connection, into: other, now: now)
            }
            return out
        case .initConsumer(let owner, let type, let consumerID):
            let key = ConsumerKey(owner: owner, type: type)
            guard sessions[connection]?.consumers[key]?.id == consumerID else { return [] }
            sessions[connection]!.consumers[key]!.ready = true
            // Resumed unless its producer is paused (odoo/sfu `consume`: `if (!producer.paused) consumer.resume()`).
            if let producer = sessions[owner]?.producers[type], !producer.paused {
                sessions[connection]!.consumers[key]!.paused = false
            }
            return syncActive(connection, key)
        }
    }

    // MARK: - Producers and consumers

    private mutating func initProducer(_ payload: JSONValue?, from connection: ConnectionID, now: Duration) -> (String, [Output])? {
        guard let env = environment, let cts = sessions[connection]?.cts else {
            log.append("session \(describe(connection)): INIT_PRODUCER without WebRTC, not answered")
            return nil
        }
        guard case .string(let typeName)? = payload?["type"], let type = StreamType(rawValue: typeName),
              case .string(let kindName)? = payload?["kind"], let kind = MediaKind(rawValue: kindName), kind == type.kind,
              let parametersJSON = payload?["rtpParameters"] else {
            log.append("session \(describe(connection)): INIT_PRODUCER with invalid type/kind/rtpParameters, not answered")
            return nil
        }
        let consumable: RTPParameters
        let mapping: RTPParametersMapping
        var parameters: RTPParameters
        do {
            parameters = try ORTC.validateParameters(try RTPParameters(json: parametersJSON))
            parameters.rtcpCNAME = sessions[connection]!.cname.resolve(offered: parameters.rtcpCNAME)
            mapping = try ORTC.producerMapping(parameters: parameters, kind: kind, router: env.routerCapabilities,
                                               ssrcBase: UInt32.random(in: 100_000_000...999_999_999, using: &random))
            consumable = ORTC.consumableParameters(kind: kind, producer: parameters, router: env.routerCapabilities, mapping: mapping)
        } catch {
            log.append("session \(describe(connection)): INIT_PRODUCER refused: \(error)")
            return nil
        }
        var out: [Output] = []
        if let old = sessions[connection]!.producers[type] { out += closeProducer(old, type: type, of: connection) }
        var session = sessions[connection]!
        let producer = Producer(id: randomUUID(), kind: kind, consumable: consumable)
        session.producers[type] = producer
        if let key = type.infoKey { session.setInfo(key, true) }
        sessions[connection] = session
        out.append(.media(.createProducer(ProducerSpec(id: producer.id, channel: session.channel, transport: cts, kind: kind, type: type.rawValue,
                                                      parameters: parameters, mapping: mapping, consumable: consumable))))
        log.append("session \(describe(connection)) produces \(type.rawValue) (\(ORTC.producerType(parameters)))")
        for other in others(of: connection) { out += consume(owner: connection, into: other, now: now) }
        out += broadcastInfo(of: connection, now: now)
        return (producer.id, out)
    }

    /// Closes a producer and the consumers other sessions had of it (the client learns of it only by a
    /// replacement INIT_CONSUMER, spec §5.12).
    private mutating func closeProducer(_ producer: Producer, type: StreamType, of owner: ConnectionID) -> [Output] {
        var out: [Output] = [.media(.closeProducer(producer.id))]
        sessions[owner]?.producers[type] = nil
        for other in others(of: owner) {
            if let consumer = sessions[other]?.consumers.removeValue(forKey: ConsumerKey(owner: owner, type: type)) {
                out.append(.media(.closeConsumer(consumer.id)))
            }
        }
        return out
    }

    /// Consumption of `owner`'s producers by session `receiver` (spec §5.1 step 6).
    private mutating func consume(owner: ConnectionID, into receiver: ConnectionID, now: Duration) -> [Output] {
        guard let o = sessions[owner], let r = sessions[receiver], o.connected, r.connected,
              let capabilities = r.capabilities, let stc = r.stc else { return [] }
        var out: [Output] = []
        for type in StreamType.allCases {
            guard let producer = o.producers[type] else { continue }
            let key = ConsumerKey(owner: owner, type: type)
            if sessions[receiver]!.consumers[key] != nil {
                // Only sync the paused state with the producer.
                if sessions[receiver]!.consumers[key]!.ready { sessions[receiver]!.consumers[key]!.paused = producer.paused }
                out += syncActive(receiver, key)
                continue
            }
            guard ORTC.canConsume(producer.consumable, capabilities: capabilities) else { continue }
            let ssrc = UInt32.random(in: 100_000_000...999_999_999, using: &random)
            let mid = String(sessions[receiver]!.nextMid)
            let parameters: RTPParameters
            do {
                parameters = try ORTC.consumerParameters(consumable: producer.consumable, kind: producer.kind,
                                                         remoteCapabilities: capabilities, ssrc: ssrc, mid: mid)
            } catch {
                log.append("session \(describe(receiver)): cannot consume \(type.rawValue) of \(describe(owner)): \(error)")
                continue
            }
            sessions[receiver]!.nextMid += 1
            let consumer = Consumer(id: randomUUID(), producerID: producer.id)
            sessions[receiver]!.consumers[key] = consumer
            out.append(.media(.createConsumer(ConsumerSpec(id: consumer.id, transport: stc, producerID: producer.id,
                                                          kind: producer.kind, parameters: parameters))))
            let payload: JSONValue = .object([
                "id": .string(consumer.id), "kind": .string(producer.kind.rawValue), "producerId": .string(producer.id),
                "rtpParameters": parameters.json, "sessionId": o.sessionID, "active": .bool(!producer.paused),
                "type": .string(type.rawValue),
            ])
            out += request(receiver, "INIT_CONSUMER", payload: payload,
                           pending: .initConsumer(owner: owner, type: type, consumerID: consumer.id), batched: true, now: now)
        }
        return out
    }

    /// Tells the media plane when a consumer starts or stops forwarding (ready, not paused, producer not
    /// paused); starting requests a key frame there.
    private mutating func syncActive(_ receiver: ConnectionID, _ key: ConsumerKey) -> [Output] {
        guard let consumer = sessions[receiver]?.consumers[key] else { return [] }
        let producerPaused = sessions[key.owner]?.producers[key.type]?.paused ?? true
        let active = consumer.ready && !consumer.paused && !producerPaused
        guard active != consumer.active else { return [] }
        sessions[receiver]!.consumers[key]!.active = active
        return [.media(.setConsumerActive(consumer.id, active))]
    }

    private mutating func productionChange(_ payload: JSONValue?, from connection: ConnectionID, now: Duration) -> [Output] {
        guard case .string(let typeName)? = payload?["type"], let type = StreamType(rawValue: typeName) else { return [] }
        let active = payload?["active"]?.isTruthy ?? false
        if let key = type.infoKey { sessions[connection]!.setInfo(key, active) }
        guard sessions[connection]!.producers[type] != nil else { return [] }
        sessions[connection]!.producers[type]!.paused = !active
        var out: [Output] = [.media(.setProducerPaused(sessions[connection]!.producers[type]!.id, !active))]
        for other in others(of: connection) { out += consume(owner: connection, into: other, now: now) }
        out += broadcastInfo(of: connection, now: now)
        return out
    }

    private mutating func consumptionChange(_ payload: JSONValue?, from connection: ConnectionID) -> [Output] {
        guard let sessionID = payload?["sessionId"], case .object(let states)? = payload?["states"],
              let owner = others(of: connection).first(where: { sessions[$0]?.sessionID == sessionID }) else { return [] }
        var out: [Output] = []
        for (name, value) in states.sorted(by: { $0.key < $1.key }) {
            guard let type = StreamType(rawValue: name) else { continue }
            let key = ConsumerKey(owner: owner, type: type)
            guard sessions[connection]!.consumers[key] != nil else { continue }
            sessions[connection]!.consumers[key]!.paused = !value.isTruthy
            out += syncActive(connection, key)
        }
        return out
    }

    // MARK: - Info

    private mutating func infoChange(_ payload: JSONValue?, from connection: ConnectionID, now: Duration) -> [Output] {
        if case .object(let info)? = payload?["info"] {
            for (key, value) in info.sorted(by: { $0.key < $1.key }) where Self.infoKeys.contains(key) {
                sessions[connection]!.setInfo(key, value.isTruthy)
            }
        }
        var out: [Output] = []
        let everyone = sessions(in: sessions[connection]!.channel)
        if payload?["needRefresh"]?.isTruthy == true && everyone.count > 1 {
            let others = everyone.filter { $0.connection != connection }
            out += batch(connection, Self.message("S_INFO_CHANGE", payload: Self.infoMap(others)), now: now)
        }
        return out + broadcastInfo(of: connection, now: now)
    }

    /// `S_INFO_CHANGE {"<ownId>": ownInfo}` to every other session.
    private mutating func broadcastInfo(of connection: ConnectionID, now: Duration) -> [Output] {
        guard let me = sessions[connection] else { return [] }
        let mine = Self.message("S_INFO_CHANGE", payload: Self.infoMap([me]))
        return others(of: connection).flatMap { batch($0, mine, now: now) }
    }

    /// `{"<sessionId>": {info…}, …}` (session ids become object keys as JavaScript would stringify them).
    static func infoMap(_ sessions: [Session]) -> JSONValue {
        var map: [String: JSONValue] = [:]
        for s in sessions { map[s.sessionID.propertyKey] = .object(Dictionary(uniqueKeysWithValues: s.info.map { ($0.key, .bool($0.value)) })) }
        return .object(map)
    }

    // MARK: - Timers

    /// The earliest time ``handleTimeout(now:)`` has work to do.
    var nextDeadline: Duration? {
        var earliest: Duration?
        func consider(_ d: Duration?) { if let d, earliest.map({ d < $0 }) ?? true { earliest = d } }
        for s in sessions.values {
            consider(s.connectionDeadline)
            consider(s.webRTC || s.connected ? s.nextPing : nil)
            for p in s.pending.values { consider(p.deadline) }
            if !s.batch.isEmpty { consider(s.batchWindowEnd) }
            for r in s.consumeRetries { consider(r.at) }
        }
        return earliest
    }

    /// Connection timeout (4107), PING schedule and its 10 s deadline (4107), request timeouts, the end of
    /// batching windows and consumption retries.
    mutating func handleTimeout(now: Duration) -> [Output] {
        var out: [Output] = []
        for connection in sessions.keys.sorted() {
            guard var s = sessions[connection] else { continue }
            if let deadline = s.connectionDeadline, now >= deadline {
                log.append("session \(describe(connection)): not connected within 10 s")
                out += close(connection, code: .timeout, announce: true, now: now)
                continue
            }
            var expired: [(String, Pending)] = []
            for (id, p) in s.pending where now >= p.deadline { expired.append((id, p.what)) }
            var closed = false
            for (id, what) in expired.sorted(by: { $0.0 < $1.0 }) {
                s.pending[id] = nil
                sessions[connection] = s
                switch what {
                case .ping:
                    log.append("session \(describe(connection)): PING not answered within 10 s")
                    out += close(connection, code: .timeout, announce: true, now: now)
                    closed = true
                case .initTransports:
                    break   // the connection timer decides
                case .initConsumer(let owner, let type, let consumerID):
                    out += consumerFailed(connection, owner: owner, type: type, consumerID: consumerID, now: now)
                    closed = sessions[connection] == nil
                }
                if closed { break }
                s = sessions[connection]!
            }
            if closed { continue }
            if now >= s.nextPing {
                s.nextPing = now + Timing.pingInterval
                sessions[connection] = s
                out += request(connection, "PING", payload: nil, pending: .ping, batched: true, now: now, timeout: Timing.pingTimeout)
                s = sessions[connection]!
            }
            let due = s.consumeRetries.filter { now >= $0.at }
            if !due.isEmpty {
                s.consumeRetries.removeAll { now >= $0.at }
                sessions[connection] = s
                for retry in due { out += consume(owner: retry.owner, into: connection, now: now) }
                s = sessions[connection]!
            }
            if let end = s.batchWindowEnd, now >= end {
                sessions[connection]!.batchWindowEnd = nil
                if !s.batch.isEmpty {
                    sessions[connection]!.batch = []
                    out.append(.send(connection, JSONValue.array(s.batch).jsonText))
                }
            }
        }
        return out
    }

    /// A consumer whose INIT_CONSUMER timed out: closed, counted as an error, that peer's consumption
    /// retried in 2 s; more than 6 errors close the session with 1011 (odoo/sfu `_handleError`).
    private mutating func consumerFailed(_ connection: ConnectionID, owner: ConnectionID, type: StreamType, consumerID: String,
                                         now: Duration) -> [Output] {
        let key = ConsumerKey(owner: owner, type: type)
        var out: [Output] = []
        if sessions[connection]?.consumers[key]?.id == consumerID {
            sessions[connection]!.consumers[key] = nil
            out.append(.media(.closeConsumer(consumerID)))
        }
        sessions[connection]!.errors += 1
        log.append("session \(describe(connection)): INIT_CONSUMER timed out (error \(sessions[connection]!.errors))")
        if sessions[connection]!.errors > Timing.maxSessionErrors {
            return out + close(connection, code: .error, announce: true, now: now)
        }
        sessions[connection]!.consumeRetries.append((owner, now + Timing.consumeRetry))
        return out
    }

    // MARK: - Sending

    /// Sends a request and remembers it; server ids are `s_<connection>_<n>` (spec §4.2).
    private mutating func request(_ connection: ConnectionID, _ name: String, payload: JSONValue?, pending: Pending,
                                  batched: Bool, now: Duration, timeout: Duration = Timing.request) -> [Output] {
        guard var s = sessions[connection] else { return [] }
        let id = "s_\(connection)_\(s.requestCounter)"
        s.requestCounter += 1
        s.pending[id] = (pending, now + timeout)
        sessions[connection] = s
        var message: [String: JSONValue] = ["name": .string(name)]
        if let payload { message["payload"] = payload }
        let item: JSONValue = .object(["message": .object(message), "needResponse": .string(id)])
        return batched ? batch(connection, item, now: now) : [.send(connection, JSONValue.array([item]).jsonText)]
    }

    /// Bus batching (spec §4.3): the first batched item after an idle period goes out at once as a
    /// one-element array; items arriving in the following 300 ms go out together at the end of it.
    private mutating func batch(_ connection: ConnectionID, _ item: JSONValue, now: Duration) -> [Output] {
        guard sessions[connection] != nil else { return [] }
        if let end = sessions[connection]!.batchWindowEnd, now < end {
            sessions[connection]!.batch.append(item)
            return []
        }
        sessions[connection]!.batchWindowEnd = now + Timing.batchDelay
        return [.send(connection, JSONValue.array([item]).jsonText)]
    }

    /// A plain message payload (`{message:{name, payload}}`).
    static func message(_ name: String, payload: JSONValue) -> JSONValue {
        .object(["message": .object(["name": .string(name), "payload": payload])])
    }

    // MARK: - Helpers

    /// Every session of `connection`'s channel but `connection`, in join order.
    private func others(of connection: ConnectionID) -> [ConnectionID] {
        guard let channel = sessions[connection]?.channel else { return [] }
        return (order[channel] ?? []).filter { $0 != connection }
    }

    private func describe(_ connection: ConnectionID) -> String {
        sessions[connection].map { "\($0.sessionID.jsonText)@\($0.channel)" } ?? "connection \(connection)"
    }

    private mutating func randomUUID() -> String { UUIDv4.random(using: &random) }

    /// An 8-character fallback CNAME (mediasoup: random when the first producer has none).
    static func randomCNAME(using random: inout any RandomNumberGenerator) -> String {
        let chars = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        return String((0..<8).map { _ in chars[Int(random.next(upperBound: UInt64(chars.count)))] })
    }

    /// `TransportConfig` (spec §6.3) for a transport on this worker's shared ports.
    static func transportConfig(_ id: TransportID, _ ice: ICECredentials, _ env: Environment) -> JSONValue {
        var candidates: [JSONValue] = [.object([
            "foundation": "udpcandidate", "priority": .number(1_076_302_079), "ip": .string(env.announcedAddress),
            "address": .string(env.announcedAddress), "protocol": "udp", "port": .number(Double(env.udpPort)), "type": "host",
        ])]
        if let tcp = env.tcpPort {
            candidates.append(.object([
                "foundation": "tcpcandidate", "priority": .number(1_076_276_479), "ip": .string(env.announcedAddress),
                "address": .string(env.announcedAddress), "protocol": "tcp", "port": .number(Double(tcp)), "type": "host",
                "tcpType": "passive",
            ]))
        }
        return .object([
            "id": .string(id.rawValue),
            "iceParameters": .object(["usernameFragment": .string(ice.usernameFragment), "password": .string(ice.password), "iceLite": .bool(true)]),
            "iceCandidates": .array(candidates),
            "dtlsParameters": .object([
                "role": "auto",
                "fingerprints": .array(env.fingerprints.map { .object(["algorithm": .string($0.algorithm), "value": .string($0.value)]) }),
            ]),
        ])
    }

    /// `{role?, fingerprints: [{algorithm, value}, …]}` of CONNECT_* (spec §5.5, §6.4): mediasoup uses the
    /// first fingerprint; an empty list or an unknown algorithm is refused.
    static func dtlsParameters(_ value: JSONValue?) -> (WebRtcTransport.RemoteDTLSRole, [DTLSFingerprint])? {
        guard case .array(let list)? = value?["fingerprints"], let first = list.first,
              case .string(let algorithm)? = first["algorithm"], case .string(let hex)? = first["value"],
              ["sha-1", "sha-224", "sha-256", "sha-384", "sha-512"].contains(algorithm.lowercased()), !hex.isEmpty else { return nil }
        var role = WebRtcTransport.RemoteDTLSRole.auto
        if let r = value?["role"] {
            guard case .string(let name) = r, let parsed = WebRtcTransport.RemoteDTLSRole(rawValue: name) else { return nil }
            role = parsed
        }
        return (role, [DTLSFingerprint(algorithm: algorithm.lowercased(), value: hex)])
    }
}

extension SessionHub.Session {
    mutating func setInfo(_ key: String, _ value: Bool) {
        if let i = info.firstIndex(where: { $0.key == key }) { info[i].value = value } else { info.append((key, value)) }
    }
}

/// A producer as the media plane needs it.
struct ProducerSpec: Equatable, Sendable {
    let id: String
    let channel: String
    let transport: TransportID
    let kind: MediaKind
    let type: String
    let parameters: RTPParameters
    let mapping: RTPParametersMapping
    let consumable: RTPParameters
}

/// A consumer as the media plane needs it.
struct ConsumerSpec: Equatable, Sendable {
    let id: String
    let transport: TransportID
    let producerID: String
    let kind: MediaKind
    let parameters: RTPParameters
}

/// What the signalling asks of the media plane.
enum MediaCommand: Equatable, Sendable {
    case createTransport(TransportID, ICECredentials, maxIncomingBitrate: Int?, maxOutgoingBitrate: Int?)
    case connectTransport(TransportID, WebRtcTransport.RemoteDTLSRole, [DTLSFingerprint])
    case closeTransport(TransportID)
    case createProducer(ProducerSpec)
    case setProducerPaused(String, Bool)
    case closeProducer(String)
    /// Created paused; forwarding starts with ``setConsumerActive(_:_:)``.
    case createConsumer(ConsumerSpec)
    /// Start (with a key-frame request) or stop forwarding to a consumer.
    case setConsumerActive(String, Bool)
    case closeConsumer(String)
}

/// Random UUIDv4 strings, lower case (`crypto.randomUUID()`).
enum UUIDv4 {
    static func random(using g: inout some RandomNumberGenerator) -> String {
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &g) }
        bytes[6] = bytes[6] & 0x0F | 0x40
        bytes[8] = bytes[8] & 0x3F | 0x80
        let hex = bytes.map { b in String(b, radix: 16).count == 1 ? "0" + String(b, radix: 16) : String(b, radix: 16) }
        return hex[0..<4].joined() + "-" + hex[4..<6].joined() + "-" + hex[6..<8].joined() + "-" + hex[8..<10].joined() + "-" + hex[10..<16].joined()
    }
}

extension ICECredentials {
    /// 32 characters from `[0-9a-z]` for both fields, as mediasoup makes them (spec §6.3).
    static func mediasoupStyle(using g: inout some RandomNumberGenerator) -> ICECredentials {
        let chars = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        func pick() -> String { String((0..<32).map { _ in chars[Int(g.next(upperBound: UInt64(chars.count)))] }) }
        return ICECredentials(usernameFragment: pick(), password: pick())
    }
}
