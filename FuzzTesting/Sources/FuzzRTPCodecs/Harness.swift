import NIOCore
import RTP

/// Parses arbitrary bytes as a VP8, VP9, H.264 and Opus RTP payload. Descriptors must never claim
/// more bytes than the payload has, and VP8 rewrites must keep the descriptor parseable with the
/// new values.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let payload = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: data == nil ? 0 : size))
    if let vp8 = try? VP8PayloadDescriptor(parsing: payload) {
        guard vp8.length <= size else { fatalError("VP8 descriptor longer than payload") }
        var packet = RTPPacket(payloadType: 96, sequenceNumber: 1, timestamp: 2, ssrc: 3, payload: payload)
        let wrotePID = vp8.rewrite(pictureID: 0x7ABC, in: &packet)
        let wroteTL0 = vp8.rewrite(tl0PicIdx: 0x55, in: &packet)
        guard wrotePID == (vp8.pictureID != nil), wroteTL0 == (vp8.tl0PicIdx != nil) else { fatalError("VP8 rewrite refused a present field") }
        guard let again = try? VP8PayloadDescriptor(parsing: packet.payload), again.length == vp8.length,
              again.pictureID == vp8.pictureID.map({ _ in vp8.pictureIDIs15Bit ? 0x7ABC : 0x3C }),
              again.tl0PicIdx == vp8.tl0PicIdx.map({ _ in 0x55 }) else {
            fatalError("VP8 rewrite broke the descriptor")
        }
    }
    if let vp9 = try? VP9PayloadDescriptor(parsing: payload) {
        guard vp9.length <= size, vp9.pDiffs.count == vp9.pDiffCount, vp9.pDiffCount <= 3 else { fatalError("VP9 descriptor inconsistent") }
        _ = vp9.isKeyFrame
    }
    if let h264 = try? H264Payload(parsing: payload) { _ = h264.isKeyFrame }
    _ = OpusPayload(parsing: payload).isDTX
    return 0
}
