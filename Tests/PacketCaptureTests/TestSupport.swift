import Foundation
import NIOCore
import PacketCapture
import RTCTestSupport

/// Directory holding the committed fixtures.
let fixturesDirectory: String = URL(fileURLWithPath: "\(#filePath)").deletingLastPathComponent()
    .appendingPathComponent("Fixtures").path

/// Every committed fixture capture.
let fixtureCaptures: [CaptureFile] = CaptureCorpus.captures(in: fixturesDirectory)

/// A fresh temporary file path.
func temporaryPath(_ name: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pcap-tests-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent(name).path
}

/// Parses tshark's `frame.time_epoch` ("1795592094.911723000") into nanoseconds.
func epochNanos(_ text: String) -> UInt64? {
    let parts = text.split(separator: ".")
    guard parts.count == 2, let s = UInt64(parts[0]), parts[1].count <= 9 else { return nil }
    guard let f = UInt64(parts[1] + String(repeating: "0", count: 9 - parts[1].count)) else { return nil }
    return s * 1_000_000_000 + f
}

func bytes(_ b: ByteBuffer) -> [UInt8] { Array(b.readableBytesView) }

let v4a = IPAddress("10.0.0.1")!
let v4b = IPAddress("192.168.1.20")!
let v6a = IPAddress("2001:db8::1")!
let v6b = IPAddress("fe80::1:2")!
let udp4 = FiveTuple(source: v4a, sourcePort: 40000, destination: v4b, destinationPort: 5004, transport: .udp)
let udp6 = FiveTuple(source: v6a, sourcePort: 40001, destination: v6b, destinationPort: 5006, transport: .udp)
let tcp4 = FiveTuple(source: v4a, sourcePort: 50000, destination: v4b, destinationPort: 443, transport: .tcp)
let tcp6 = FiveTuple(source: v6a, sourcePort: 50001, destination: v6b, destinationPort: 8443, transport: .tcp)

/// A minimal RTP packet (version 2, PT 96) with the given sequence number.
func rtpPayload(seq: UInt16, ssrc: UInt32 = 0x1234_ABCD, size: Int = 20) -> ByteBuffer {
    var b = ByteBuffer()
    b.writeInteger(UInt8(0x80)); b.writeInteger(UInt8(96)); b.writeInteger(seq)
    b.writeInteger(UInt32(seq) &* 960); b.writeInteger(ssrc)
    b.writeRepeatingByte(UInt8(truncatingIfNeeded: seq), count: size)
    return b
}

/// An IP packet (no link header) carrying `payload` over UDP or TCP per the tuple.
func ipPacket(_ payload: ByteBuffer, _ tuple: FiveTuple) -> ByteBuffer {
    PacketSynthesizer.frame(linkType: .raw, fiveTuple: tuple, payload: payload)
}
