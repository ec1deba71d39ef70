import NIOCore

/// The VP8 payload descriptor (RFC 7741 §4.2), parsed from the start of an RTP payload, plus key-frame
/// detection from the VP8 payload header that follows it (§4.3).
///
/// ```
///       0 1 2 3 4 5 6 7
///      +-+-+-+-+-+-+-+-+
///      |X|R|N|S|R| PID | (REQUIRED)
///      +-+-+-+-+-+-+-+-+
/// X:   |I|L|T|K| RSV   | (OPTIONAL)
///      +-+-+-+-+-+-+-+-+
/// I:   |M| PictureID   | (OPTIONAL)   M = 1: 15-bit picture id over two bytes
///      +-+-+-+-+-+-+-+-+
///      |   PictureID   |
///      +-+-+-+-+-+-+-+-+
/// L:   |   TL0PICIDX   | (OPTIONAL)
///      +-+-+-+-+-+-+-+-+
/// T/K: |TID|Y| KEYIDX  | (OPTIONAL)
///      +-+-+-+-+-+-+-+-+
/// then the VP8 payload; if S = 1 and PID = 0 its first byte is |Size0|H| VER |P|, P = 0 on key frames
/// ```
public struct VP8PayloadDescriptor: Hashable, Sendable {
    /// N: the frame is not used as a reference.
    public var nonReference: Bool
    /// S: start of a VP8 partition.
    public var startOfPartition: Bool
    /// PID: partition index.
    public var partitionIndex: UInt8
    /// 7- or 15-bit picture id, if present.
    public var pictureID: UInt16?
    /// Whether the picture id uses the 15-bit form (M bit).
    public var pictureIDIs15Bit: Bool
    /// Temporal level zero picture index, if present.
    public var tl0PicIdx: UInt8?
    /// Temporal layer index, if present (T).
    public var temporalLayer: UInt8?
    /// Y: layer sync.
    public var layerSync: Bool
    /// Temporal key frame index, if present (K).
    public var keyIndex: UInt8?
    /// Bytes of descriptor; the VP8 payload starts here.
    public var length: Int
    /// Whether this packet starts a key frame (S = 1, PID = 0 and the payload header's P bit is 0).
    public var isKeyFrame: Bool
    /// Offset of the picture id field from the start of the payload (for in-place rewrites).
    public var pictureIDOffset: Int?
    /// Offset of the TL0PICIDX field.
    public var tl0PicIdxOffset: Int?

    /// Parses the descriptor at the start of `payload`.
    public init(parsing payload: ByteBuffer) throws(RTPCodecError) {
        let p = payload.readerIndex
        let n = payload.readableBytes
        func byte(_ i: Int) throws(RTPCodecError) -> UInt8 {
            guard i < n else { throw .truncated(codec: "VP8", need: i + 1, have: n) }
            return payload.getInteger(at: p + i, as: UInt8.self)!
        }
        let b0 = try byte(0)
        nonReference = b0 & 0x20 != 0
        startOfPartition = b0 & 0x10 != 0
        partitionIndex = b0 & 0x0F
        pictureID = nil
        pictureIDIs15Bit = false
        tl0PicIdx = nil
        temporalLayer = nil
        layerSync = false
        keyIndex = nil
        pictureIDOffset = nil
        tl0PicIdxOffset = nil
        var i = 1
        if b0 & 0x80 != 0 {
            let x = try byte(1)
            i = 2
            if x & 0x80 != 0 {
                guard let field = PictureIDField.read(payload, at: i) else {
                    throw .truncated(codec: "VP8", need: i + 2, have: n)
                }
                pictureIDOffset = i
                pictureID = field.value
                pictureIDIs15Bit = field.is15Bit
                i += field.length
            }
            if x & 0x40 != 0 {
                tl0PicIdxOffset = i
                tl0PicIdx = try byte(i)
                i += 1
            }
            if x & 0x30 != 0 {
                let t = try byte(i)
                if x & 0x20 != 0 {
                    temporalLayer = t >> 6
                    layerSync = t & 0x20 != 0
                }
                if x & 0x10 != 0 { keyIndex = t & 0x1F }
                i += 1
            }
        }
        length = i
        if startOfPartition && partitionIndex == 0, i < n {
            isKeyFrame = payload.getInteger(at: p + i, as: UInt8.self)! & 0x01 == 0
        } else {
            isKeyFrame = false
        }
    }

    /// Rewrites the picture id in place in `packet`, whose payload this descriptor was parsed from,
    /// keeping its 7/15-bit form (a 7-bit field keeps the low 7 bits, a 15-bit one the low 15; callers
    /// keeping a continuous sequence wrap at 128 or 32768 accordingly). No allocation. Returns false,
    /// changing nothing, when the descriptor has no picture id or does not fit the packet.
    @discardableResult
    public func rewrite(pictureID newValue: UInt16, in packet: inout RTPPacket) -> Bool {
        guard let off = pictureIDOffset else { return false }
        if pictureIDIs15Bit {
            return packet.setPayloadInteger(0x8000 | (newValue & 0x7FFF), at: off)
        } else {
            return packet.setPayloadInteger(UInt8(truncatingIfNeeded: newValue) & 0x7F, at: off)
        }
    }

    /// Rewrites TL0PICIDX in place in `packet` (no allocation). Returns false, changing nothing, when
    /// the descriptor has no TL0PICIDX or does not fit the packet.
    @discardableResult
    public func rewrite(tl0PicIdx newValue: UInt8, in packet: inout RTPPacket) -> Bool {
        guard let off = tl0PicIdxOffset else { return false }
        return packet.setPayloadInteger(newValue, at: off)
    }
}
