import RTCBase
import RTCP

/// When a transport's RTCP goes out, and how it is packed into compounds.
///
/// ``due(now:feedback:reports:)`` is the whole decision: given the time and the feedback the transport's
/// components produced (NACKs, transport-wide feedback, PLI/FIR, REMB), it returns the compounds to send — the
/// regular reports first when their time came (about once a second: RFC 3550's interval for a few streams,
/// mediasoup sends about as often for video), then the feedback. The packing itself is two pure functions,
/// ``reportCompounds(_:)`` and ``feedbackCompounds(_:)``, each table-tested.
struct RTCPScheduler {
    /// Interval between regular reports.
    static let reportInterval: Duration = .seconds(1)
    /// At most this many SRs/RRs per compound, and SDES chunks in its SDES, keeping datagrams well under the MTU.
    static let reportsPerCompound = 8
    /// At most this many feedback packets per compound.
    static let feedbackPerCompound = 4
    /// An RR carries at most 31 report blocks (RFC 3550 §6.4.2: a 5-bit count).
    static let maxReportBlocks = 31

    /// What the regular reports of one transport say.
    struct ReportSet: Equatable {
        /// The SSRC the transport's receiver reports are sent from.
        var rtcpSSRC: SSRC
        /// One block per stream the transport receives.
        var blocks: [RTCPReportBlock] = []
        /// One SR per stream the transport sends.
        var senderReports: [RTCPSenderReport] = []
        /// One CNAME chunk per stream the transport sends.
        var chunks: [RTCPSourceDescription.Chunk] = []
    }

    let interval: Duration
    /// When the next regular reports are due (nil while the transport has neither producers nor consumers).
    private(set) var nextReport: Duration?

    init(interval: Duration) { self.interval = interval }

    /// Regular reports start (if they had not): the first is due at once.
    mutating func start(now: Duration) {
        if nextReport == nil { nextReport = now }
    }

    /// Regular reports stop (nothing left to report on).
    mutating func stop() { nextReport = nil }

    /// When ``due(now:feedback:reports:)`` has reports to send.
    var nextDeadline: Duration? { nextReport }

    /// The compounds to send at `now`: the regular reports (made by `reports`) when they are due, then `feedback`.
    mutating func due(now: Duration, feedback: [RTCPPacket], reports: () -> ReportSet) -> [[RTCPPacket]] {
        var out: [[RTCPPacket]] = []
        if let next = nextReport, now >= next {
            nextReport = now + interval
            out = Self.reportCompounds(reports())
        }
        return out + Self.feedbackCompounds(feedback)
    }

    /// The regular reports packed into compounds: an RR (with at most 31 blocks) first when there are blocks, or when
    /// there is no SR to carry the SDES; then the SRs; at most ``reportsPerCompound`` reports per compound, each
    /// followed by an SDES with the next ``reportsPerCompound`` chunks. Chunks beyond what the compounds carry
    /// wait for the next interval's compounds (they are the same every time).
    static func reportCompounds(_ set: ReportSet) -> [[RTCPPacket]] {
        var reports = set.senderReports.map(RTCPPacket.senderReport)
        if !set.blocks.isEmpty || reports.isEmpty && !set.chunks.isEmpty {
            reports.insert(.receiverReport(RTCPReceiverReport(ssrc: set.rtcpSSRC, reports: Array(set.blocks.prefix(maxReportBlocks)))), at: 0)
        }
        var chunks = set.chunks[...]
        var out: [[RTCPPacket]] = []
        var index = 0
        while index < reports.count {
            var compound = Array(reports[index..<min(index + reportsPerCompound, reports.count)])
            if !chunks.isEmpty {
                compound.append(.sourceDescription(RTCPSourceDescription(chunks: Array(chunks.prefix(reportsPerCompound)))))
                chunks = chunks.dropFirst(reportsPerCompound)
            }
            out.append(compound)
            index += reportsPerCompound
        }
        return out
    }

    /// Feedback packets in compounds of at most ``feedbackPerCompound``, in order.
    static func feedbackCompounds(_ packets: [RTCPPacket]) -> [[RTCPPacket]] {
        stride(from: 0, to: packets.count, by: feedbackPerCompound).map {
            Array(packets[$0..<min($0 + feedbackPerCompound, packets.count)])
        }
    }
}
