import NIOCore
import RTCBase
import RTP
import SRTP

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
    /// (0 when not given). Returns nil only if the result cannot be re-validated, which a parsed packet
    /// never hits.
    public func rewrite(_ packet: RTPPacket, header: RTPHeaderRewrite? = nil, absSendTime: UInt32? = nil,
                        transportSequenceNumber: UInt16? = nil) -> RTPPacket? {
        let fixed = 12 + 4 * packet.csrcCount
        let headerLength = packet.headerLength
        let out: ByteBuffer? = packet.bytes.withUnsafeReadableBytes { src -> ByteBuffer? in
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
            let table = copyTable
            // Pass 1: size of the new element list.
            var elements = midBytes.isEmpty ? 0 : 1 + midBytes.count
            if absSendTimeID != 0 { elements += 4 }
            if transportCCID != 0 { elements += 3 }
            var copied: UInt32 = 0
            Self.forEachElement(src, start: inStart, end: inEnd, twoByte: twoByte) { id, _, length in
                let outID = table[Int(id)]
                guard outID != 0, (1...16).contains(length), copied & (1 << UInt32(outID)) == 0 else { return }
                copied |= 1 << UInt32(outID)
                elements += 1 + length
            }
            let block = elements == 0 ? 0 : 4 + (elements + 3) / 4 * 4
            let rest = src.count - headerLength
            let total = fixed + block + rest
            // Room for the SRTP trailer, so that protecting the packet (or its copy) never reallocates.
            var b = ByteBufferAllocator().buffer(capacity: total + SRTPSession.rtpTrailerCapacity)
            b.writeWithUnsafeMutableBytes(minimumWritableBytes: total) { dst -> Int in
                // Fixed header and CSRCs.
                dst.baseAddress!.copyMemory(from: src.baseAddress!, byteCount: fixed)
                dst[0] = elements == 0 ? src[0] & ~0x10 : src[0] | 0x10
                if let h = header {
                    dst[1] = (src[1] & 0x80) | h.payloadType.rawValue
                    dst.storeBytes(of: h.sequenceNumber.rawValue.bigEndian, toByteOffset: 2, as: UInt16.self)
                    dst.storeBytes(of: h.timestamp.rawValue.bigEndian, toByteOffset: 4, as: UInt32.self)
                    dst.storeBytes(of: h.ssrc.rawValue.bigEndian, toByteOffset: 8, as: UInt32.self)
                }
                var o = fixed
                if elements > 0 {
                    dst.storeBytes(of: RTPPacket.oneByteProfile.bigEndian, toByteOffset: o, as: UInt16.self)
                    dst.storeBytes(of: UInt16((block - 4) / 4).bigEndian, toByteOffset: o + 2, as: UInt16.self)
                    o += 4
                    if !midBytes.isEmpty {
                        dst[o] = midID << 4 | UInt8(midBytes.count - 1)
                        o += 1
                        for byte in midBytes { dst[o] = byte; o += 1 }
                    }
                    if absSendTimeID != 0 {
                        let v = absSendTime ?? 0
                        dst[o] = absSendTimeID << 4 | 2
                        dst[o + 1] = UInt8(truncatingIfNeeded: v >> 16)
                        dst[o + 2] = UInt8(truncatingIfNeeded: v >> 8)
                        dst[o + 3] = UInt8(truncatingIfNeeded: v)
                        o += 4
                    }
                    if transportCCID != 0 {
                        let v = transportSequenceNumber ?? 0
                        dst[o] = transportCCID << 4 | 1
                        dst[o + 1] = UInt8(truncatingIfNeeded: v >> 8)
                        dst[o + 2] = UInt8(truncatingIfNeeded: v)
                        o += 3
                    }
                    var copiedOut: UInt32 = 0
                    Self.forEachElement(src, start: inStart, end: inEnd, twoByte: twoByte) { id, offset, length in
                        let outID = table[Int(id)]
                        guard outID != 0, (1...16).contains(length), copiedOut & (1 << UInt32(outID)) == 0 else { return }
                        copiedOut |= 1 << UInt32(outID)
                        dst[o] = outID << 4 | UInt8(length - 1)
                        (dst.baseAddress! + o + 1).copyMemory(from: src.baseAddress! + offset, byteCount: length)
                        o += 1 + length
                    }
                    while o < fixed + block { dst[o] = 0; o += 1 }
                }
                if rest > 0 {
                    (dst.baseAddress! + o).copyMemory(from: src.baseAddress! + headerLength, byteCount: rest)
                }
                return total
            }
            return b
        }
        guard let out else { return nil }
        if packet.hasPadding && packet.paddingLength == 0 {
            return try? RTPPacket(parsingHeaderOf: out)
        }
        return try? RTPPacket(parsing: out)
    }
}

/// Fixed-header values for ``HeaderExtensionRewriter/rewrite(_:header:absSendTime:transportSequenceNumber:)``
/// to write while it copies the packet.
public struct RTPHeaderRewrite: Hashable, Sendable {
    /// Outgoing payload type (the marker bit is kept).
    public var payloadType: PayloadType
    /// Outgoing sequence number.
    public var sequenceNumber: RTPSequenceNumber
    /// Outgoing timestamp.
    public var timestamp: RTPTimestamp
    /// Outgoing SSRC.
    public var ssrc: SSRC
    /// The four values.
    public init(payloadType: PayloadType, sequenceNumber: RTPSequenceNumber, timestamp: RTPTimestamp, ssrc: SSRC) {
        self.payloadType = payloadType
        self.sequenceNumber = sequenceNumber
        self.timestamp = timestamp
        self.ssrc = ssrc
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
