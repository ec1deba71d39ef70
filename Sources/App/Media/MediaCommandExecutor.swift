import Logging
import SFU

/// Carries out the signalling layer's ``MediaCommand``s on a worker's ``MediaRouter``: the signalling names things
/// with mediasoup-style UUIDs (they travel in the bus JSON), the router with small integer ids; this maps one to the
/// other once per command, so that nothing on the packet path hashes a string.
///
/// Runs on the worker's event loop.
final class MediaCommandExecutor {
    private let router: MediaRouter
    private let logger: Logger
    /// Whether a new transport of a channel is tapped (the debugging tap).
    private let tapsChannel: (String) -> Bool
    private var transports: [String: TransportID] = [:]
    private var transportNames: [TransportID: String] = [:]
    private var producerIDs: [String: ProducerID] = [:]
    private var consumerIDs: [String: ConsumerID] = [:]
    /// Producers by name, with their channel and type (for statistics).
    private(set) var producers: [String: ProducerSpec] = [:]

    init(router: MediaRouter, logger: Logger, tapsChannel: @escaping (String) -> Bool) {
        self.router = router
        self.logger = logger
        self.tapsChannel = tapsChannel
    }

    /// The signalling name of a router transport (for logs and tap file names).
    func name(of transport: TransportID) -> String? { transportNames[transport] }

    /// The router id of producer `name`.
    func producer(_ name: String) -> ProducerID? { producerIDs[name] }

    /// Carries out `command` at `now`; `channel` is the channel of a transport being created.
    func perform(_ command: MediaCommand, channel: String?, now: Duration) {
        switch command {
        case .createTransport(let name, let credentials, let maxIncoming, let maxOutgoing):
            let id = router.createTransport(credentials: credentials, tapsPlaintext: channel.map(tapsChannel) ?? false, now: now)
            transports[name] = id
            transportNames[id] = name
            router.setBitrateLimits(id, maxIncoming: maxIncoming, maxOutgoing: maxOutgoing, now: now)
        case .connectTransport(let name, let role, let fingerprints):
            guard let id = transports[name] else { return logger.warning("transport \(name): connect for an unknown transport") }
            do {
                try router.connectTransport(id, remoteRole: role, fingerprints: fingerprints, now: now)
            } catch {
                logger.warning("transport \(name): connect failed: \(error)")
            }
        case .closeTransport(let name):
            guard let id = transports.removeValue(forKey: name) else { return }
            transportNames[id] = nil
            router.closeTransport(id, now: now)
        case .createProducer(let spec):
            guard let transport = transports[spec.transport] else { return logger.warning("producer \(spec.id): unknown transport") }
            do {
                producerIDs[spec.id] = try router.createProducer(on: transport, kind: spec.kind, source: spec.type == .screen ? .screen : .camera,
                                                                 parameters: spec.parameters,
                                                                 mapping: spec.mapping, now: now)
                producers[spec.id] = spec
            } catch {
                logger.warning("producer \(spec.id): \(error)")
            }
        case .closeProducer(let name):
            producers[name] = nil
            guard let id = producerIDs.removeValue(forKey: name) else { return }
            router.closeProducer(id, now: now)
        case .setProducerPaused(let name, let paused):
            guard let id = producerIDs[name] else { return }
            router.setProducerPaused(id, paused, now: now)
        case .createConsumer(let spec):
            guard let transport = transports[spec.transport], let producer = producerIDs[spec.producerID] else {
                return logger.warning("consumer \(spec.id): unknown transport or producer")
            }
            do {
                consumerIDs[spec.id] = try router.createConsumer(on: transport, of: producer, parameters: spec.parameters, now: now)
            } catch {
                logger.warning("consumer \(spec.id): \(error)")
            }
        case .setConsumerActive(let name, let active):
            guard let id = consumerIDs[name] else { return }
            router.setConsumerActive(id, active, now: now)
        case .closeConsumer(let name):
            guard let id = consumerIDs.removeValue(forKey: name) else { return }
            router.closeConsumer(id, now: now)
        }
    }
}
