import NIOCore

/// What an H.264 RTP payload (RFC 6184 §5) carries, as far as an SFU cares: its packetization mode
/// and whether it contains (the start of) an IDR slice or parameter sets.
///
/// ```
/// NAL unit header:      STAP-A (type 24):                      FU-A (type 28):
/// +-+-+-+-+-+-+-+-+     | hdr | size(16) | NAL | size | NAL |   | FU indicator | FU header |
/// |F|NRI|  Type   |                                            |  F|NRI|28    |S|E|R|Type |
/// +-+-+-+-+-+-+-+-+
/// ```
public struct H264Payload: Hashable, Sendable {
    /// The packetization of the payload (RFC 6184 §5.2 table 1).
    public enum Packetization: Hashable, Sendable {
        /// A single NAL unit of the given type (1–23).
        case single(nalType: UInt8)
        /// STAP-A with the NAL unit types it aggregates.
        case stapA(nalTypes: [UInt8])
        /// A fragment of a NAL unit of the given type.
        case fuA(nalType: UInt8, start: Bool, end: Bool)
        /// Other types (STAP-B, MTAP, FU-B, reserved) are recognised but not interpreted.
        case other(type: UInt8)
    }

    /// The packetization of this payload.
    public var packetization: Packetization
    /// An IDR slice (type 5) starts in this packet.
    public var containsIDR: Bool
    /// A sequence parameter set (type 7) is in this packet.
    public var containsSPS: Bool
    /// A picture parameter set (type 8) is in this packet.
    public var containsPPS: Bool

    /// Whether a decoder can start here: an IDR slice starts, or an SPS is present (encoders send
    /// SPS/PPS right before IDR; libwebrtc and mediasoup treat either as a key frame).
    public var isKeyFrame: Bool { containsIDR || containsSPS }

    /// Parses an H.264 RTP payload: the NAL unit header, every STAP-A aggregation unit (each length
    /// checked) or the FU-A header.
    public init(parsing payload: ByteBuffer) throws(RTPCodecError) {
        let p = payload.readerIndex
        let n = payload.readableBytes
        guard n >= 1 else { throw .truncated(codec: "H264", need: 1, have: 0) }
        let header = payload.getInteger(at: p, as: UInt8.self)!
        guard header & 0x80 == 0 else { throw .invalid(codec: "H264", reason: "forbidden_zero_bit set") }
        let type = header & 0x1F
        containsIDR = false
        containsSPS = false
        containsPPS = false
        packetization = .other(type: type)
        switch type {
        case 1...23:
            packetization = .single(nalType: type)
            note(type)
        case 24:
            var types: [UInt8] = []
            var i = 1
            while i < n {
                guard i + 2 <= n else { throw .truncated(codec: "H264", need: i + 2, have: n) }
                let size = Int(payload.getInteger(at: p + i, as: UInt16.self)!)
                guard size > 0 else { throw .invalid(codec: "H264", reason: "empty STAP-A unit") }
                guard i + 2 + size <= n else { throw .truncated(codec: "H264", need: i + 2 + size, have: n) }
                let t = payload.getInteger(at: p + i + 2, as: UInt8.self)! & 0x1F
                types.append(t)
                note(t)
                i += 2 + size
            }
            guard !types.isEmpty else { throw .invalid(codec: "H264", reason: "STAP-A without NAL units") }
            packetization = .stapA(nalTypes: types)
        case 28:
            guard n >= 2 else { throw .truncated(codec: "H264", need: 2, have: n) }
            let fu = payload.getInteger(at: p + 1, as: UInt8.self)!
            let start = fu & 0x80 != 0
            let t = fu & 0x1F
            packetization = .fuA(nalType: t, start: start, end: fu & 0x40 != 0)
            if start { note(t) }
        default:
            packetization = .other(type: type)
        }
    }

    private mutating func note(_ type: UInt8) {
        switch type {
        case 5: containsIDR = true
        case 7: containsSPS = true
        case 8: containsPPS = true
        default: break
        }
    }
}
