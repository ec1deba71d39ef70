import DTLS
import ICE
import SFU

/// A session's media state on the signalling side (docs/protocol.md §5.1): its two transports, the capabilities
/// its browser announced, its producers and its consumers of the others' producers.
struct SessionMedia {
    typealias ConnectionID = UInt64

    struct Producer {
        let id: String
        let kind: MediaKind
        let consumable: RTPParameters
        var paused = false
    }

    struct Consumer {
        let id: String
        /// INIT_CONSUMER was answered: the client has its receiver.
        var ready = false
        /// The server-side pause (created paused, resumed after the INIT_CONSUMER answer, CONSUMPTION_CHANGE).
        var paused = true
        /// What the media plane was last told.
        var active = false
    }

    /// A consumer is named by whose producer it consumes and which stream.
    struct ConsumerKey: Hashable {
        let owner: ConnectionID
        let type: StreamType
    }

    var cts: String?
    var stc: String?
    var ctsConnected = false
    var stcConnected = false
    var capabilities: RTPCapabilities?
    var producers: [StreamType: Producer] = [:]
    var consumers: [ConsumerKey: Consumer] = [:]
    var nextMid = 0
    var cname: ProducerCNAME
    var errors = 0
    /// Owners whose consumption is retried at the given time after a failed INIT_CONSUMER.
    var consumeRetries: [(owner: ConnectionID, at: Duration)] = []
}

/// The media side of the signalling (docs/protocol.md §5.1–§5.8, §6): transport creation and INIT_TRANSPORTS,
/// CONNECT_*, INIT_PRODUCER with mediasoup's ORTC rules, consumption of every producer by every other connected
/// session (INIT_CONSUMER), pauses, and consumer failures and retries. It changes the sessions of a
/// ``SessionDirectory`` and emits ``MediaCommand``s and bus frames into an ``Outbox``.
struct MediaNegotiator {
    typealias ConnectionID = UInt64

    /// What the negotiator needs to know about the server (constant for a worker).
    struct Environment {
        /// The router's RTP capabilities (built once from AUDIO_CODECS/VIDEO_CODECS).
        var routerCapabilities: RTPCapabilities
        /// `producerOptionsByKind` of INIT_TRANSPORTS (docs/protocol.md §5.2).
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

    /// Consumer failure handling of odoo/sfu (`src/models/session.ts`).
    enum Timing {
        static let consumeRetry: Duration = .seconds(2)
        static let maxSessionErrors = 6
    }

    let environment: Environment
    var random: any RandomNumberGenerator

    /// Fresh media state for a session: its CNAME fallback (mediasoup: 8 random characters).
    mutating func newSessionMedia() -> SessionMedia {
        let chars = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        let fallback = String((0..<8).map { _ in chars[Int(random.next(upperBound: UInt64(chars.count)))] })
        return SessionMedia(cname: ProducerCNAME(fallback: fallback))
    }

    // MARK: - Transports

    /// Creates the session's two transports and sends INIT_TRANSPORTS (§5.1 step 1, §5.2).
    mutating func start(_ connection: ConnectionID, in d: inout SessionDirectory, _ out: inout Outbox, now: Duration) {
        let stc = UUIDv4.random(using: &random), cts = UUIDv4.random(using: &random)
        let stcICE = ICECredentials.mediasoupStyle(using: &random), ctsICE = ICECredentials.mediasoupStyle(using: &random)
        try? d.update(connection) { s in
            s.media.stc = stc
            s.media.cts = cts
        }
        out.media(.createTransport(stc, stcICE, maxIncomingBitrate: nil, maxOutgoingBitrate: environment.maxBitrateOut))
        out.media(.createTransport(cts, ctsICE, maxIncomingBitrate: environment.maxBitrateIn, maxOutgoingBitrate: nil))
        let payload: JSONValue = .object([
            "capabilities": environment.routerCapabilities.json,
            "stcConfig": Self.transportConfig(stc, stcICE, environment),
            "ctsConfig": Self.transportConfig(cts, ctsICE, environment),
            "producerOptionsByKind": environment.producerOptionsByKind,
        ])
        d.request("INIT_TRANSPORTS", payload: payload, to: connection, pending: .initTransports, batched: false, now: now, into: &out)
    }

    /// The INIT_TRANSPORTS answer: the browser's capabilities. Returns false when they are unusable (the session is
    /// then closed with 1011); otherwise the session is connected and consumes, and is consumed by, the others.
    mutating func transportsAnswered(_ connection: ConnectionID, capabilities message: JSONValue?, in d: inout SessionDirectory,
                                     _ out: inout Outbox, now: Duration) -> Bool {
        guard let message, let parsed = try? RTPCapabilities(json: message), let capabilities = try? ORTC.validateCapabilities(parsed) else {
            out.log("session \(d.describe(connection)): unusable RTP capabilities in the INIT_TRANSPORTS answer", .warning)
            return false
        }
        try? d.update(connection) { s in
            s.media.capabilities = capabilities
            s.connected = true
            s.connectionDeadline = nil
        }
        out.log("session \(d.describe(connection)) connected")
        for other in d.others(of: connection) where d.sessions[other]?.connected == true {
            consume(owner: other, into: connection, in: &d, &out, now: now)
            consume(owner: connection, into: other, in: &d, &out, now: now)
        }
        return true
    }

    /// CONNECT_CTS_TRANSPORT / CONNECT_STC_TRANSPORT (§5.5): answered once per transport with valid parameters.
    func connect(_ connection: ConnectionID, _ direction: TransportDirection, _ parameters: DTLSParameters?, id: JSONValue,
                 in d: inout SessionDirectory, _ out: inout Outbox) throws(SessionError) {
        let session = try d.session(connection)
        let name = direction == .clientToServer ? "CONNECT_CTS_TRANSPORT" : "CONNECT_STC_TRANSPORT"
        guard let transport = direction == .clientToServer ? session.media.cts : session.media.stc else {
            return out.log("session \(d.describe(connection)): \(name) without a transport, not answered")
        }
        guard !(direction == .clientToServer ? session.media.ctsConnected : session.media.stcConnected) else {
            return out.log("session \(d.describe(connection)): \(name): connect() already called, not answered")
        }
        guard let parameters else { return out.log("session \(d.describe(connection)): \(name) with invalid dtlsParameters, not answered") }
        try d.update(connection) { s in
            if direction == .clientToServer { s.media.ctsConnected = true } else { s.media.stcConnected = true }
        }
        out.media(.connectTransport(transport, parameters.role, parameters.fingerprints))
        out.send(connection, ServerItem.frame([ServerItem.response(to: id, message: nil)]))
    }

    // MARK: - Producers

    /// INIT_PRODUCER (§5.6): validated and mapped with ORTC; answered with the producer's id, after which every
    /// other session consumes it. A refused request is not answered. Returns whether a producer was created.
    @discardableResult
    mutating func initProducer(_ request: ProducerRequest?, id: JSONValue, from connection: ConnectionID, in d: inout SessionDirectory,
                               _ out: inout Outbox, now: Duration) throws(SessionError) -> Bool {
        let session = try d.session(connection)
        guard let cts = session.media.cts else {
            out.log("session \(d.describe(connection)): INIT_PRODUCER without WebRTC, not answered")
            return false
        }
        guard let request else {
            out.log("session \(d.describe(connection)): INIT_PRODUCER with invalid type/kind/rtpParameters, not answered")
            return false
        }
        let type = request.type, kind = request.kind, env = environment
        let consumable: RTPParameters, mapping: RTPParametersMapping
        var parameters: RTPParameters
        do {
            parameters = try ORTC.validateParameters(try RTPParameters(json: request.rtpParameters))
            var cname = session.media.cname
            parameters.rtcpCNAME = cname.resolve(offered: parameters.rtcpCNAME)
            try d.update(connection) { $0.media.cname = cname }
            mapping = try ORTC.producerMapping(parameters: parameters, kind: kind, router: env.routerCapabilities,
                                               ssrcBase: UInt32.random(in: 100_000_000...999_999_999, using: &random))
            consumable = ORTC.consumableParameters(kind: kind, producer: parameters, router: env.routerCapabilities, mapping: mapping)
        } catch {
            out.log("session \(d.describe(connection)): INIT_PRODUCER refused: \(error)", .warning)
            return false
        }
        if let old = session.media.producers[type] { closeProducer(old, type: type, of: connection, in: &d, &out) }
        let producer = SessionMedia.Producer(id: UUIDv4.random(using: &random), kind: kind, consumable: consumable)
        try d.update(connection) { s in
            s.media.producers[type] = producer
            if let key = type.infoKey { s.setInfo(key, true) }
        }
        out.send(connection, ServerItem.frame([ServerItem.response(to: id, message: .object(["id": .string(producer.id)]))]))
        out.media(.createProducer(ProducerSpec(id: producer.id, channel: session.channel, transport: cts, kind: kind, type: type,
                                               parameters: parameters, mapping: mapping, consumable: consumable)))
        out.log("session \(d.describe(connection)) produces \(type.rawValue) (\(ORTC.producerType(parameters)))")
        for other in d.others(of: connection) { consume(owner: connection, into: other, in: &d, &out, now: now) }
        return true
    }

    /// Closes a producer and the consumers other sessions had of it (the client learns of it only by a
    /// replacement INIT_CONSUMER, §5.12).
    func closeProducer(_ producer: SessionMedia.Producer, type: StreamType, of owner: ConnectionID, in d: inout SessionDirectory,
                       _ out: inout Outbox) {
        out.media(.closeProducer(producer.id))
        try? d.update(owner) { $0.media.producers[type] = nil }
        let key = SessionMedia.ConsumerKey(owner: owner, type: type)
        for other in d.others(of: owner) {
            if let consumer = try? d.update(other, { $0.media.consumers.removeValue(forKey: key) }) {
                out.media(.closeConsumer(consumer.id))
            }
        }
    }

    /// PRODUCTION_CHANGE (§5.7): a producer pauses or resumes, and its consumers with it. Returns whether the
    /// session has a producer of that type.
    mutating func productionChange(_ change: StreamState, from connection: ConnectionID, in d: inout SessionDirectory, _ out: inout Outbox,
                                   now: Duration) throws(SessionError) -> Bool {
        let producer = try d.update(connection) { s -> SessionMedia.Producer? in
            s.media.producers[change.type]?.paused = !change.active
            return s.media.producers[change.type]
        }
        guard let producer else { return false }
        out.media(.setProducerPaused(producer.id, !change.active))
        for other in d.others(of: connection) { consume(owner: connection, into: other, in: &d, &out, now: now) }
        return true
    }

    // MARK: - Consumers

    /// Consumption of `owner`'s producers by session `receiver` (§5.1 step 6): a new consumer (INIT_CONSUMER,
    /// batched) per producer it can consume, or — for an existing one — its pause synchronised with the producer.
    mutating func consume(owner: ConnectionID, into receiver: ConnectionID, in d: inout SessionDirectory, _ out: inout Outbox,
                          now: Duration) {
        guard let o = d.sessions[owner], let r = d.sessions[receiver], o.connected, r.connected,
              let capabilities = r.media.capabilities, let stc = r.media.stc else { return }
        for type in StreamType.allCases {
            guard let producer = o.media.producers[type] else { continue }
            let key = SessionMedia.ConsumerKey(owner: owner, type: type)
            if r.media.consumers[key] != nil {
                try? d.update(receiver) { s in
                    if s.media.consumers[key]?.ready == true { s.media.consumers[key]?.paused = producer.paused }
                }
                syncActive(receiver, key, in: &d, &out)
                continue
            }
            guard ORTC.canConsume(producer.consumable, capabilities: capabilities) else { continue }
            let ssrc = UInt32.random(in: 100_000_000...999_999_999, using: &random)
            let mid = String(d.sessions[receiver]?.media.nextMid ?? 0)
            let parameters: RTPParameters
            do {
                parameters = try ORTC.consumerParameters(consumable: producer.consumable, kind: producer.kind,
                                                         remoteCapabilities: capabilities, ssrc: ssrc, mid: mid)
            } catch {
                out.log("session \(d.describe(receiver)): cannot consume \(type.rawValue) of \(d.describe(owner)): \(error)", .warning)
                continue
            }
            let consumer = SessionMedia.Consumer(id: UUIDv4.random(using: &random))
            try? d.update(receiver) { s in
                s.media.nextMid += 1
                s.media.consumers[key] = consumer
            }
            out.media(.createConsumer(ConsumerSpec(id: consumer.id, transport: stc, producerID: producer.id, kind: producer.kind, parameters: parameters)))
            let payload: JSONValue = .object([
                "id": .string(consumer.id), "kind": .string(producer.kind.rawValue), "producerId": .string(producer.id),
                "rtpParameters": parameters.json, "sessionId": o.sessionID, "active": .bool(!producer.paused),
                "type": .string(type.rawValue),
            ])
            d.request("INIT_CONSUMER", payload: payload, to: receiver, pending: .initConsumer(owner: owner, type: type, consumerID: consumer.id),
                      batched: true, now: now, into: &out)
        }
    }

    /// The INIT_CONSUMER answer: the client has its receiver; the consumer resumes unless its producer is paused
    /// (odoo/sfu `consume`: `if (!producer.paused) consumer.resume()`).
    func consumerAnswered(_ connection: ConnectionID, owner: ConnectionID, type: StreamType, consumerID: String,
                          in d: inout SessionDirectory, _ out: inout Outbox) {
        let key = SessionMedia.ConsumerKey(owner: owner, type: type)
        guard d.sessions[connection]?.media.consumers[key]?.id == consumerID else { return }
        let producerPaused = d.sessions[owner]?.media.producers[type]?.paused
        try? d.update(connection) { s in
            s.media.consumers[key]?.ready = true
            if producerPaused == false { s.media.consumers[key]?.paused = false }
        }
        syncActive(connection, key, in: &d, &out)
    }

    /// CONSUMPTION_CHANGE (§5.8): the receiver pauses or resumes its consumers of another session's streams.
    func consumptionChange(_ change: ConsumptionChange, from connection: ConnectionID, in d: inout SessionDirectory, _ out: inout Outbox) {
        guard let owner = d.others(of: connection).first(where: { d.sessions[$0]?.sessionID == change.sessionID }) else { return }
        for state in change.states {
            let key = SessionMedia.ConsumerKey(owner: owner, type: state.type)
            guard d.sessions[connection]?.media.consumers[key] != nil else { continue }
            try? d.update(connection) { $0.media.consumers[key]?.paused = !state.active }
            syncActive(connection, key, in: &d, &out)
        }
    }

    /// Tells the media plane when a consumer starts or stops forwarding (ready, not paused, producer not paused);
    /// starting requests a key frame there.
    func syncActive(_ receiver: ConnectionID, _ key: SessionMedia.ConsumerKey, in d: inout SessionDirectory, _ out: inout Outbox) {
        guard let consumer = d.sessions[receiver]?.media.consumers[key] else { return }
        let producerPaused = d.sessions[key.owner]?.media.producers[key.type]?.paused ?? true
        let active = consumer.ready && !consumer.paused && !producerPaused
        guard active != consumer.active else { return }
        try? d.update(receiver) { $0.media.consumers[key]?.active = active }
        out.media(.setConsumerActive(consumer.id, active))
    }

    /// A consumer whose INIT_CONSUMER timed out: closed, counted as an error, that peer's consumption retried in
    /// 2 s. Returns false when the session has had too many errors (more than 6: it is closed with 1011, odoo/sfu
    /// `_handleError`).
    func consumerTimedOut(_ connection: ConnectionID, owner: ConnectionID, type: StreamType, consumerID: String,
                          in d: inout SessionDirectory, _ out: inout Outbox, now: Duration) -> Bool {
        let key = SessionMedia.ConsumerKey(owner: owner, type: type)
        guard let errors = try? d.update(connection, { s -> Int in
            if s.media.consumers[key]?.id == consumerID {
                s.media.consumers[key] = nil
                out.media(.closeConsumer(consumerID))
            }
            s.media.errors += 1
            return s.media.errors
        }) else { return true }
        out.log("session \(d.describe(connection)): INIT_CONSUMER timed out (error \(errors))", .warning)
        guard errors <= Timing.maxSessionErrors else { return false }
        try? d.update(connection) { $0.media.consumeRetries.append((owner, now + Timing.consumeRetry)) }
        return true
    }

    /// Consumption retries that are due at `now`.
    mutating func retry(_ connection: ConnectionID, in d: inout SessionDirectory, _ out: inout Outbox, now: Duration) {
        guard let due = try? d.update(connection, { s -> [ConnectionID] in
            let due = s.media.consumeRetries.filter { now >= $0.at }.map(\.owner)
            s.media.consumeRetries.removeAll { now >= $0.at }
            return due
        }) else { return }
        for owner in due { consume(owner: owner, into: connection, in: &d, &out, now: now) }
    }

    /// The media of a session that closed (§5.12): its consumers, the others' consumers of its producers, its
    /// producers and its transports.
    func closed(_ session: Session, in d: inout SessionDirectory, _ out: inout Outbox) {
        for consumer in session.media.consumers.values { out.media(.closeConsumer(consumer.id)) }
        for other in d.connections(in: session.channel) {
            for type in StreamType.allCases {
                let key = SessionMedia.ConsumerKey(owner: session.connection, type: type)
                if let consumer = try? d.update(other, { $0.media.consumers.removeValue(forKey: key) }) {
                    out.media(.closeConsumer(consumer.id))
                }
            }
        }
        for producer in session.media.producers.values { out.media(.closeProducer(producer.id)) }
        for transport in [session.media.cts, session.media.stc].compactMap({ $0 }) { out.media(.closeTransport(transport)) }
    }

    // MARK: - JSON

    /// `TransportConfig` (§6.3) for a transport on this worker's shared ports.
    static func transportConfig(_ id: String, _ ice: ICECredentials, _ env: Environment) -> JSONValue {
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
            "id": .string(id),
            "iceParameters": .object(["usernameFragment": .string(ice.usernameFragment), "password": .string(ice.password), "iceLite": .bool(true)]),
            "iceCandidates": .array(candidates),
            "dtlsParameters": .object([
                "role": "auto",
                "fingerprints": .array(env.fingerprints.map { .object(["algorithm": .string($0.algorithm), "value": .string($0.value)]) }),
            ]),
        ])
    }
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
    /// 32 characters from `[0-9a-z]` for both fields, as mediasoup makes them (docs/protocol.md §6.3).
    static func mediasoupStyle(using g: inout some RandomNumberGenerator) -> ICECredentials {
        let chars = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        func pick() -> String { String((0..<32).map { _ in chars[Int(g.next(upperBound: UInt64(chars.count)))] }) }
        return ICECredentials(usernameFragment: pick(), password: pick())
    }
}
