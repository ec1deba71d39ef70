/// Groups packets by send time and yields the deltas between consecutive groups — the input of the delay-based
/// detector (draft-ietf-rmcat-gcc-02 §5.2 "arrival-time filter", libwebrtc's `InterArrivalDelta`).
///
/// A group is the packets sent within ``groupLength`` (5 ms) of its first packet: a video frame is sent as a
/// burst, and the delay of a frame, not of each packet, says whether a queue builds. A packet that arrives within
/// ``burstThreshold`` of the group's last arrival *and* earlier than its send spacing predicts (a burst released by
/// a queue in the path) joins the group too, as long as the group spans less than ``maxBurstDuration``. When a group
/// completes (a packet of the next one arrives), the deltas to the previous group are returned:
///
/// * send delta = last send time of the group − last send time of the previous group;
/// * arrival delta = last arrival of the group − last arrival of the previous group;
/// * size delta, in bytes.
///
/// Packets must come in arrival order (``TransportFeedbackReport/receivedByArrival``). A packet sent before the
/// current group started is ignored (reordered). Three consecutive groups with a negative arrival delta, or an
/// arrival delta 3 s larger than the send delta (the receiver's clock jumped), reset the state.
public struct InterArrival: Sendable, Hashable {
    /// Deltas between two consecutive groups.
    public struct Deltas: Hashable, Sendable {
        public var send: Duration
        public var arrival: Duration
        public var size: Int
        /// The last arrival of the completed group.
        public var arrivalTime: Duration
        /// The last send time of the completed group.
        public var sendTime: Duration
    }

    struct Group: Hashable {
        var firstSend: Duration
        var lastSend: Duration
        var firstArrival: Duration
        var lastArrival: Duration
        var size: Int
    }

    /// Packets sent within this span of a group's first packet belong to it (libwebrtc `kSendTimeGroupLength`).
    public static let groupLength = Duration.milliseconds(5)
    /// Largest arrival spacing of a packet that still joins a burst (libwebrtc `kBurstDeltaThreshold`).
    public static let burstThreshold = Duration.milliseconds(5)
    /// Longest burst (libwebrtc `kMaxBurstDuration`).
    public static let maxBurstDuration = Duration.milliseconds(100)
    /// Consecutive out-of-order groups that reset the state (libwebrtc `kReorderedResetThreshold`).
    public static let reorderedResetThreshold = 3
    /// Arrival delta beyond the send delta that resets the state (libwebrtc `kArrivalTimeOffsetThreshold`).
    public static let arrivalOffsetThreshold = Duration.seconds(3)

    var current: Group?
    var previous: Group?
    var consecutiveReordered = 0

    public init() {}

    /// Adds a received packet; returns the deltas when it completes a group that has a predecessor.
    public mutating func add(sendTime: Duration, arrival: Duration, size: Int) -> Deltas? {
        guard var group = current else {
            current = Group(firstSend: sendTime, lastSend: sendTime, firstArrival: arrival, lastArrival: arrival, size: size)
            return nil
        }
        if sendTime < group.firstSend { return nil }   // reordered: sent before the current group began
        if belongs(to: group, sendTime: sendTime, arrival: arrival) {
            group.lastSend = max(group.lastSend, sendTime)
            group.lastArrival = arrival
            group.size += size
            current = group
            return nil
        }
        var deltas: Deltas?
        if let previous {
            let send = group.lastSend - previous.lastSend
            let arrivalDelta = group.lastArrival - previous.lastArrival
            if arrivalDelta - send >= Self.arrivalOffsetThreshold {
                reset()
                return nil
            }
            if arrivalDelta < .zero {
                consecutiveReordered += 1
                if consecutiveReordered >= Self.reorderedResetThreshold { reset() }
                return nil
            }
            consecutiveReordered = 0
            deltas = Deltas(send: send, arrival: arrivalDelta, size: group.size - previous.size,
                            arrivalTime: group.lastArrival, sendTime: group.lastSend)
        }
        previous = group
        current = Group(firstSend: sendTime, lastSend: sendTime, firstArrival: arrival, lastArrival: arrival, size: size)
        return deltas
    }

    func belongs(to group: Group, sendTime: Duration, arrival: Duration) -> Bool {
        let sendDelta = sendTime - group.lastSend
        if sendDelta == .zero { return true }
        let arrivalDelta = arrival - group.lastArrival
        if arrivalDelta - sendDelta < .zero && arrivalDelta <= Self.burstThreshold
            && arrival - group.firstArrival < Self.maxBurstDuration {
            return true
        }
        return sendTime - group.firstSend <= Self.groupLength
    }

    /// Forgets every group.
    public mutating func reset() {
        current = nil
        previous = nil
        consecutiveReordered = 0
    }
}
