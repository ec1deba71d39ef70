import NIOCore
import RTCBase
import RTP

/// Hand-built RTP packets for the forwarding tests.
enum TestPackets {
    enum Form { case oneByte, twoByte, opaque }

    /// A packet with the given extension elements in `form`, payload and optional CSRCs / padding.
    static func packet(pt: UInt8 = 96, seq: UInt16 = 1, ts: UInt32 = 1000, ssrc: UInt32 = 0x1111_1111, marker: Bool = false,
                       csrcs: [UInt32] = [], form: Form = .oneByte, elements: [(UInt8, [UInt8])] = [],
                       payload: [UInt8] = [0xAA, 0xBB, 0xCC], padding: UInt8 = 0) -> RTPPacket {
        var b = ByteBuffer()
        let x: UInt8 = elements.isEmpty && form != .opaque ? 0 : 0x10
        let p: UInt8 = padding > 0 ? 0x20 : 0
        b.writeInteger(UInt8(0x80) | x | p | UInt8(csrcs.count))
        b.writeInteger((marker ? 0x80 : 0) | pt)
        b.writeInteger(seq)
        b.writeInteger(ts)
        b.writeInteger(ssrc)
        for c in csrcs { b.writeInteger(c) }
        if x != 0 {
            var block: [UInt8] = []
            switch form {
            case .oneByte:
                for (id, v) in elements { block.append(id << 4 | UInt8(v.count - 1)); block += v }
            case .twoByte:
                for (id, v) in elements { block.append(id); block.append(UInt8(v.count)); block += v }
            case .opaque:
                block = [1, 2, 3, 4]
            }
            while block.count % 4 != 0 { block.append(0) }
            b.writeInteger(form == .oneByte ? UInt16(0xBEDE) : form == .twoByte ? UInt16(0x1000) : UInt16(0x1234))
            b.writeInteger(UInt16(block.count / 4))
            b.writeBytes(block)
        }
        b.writeBytes(payload)
        if padding > 0 {
            b.writeRepeatingByte(0, count: Int(padding) - 1)
            b.writeInteger(padding)
        }
        return try! RTPPacket(parsing: b)
    }

    /// A VP8 payload: descriptor with a 15-bit picture id, TL0PICIDX and TID/Y, then a VP8 payload header
    /// byte marking a key frame or not.
    static func vp8Payload(pictureID: UInt16, tl0: UInt8, tid: UInt8, layerSync: Bool = false, start: Bool = true,
                           keyFrame: Bool = false, shortPictureID: Bool = false) -> [UInt8] {
        var d: [UInt8] = [0x80 | (start ? 0x10 : 0), 0xE0]   // X, S; I L T
        if shortPictureID {
            d.append(UInt8(pictureID & 0x7F))
        } else {
            d.append(0x80 | UInt8((pictureID >> 8) & 0x7F))
            d.append(UInt8(pictureID & 0xFF))
        }
        d.append(tl0)
        d.append(tid << 6 | (layerSync ? 0x20 : 0))
        d.append(keyFrame ? 0x00 : 0x01)   // VP8 payload header: P bit (0 = key frame)
        d += [0x9D, 0x01, 0x2A]
        return d
    }

    /// Bytes of a packet's extension block (profile, length, data).
    static func extensionBlock(of p: RTPPacket) -> [UInt8] {
        guard p.hasExtension else { return [] }
        let start = 12 + 4 * p.csrcCount
        return Array(p.bytes.readableBytesView[(p.bytes.readerIndex + start)..<(p.bytes.readerIndex + p.headerLength)])
    }
}

/// Chrome-like producer and router-like consumer extension ids (docs/protocol.md §6.5, §6.6).
enum TestExtensions {
    static let producerVideo: [(uri: String, id: UInt8)] = [
        ("urn:ietf:params:rtp-hdrext:sdes:mid", 4),
        ("urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id", 10),
        ("urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id", 11),
        ("http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", 2),
        ("http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", 3),
        ("urn:3gpp:video-orientation", 13),
        ("urn:ietf:params:rtp-hdrext:toffset", 14),
        ("http://www.webrtc.org/experiments/rtp-hdrext/playout-delay", 5),
    ]
    static let consumerVideo: [(uri: String, id: UInt8)] = [
        ("urn:ietf:params:rtp-hdrext:sdes:mid", 1),
        ("http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", 4),
        ("http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", 5),
        ("urn:3gpp:video-orientation", 11),
        ("urn:ietf:params:rtp-hdrext:toffset", 12),
        ("http://www.webrtc.org/experiments/rtp-hdrext/playout-delay", 14),
    ]
    static let producerAudio: [(uri: String, id: UInt8)] = [
        ("urn:ietf:params:rtp-hdrext:sdes:mid", 4),
        ("http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", 2),
        ("http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", 3),
        ("urn:ietf:params:rtp-hdrext:ssrc-audio-level", 1),
    ]
    static let consumerAudio: [(uri: String, id: UInt8)] = [
        ("urn:ietf:params:rtp-hdrext:sdes:mid", 1),
        ("http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", 4),
        ("urn:ietf:params:rtp-hdrext:ssrc-audio-level", 10),
    ]
}
