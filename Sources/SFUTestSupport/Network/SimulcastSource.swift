import NIOCore
import RTCBase
import RTP
import SFU

/// A simulcast VP8 camera in virtual time, shaped like Chrome's: per layer a target bitrate at 30 fps in the L1T3
/// pattern (TIDs 0, 2, 1, 2; a TL0 frame weighs 1.6 average frames, TL1 1.0, TL2 0.7, so that TL0 is 40 % of the
/// layer, TL0+TL1 65 %), frames split into packets of at most ``maxPayload`` bytes with full VP8 descriptors
/// (15-bit picture id, TL0PICIDX, TID, layer-sync on TL1/TL2), and a key frame (5 average frames) on the layer a
/// PLI or FIR names, at most every 100 ms per layer. It also sends Opus-sized audio (50 packets/s of 100 bytes)
/// when given an audio producer.
public final class SimulcastSource {
    public static let frameInterval = Duration.microseconds(33_333)
    public static let maxPayload = 1_100
    static let weights: [UInt8: Double] = [0: 1.6, 1: 1.0, 2: 0.7]
    static let pattern: [UInt8] = [0, 2, 1, 2]

    public let video: RouterHarness.Producer
    public let audio: RouterHarness.Producer?
    /// Target bitrate per layer, bits per second (changeable).
    public var layerBitrates: [Int]
    var sequence: [UInt16]
    var pictureID: [UInt16]
    var tl0: [UInt8]
    var frameIndex = 0
    var keyFrameWanted: [Bool]
    var lastKeyFrame: [Duration?]
    var nextFrame = Duration.zero
    var nextAudio = Duration.zero
    var audioSequence: UInt16 = 1
    /// Key frames sent per layer.
    public private(set) var keyFrames: [Int]

    public init(video: RouterHarness.Producer, audio: RouterHarness.Producer?, layerBitrates: [Int]) {
        self.video = video
        self.audio = audio
        self.layerBitrates = layerBitrates
        let n = layerBitrates.count
        sequence = (0..<n).map { UInt16(1_000 * ($0 + 1)) }
        pictureID = (0..<n).map { UInt16(100 * $0) }
        tl0 = Array(repeating: 0, count: n)
        keyFrameWanted = Array(repeating: true, count: n)
        lastKeyFrame = Array(repeating: nil, count: n)
        keyFrames = Array(repeating: 0, count: n)
    }

    /// The media SSRC of `layer` (as the harness sends RID layers).
    public func ssrc(of layer: Int) -> UInt32 { video.parameters.encodings[layer].ssrc ?? RouterHarness.ridSSRCBase &+ UInt32(layer) }

    /// A PLI/FIR for `ssrc` reached the sender.
    public func keyFrameRequested(ssrc: UInt32) {
        for l in layerBitrates.indices where self.ssrc(of: l) == ssrc { keyFrameWanted[l] = true }
    }

    /// The packets due by `now` (frames every 33 ms, audio every 20 ms), in send order, with their send times.
    public func packets(until now: Duration) -> [(RTPPacket, Duration)] {
        var out: [(RTPPacket, Duration)] = []
        while nextFrame <= now {
            for l in layerBitrates.indices { out += frame(layer: l, at: nextFrame).map { ($0, nextFrame) } }
            frameIndex += 1
            nextFrame += Self.frameInterval
        }
        if let audio {
            while nextAudio <= now {
                var p = audio.packet(seq: audioSequence, payloadSize: 100)
                p.timestamp = RTPTimestamp(UInt32(truncatingIfNeeded: Int(audioSequence) * 960))
                out.append((p, nextAudio))
                audioSequence &+= 1
                nextAudio += .milliseconds(20)
            }
        }
        return out.sorted { $0.1 < $1.1 }
    }

    func frame(layer l: Int, at time: Duration) -> [RTPPacket] {
        var key = false
        if keyFrameWanted[l], lastKeyFrame[l].map({ time - $0 >= .milliseconds(100) }) ?? true {
            key = true
            keyFrameWanted[l] = false
            lastKeyFrame[l] = time
            keyFrames[l] += 1
        }
        let tid: UInt8 = key ? 0 : Self.pattern[frameIndex % Self.pattern.count]
        let average = Double(layerBitrates[l]) / 8 / 30
        let bytes = max(40, Int(average * (key ? 5 : Self.weights[tid]!)))
        if tid == 0 { tl0[l] &+= 1 }
        pictureID[l] = (pictureID[l] &+ 1) & 0x7FFF
        let count = (bytes + Self.maxPayload - 1) / Self.maxPayload
        let timestamp = RTPTimestamp(UInt32(truncatingIfNeeded: Int64(time.components.seconds) * 90_000
                                            + time.components.attoseconds / 11_111_111_111_111))
        var packets: [RTPPacket] = []
        for k in 0..<count {
            var p = video.packet(seq: sequence[l], layer: l)
            sequence[l] &+= 1
            let size = k == count - 1 ? bytes - Self.maxPayload * (count - 1) : Self.maxPayload
            var payload: [UInt8] = [k == 0 ? 0x90 : 0x80, 0xE0, 0x80 | UInt8(pictureID[l] >> 8), UInt8(pictureID[l] & 0xFF), tl0[l],
                                    tid << 6 | (tid > 0 ? 0x20 : 0)]
            if k == 0 {
                payload += key ? [0x00, 0x00, 0x00, 0x9D, 0x01, 0x2A] : [0x01, 0x00, 0x00]
            }
            payload += [UInt8](repeating: 0x5A, count: max(0, size - payload.count + 6))
            p.setPayload(ByteBuffer(bytes: payload))
            p.timestamp = timestamp
            p.marker = k == count - 1
            packets.append(p)
        }
        return packets
    }
}
