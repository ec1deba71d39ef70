import NIOCore

/// The VP9 payload descriptor (RFC 9628 §4.2), flexible and non-flexible modes. The scalability
/// structure (§4.2.1) is walked only to find where the descriptor ends (and how many spatial layers
/// it announces); every length it implies is checked against the payload.
///
/// ```
///       0 1 2 3 4 5 6 7
///      +-+-+-+-+-+-+-+-+
///      |I|P|L|F|B|E|V|Z| (REQUIRED)
///      +-+-+-+-+-+-+-+-+
/// I:   |M| PICTURE ID  | (REQUIRED when I)   M = 1: 15-bit picture id
/// M:   | EXTENDED PID  |
///      +-+-+-+-+-+-+-+-+
/// L:   | TID |U| SID |D| (layer indices)
///      +-+-+-+-+-+-+-+-+
///      |   TL0PICIDX   | (non-flexible mode only)
///      +-+-+-+-+-+-+-+-+
/// F&P: | P_DIFF      |N| (flexible mode, up to 3 reference indices)
///      +-+-+-+-+-+-+-+-+
/// V:   | SS            | (scalability structure: N_S|Y|G, sizes, picture group)
///      +-+-+-+-+-+-+-+-+
/// ```
public struct VP9PayloadDescriptor: Hashable, Sendable {
    /// P: inter-picture predicted.
    public var interPicturePredicted: Bool
    /// F: flexible mode.
    public var flexibleMode: Bool
    /// B: start of a frame.
    public var beginningOfFrame: Bool
    /// E: end of a frame.
    public var endOfFrame: Bool
    /// Z: not used for inter-layer prediction of higher spatial layers.
    public var notUpsampled: Bool
    /// 7- or 15-bit picture id, if present (I).
    public var pictureID: UInt16?
    /// Whether the picture id uses the 15-bit form (M bit).
    public var pictureIDIs15Bit: Bool
    /// TID: temporal layer index, if layer indices are present (L).
    public var temporalLayer: UInt8?
    /// U: switching up point.
    public var switchingUpPoint: Bool
    /// SID: spatial layer index, if layer indices are present (L).
    public var spatialLayer: UInt8?
    /// D: inter-layer dependency.
    public var interLayerDependency: Bool
    /// Temporal level zero picture index (non-flexible mode with L).
    public var tl0PicIdx: UInt8?
    /// Offset of the picture id field from the start of the payload (for in-place rewrites).
    public var pictureIDOffset: Int?
    /// Up to three P_DIFF values, stored inline so parsing does not allocate.
    var pDiff0: UInt8 = 0, pDiff1: UInt8 = 0, pDiff2: UInt8 = 0
    /// Number of P_DIFF values present.
    public private(set) var pDiffCount: Int = 0
    /// Reference picture id differences (flexible mode with P), in order.
    public var pDiffs: [UInt8] { Array([pDiff0, pDiff1, pDiff2].prefix(pDiffCount)) }
    /// Whether a scalability structure is present (V).
    public var hasScalabilityStructure: Bool
    /// Number of spatial layers announced by the scalability structure.
    public var spatialLayerCount: Int?
    /// Bytes of descriptor.
    public var length: Int

    /// Whether this packet starts a key frame (what an SFU waits for before switching to a stream):
    /// P = 0 (no inter-picture prediction), B = 1 (first packet of the layer frame) and spatial layer 0
    /// (SID = 0, or no layer indices, which means a single spatial layer). Upper spatial layers of a
    /// key picture have P = 0 too but depend on the layer below, so they do not start one; this is the
    /// rule mediasoup applies.
    public var isKeyFrame: Bool { !interPicturePredicted && beginningOfFrame && (spatialLayer ?? 0) == 0 }

    /// Parses the descriptor at the start of `payload`.
    public init(parsing payload: ByteBuffer) throws(RTPCodecError) {
        let p = payload.readerIndex
        let n = payload.readableBytes
        func byte(_ i: Int) throws(RTPCodecError) -> UInt8 {
            guard i < n else { throw .truncated(codec: "VP9", need: i + 1, have: n) }
            return payload.getInteger(at: p + i, as: UInt8.self)!
        }
        let b0 = try byte(0)
        interPicturePredicted = b0 & 0x40 != 0
        flexibleMode = b0 & 0x10 != 0
        beginningOfFrame = b0 & 0x08 != 0
        endOfFrame = b0 & 0x04 != 0
        hasScalabilityStructure = b0 & 0x02 != 0
        notUpsampled = b0 & 0x01 != 0
        pictureID = nil
        pictureIDIs15Bit = false
        temporalLayer = nil
        switchingUpPoint = false
        spatialLayer = nil
        interLayerDependency = false
        tl0PicIdx = nil
        spatialLayerCount = nil
        pictureIDOffset = nil
        var i = 1
        if b0 & 0x80 != 0 {
            guard let field = PictureIDField.read(payload, at: i) else {
                throw .truncated(codec: "VP9", need: i + 2, have: n)
            }
            pictureIDOffset = i
            pictureID = field.value
            pictureIDIs15Bit = field.is15Bit
            i += field.length
        }
        if b0 & 0x20 != 0 {
            let l = try byte(i)
            temporalLayer = l >> 5
            switchingUpPoint = l & 0x10 != 0
            spatialLayer = (l >> 1) & 0x07
            interLayerDependency = l & 0x01 != 0
            i += 1
            if !flexibleMode {
                tl0PicIdx = try byte(i)
                i += 1
            }
        }
        if flexibleMode && interPicturePredicted {
            var more = true
            while more {
                guard pDiffCount < 3 else { throw .invalid(codec: "VP9", reason: "more than 3 P_DIFF") }
                let d = try byte(i)
                switch pDiffCount {
                case 0: pDiff0 = d >> 1
                case 1: pDiff1 = d >> 1
                default: pDiff2 = d >> 1
                }
                pDiffCount += 1
                more = d & 0x01 != 0
                i += 1
            }
        }
        if hasScalabilityStructure {
            let ss = try byte(i)
            i += 1
            let ns = Int(ss >> 5) + 1
            spatialLayerCount = ns
            if ss & 0x10 != 0 { i += 4 * ns }          // Y: width and height per layer
            if ss & 0x08 != 0 {                          // G: picture group description
                let ng = Int(try byte(i))
                i += 1
                for _ in 0..<ng {
                    let g = try byte(i)
                    i += 1 + Int((g >> 2) & 0x03)        // R reference indices
                }
            }
            guard i <= n else { throw .truncated(codec: "VP9", need: i, have: n) }
        }
        length = i
    }
}
