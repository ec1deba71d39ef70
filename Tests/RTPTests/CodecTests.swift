import NIOCore
import RTCTestSupport
import RTP
import Testing

@Suite struct VP8Tests {
    struct Row: Sendable, CustomTestStringConvertible {
        let name: String, hex: String
        let pictureID: UInt16?, tl0: UInt8?, tid: UInt8?, sync: Bool, keyIdx: UInt8?, length: Int, key: Bool, start: Bool
        var testDescription: String { name }
    }

    @Test(arguments: [
        Row(name: "minimal, key frame start", hex: "10" + "9c", pictureID: nil, tl0: nil, tid: nil, sync: false, keyIdx: nil, length: 1, key: true, start: true),
        Row(name: "minimal, inter frame", hex: "10" + "9d", pictureID: nil, tl0: nil, tid: nil, sync: false, keyIdx: nil, length: 1, key: false, start: true),
        Row(name: "continuation packet", hex: "00" + "9c", pictureID: nil, tl0: nil, tid: nil, sync: false, keyIdx: nil, length: 1, key: false, start: false),
        Row(name: "7-bit picture id", hex: "90" + "80" + "7f" + "9c", pictureID: 127, tl0: nil, tid: nil, sync: false, keyIdx: nil, length: 3, key: true, start: true),
        Row(name: "15-bit picture id, tl0, tid/y/keyidx (Chromium)", hex: "90" + "f0" + "8123" + "05" + "a7" + "9d",
            pictureID: 0x0123, tl0: 5, tid: 2, sync: true, keyIdx: 7, length: 6, key: false, start: true),
        Row(name: "K only", hex: "90" + "10" + "1f" + "9c", pictureID: nil, tl0: nil, tid: nil, sync: false, keyIdx: 31, length: 3, key: true, start: true),
        Row(name: "partition 1 start is not a key frame", hex: "11" + "9c", pictureID: nil, tl0: nil, tid: nil, sync: false, keyIdx: nil, length: 1, key: false, start: true),
        // Real Chromium VP8 payloads from Captures/chromium-aiortc-av/chromium-aiortc-av.plain.pcap (first bytes):
        // frame 10 (seq 6339) starts a key frame (payload header 0x50: P = 0, then the 9d 01 2a start code),
        Row(name: "capture frame 10: key frame start", hex: "9080abe2" + "5039009d012a4001", pictureID: 0x2BE2, tl0: nil, tid: nil, sync: false, keyIdx: nil, length: 4, key: true, start: true),
        // frame 11 (seq 6340) continues it,
        Row(name: "capture frame 11: continuation", hex: "8080abe2" + "60bd21b5e2173599", pictureID: 0x2BE2, tl0: nil, tid: nil, sync: false, keyIdx: nil, length: 4, key: false, start: false),
        // frame 20 (seq 6341) starts the next, inter frame (payload header 0xb1: P = 1).
        Row(name: "capture frame 20: inter frame start", hex: "9080abe3" + "b10700e4718fb893", pictureID: 0x2BE3, tl0: nil, tid: nil, sync: false, keyIdx: nil, length: 4, key: false, start: true),
        Row(name: "X set, no optional fields", hex: "90" + "00" + "9c", pictureID: nil, tl0: nil, tid: nil, sync: false, keyIdx: nil, length: 2, key: true, start: true),
        Row(name: "descriptor only (no VP8 payload byte)", hex: "10", pictureID: nil, tl0: nil, tid: nil, sync: false, keyIdx: nil, length: 1, key: false, start: true),
    ])
    func descriptor(_ row: Row) throws {
        let d = try VP8PayloadDescriptor(parsing: ByteBuffer(hex: row.hex))
        #expect(d.pictureID == row.pictureID)
        #expect(d.tl0PicIdx == row.tl0)
        #expect(d.temporalLayer == row.tid)
        #expect(d.layerSync == row.sync)
        #expect(d.keyIndex == row.keyIdx)
        #expect(d.length == row.length)
        #expect(d.isKeyFrame == row.key)
        #expect(d.startOfPartition == row.start)
    }

    @Test(arguments: ["", "80", "90" + "80", "90" + "c0" + "81", "90" + "40", "90" + "20"])
    func truncated(_ hex: String) {
        #expect(throws: RTPCodecError.self) { try VP8PayloadDescriptor(parsing: ByteBuffer(hex: hex)) }
    }

    @Test func rewritePictureIDAndTL0() throws {
        var p = RTPPacket(payloadType: 96, sequenceNumber: 1, timestamp: 2, ssrc: 3, payload: ByteBuffer(hex: "90" + "c0" + "8123" + "05" + "9d0102"))
        let d = try VP8PayloadDescriptor(parsing: p.payload)
        d.rewrite(pictureID: 0x7FFF, in: &p)
        d.rewrite(tl0PicIdx: 0xEE, in: &p)
        #expect(p.payload == ByteBuffer(hex: "90" + "c0" + "ffff" + "ee" + "9d0102"))
        let e = try VP8PayloadDescriptor(parsing: p.payload)
        #expect(e.pictureID == 0x7FFF && e.tl0PicIdx == 0xEE)
        var short = RTPPacket(payloadType: 96, sequenceNumber: 1, timestamp: 2, ssrc: 3, payload: ByteBuffer(hex: "90" + "80" + "05" + "9c"))
        try VP8PayloadDescriptor(parsing: short.payload).rewrite(pictureID: 0x1234, in: &short)
        #expect(short.payload == ByteBuffer(hex: "90" + "80" + "34" + "9c"))   // 7-bit field keeps its form
    }

    @Test func rewriteWithoutFieldsOrOutsideThePacketChangesNothing() throws {
        var p = RTPPacket(payloadType: 96, sequenceNumber: 1, timestamp: 2, ssrc: 3, payload: ByteBuffer(hex: "10" + "9c"))
        let d = try VP8PayloadDescriptor(parsing: p.payload)
        #expect(!d.rewrite(pictureID: 5, in: &p))
        #expect(!d.rewrite(tl0PicIdx: 5, in: &p))
        // A descriptor parsed from a longer payload applied to a shorter packet: refused, no trap.
        let long = try VP8PayloadDescriptor(parsing: ByteBuffer(hex: "90" + "c0" + "8123" + "05" + "9d"))
        var tiny = RTPPacket(payloadType: 96, sequenceNumber: 1, timestamp: 2, ssrc: 3, payload: ByteBuffer(hex: "9080"))
        #expect(!long.rewrite(pictureID: 1, in: &tiny) && !long.rewrite(tl0PicIdx: 1, in: &tiny))
        #expect(tiny.payload == ByteBuffer(hex: "9080"))
    }

    /// The 15-bit field keeps the M bit and the low 15 bits of the new value.
    @Test func fifteenBitRewriteMasks() throws {
        var p = RTPPacket(payloadType: 96, sequenceNumber: 1, timestamp: 2, ssrc: 3, payload: ByteBuffer(hex: "9080abe2" + "50"))
        #expect(try VP8PayloadDescriptor(parsing: p.payload).rewrite(pictureID: 0x8001, in: &p))
        #expect(p.payload == ByteBuffer(hex: "90808001" + "50"))
        #expect(try VP8PayloadDescriptor(parsing: p.payload).pictureID == 1)
    }
}

@Suite struct VP9Tests {
    @Test func nonFlexibleKeyFrameWithScalabilityStructure() throws {
        // I=1 P=0 L=1 F=0 B=1 E=0 V=1 Z=0 | M=1 pid 0x0102 | TID=0 U=0 SID=0 D=0 | TL0=9 |
        // SS: N_S=0 (1 layer) Y=1 G=1 | 640x480 | N_G=1 | TID=0 U=0 R=1 | P_DIFF=1
        let hex = "aa" + "8102" + "00" + "09" + "18" + "028001e0" + "01" + "04" + "01" + "ff"
        let d = try VP9PayloadDescriptor(parsing: ByteBuffer(hex: hex))
        #expect(d.pictureID == 0x0102 && d.pictureIDIs15Bit)
        #expect(d.temporalLayer == 0 && d.spatialLayer == 0 && d.tl0PicIdx == 9)
        #expect(d.hasScalabilityStructure && d.spatialLayerCount == 1)
        #expect(d.isKeyFrame)
        #expect(d.length == 13)
    }

    @Test func flexibleInterFrame() throws {
        // I=1 P=1 L=1 F=1 B=1 E=1 V=0 Z=0 | pid 5 | TID=2 U=1 SID=1 D=1 | P_DIFF 1 N=1, P_DIFF 2 N=0
        let d = try VP9PayloadDescriptor(parsing: ByteBuffer(hex: "fc" + "05" + "53" + "03" + "04" + "ff"))
        #expect(d.pictureID == 5 && !d.pictureIDIs15Bit)
        #expect(d.temporalLayer == 2 && d.switchingUpPoint && d.spatialLayer == 1 && d.interLayerDependency)
        #expect(d.tl0PicIdx == nil)
        #expect(d.pDiffs == [1, 2])
        #expect(!d.isKeyFrame)
        #expect(d.length == 5)
    }

    @Test func threeSpatialLayersWithResolutionsNoPictureGroup() throws {
        // I=0 P=0 L=1 F=0 B=1 E=0 V=1 Z=0 | TID=0 U=0 SID=0 D=0 | TL0=0 |
        // SS: N_S=2 (3 layers) Y=1 G=0 | 320x180 640x360 1280x720 | then VP9 payload
        let hex = "2a" + "00" + "00" + "50" + "014000b4" + "02800168" + "050002d0" + "82"
        let d = try VP9PayloadDescriptor(parsing: ByteBuffer(hex: hex))
        #expect(d.pictureID == nil && d.pictureIDOffset == nil)
        #expect(d.spatialLayerCount == 3)
        #expect(d.length == 16)
        #expect(d.isKeyFrame)
    }

    @Test func flexibleModeThreeReferences() throws {
        // I=1 P=1 L=0 F=1 B=0 E=1 V=0 Z=1 | M=1 pid 0x7fff | P_DIFF 1 N=1, 2 N=1, 127 N=0
        let d = try VP9PayloadDescriptor(parsing: ByteBuffer(hex: "d5" + "ffff" + "03" + "05" + "fe" + "00"))
        #expect(d.pictureID == 0x7FFF && d.pictureIDIs15Bit && d.pictureIDOffset == 1)
        #expect(d.pDiffs == [1, 2, 127] && d.pDiffCount == 3)
        #expect(d.temporalLayer == nil && d.spatialLayer == nil && !d.beginningOfFrame && d.endOfFrame && d.notUpsampled)
        #expect(!d.isKeyFrame)
        #expect(d.length == 6)
    }

    @Test func nonFlexibleInterFrameHasNoPDiffs() throws {
        // I=1 P=1 L=1 F=0 B=1 E=1 | pid 3 | TID=1 U=0 SID=0 D=0 | TL0=7; the 0x01 after it is payload, not a P_DIFF
        let d = try VP9PayloadDescriptor(parsing: ByteBuffer(hex: "ec" + "03" + "20" + "07" + "01"))
        #expect(d.pDiffs.isEmpty && d.tl0PicIdx == 7 && d.temporalLayer == 1 && d.length == 4 && !d.isKeyFrame)
    }

    @Test func upperSpatialLayerOfKeyPictureIsNotAKeyFrameStart() throws {
        // P=0 B=1 but SID=1
        #expect(try !VP9PayloadDescriptor(parsing: ByteBuffer(hex: "28" + "02" + "00" + "ff")).isKeyFrame)
    }

    @Test(arguments: ["", "80", "a0", "a0" + "00", "f0" + "05" + "00" + "03" + "03" + "03", "02" + "10" + "0000", "02" + "08",
                      "c0" + "81",                              // 15-bit picture id cut
                      "50" + "01",                              // P_DIFF with N=1 and nothing after
                      "02" + "50" + "0102030405060708" + "01",   // 3 layers with Y: 12 bytes of sizes needed, 8 given
                      "02" + "08" + "02" + "0c" + "01"])          // G: an entry's 3 P_DIFFs cut
    func malformed(_ hex: String) {
        #expect(throws: RTPCodecError.self) { try VP9PayloadDescriptor(parsing: ByteBuffer(hex: hex)) }
    }

    @Test func truncationAtEveryOffset() throws {
        let full = ByteBuffer(hex: "aa" + "8102" + "00" + "09" + "18" + "028001e0" + "01" + "04" + "01")
        #expect(try VP9PayloadDescriptor(parsing: full).length == full.readableBytes)
        for cut in 0..<full.readableBytes {
            #expect(throws: RTPCodecError.self) { try VP9PayloadDescriptor(parsing: full.getSlice(at: 0, length: cut)!) }
        }
    }
}

@Suite struct H264Tests {
    @Test(arguments: [
        ("65" + "8884", H264Payload.Packetization.single(nalType: 5), true, false, true),
        ("41" + "9a00", .single(nalType: 1), false, false, false),
        ("67" + "42c01f", .single(nalType: 7), false, true, true),
        // STAP-A: SPS (3 bytes), PPS (2 bytes), IDR (2 bytes)
        ("78" + "0003" + "6742c0" + "0002" + "68ce" + "0002" + "6588", .stapA(nalTypes: [7, 8, 5]), true, true, true),
        // FU-A start of an IDR, middle, end
        ("7c" + "85" + "aabb", .fuA(nalType: 5, start: true, end: false), true, false, true),
        ("7c" + "05" + "aabb", .fuA(nalType: 5, start: false, end: false), false, false, false),
        ("7c" + "45" + "aabb", .fuA(nalType: 5, start: false, end: true), false, false, false),
        ("7c" + "81" + "aabb", .fuA(nalType: 1, start: true, end: false), false, false, false),
        ("79" + "0000", .other(type: 25), false, false, false),
    ])
    func payloads(_ hex: String, _ kind: H264Payload.Packetization, _ idr: Bool, _ sps: Bool, _ key: Bool) throws {
        let p = try H264Payload(parsing: ByteBuffer(hex: hex))
        #expect(p.packetization == kind)
        #expect(p.containsIDR == idr && p.containsSPS == sps && p.isKeyFrame == key)
    }

    @Test(arguments: ["", "e5", "78" + "00", "78" + "0005" + "6742", "78" + "0000", "7c",
                      "78"])                                     // STAP-A without aggregation units
    func malformed(_ hex: String) {
        #expect(throws: RTPCodecError.self) { try H264Payload(parsing: ByteBuffer(hex: hex)) }
    }
}

@Suite struct OpusTests {
    @Test(arguments: [("", true, nil as UInt8?), ("78", true, 15), ("7801", true, 15), ("fc0102", false, 31), ("7c" + String(repeating: "ab", count: 60), false, 15)])
    func dtxAndTOC(_ hex: String, _ dtx: Bool, _ config: UInt8?) {
        let o = OpusPayload(parsing: ByteBuffer(hex: hex))
        #expect(o.isDTX == dtx)
        #expect(o.config == config)
    }

    @Test func tocBits() {
        let o = OpusPayload(parsing: ByteBuffer(hex: "7f0000"))   // config 15, stereo, code 3
        #expect(o.config == 15 && o.stereo && o.frameCountCode == 3)
    }
}
