import HeapModule

/// The next deadline of every transport of a router, earliest first: a binary heap (swift-collections' `Heap`)
/// with lazy invalidation — a transport whose deadline changes gets a new entry, and entries that no longer match
/// the transport's current deadline are discarded when they reach the top. Finding the earliest deadline of a
/// thousand transports then costs O(log n) per changed transport instead of a scan of all of them.
struct DeadlineQueue {
    struct Entry: Comparable {
        var deadline: Duration
        var id: TransportID
        static func < (a: Entry, b: Entry) -> Bool { a.deadline < b.deadline || (a.deadline == b.deadline && a.id < b.id) }
    }

    private var heap = Heap<Entry>()
    private var scheduled: [TransportID: Duration] = [:]

    /// Sets transport `id`'s deadline (nil: none).
    mutating func schedule(_ id: TransportID, at deadline: Duration?) {
        guard scheduled[id] != deadline else { return }
        scheduled[id] = deadline
        guard let deadline else { return }
        heap.insert(Entry(deadline: deadline, id: id))
        // Stale entries are only dropped at the top; rebuild when they pile up (a transport whose deadline keeps
        // moving later, like consent freshness).
        if heap.count > 64 + 4 * scheduled.count {
            heap = Heap(scheduled.map { Entry(deadline: $0.value, id: $0.key) })
        }
    }

    /// Forgets transport `id`.
    mutating func remove(_ id: TransportID) { scheduled[id] = nil }

    /// The earliest deadline of any transport.
    mutating func earliest() -> Duration? {
        discardStale()
        return heap.min?.deadline
    }

    /// A transport whose deadline is at or before `now` (it is then unscheduled), or nil when none is due.
    mutating func popDue(now: Duration) -> TransportID? {
        discardStale()
        guard let top = heap.min, top.deadline <= now else { return nil }
        heap.removeMin()
        scheduled[top.id] = nil
        return top.id
    }

    private mutating func discardStale() {
        while let top = heap.min, scheduled[top.id] != top.deadline { heap.removeMin() }
    }
}
