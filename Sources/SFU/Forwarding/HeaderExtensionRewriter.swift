import NIOCore
import RTCBase
import RTP

/// Rebuilds the header extension block of packets forwarded from one producer to one consumer
/// (protocol spec §7.5 rule 5).
///
/// The producer's browser chose its own extension ids (INIT_PRODUCER `headerExtensions`); the consumer
/// knows only the router's ids (INIT_CONSUMER `rtpParameters.headerExtensions`). Forwarding the block
/// unchanged makes the receiver misread elements (Chrome's audio-level id 1 read as MID, the packet
/// routed to no m-section and dropped), so every outgoing packet gets a fresh block, always in the
/// RFC 8285 one-byte form (the receive offer has no `extmap-allow-mixed`):
///
/// * sdes:mid = the consumer's `mid`;
/// * abs-send-time and transport-wide sequence number, when the consumer negotiated them, with the
///   values the caller passes (a zero placeholder otherwise, to be stamped in place at send time with
///   `RTPPacket.setAbsSendTime` / `setTransportSequenceNumber` and ``consumerMap`` — an in-place write,
///   no allocation, since the element then exists with the right length);
/// * audio level, video orientation, toffset, playout delay and abs-capture-time copied from the input
///   when both sides negotiated them (and the value fits the one-byte form, 1–16 bytes);
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

    /// MID bytes, empty when the consumer has no MID id or the value cannot be written (0 or > 16 bytes).
    @usableFromInline let midBytes: [UInt8]
    @usableFromInline let midID: UInt8
    @usableFromInline let absSendTimeID: UInt8
    @usableFromInline let transportCCID: UInt8
    /// Incoming id → outgoing id for the copied kinds; 0 = not copied. 256 entries.
    @usableFromInline let copyTable: [UInt8]

    /// The kinds whose values are copied when both sides negotiated them.
    public static let copiedKinds: [RTPHeaderExtensionKind] = [.audioLevel, .videoOrientation, .timeOffset, .playoutDelay, .absCaptureTime]

    /// A rewriter from the producer's and the consumer's extension maps.
    public init(producer: RTPHeaderExtensionMap, consumer: RTPHeaderExtensionMap, mid: MID) {
        producerMap = producer
        consumerMap = consumer
        self.mid = mid
        func oneByteID(_ id: HeaderExtensionID?) -> UInt8 { id.map { $0.fitsOneByteForm ? $0.rawValue : 0 } ?? 0 }
        midID = oneByteID(consumer[.mid])
        absSendTimeID = oneByteID(consumer[.absSendTime])
        transportCCID = oneByteID(consumer[.transportWideCC])
        let utf8 = Array(mid.rawValue.utf8)
        midBytes = (1...16).contains(utf8.count) && midID != 0 ? utf8 : []
        var table = [UInt8](repeating: 0, count: 256)
        for kind in Self.copiedKinds {
            if let inID = producer[kind], inID.rawValue != 0 {
                table[Int(inID.rawValue)] = oneByteID(consumer[kind])
            }
        }
        copyTable = table
    }

    /// A rewriter from negotiated (URI, id) pairs: the producer's (INIT_PRODUCER) and the consumer's
    /// (router ids from the consumer's `rtpParameters`). Unknown URIs are ignored.
    public init<P: Sequence, C: Sequence>(producerExtensions: P, consumerExtensions: C, mid: MID)
    where P.Element == (uri: String, id: UInt8), C.Element == (uri: String, id: UInt8) {
        self.init(producer: RTPHeaderExtensionMap(producerExtensions), consumer: RTPHeaderExtensionMap(consumerExtensions), mid: mid)
    }

    /// Calls `body(id, offset, length)` for each RFC 8285 element of `packet` (offsets absolute in its
    /// buffer). Nothing for packets without a block or with an opaque profile.
    @inlinable
    static func forEachElement(of packet: RTPPacket, _ body: (UInt8, Int, Int) -> Void) {
        guard packet.hasExtension else { return }
        let b = packet.bytes
        let start = b.readerIndex + 12 + 4 * packet.csrcCount
        guard let profile = b.getInteger(at: start, as: UInt16.self),
              let words = b.getInteger(at: start + 2, as: UInt16.self) else { return }
        let end = min(start + 4 + 4 * Int(words), b.readerIndex + packet.headerLength)
        var i = start + 4
        if profile == RTPPacket.oneByteProfile {
            while i < end {
                let h = b.getInteger(at: i, as: UInt8.self)!
                let id = h >> 4
                if id == 0 { i += 1; continue }
                if id == 15 { return }
                let len = Int(h & 0x0F) + 1
                guard i + 1 + len <= end else { return }
                body(id, i + 1, len)
                i += 1 + len
            }
        } else if profile & 0xFFF0 == 0x1000 {
            while i + 1 < end {
                let id = b.getInteger(at: i, as: UInt8.self)!
                if id == 0 { i += 1; continue }
                let len = Int(b.getInteger(at: i + 1, as: UInt8.self)!)
                guard i + 2 + len <= end else { return }
                body(id, i + 2, len)
                i += 2 + len
            }
        }
    }

    /// Bytes of the rebuilt element list (before padding) for `packet`.
    @inlinable
    func elementBytes(for packet: RTPPacket) -> Int {
        var size = 0
        if !midBytes.isEmpty { size += 1 + midBytes.count }
        if absSendTimeID != 0 { size += 4 }
        if transportCCID != 0 { size += 3 }
        var copied: UInt32 = 0
        let table = copyTable
        Self.forEachElement(of: packet) { id, _, length in
            let outID = table[Int(id)]
            guard outID != 0, (1...16).contains(length), copied & (1 << UInt32(outID)) == 0 else { return }
            copied |= 1 << UInt32(outID)
            size += 1 + length
        }
        return size
    }

    /// `packet` with its extension block rebuilt for the consumer (see the type's description), header
    /// fields, CSRCs, payload and padding unchanged. `absSendTime` (24-bit 6.18 fixed-point seconds) and
    /// `transportSequenceNumber` are written when the consumer negotiated them (0 when not given).
    /// Returns nil only if the input's header cannot be re-validated, which a parsed packet never hits.
    public func rewrite(_ packet: RTPPacket, absSendTime: UInt32? = nil, transportSequenceNumber: UInt16? = nil) -> RTPPacket? {
        let elements = elementBytes(for: packet)
        let block = elements == 0 ? 0 : 4 + (elements + 3) / 4 * 4
        let source = packet.bytes
        let fixed = 12 + 4 * packet.csrcCount
        let rest = source.readableBytes - packet.headerLength
        var out = ByteBufferAllocator().buffer(capacity: fixed + block + rest)
        source.withUnsafeReadableBytes { raw in
            let first = raw[0]
            out.writeInteger(elements == 0 ? first & ~0x10 : first | 0x10)
            out.writeBytes(UnsafeRawBufferPointer(rebasing: raw[1..<fixed]))
        }
        if elements > 0 {
            out.writeInteger(RTPPacket.oneByteProfile)
            out.writeInteger(UInt16((block - 4) / 4))
            if !midBytes.isEmpty {
                out.writeInteger(midID << 4 | UInt8(midBytes.count - 1))
                out.writeBytes(midBytes)
            }
            if absSendTimeID != 0 {
                let v = absSendTime ?? 0
                out.writeInteger(absSendTimeID << 4 | 2)
                out.writeInteger(UInt8(truncatingIfNeeded: v >> 16))
                out.writeInteger(UInt16(truncatingIfNeeded: v))
            }
            if transportCCID != 0 {
                out.writeInteger(transportCCID << 4 | 1)
                out.writeInteger(transportSequenceNumber ?? 0)
            }
            var copied: UInt32 = 0
            let table = copyTable
            Self.forEachElement(of: packet) { id, offset, length in
                let outID = table[Int(id)]
                guard outID != 0, (1...16).contains(length), copied & (1 << UInt32(outID)) == 0 else { return }
                copied |= 1 << UInt32(outID)
                out.writeInteger(outID << 4 | UInt8(length - 1))
                source.withUnsafeReadableBytes { raw in
                    let from = offset - source.readerIndex
                    _ = out.writeBytes(UnsafeRawBufferPointer(rebasing: raw[from..<(from + length)]))
                }
            }
            let padding = block - 4 - elements
            if padding > 0 { out.writeRepeatingByte(0, count: padding) }
        }
        source.withUnsafeReadableBytes { raw in
            _ = out.writeBytes(UnsafeRawBufferPointer(rebasing: raw[packet.headerLength...]))
        }
        if packet.hasPadding && packet.paddingLength == 0 {
            return try? RTPPacket(parsingHeaderOf: out)
        }
        return try? RTPPacket(parsing: out)
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
