import Foundation
import NIOCore
import PacketCapture
import RTCTestSupport
import Testing

@Suite struct RoundTripTests {
    @Test(arguments: LinkType.supported, [PCAPTimestampPrecision.microseconds, .nanoseconds])
    func writerThenReader(_ link: LinkType, _ precision: PCAPTimestampPrecision) throws {
        let path = temporaryPath("rt-\(link).pcap")
        let w = try PCAPWriter(path: path, linkType: link, precision: precision)
        let t0: Int64 = 1_764_000_000_987_654_321
        let allowV4 = link != .ipv6, allowV6 = link != .ipv4
        var expected: [CapturedTransport] = []
        if allowV4 {
            try w.writeUDP(payload: rtpPayload(seq: 1), fiveTuple: udp4, timestampNanos: t0)
            expected.append(.udp(UDPDatagram(fiveTuple: udp4, payload: rtpPayload(seq: 1))))
            try w.writeTCP(payload: ByteBuffer(string: "abc"), fiveTuple: tcp4, sequenceNumber: 5, acknowledgmentNumber: 6,
                           flags: [.ack, .psh, .ece], window: 100, timestampNanos: t0 + 1)
            expected.append(.tcp(TCPSegment(fiveTuple: tcp4, sequenceNumber: 5, acknowledgmentNumber: 6, flags: [.ack, .psh, .ece],
                                            window: 100, payload: ByteBuffer(string: "abc"))))
        }
        if allowV6 {
            try w.writeUDP(payload: ByteBuffer(), fiveTuple: udp6, timestampNanos: t0 + 2)
            expected.append(.udp(UDPDatagram(fiveTuple: udp6, payload: ByteBuffer())))
            try w.writeTCP(payload: rtpPayload(seq: 9, size: 1000), fiveTuple: tcp6, sequenceNumber: .max, flags: [.syn],
                           timestampNanos: t0 + 3)
            expected.append(.tcp(TCPSegment(fiveTuple: tcp6, sequenceNumber: .max, acknowledgmentNumber: 0, flags: [.syn],
                                            payload: rtpPayload(seq: 9, size: 1000))))
        }
        w.close()
        #expect(throws: PacketCaptureError.self) { try w.writeUDP(payload: ByteBuffer(), fiveTuple: udp4, timestampNanos: 0) }

        let frames = try PCAPReader.readAll(path: path)
        #expect(frames.count == expected.count)
        for (i, (f, e)) in zip(frames, expected).enumerated() {
            #expect(f.number == i + 1)
            #expect(f.linkType == link)
            let exact = t0 + Int64(allowV4 ? i : i + 2)
            #expect(f.timestampNanos == (precision == .nanoseconds ? exact : exact / 1000 * 1000))
            switch (f.transport, e) {
            case (.udp(let got), .udp(let want)):
                #expect(got.fiveTuple == want.fiveTuple && got.payload == want.payload)
                #expect(got.checksum != 0)
            case (.tcp(let got), .tcp(let want)):
                #expect(got.fiveTuple == want.fiveTuple && got.payload == want.payload)
                #expect(got.sequenceNumber == want.sequenceNumber && got.acknowledgmentNumber == want.acknowledgmentNumber)
                #expect(got.flags == want.flags && got.window == want.window && got.options.readableBytes == 0)
            default:
                Issue.record("frame \(i + 1): got \(f.transport), want \(e)")
            }
        }
    }

    @Test func checksumsVerify() throws {
        let ip = try PacketSynthesis.udpPacket(payload: rtpPayload(seq: 3, size: 13), fiveTuple: udp4)
        // A header including its checksum sums to zero.
        #expect(PacketSynthesis.ipv4HeaderChecksum(ip.getSlice(at: 0, length: 20)!) == 0)
        // Known vector: RFC 1071-style example header (Wikipedia's IPv4 checksum example) -> 0xB861.
        let header = try ByteBuffer(hex: "4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7")
        #expect(PacketSynthesis.ipv4HeaderChecksum(header) == 0xB861)
        for tuple in [udp4, udp6] {
            let p = try PacketSynthesis.udpPacket(payload: rtpPayload(seq: 1, size: 7), fiveTuple: tuple)
            let hl = tuple.source.version == 4 ? 20 : 40
            let seg = p.getSlice(at: hl, length: p.readableBytes - hl)!
            #expect(PacketSynthesis.checksum(seg, pseudoHeader: tuple, protocolNumber: 17) == 0)
        }
        let t = try PacketSynthesis.tcpPacket(payload: ByteBuffer(string: "x"), fiveTuple: tcp6, sequenceNumber: 1,
                                              acknowledgmentNumber: 2, flags: .ack)
        #expect(PacketSynthesis.checksum(t.getSlice(at: 40, length: t.readableBytes - 40)!, pseudoHeader: tcp6, protocolNumber: 6) == 0)
    }

    @Test func mixedVersionsAndWrongLinkAreRejected() throws {
        let mixed = FiveTuple(source: v4a, sourcePort: 1, destination: v6a, destinationPort: 2, proto: .udp)
        #expect(throws: PacketCaptureError.self) { try PacketSynthesis.udpPacket(payload: ByteBuffer(), fiveTuple: mixed) }
        let v6packet = try PacketSynthesis.udpPacket(payload: ByteBuffer(), fiveTuple: udp6)
        #expect(throws: PacketCaptureError.self) { try PacketSynthesis.frame(v6packet, linkType: .ipv4) }
        #expect(throws: PacketCaptureError.unsupportedLinkType(147)) {
            try PCAPWriter(path: temporaryPath("x.pcap"), linkType: LinkType(rawValue: 147))
        }
    }
}
