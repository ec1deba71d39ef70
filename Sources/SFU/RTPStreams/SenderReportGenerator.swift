import RTCBase
import RTCP
import RTP

/// RTCP for one outgoing (consumer) RTP stream: sender reports (RFC 3550 §6.4.1), the SDES CNAME
/// chunk (§6.5.1), BYE (§6.6), and round-trip times from the receiver's report blocks.
///
/// The SR's NTP timestamp comes from the caller's ``NTPClock``; its RTP timestamp is the one the
/// stream would carry at that instant: the newest frame's timestamp advanced by the time elapsed
/// since that frame's *first* packet reached the server, at the stream's clock rate (mediasoup's
/// `RtpStreamSend` anchors at the first packet of the newest timestamp too). Receivers use the pair
/// to map RTP time to wall-clock time — lip sync between a sender's audio and video — so the anchor
/// must not move with what happens after the media arrived: a key frame paced out over 700 ms, or
/// anchored at its last packet, made Chromium hold video (and, for sync, audio) ~700 ms longer.
public struct SenderReportGenerator: Sendable, Hashable {
    /// The stream's SSRC.
    public let ssrc: SSRC
    /// The RTP clock rate of the stream's payload format, in Hz.
    public let clockRate: UInt32
    /// The canonical name sent in SDES (the same for all streams of one endpoint).
    public let cname: String
    /// Wall-clock time for NTP timestamps.
    public var clock: NTPClock

    /// Packets sent (the SR's sender packet count, wrapping).
    public private(set) var packetCount: UInt32 = 0
    /// Payload octets sent, headers and padding excluded (the SR's sender octet count, wrapping).
    public private(set) var octetCount: UInt32 = 0
    private var lastTimestamp: RTPTimestamp?
    private var anchoredAt: Duration?

    /// A generator for the stream `ssrc` (a clock rate of 0 is treated as 1 Hz rather than trapping).
    public init(ssrc: SSRC, clockRate: UInt32, cname: String, clock: NTPClock) {
        self.ssrc = ssrc
        self.clockRate = max(1, clockRate)
        self.cname = cname
        self.clock = clock
    }

    /// Records a packet of the stream (as forwarded: after SSRC/timestamp rewriting) whose media reached the
    /// server at `arrival` — not when a pacer let it out.
    public mutating func sent(timestamp: RTPTimestamp, payloadBytes: Int, arrival: Duration) {
        packetCount &+= 1
        octetCount &+= UInt32(truncatingIfNeeded: max(0, payloadBytes))
        // The first packet of a newer timestamp anchors the SR; the rest of its frame and older (reordered)
        // packets do not move it.
        if let last = lastTimestamp, timestamp <= last { return }
        lastTimestamp = timestamp
        anchoredAt = arrival
    }

    /// Records `packet`, whose media reached the server at `arrival`.
    public mutating func sent(_ packet: RTPPacket, arrival: Duration) {
        sent(timestamp: packet.timestamp, payloadBytes: packet.payloadLength, arrival: arrival)
    }

    /// The RTP timestamp the stream is at, at `now`; nil before the first packet.
    public func rtpTimestamp(at now: Duration) -> RTPTimestamp? {
        guard let lastTimestamp, let anchoredAt else { return nil }
        return lastTimestamp.advanced(by: (now - anchoredAt).ticks(clockRate: clockRate))
    }

    /// The sender report at `now`, with `receptionReports` (report blocks for streams this endpoint
    /// receives, at most 31); nil before the first packet (send an RR then).
    public func senderReport(now: Duration, receptionReports: [RTCPReportBlock] = []) -> RTCPSenderReport? {
        guard let ts = rtpTimestamp(at: now) else { return nil }
        return RTCPSenderReport(ssrc: ssrc, ntpTime: clock.ntp(at: now), rtpTimestamp: ts.rawValue,
                                packetCount: packetCount, octetCount: octetCount,
                                reports: Array(receptionReports.prefix(31)))
    }

    /// The SDES chunk naming this stream's CNAME.
    public var sourceDescriptionChunk: RTCPSourceDescription.Chunk {
        .init(ssrc: ssrc, items: [.cname(cname)])
    }

    /// The compound RTCP for this stream at `now`: SR then SDES (RFC 3550 §6.1); empty before the
    /// first packet.
    public func compound(now: Duration, receptionReports: [RTCPReportBlock] = []) -> [RTCPPacket] {
        guard let sr = senderReport(now: now, receptionReports: receptionReports) else { return [] }
        return [.senderReport(sr), .sourceDescription(RTCPSourceDescription(chunks: [sourceDescriptionChunk]))]
    }

    /// A BYE for this stream (sent when the consumer closes).
    public func goodbye(reason: String? = nil) -> RTCPPacket {
        .goodbye(RTCPGoodbye(ssrcs: [ssrc], reason: reason))
    }

    /// The round-trip time a receiver's report block about this stream gives, received at `now`;
    /// nil when the block is about another stream or echoes no SR.
    public func roundTripTime(from block: RTCPReportBlock, now: Duration) -> Duration? {
        guard block.ssrc == ssrc else { return nil }
        return block.roundTripTime(arrival: clock.ntp(at: now))
    }
}

/// Enforces a cap on what a remote sender sends us with REMB (receiver estimated maximum bitrate,
/// draft-alvestrand-rmcat-remb), as mediasoup's `setMaxIncomingBitrate` does on a transport whose
/// sender runs transport-cc: while a cap is set, a REMB announcing it goes out at once and then
/// every ``interval`` (mediasoup: 1.5 s); when the cap is lifted, a few REMBs announcing 0
/// ("unlimited", mediasoup sends 4) release the sender.
public struct IncomingBitrateCap: Sendable, Hashable {
    /// The SSRC put in the sender field (mediasoup uses 0).
    public let senderSSRC: SSRC
    /// Time between REMBs while capped.
    public let interval: Duration
    /// REMBs with bitrate 0 sent after the cap is lifted.
    public let releaseCount: Int
    /// The cap in bits per second, nil when none.
    public private(set) var maxBitrate: UInt64?
    private var releasesLeft = 0
    /// When the next REMB is due, nil when none is.
    public private(set) var nextDeadline: Duration?

    /// A cap (none yet) announcing from `senderSSRC`.
    public init(senderSSRC: SSRC = 0, interval: Duration = .milliseconds(1_500), releaseCount: Int = 4) {
        self.senderSSRC = senderSSRC
        self.interval = interval
        self.releaseCount = releaseCount
    }

    /// Sets (`bitsPerSecond` > 0) or lifts (nil or 0) the cap at `now`; a change is due at once.
    public mutating func setMaxBitrate(_ bitsPerSecond: UInt64?, now: Duration) {
        let new = bitsPerSecond.flatMap { $0 > 0 ? $0 : nil }
        guard new != maxBitrate else { return }
        releasesLeft = new == nil ? releaseCount : 0
        maxBitrate = new
        nextDeadline = now
    }

    /// The REMB due at `now`, if any.
    public mutating func handleTimeout(now: Duration) -> RTCPPacket? {
        guard let due = nextDeadline, due <= now else { return nil }
        let bitrate: UInt64
        if let cap = maxBitrate {
            bitrate = cap
        } else {
            releasesLeft -= 1
            bitrate = 0
        }
        nextDeadline = maxBitrate != nil || releasesLeft > 0 ? now + interval : nil
        return Self.remb(senderSSRC: senderSSRC, bitrate: bitrate, ssrcs: [])
    }

    /// A REMB announcing `bitrate` bits per second for `ssrcs` (rounded down to what REMB's 18-bit
    /// mantissa and 6-bit exponent can say).
    public static func remb(senderSSRC: SSRC = 0, bitrate: UInt64, ssrcs: [SSRC]) -> RTCPPacket {
        .remb(RTCPREMB(senderSSRC: senderSSRC, bitrate: bitrate, ssrcs: ssrcs))
    }
}
