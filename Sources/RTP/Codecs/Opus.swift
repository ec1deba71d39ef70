import NIOCore

/// The TOC byte of an Opus packet (RFC 6716 §3.1) as carried in RTP (RFC 7587), and DTX detection.
///
/// ```
///  0 1 2 3 4 5 6 7
/// +-+-+-+-+-+-+-+-+
/// | config  |s| c |
/// +-+-+-+-+-+-+-+-+
/// ```
public struct OpusPayload: Hashable, Sendable {
    /// Configuration number 0–31 (mode, bandwidth, frame size; RFC 6716 Table 2).
    public var config: UInt8?
    /// s: stereo.
    public var stereo: Bool
    /// c: frame count code (0: one frame, 1: two equal, 2: two different, 3: arbitrary).
    public var frameCountCode: UInt8?
    /// Discontinuous transmission: libwebrtc's encoder emits payloads of at most 2 bytes (a TOC byte
    /// and nothing, or TOC + 1) during silence with DTX on; an empty payload counts too. This rule is
    /// what WebRTC receivers use to tell DTX packets from audio.
    public var isDTX: Bool

    /// Reads the TOC byte (if any) and classifies DTX; never fails (any byte is a valid TOC).
    public init(parsing payload: ByteBuffer) {
        let n = payload.readableBytes
        if let toc = payload.getInteger(at: payload.readerIndex, as: UInt8.self) {
            config = toc >> 3
            stereo = toc & 0x04 != 0
            frameCountCode = toc & 0x03
        } else {
            config = nil
            stereo = false
            frameCountCode = nil
        }
        isDTX = n <= 2
    }
}
