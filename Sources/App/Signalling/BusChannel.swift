/// The server's side of one connection's bus (docs/protocol.md §4): request ids, the requests waiting for an answer
/// with their deadlines, and the batching window. Pure state; it returns the frame text to send, if any, and the
/// hub sends it.
struct BusChannel {
    typealias ConnectionID = UInt64

    /// What a request this server sent is for (the answer or the timeout is handled accordingly).
    enum Pending: Equatable {
        case initTransports
        case initConsumer(owner: ConnectionID, type: StreamType, consumerID: String)
        case ping
    }

    /// Timers of odoo/sfu (`src/config.ts timeouts`).
    enum Timing {
        /// A request not answered in this time has failed (§4.4).
        static let request: Duration = .seconds(5)
        /// Items batched after the first one of an idle period go out together at the end of this window (§4.3).
        static let batchDelay: Duration = .milliseconds(300)
    }

    let connection: ConnectionID
    private(set) var pending: [String: (what: Pending, deadline: Duration)] = [:]
    private var requestCounter = 0
    private var batch: [JSONValue] = []
    private var batchWindowEnd: Duration?

    init(connection: ConnectionID) { self.connection = connection }

    /// A request `name` remembered as `pending` until it is answered or `timeout` passes; returns the frame to send
    /// now (nil when it joined the batch). Server request ids are `s_<connection>_<n>` (§4.2).
    mutating func request(_ name: String, payload: JSONValue?, pending what: Pending, batched: Bool, now: Duration,
                          timeout: Duration = Timing.request) -> String? {
        let id = "s_\(connection)_\(requestCounter)"
        requestCounter += 1
        pending[id] = (what, now + timeout)
        let item = ServerItem.request(name, payload: payload, id: id)
        return batched ? post(item, now: now) : ServerItem.frame([item])
    }

    /// Batching (§4.3): the first batched item after an idle period goes out at once as a one-element frame (the
    /// returned text); items arriving in the following window wait for its end (nil).
    mutating func post(_ item: JSONValue, now: Duration) -> String? {
        if let end = batchWindowEnd, now < end {
            batch.append(item)
            return nil
        }
        batchWindowEnd = now + Timing.batchDelay
        return ServerItem.frame([item])
    }

    /// The client answered request `id`: what it was for (nil for ids this side does not wait for, which are ignored).
    mutating func answered(_ id: String) -> Pending? { pending.removeValue(forKey: id)?.what }

    /// The requests whose deadline passed at `now`, in id order (each is forgotten).
    mutating func expired(now: Duration) -> [(id: String, what: Pending)] {
        let due = pending.filter { now >= $0.value.deadline }.map { (id: $0.key, what: $0.value.what) }.sorted { $0.id < $1.id }
        for item in due { pending[item.id] = nil }
        return due
    }

    /// The batched items, as one frame, when the window ended at `now`.
    mutating func flush(now: Duration) -> String? {
        guard let end = batchWindowEnd, now >= end else { return nil }
        batchWindowEnd = nil
        guard !batch.isEmpty else { return nil }
        defer { batch = [] }
        return ServerItem.frame(batch)
    }

    /// The earliest request deadline or batch-window end.
    var nextDeadline: Duration? {
        var earliest = batch.isEmpty ? nil : batchWindowEnd
        for p in pending.values where earliest.map({ p.deadline < $0 }) ?? true { earliest = p.deadline }
        return earliest
    }
}
