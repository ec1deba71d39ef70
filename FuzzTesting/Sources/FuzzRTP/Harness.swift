import NIOCore
import RTCBase
import RTP

/// Parses arbitrary bytes as RTP (full and header-only). Whatever parses must re-encode
/// byte-identically and re-parse equal; every getter runs, and every setter — including the
/// size-changing extension, padding and RTX operations — runs on a copy whose result must parse again
/// and read back what was written.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: data == nil ? 0 : size))
    if let h = try? RTPPacket(parsingHeaderOf: bytes) {
        guard h.encoded() == bytes else { fatalError("header-only re-encoding differs") }
        _ = (h.payload, h.headerExtensions, h.extensionForm, h.csrcs, h.isPaddingOnly, h.rtxOriginalSequenceNumber)
        var hq = h
        hq.sequenceNumber = 1
        _ = try? hq.setHeaderExtension(id: 3, value: [1, 2])
        guard (try? RTPPacket(parsingHeaderOf: hq.bytes)) == hq else { fatalError("header-only mutation does not parse back") }
    }
    guard let p = try? RTPPacket(parsing: bytes) else { return 0 }
    guard p.encoded() == bytes, (try? RTPPacket(parsing: p.encoded())) == p else { fatalError("round trip differs") }
    let map = RTPHeaderExtensionMap(RTPHeaderExtensionKind.allCases.enumerated().map { (uri: $0.element.rawValue, id: UInt8($0.offset + 1)) })
    _ = (p.mid(map), p.rid(map), p.repairedRID(map), p.absSendTime(map), p.transportSequenceNumber(map))
    _ = (p.audioLevel(map), p.videoOrientation(map), p.playoutDelay(map), p.absCaptureTime(map), p.transmissionTimeOffset(map))
    for e in p.headerExtensions { guard p.headerExtension(id: e.id) != nil else { fatalError("listed element not found") } }
    var q = p
    q.sequenceNumber = RTPSequenceNumber(rawValue: q.sequenceNumber.rawValue &+ 1)
    q.timestamp = RTPTimestamp(rawValue: q.timestamp.rawValue &+ 3000)
    q.ssrc = .init(rawValue: 0x1234)
    q.payloadType = 100
    q.marker.toggle()
    let first = size > 0 ? data![0] : 0
    if case .other = q.extensionForm {} else {
        if (try? q.setTransportSequenceNumber(UInt16(first), map)) == true,
           q.transportSequenceNumber(map) != UInt16(first) { fatalError("transport-cc does not read back") }
        if (try? q.setMID(MID(rawValue: "fuzz-\(first)"), map)) == true,
           q.mid(map) != MID(rawValue: "fuzz-\(first)") { fatalError("mid does not read back") }
        _ = try? q.setRID(RID(rawValue: String(repeating: "r", count: Int(first % 20))), map)
        _ = try? q.setAbsSendTime(UInt32(first) << 16, map)
        _ = try? q.setAudioLevel(RTPAudioLevel(voiceActivity: first & 1 == 1, level: first), map)
        _ = try? q.setVideoOrientation(RTPVideoOrientation(backFacingCamera: true, horizontalFlip: false, rotation: Int(first)), map)
        _ = try? q.setPlayoutDelay(RTPPlayoutDelay(minimum: UInt16(first), maximum: 4095), map)
        _ = try? q.setAbsCaptureTime(RTPAbsoluteCaptureTime(captureTime: NTPTimestamp(rawValue: UInt64(first)),
                                                           estimatedCaptureClockOffset: first & 1 == 1 ? -1 : nil), map)
        _ = try? q.setTransmissionTimeOffset(-Int32(first), map)
        let id = HeaderExtensionID(first)
        if (try? q.setHeaderExtension(id: id, value: [UInt8](repeating: first, count: Int(first % 20)))) != nil,
           q.headerExtension(id: id).map(\.readableBytes) != Int(first % 20) { fatalError("element does not read back") }
        q.removeHeaderExtension(id: HeaderExtensionID(first &+ 1))
        _ = q.removeHeaderExtension(.repairedRID, map)
        guard q.payload == p.payload else { fatalError("extension writes changed the payload") }
    }
    q.setPadding(first % 4)
    guard let r = try? RTPPacket(parsing: q.bytes), r == q else { fatalError("mutated packet does not parse back") }
    let rtx = r.rtxEncapsulated(ssrc: 0x5678, payloadType: 97, sequenceNumber: 7)
    guard let back = try? rtx.rtxDecapsulated(originalSSRC: r.ssrc, originalPayloadType: r.payloadType),
          back.payload == r.payload, back.sequenceNumber == r.sequenceNumber else { fatalError("RTX round trip") }
    return 0
}
