import NIOCore
import RTCBase
import RTP
import SRTP

/// Rebuilds the header extension block of packets forwarded from one producer to one consumer
/// (docs/protocol.md §7.5 rule 5).
///
/// The producer's browser chose its own extension ids (INIT_PRODUCER `headerExtensions`); the consumer
/// knows only the router's ids (INIT_CONSUMER `rtpParameters.headerExtensions`). Forwarding the block
/// unchanged makes the receiver misread elements (Chrome's audio-level id 1 read as MID, the packet
/// routed to no m-section and dropped), so every outgoing packet gets a fresh block, written by the RTP
/// module's ``RTPHeaderExtensionWriter`` — in the RFC 8285 one-byte form whenever every id the consumer
/// negotiated for these kinds is 1–14 (the router's ids are; the receive offer has no `extmap-allow-mixed`),
/// else in the two-byte form, so that an extension negotiated with a larger id is still written:
///
/// * sdes:mid = the consumer's `mid`;
/// * abs-send-time and transport-wide sequence number, when the consumer negotiated them, with the
///   values the caller passes (0 when not given);
/// * audio level, video orientation, toffset, playout delay and abs-capture-time copied from the input
///   when both sides negotiated them (and the value fits the form: 1–16 bytes for one-byte);
/// * never RID / repaired RID, nor anything unknown or from a non-RFC 8285 profile.
///
/// The input may use either form. Per packet the work is one pass to size the block, one to write it,
/// and one buffer — the outgoing packet's own — with header, block and payload copied into it.
public struct HeaderExtensionRewriter: Sendable, Hashable {
    /// The producer's negotiated ids (incoming packets).
    public let producerMap: RTPHeaderExtensionMap
    /// The consumer's negotiated ids (outgoing packets).
    public let consumerMap: RTPHeaderExtensionMap
    /// The consumer's media id, written as sdes:mid.
    public let mid: MID
    /// The form of every block written for this consumer.
    public let form: RTPHeaderExtensionWriter.Form

    /// MID bytes, empty when the consumer has no MID id or the value cannot be written (0 or > 16 bytes).
    @usableFromInline let midBytes: [UInt8]
    @usableFromInline let midID: UInt8
    @usableFromInline let absSendTimeID: UInt8
    @usableFromInline let transportCCID: UInt8
    /// Incoming id → 1 + index in ``copiedKinds`` of a kind both sides negotiated; 0 = not copied. 256 entries.
    @usableFromInline let copyTable: [UInt8]
    /// Outgoing id of each of ``copiedKinds`` (0 = the consumer did not negotiate it).
    @usableFromInline let copiedIDs: [UInt8]
    /// Longest element value the form can carry.
    @usableFromInline let maxCopiedLength: Int

    /// The kinds whose values are copied when both sides negotiated them.
    public static let copiedKinds: [RTPHeaderExtensionKind] = [.audioLevel, .videoOrientation, .timeOffset, .playoutDelay, .absCaptureTime]

    /// A rewriter from the producer's and the consumer's extension maps.
    public init(producer: RTPHeaderExtensionMap, consumer: RTPHeaderExtensionMap, mid: MID) {
        producerMap = producer
        consumerMap = consumer
        self.mid = mid
        let written: [RTPHeaderExtensionKind] = [.mid, .absSendTime, .transportWideCC] + Self.copiedKinds
        let largest = written.compactMap { consumer[$0]?.rawValue }.max() ?? 0
        let utf8 = Array(mid.rawValue.utf8)
        form = largest <= 14 ? .oneByte : .twoByte(appBits: 0)
        maxCopiedLength = form == .oneByte ? 16 : 255
        func id(_ kind: RTPHeaderExtensionKind) -> UInt8 { consumer[kind]?.rawValue ?? 0 }
        midID = id(.mid)
        absSendTimeID = id(.absSendTime)
        transportCCID = id(.transportWideCC)
        midBytes = (1...maxCopiedLength).contains(utf8.count) && midID != 0 ? utf8 : []
        var table = [UInt8](repeating: 0, count: 256)
        for (index, kind) in Self.copiedKinds.enumerated() {
            if let inID = producer[kind], inID.rawValue != 0, id(kind) != 0 { table[Int(inID.rawValue)] = UInt8(index + 1) }
        }
        copyTable = table
        copiedIDs = Self.copiedKinds.map(id)
    }

    /// A rewriter from negotiated (URI, id) pairs: the producer's (INIT_PRODUCER) and the consumer's
    /// (router ids from the consumer's `rtpParameters`). Unknown URIs are ignored.
    public init<P: Sequence, C: Sequence>(producerExtensions: P, consumerExtensions: C, mid: MID)
    where P.Element == (uri: String, id: UInt8), C.Element == (uri: String, id: UInt8) {
        self.init(producer: RTPHeaderExtensionMap(producerExtensions), consumer: RTPHeaderExtensionMap(consumerExtensions), mid: mid)
    }

    /// Whether outgoing packets carry a transport-wide sequence number (the consumer negotiated it): then every
    /// packet sent to the consumer, retransmissions included, takes the next number of its transport.
    public var writesTransportSequenceNumber: Bool { transportCCID != 0 }

    /// The consumer's transport-wide sequence number id (nil: not negotiated): where a packet is stamped as it leaves.
    public var transportWideCCExtensionID: HeaderExtensionID? { transportCCID == 0 ? nil : HeaderExtensionID(transportCCID) }

    /// The consumer's abs-send-time id (nil: not negotiated).
    public var absSendTimeExtensionID: HeaderExtensionID? { absSendTimeID == 0 ? nil : HeaderExtensionID(absSendTimeID) }

    /// Calls `body(id, offset, length)` for each RFC 8285 element in `raw[start..<end]` (offsets in
    /// `raw`), one-byte or two-byte form; stops at a one-byte id 15 or an element overrunning `end`.
    @inline(__always)
    static func forEachElement(_ raw: UnsafeRawBufferPointer, start: Int, end: Int, twoByte: Bool, _ body: (UInt8, Int, Int) -> Void) {
        var i = start
        if !twoByte {
            while i < end {
                let h = raw[i]
                let id = h >> 4
                if id == 0 { i += 1; continue }
                if id == 15 { return }
                let len = Int(h & 0x0F) + 1
                guard i + 1 + len <= end else { return }
                body(id, i + 1, len)
                i += 1 + len
            }
        } else {
            while i + 1 < end {
                let id = raw[i]
                if id == 0 { i += 1; continue }
                let len = Int(raw[i + 1])
                guard i + 2 + len <= end else { return }
                body(id, i + 2, len)
                i += 2 + len
            }
        }
    }

    /// `packet` with its extension block rebuilt for the consumer (see the type's description), CSRCs,
    /// payload and padding unchanged, and — when `header` is given — payload type (the marker bit is
    /// kept), sequence number, timestamp and SSRC replaced in the same pass. `absSendTime` (24-bit 6.18
    /// fixed-point seconds) and `transportSequenceNumber` are written when the consumer negotiated them
    /// (0 when not given). Room for an SRTP trailer is reserved. Returns nil only if the result cannot be
    /// re-validated, which a parsed packet never hits.
    public func rewrite(_ packet: RTPPacket, header: RTPHeaderRewrite? = nil, absSendTime: UInt32? = nil,
                        transportSequenceNumber: UInt16? = nil) -> RTPPacket? {
        let form = self.form
        let fixed = 12 + 4 * packet.csrcCount
        let headerLength = packet.headerLength
        let maxLength = maxCopiedLength, table = copyTable, outIDs = copiedIDs
        return packet.bytes.withUnsafeReadableBytes { src -> RTPPacket? in
            guard src.count >= headerLength, headerLength >= fixed else { return nil }
            // Where the incoming elements are (none for an opaque profile).
            var inStart = 0, inEnd = 0, twoByte = false
            if src[0] & 0x10 != 0, fixed + 4 <= headerLength {
                let profile = UInt16(src[fixed]) << 8 | UInt16(src[fixed + 1])
                if profile == RTPPacket.oneByteProfile || profile & 0xFFF0 == 0x1000 {
                    twoByte = profile != RTPPacket.oneByteProfile
                    inStart = fixed + 4
                    inEnd = headerLength
                }
            }
            func size(_ length: Int) -> Int { RTPHeaderExtensionWriter.elementSize(length: length, form: form) }
            // Pass 1: size of the new element list (each copied kind once).
            var elements = midBytes.isEmpty ? 0 : size(midBytes.count)
            if absSendTimeID != 0 { elements += size(3) }
            if transportCCID != 0 { elements += size(2) }
            var copied: UInt32 = 0   // bit i: copiedKinds[i] already written (a sender repeating an id is copied once)
            Self.forEachElement(src, start: inStart, end: inEnd, twoByte: twoByte) { id, _, length in
                let kind = table[Int(id)]
                guard kind != 0, (1...maxLength).contains(length), copied & (1 << UInt32(kind)) == 0 else { return }
                copied |= 1 << UInt32(kind)
                elements += size(length)
            }
            // Pass 2: the packet, written once.
            return packet.rebuilt(header: header, form: form, elementBytes: elements, reservingCapacity: SRTPSession.rtpTrailerCapacity) { writer in
                if !midBytes.isEmpty { midBytes.withUnsafeBytes { writer.append(id: midID, bytes: $0) } }
                if absSendTimeID != 0 { writer.append(id: absSendTimeID, bigEndian: UInt64(absSendTime ?? 0), width: 3) }
                if transportCCID != 0 { writer.append(id: transportCCID, bigEndian: UInt64(transportSequenceNumber ?? 0), width: 2) }
                var copiedOut: UInt32 = 0
                Self.forEachElement(src, start: inStart, end: inEnd, twoByte: twoByte) { id, offset, length in
                    let kind = table[Int(id)]
                    guard kind != 0, (1...maxLength).contains(length), copiedOut & (1 << UInt32(kind)) == 0 else { return }
                    copiedOut |= 1 << UInt32(kind)
                    writer.append(id: outIDs[Int(kind) - 1], bytes: UnsafeRawBufferPointer(rebasing: src[offset..<(offset + length)]))
                }
            }
        }
    }
}

extension HeaderExtensionRewriter {
    /// abs-send-time for `now` (caller's clock): 6.18 fixed-point seconds, wrapping every 64 s. Only
    /// differences matter to the receiver, so the clock's origin is irrelevant.
    public static func absSendTime(at now: Duration) -> UInt32 {
        let (seconds, atto) = now.components
        let fraction = (atto / 1_000_000_000) << 18 / 1_000_000_000   // ns × 2^18 / 10^9
        return UInt32(truncatingIfNeeded: (seconds << 18) + fraction) & 0x00FF_FFFF
    }
}
