import Testing
import RTCBase

@Suite struct DatagramKindTests {
    @Test(arguments: [
        (UInt8(0x00), UInt8(0x01), DatagramKind.stun), (0x01, 0x01, .stun), (0x03, 0x00, .stun),
        (0x04, 0x00, .unknown), (0x0F, 0x00, .unknown),
        (0x10, 0x00, .zrtp), (0x13, 0x00, .zrtp),
        (0x14, 0xFE, .dtls), (0x16, 0xFE, .dtls), (0x17, 0xFE, .dtls), (0x3F, 0x00, .dtls),
        (0x40, 0x00, .turnChannel), (0x4F, 0x00, .turnChannel), (0x50, 0x00, .unknown),
        (0x7F, 0x00, .unknown),
        (0x80, 0x60, .rtp), (0x90, 0xE0, .rtp), (0x80, 0x6F, .rtp),
        (0x80, 0xBF, .rtp),   // PT 63 with marker
        (0x80, 0xC0, .rtcp),  // 192 FIR (historic)
        (0x81, 0xC8, .rtcp),  // 200 SR
        (0x81, 0xC9, .rtcp),  // 201 RR
        (0x8F, 0xCD, .rtcp),  // 205 RTPFB
        (0x81, 0xCE, .rtcp),  // 206 PSFB
        (0x80, 0xDF, .rtcp),  // 223
        (0x80, 0xE0, .rtp),   // PT 96 with marker
        (0xBF, 0xC8, .rtcp), (0xC0, 0xC8, .unknown), (0xFF, 0x00, .unknown),
    ])
    func classify(first: UInt8, second: UInt8, expected: DatagramKind) {
        #expect(DatagramKind.classify(firstByte: first, secondByte: second) == expected)
        #expect(DatagramKind.classify([first, second]) == expected)
    }

    @Test func emptyAndTruncated() {
        #expect(DatagramKind.classify([UInt8]()) == .unknown)
        #expect(DatagramKind.classify([UInt8(0x80)]) == .unknown)   // RTP/RTCP needs a second byte
        #expect(DatagramKind.classify([UInt8(0x00)]) == .stun)
    }
}
