import NIOCore
import RTP

/// Parses arbitrary bytes as RTP (full and header-only). Whatever parses must re-encode
/// byte-identically and re-parse equal; every getter runs, and every setter — including the
/// size-changing extension, padding and RTX operations — runs on a copy whose result must parse again.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: data == nil ? 0 : size))
    if let h = try? RTPPacket(parsingHeaderOf: bytes) {
        guard h.encoded() == bytes else { fatalError("header-only re-encoding differs") }
        _ = (h.payload, h.headerExtensions, h.extensionForm, h.csrcs)
    }
    guard let p = try? RTPPacket(parsing: bytes) else { return 0 }
    guard p.encoded() == bytes, (try? RTPPacket(parsing: p.encoded())) == p else { fatalError("round trip differs") }
    let map = RTPHeaderExtensionMap(RTPHeaderExtensionKind.allCases.enumerated().map { (uri: $0.element.rawValue, id: UInt8($0.offset + 1)) })
    _ = (p.mid(map), p.rid(map), p.repairedRID(map), p.absSendTime(map), p.transportSequenceNumber(map))
    _ = (p.audioLevel(map), p.videoOrientation(map), p.playoutDelay(map), p.absCaptureTime(map))
    var q = p
    q.sequenceNumber = RTPSequenceNumber(rawValue: q.sequenceNumber.rawValue &+ 1)
    q.timestamp = RTPTimestamp(rawValue: q.timestamp.rawValue &+ 3000)
    q.ssrc = .init(rawValue: 0x1234)
    q.payloadType = 100
    q.marker.toggle()
    let first = size > 0 ? data![0] : 0
    if case .other = q.extensionForm {} else {
        _ = try? q.setMID(MID(rawValue: "fuzz-\(first)"), map)
        _ = try? q.setTransportSequenceNumber(UInt16(first), map)
        _ = try? q.setHeaderExtension(id: first, value: [UInt8](repeating: first, count: Int(first % 20)))
        q.removeHeaderExtension(id: first &+ 1)
    }
    q.setPadding(first % 4)
    guard let r = try? RTPPacket(parsing: q.bytes), r == q else { fatalError("mutated packet does not parse back") }
    let rtx = r.rtxEncapsulated(ssrc: 0x5678, payloadType: 97, sequenceNumber: 7)
    guard let back = try? rtx.rtxDecapsulated(originalSSRC: r.ssrc, originalPayloadType: r.payloadType),
          back.payload == r.payload, back.sequenceNumber == r.sequenceNumber else { fatalError("RTX round trip") }
    return 0
}
