import NIOCore
import RTCBase

/// Transport-wide congestion control feedback, RTPFB FMT 15
/// (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1).
///
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |V=2|P|  FMT=15 |    PT=205     |           length              |
/// |                     SSRC of packet sender                     |
/// |                      SSRC of media source                     |
/// |      base sequence number     |      packet status count      |
/// |                 reference time                | fb pkt. count |
/// |          packet chunk         |         packet chunk          |
/// .                                                               .
/// |         packet chunk          |  recv delta   |  recv delta   |
/// .                                                               .
/// |           recv delta          |  recv delta   | zero padding  |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///
/// run-length chunk:  |0| S |       run length (13)       |
/// status vector:     |1|0|  14 one-bit symbols (0 lost, 1 small delta)  |
///                    |1|1|  7 two-bit symbols (0 lost, 1 small, 2 large) |
/// ```
/// Reference time is a signed 24-bit count of 64 ms; receive deltas count 250 µs: one unsigned byte
/// for "small" (0–63.75 ms), two signed bytes for "large or negative".
public struct RTCPTransportFeedback: Hashable, Sendable {
    /// A packet status symbol.
    public enum Status: UInt8, Hashable, Sendable {
        case notReceived = 0
        case smallDelta = 1
        case largeDelta = 2
    }

    /// A packet status chunk as carried (symbols are raw 1- or 2-bit values).
    public enum Chunk: Hashable, Sendable {
        case runLength(symbol: UInt8, length: UInt16)
        case oneBitVector([UInt8])
        case twoBitVector([UInt8])

        var word: UInt16 {
            switch self {
            case .runLength(let s, let l): return UInt16(s & 3) << 13 | (l & 0x1FFF)
            case .oneBitVector(let v): return 0x8000 | v.enumerated().reduce(0) { $0 | UInt16($1.element & 1) << (13 - $1.offset) }
            case .twoBitVector(let v): return 0xC000 | v.enumerated().reduce(0) { $0 | UInt16($1.element & 3) << (12 - 2 * $1.offset) }
            }
        }

        init(word w: UInt16) {
            if w & 0x8000 == 0 {
                self = .runLength(symbol: UInt8((w >> 13) & 3), length: w & 0x1FFF)
            } else if w & 0x4000 == 0 {
                self = .oneBitVector((0..<14).map { UInt8((w >> (13 - $0)) & 1) })
            } else {
                self = .twoBitVector((0..<7).map { UInt8((w >> (12 - 2 * $0)) & 3) })
            }
        }

        var symbols: [UInt8] {
            switch self {
            case .runLength(let s, let l): return Array(repeating: s, count: Int(l))
            case .oneBitVector(let v), .twoBitVector(let v): return v
            }
        }
    }

    /// One packet's fate in the decoded view.
    public struct PacketResult: Hashable, Sendable {
        public var sequenceNumber: UInt16
        /// Receive delta in 250 µs ticks from the previous received packet (or the reference time);
        /// `nil` when not received.
        public var deltaTicks: Int16?
        public var received: Bool { deltaTicks != nil }
    }

    public var senderSSRC: SSRC
    public var mediaSSRC: SSRC
    public var baseSequenceNumber: UInt16
    public var statusCount: UInt16
    /// Signed 24-bit, in units of 64 ms.
    public var referenceTime: Int32
    public var feedbackPacketCount: UInt8
    public var chunks: [Chunk]
    /// Receive deltas in 250 µs ticks, one per received packet.
    public var deltas: [Int16]
    /// Zero bytes after the deltas (alignment to 32 bits).
    public var trailingZeroBytes: Int
    public var paddingLength: Int

    /// The reference time in microseconds.
    public var referenceTimeMicroseconds: Int64 { Int64(referenceTime) * 64_000 }

    /// The status of every packet covered, in order.
    public var statuses: [Status] {
        Array(chunks.flatMap(\.symbols).prefix(Int(statusCount))).map { Status(rawValue: $0) ?? .notReceived }
    }

    /// Per-packet results: sequence number and receive delta.
    public var packets: [PacketResult] {
        var out: [PacketResult] = []
        out.reserveCapacity(Int(statusCount))
        var d = 0
        for (i, s) in statuses.enumerated() {
            let seq = baseSequenceNumber &+ UInt16(truncatingIfNeeded: i)
            if s == .notReceived {
                out.append(PacketResult(sequenceNumber: seq, deltaTicks: nil))
            } else {
                out.append(PacketResult(sequenceNumber: seq, deltaTicks: d < deltas.count ? deltas[d] : nil))
                d += 1
            }
        }
        return out
    }

    /// Arrival times in microseconds (on the feedback sender's clock) of the received packets.
    public var arrivalTimesMicroseconds: [(sequenceNumber: UInt16, time: Int64)] {
        var t = referenceTimeMicroseconds
        return packets.compactMap { p in
            guard let d = p.deltaTicks else { return nil }
            t += Int64(d) * 250
            return (p.sequenceNumber, t)
        }
    }

    /// Calls `body` for every packet covered, in order, with its offset from ``baseSequenceNumber`` and its arrival
    /// time in microseconds (reference time plus the deltas so far; nil when not received). Allocates nothing.
    public func forEachPacket(_ body: (_ offset: Int, _ arrivalMicroseconds: Int64?) -> Void) {
        let count = Int(statusCount)
        var index = 0, delta = 0
        var time = referenceTimeMicroseconds
        func visit(_ symbol: UInt8) {
            guard index < count else { return }
            if symbol == 1 || symbol == 2, delta < deltas.count {
                time += Int64(deltas[delta]) * 250
                delta += 1
                body(index, time)
            } else {
                body(index, nil)
            }
            index += 1
        }
        for chunk in chunks {
            guard index < count else { break }
            switch chunk {
            case .runLength(let symbol, let length):
                for _ in 0..<Int(length) where index < count { visit(symbol) }
            case .oneBitVector(let v), .twoBitVector(let v):
                for symbol in v { visit(symbol) }
            }
        }
    }

    /// Builds feedback for consecutive packets starting at `baseSequenceNumber`: each element is the
    /// receive delta in 250 µs ticks, or `nil` for a packet not received. Chunks are chosen greedily:
    /// run-length for runs of 7 or more equal statuses, a one-bit vector when the next 14 statuses need
    /// no large delta, a two-bit vector otherwise.
    public init(senderSSRC: SSRC, mediaSSRC: SSRC, baseSequenceNumber: UInt16, referenceTime: Int32,
                feedbackPacketCount: UInt8, deltas: [Int16?]) {
        precondition(deltas.count <= 0xFFFF, "at most 65535 packets per feedback")
        let statuses: [UInt8] = deltas.map { d in
            guard let d else { return 0 }
            return (0...255).contains(d) ? 1 : 2
        }
        var chunks: [Chunk] = []
        var i = 0
        while i < statuses.count {
            var run = 1
            while i + run < statuses.count && statuses[i + run] == statuses[i] && run < 0x1FFF { run += 1 }
            if run >= 7 {
                chunks.append(.runLength(symbol: statuses[i], length: UInt16(run)))
                i += run
                continue
            }
            let window = statuses[i..<min(i + 14, statuses.count)]
            if !window.contains(2) {
                chunks.append(.oneBitVector(Array(window) + Array(repeating: 0, count: 14 - window.count)))
                i += window.count
            } else {
                let w7 = statuses[i..<min(i + 7, statuses.count)]
                chunks.append(.twoBitVector(Array(w7) + Array(repeating: 0, count: 7 - w7.count)))
                i += w7.count
            }
        }
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
        self.baseSequenceNumber = baseSequenceNumber
        self.statusCount = UInt16(deltas.count)
        self.referenceTime = referenceTime
        self.feedbackPacketCount = feedbackPacketCount
        self.chunks = chunks
        self.deltas = deltas.compactMap { $0 }
        let deltaBytes = statuses.reduce(0) { $0 + ($1 == 1 ? 1 : $1 == 2 ? 2 : 0) }
        let used = 16 + 2 * chunks.count + deltaBytes
        self.trailingZeroBytes = pad4(used) - used
        self.paddingLength = 0
    }

    init(header: RTCPHeader, body b: ByteBuffer, offset: Int) throws(RTCPParseError) {
        let o = b.readerIndex
        let n = b.readableBytes
        guard n >= 16 else { throw .bodyTooShort(offset: offset, packetType: header.packetType) }
        senderSSRC = SSRC(rawValue: b.getInteger(at: o, as: UInt32.self)!)
        mediaSSRC = SSRC(rawValue: b.getInteger(at: o + 4, as: UInt32.self)!)
        baseSequenceNumber = b.getInteger(at: o + 8, as: UInt16.self)!
        statusCount = b.getInteger(at: o + 10, as: UInt16.self)!
        let w = b.getInteger(at: o + 12, as: UInt32.self)!
        referenceTime = Int32(bitPattern: w) >> 8
        feedbackPacketCount = UInt8(w & 0xFF)
        var chunks: [Chunk] = []
        var symbols: [UInt8] = []
        var i = 16
        while symbols.count < Int(statusCount) {
            guard i + 2 <= n else { throw .malformed(offset: offset, packetType: header.packetType, reason: "transport-cc chunks truncated") }
            let c = Chunk(word: b.getInteger(at: o + i, as: UInt16.self)!)
            chunks.append(c)
            symbols += c.symbols
            i += 2
        }
        var deltas: [Int16] = []
        for s in symbols.prefix(Int(statusCount)) {
            switch s {
            case 0: continue
            case 1:
                guard i + 1 <= n else { throw .malformed(offset: offset, packetType: header.packetType, reason: "transport-cc deltas truncated") }
                deltas.append(Int16(b.getInteger(at: o + i, as: UInt8.self)!))
                i += 1
            case 2:
                guard i + 2 <= n else { throw .malformed(offset: offset, packetType: header.packetType, reason: "transport-cc deltas truncated") }
                deltas.append(b.getInteger(at: o + i, as: Int16.self)!)
                i += 2
            default:
                throw .malformed(offset: offset, packetType: header.packetType, reason: "reserved transport-cc status symbol 3")
            }
        }
        for j in i..<n where b.getInteger(at: o + j, as: UInt8.self)! != 0 {
            throw .malformed(offset: offset, packetType: header.packetType, reason: "non-zero bytes after transport-cc deltas")
        }
        self.chunks = chunks
        self.deltas = deltas
        trailingZeroBytes = n - i
        paddingLength = 0
    }

    var bodySize: Int {
        let symbols = chunks.flatMap(\.symbols).prefix(Int(statusCount))
        return 16 + 2 * chunks.count + symbols.reduce(0) { $0 + ($1 == 1 ? 1 : $1 == 2 ? 2 : 0) } + trailingZeroBytes
    }

    func write(into b: inout ByteBuffer) {
        let symbols = Array(chunks.flatMap(\.symbols).prefix(Int(statusCount)))
        writePacket(into: &b, count: 15, packetType: RTCPPacketType.transportFeedback, bodySize: bodySize, paddingLength: paddingLength) { b in
            b.writeInteger(senderSSRC.rawValue)
            b.writeInteger(mediaSSRC.rawValue)
            b.writeInteger(baseSequenceNumber)
            b.writeInteger(statusCount)
            b.writeInteger(UInt32(bitPattern: referenceTime << 8) | UInt32(feedbackPacketCount))
            for c in chunks { b.writeInteger(c.word) }
            var d = 0
            for s in symbols where s == 1 || s == 2 {
                let v = d < deltas.count ? deltas[d] : 0
                if s == 1 { b.writeInteger(UInt8(truncatingIfNeeded: v)) } else { b.writeInteger(v) }
                d += 1
            }
            b.writeRepeatingByte(0, count: trailingZeroBytes)
        }
    }
}
