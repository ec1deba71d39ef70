import RTCBase
import RTCP

/// How a key frame is asked for on a producer stream: PLI (RFC 4585 §6.3.1) when the codec
/// negotiated `nack pli`, otherwise FIR (RFC 5104 §4.3.1, `ccm fir`).
public enum KeyFrameRequestMethod: Sendable, Hashable {
    /// Picture loss indication (PSFB FMT 1).
    case pli
    /// Full intra request (PSFB FMT 4), with a command sequence number.
    case fir
}

/// Coalesces key-frame requests for the streams of a producer, mediasoup
/// `KeyFrameRequestManager`-style, in virtual time.
///
/// Many consumers may ask for a key frame of the same producer stream at about the same time (a
/// consumer created or resumed, a layer switch, a browser's own PLI). The producer needs only one
/// request: for each SSRC at most one PLI/FIR is sent per ``minimumInterval``, requests arriving
/// while one is outstanding are absorbed, and a request still unanswered ``retransmissionWait``
/// after it was sent is sent again (it or the key frame may have been lost), at most
/// ``maxRetransmissions`` times in a row (each new request refills that budget).
/// ``keyFrameReceived(ssrc:)`` ends it all for that SSRC.
///
/// FIR entries carry a command sequence number, incremented for every FIR sent on the SSRC, so
/// the sender (libwebrtc ignores a repeated number) treats each as a new request.
public struct KeyFrameRequestManager: Sendable {
    struct StreamState: Sendable {
        var ssrc: SSRC
        var lastSentAt: Duration?
        /// A request waits for ``minimumInterval`` to pass since the previous one.
        var deferred = false
        /// A request was sent and no key frame arrived since.
        var awaiting = false
        var retransmissionsLeft = 0
        var firSequenceNumber: UInt8 = 0
        var method: KeyFrameRequestMethod = .pli
    }

    /// The SSRC put in the sender field of the PLI/FIR packets.
    public let senderSSRC: SSRC
    /// At most one request per SSRC within this interval.
    public let minimumInterval: Duration
    /// A request with no key frame after this long is sent again.
    public let retransmissionWait: Duration
    /// Unanswered requests are repeated at most this many times in a row.
    public let maxRetransmissions: Int

    private var streams: [StreamState] = []

    /// A manager sending from `senderSSRC`.
    public init(senderSSRC: SSRC, minimumInterval: Duration = .milliseconds(300),
                retransmissionWait: Duration = .seconds(1), maxRetransmissions: Int = 2) {
        self.senderSSRC = senderSSRC
        self.minimumInterval = minimumInterval
        self.retransmissionWait = retransmissionWait
        self.maxRetransmissions = maxRetransmissions
    }

    /// Asks for a key frame on the producer stream `ssrc`. Returns the PLI/FIR to send now, or nil
    /// when the request was absorbed (one is outstanding or was sent less than
    /// ``minimumInterval`` ago; the latter is then sent by ``handleTimeout(now:)``).
    public mutating func request(ssrc: SSRC, method: KeyFrameRequestMethod = .pli, now: Duration) -> RTCPPacket? {
        let i = stateIndex(ssrc)
        streams[i].method = method
        streams[i].retransmissionsLeft = maxRetransmissions
        if streams[i].awaiting || streams[i].deferred { return nil }
        if let last = streams[i].lastSentAt, now - last < minimumInterval {
            streams[i].deferred = true
            return nil
        }
        return send(i, now: now)
    }

    /// A key frame of `ssrc` arrived: nothing more is sent for it until the next request.
    public mutating func keyFrameReceived(ssrc: SSRC) {
        guard let i = streams.firstIndex(where: { $0.ssrc == ssrc }) else { return }
        streams[i].awaiting = false
        streams[i].deferred = false
    }

    /// Forgets the stream `ssrc` (producer closed).
    public mutating func removeStream(ssrc: SSRC) {
        streams.removeAll { $0.ssrc == ssrc }
    }

    /// Whether a key frame of `ssrc` has been requested and has not arrived yet.
    public func isAwaitingKeyFrame(ssrc: SSRC) -> Bool {
        streams.first { $0.ssrc == ssrc }.map { $0.awaiting || $0.deferred } ?? false
    }

    /// When ``handleTimeout(now:)`` should run next, or nil.
    public var nextDeadline: Duration? {
        var next: Duration?
        for s in streams {
            guard let last = s.lastSentAt else { continue }
            let due: Duration? = s.deferred ? last + minimumInterval : s.awaiting ? last + retransmissionWait : nil
            if let due { next = next.map { min($0, due) } ?? due }
        }
        return next
    }

    /// The requests due at `now`: deferred ones whose interval has passed, and repetitions of
    /// unanswered ones.
    public mutating func handleTimeout(now: Duration) -> [RTCPPacket] {
        var out: [RTCPPacket] = []
        for i in streams.indices {
            guard let last = streams[i].lastSentAt else { continue }
            if streams[i].deferred {
                if now - last >= minimumInterval { out.append(send(i, now: now)) }
            } else if streams[i].awaiting && now - last >= retransmissionWait {
                if streams[i].retransmissionsLeft > 0 {
                    streams[i].retransmissionsLeft -= 1
                    out.append(send(i, now: now))
                } else {
                    streams[i].awaiting = false   // give up until someone asks again
                }
            }
        }
        return out
    }

    private mutating func send(_ i: Int, now: Duration) -> RTCPPacket {
        streams[i].lastSentAt = now
        streams[i].deferred = false
        streams[i].awaiting = true
        let ssrc = streams[i].ssrc
        switch streams[i].method {
        case .pli:
            return .pictureLossIndication(RTCPPictureLossIndication(senderSSRC: senderSSRC, mediaSSRC: ssrc))
        case .fir:
            streams[i].firSequenceNumber &+= 1
            return .fullIntraRequest(RTCPFullIntraRequest(
                senderSSRC: senderSSRC, entries: [.init(ssrc: ssrc, sequenceNumber: streams[i].firSequenceNumber)]))
        }
    }

    private mutating func stateIndex(_ ssrc: SSRC) -> Int {
        if let i = streams.firstIndex(where: { $0.ssrc == ssrc }) { return i }
        streams.append(StreamState(ssrc: ssrc))
        return streams.count - 1
    }
}
