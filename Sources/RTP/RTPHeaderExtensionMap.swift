import NIOCore
import RTCBase

/// The header extensions this module interprets, by the URIs negotiated in SDP `a=extmap` lines and
/// mediasoup(-client) `rtpParameters.headerExtensions` (the URIs are spelled exactly as there).
public enum RTPHeaderExtensionKind: String, Hashable, Sendable, CaseIterable {
    /// RFC 8843 §15.2: the media section's `mid`, as text.
    case mid = "urn:ietf:params:rtp-hdrext:sdes:mid"
    /// RFC 8852 §3.1: the simulcast stream's `rid`, as text.
    case rid = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
    /// RFC 8852 §3.2: the `rid` of the stream an RTX packet repairs.
    case repairedRID = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
    /// Absolute send time, 24-bit 6.18 fixed-point seconds (webrtc.org experimental extension).
    case absSendTime = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
    /// Transport-wide sequence number (draft-holmer-rmcat-transport-wide-cc-extensions-01 §2).
    case transportWideCC = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
    /// RFC 6464: client-to-mixer audio level with voice activity flag.
    case audioLevel = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
    /// 3GPP TS 26.114 §7.4.5: coordination of video orientation (CVO).
    case videoOrientation = "urn:3gpp:video-orientation"
    /// Playout delay limits (webrtc.org experimental extension).
    case playoutDelay = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"
    /// Absolute capture time (webrtc.org experimental extension).
    case absCaptureTime = "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time"
    /// RFC 5450: transmission time offset, 24-bit signed, in RTP timestamp units.
    case timeOffset = "urn:ietf:params:rtp-hdrext:toffset"

    /// Position in ``RTPHeaderExtensionMap``'s table (a switch, so no array is built per lookup).
    @usableFromInline var slot: Int {
        switch self {
        case .mid: 0
        case .rid: 1
        case .repairedRID: 2
        case .absSendTime: 3
        case .transportWideCC: 4
        case .audioLevel: 5
        case .videoOrientation: 6
        case .playoutDelay: 7
        case .absCaptureTime: 8
        case .timeOffset: 9
        }
    }
}

/// Which local id each extension has on a stream, as negotiated (`a=extmap` / mediasoup
/// `rtpParameters.headerExtensions`). Unknown URIs are ignored. Build one per negotiated stream (or
/// transport) and pass it to the typed accessors; a lookup is an array index, no hashing.
public struct RTPHeaderExtensionMap: Hashable, Sendable {
    @usableFromInline var ids: [HeaderExtensionID?] = Array(repeating: nil, count: 10)

    /// An empty map: every typed accessor returns nil and every typed setter returns false.
    public init() {}

    /// A map from negotiated (URI, id) pairs.
    public init<S: Sequence>(_ pairs: S) where S.Element == (uri: String, id: HeaderExtensionID) {
        for (uri, id) in pairs { if let kind = RTPHeaderExtensionKind(rawValue: uri) { self[kind] = id } }
    }

    /// A map from negotiated (URI, id) pairs with plain integer ids.
    public init<S: Sequence>(_ pairs: S) where S.Element == (uri: String, id: UInt8) {
        for (uri, id) in pairs { if let kind = RTPHeaderExtensionKind(rawValue: uri) { self[kind] = HeaderExtensionID(id) } }
    }

    /// The id negotiated for `kind`.
    @inlinable public subscript(kind: RTPHeaderExtensionKind) -> HeaderExtensionID? {
        get { ids[kind.slot] }
        set { ids[kind.slot] = newValue }
    }

    /// The kind whose id is `id`.
    public func kind(of id: HeaderExtensionID) -> RTPHeaderExtensionKind? {
        for kind in RTPHeaderExtensionKind.allCases where self[kind] == id { return kind }
        return nil
    }
}

/// ssrc-audio-level (RFC 6464 §3): voice activity flag and level in -dBov (0 loudest, 127 silence).
///
/// ```
///  0                   1
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  ID   | len=0 |V| level       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
public struct RTPAudioLevel: Hashable, Sendable {
    /// V: the encoder believes the audio contains voice.
    public var voiceActivity: Bool
    /// Level in -dBov, 0–127 (higher bits are dropped).
    public var level: UInt8
    /// An audio level; `level` keeps its low 7 bits.
    public init(voiceActivity: Bool, level: UInt8) {
        self.voiceActivity = voiceActivity
        self.level = level & 0x7F
    }
}

/// Coordination of video orientation (3GPP TS 26.114 §7.4.5): camera, flip and rotation.
///
/// ```
///  0 1 2 3 4 5 6 7
/// +-+-+-+-+-+-+-+-+
/// |0 0 0 0|C|F|R R|   C: back-facing camera, F: horizontal flip, RR: rotation / 90°
/// +-+-+-+-+-+-+-+-+
/// ```
public struct RTPVideoOrientation: Hashable, Sendable {
    /// C: the back-facing camera captured the frame.
    public var backFacingCamera: Bool
    /// F: the frame is flipped horizontally.
    public var horizontalFlip: Bool
    /// Rotation in degrees: 0, 90, 180 or 270.
    public var rotation: Int
    /// An orientation; `rotation` is reduced modulo 360 and rounded down to a multiple of 90.
    public init(backFacingCamera: Bool, horizontalFlip: Bool, rotation: Int) {
        self.backFacingCamera = backFacingCamera
        self.horizontalFlip = horizontalFlip
        self.rotation = ((rotation % 360 + 360) % 360) / 90 * 90
    }
    /// The wire byte.
    var wireByte: UInt8 {
        (backFacingCamera ? 0x08 : 0) | (horizontalFlip ? 0x04 : 0) | UInt8(truncatingIfNeeded: rotation / 90) & 0x03
    }
}

/// playout-delay: minimum and maximum playout delay in units of 10 ms, 12 bits each.
///
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  ID   | len=2 |       MIN delay       |       MAX delay       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
public struct RTPPlayoutDelay: Hashable, Sendable {
    /// Minimum delay in 10 ms units (0–4095).
    public var minimum: UInt16
    /// Maximum delay in 10 ms units (0–4095).
    public var maximum: UInt16
    /// Delay limits; each keeps its low 12 bits.
    public init(minimum: UInt16, maximum: UInt16) {
        self.minimum = minimum & 0x0FFF
        self.maximum = maximum & 0x0FFF
    }
}

/// abs-capture-time: the NTP capture time of the frame and optionally the sender's estimate of the
/// offset between its clock and the capturer's (signed Q32.32 seconds).
///
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  ID   | len=7 or 15   |   absolute capture timestamp (64-bit NTP, Q32.32) ...
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  ...          |   estimated capture clock offset (signed Q32.32), only when len=15 ...
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
public struct RTPAbsoluteCaptureTime: Hashable, Sendable {
    /// NTP time at which the first sample of the frame was captured.
    public var captureTime: NTPTimestamp
    /// Capturer's clock minus sender's clock, signed Q32.32 seconds, when known.
    public var estimatedCaptureClockOffset: Int64?
    /// A capture time with an optional clock offset.
    public init(captureTime: NTPTimestamp, estimatedCaptureClockOffset: Int64?) {
        self.captureTime = captureTime
        self.estimatedCaptureClockOffset = estimatedCaptureClockOffset
    }
}

extension RTPPacket {
    func value(_ kind: RTPHeaderExtensionKind, _ map: RTPHeaderExtensionMap) -> ByteBuffer? {
        guard let id = map[kind] else { return nil }
        return headerExtension(id: id)
    }

    func text(_ kind: RTPHeaderExtensionKind, _ map: RTPHeaderExtensionMap) -> String? {
        guard let v = value(kind, map) else { return nil }
        // Values may be zero-padded by some senders; the text ends at the first NUL.
        let bytes = v.readableBytesView.prefix { $0 != 0 }
        return String(validating: bytes, as: UTF8.self)
    }

    /// Big-endian unsigned value of a `width`-byte element.
    func unsigned(_ kind: RTPHeaderExtensionKind, _ map: RTPHeaderExtensionMap, width: Int) -> UInt64? {
        guard let v = value(kind, map), v.readableBytes == width else { return nil }
        return v.readableBytesView.reduce(0) { $0 << 8 | UInt64($1) }
    }

    // MARK: Readers

    /// sdes:mid (RFC 8843), nil when not negotiated, absent or not UTF-8.
    public func mid(_ map: RTPHeaderExtensionMap) -> MID? { text(.mid, map).map(MID.init(rawValue:)) }
    /// rtp-stream-id (RFC 8852), nil when not negotiated, absent or not UTF-8.
    public func rid(_ map: RTPHeaderExtensionMap) -> RID? { text(.rid, map).map(RID.init(rawValue:)) }
    /// repaired-rtp-stream-id (RFC 8852), on RTX packets.
    public func repairedRID(_ map: RTPHeaderExtensionMap) -> RID? { text(.repairedRID, map).map(RID.init(rawValue:)) }

    /// abs-send-time: 24-bit 6.18 fixed-point seconds (nil unless exactly 3 bytes).
    public func absSendTime(_ map: RTPHeaderExtensionMap) -> UInt32? {
        unsigned(.absSendTime, map, width: 3).map { UInt32(truncatingIfNeeded: $0) }
    }

    /// Transport-wide sequence number (draft-holmer-rmcat-transport-wide-cc-extensions-01 §2): the first
    /// two bytes (version 2 of the extension appends feedback-request bytes, which are ignored).
    public func transportSequenceNumber(_ map: RTPHeaderExtensionMap) -> UInt16? {
        guard let v = value(.transportWideCC, map), v.readableBytes >= 2 else { return nil }
        return v.getInteger(at: v.readerIndex, as: UInt16.self)
    }

    /// ssrc-audio-level (RFC 6464). Only the first byte is read (some senders pad it to more).
    public func audioLevel(_ map: RTPHeaderExtensionMap) -> RTPAudioLevel? {
        guard let v = value(.audioLevel, map), let b = v.getInteger(at: v.readerIndex, as: UInt8.self) else { return nil }
        return RTPAudioLevel(voiceActivity: b & 0x80 != 0, level: b & 0x7F)
    }

    /// urn:3gpp:video-orientation.
    public func videoOrientation(_ map: RTPHeaderExtensionMap) -> RTPVideoOrientation? {
        guard let v = value(.videoOrientation, map), let b = v.getInteger(at: v.readerIndex, as: UInt8.self) else { return nil }
        return RTPVideoOrientation(backFacingCamera: b & 0x08 != 0, horizontalFlip: b & 0x04 != 0, rotation: Int(b & 0x03) * 90)
    }

    /// playout-delay (nil unless exactly 3 bytes).
    public func playoutDelay(_ map: RTPHeaderExtensionMap) -> RTPPlayoutDelay? {
        guard let x = unsigned(.playoutDelay, map, width: 3) else { return nil }
        return RTPPlayoutDelay(minimum: UInt16(truncatingIfNeeded: x >> 12), maximum: UInt16(truncatingIfNeeded: x & 0x0FFF))
    }

    /// abs-capture-time (nil unless 8 bytes, or 16 with the clock offset).
    public func absCaptureTime(_ map: RTPHeaderExtensionMap) -> RTPAbsoluteCaptureTime? {
        guard let v = value(.absCaptureTime, map), v.readableBytes == 8 || v.readableBytes == 16,
              let t = v.getInteger(at: v.readerIndex, as: UInt64.self) else { return nil }
        let offset = v.readableBytes == 16 ? v.getInteger(at: v.readerIndex + 8, as: Int64.self) : nil
        return RTPAbsoluteCaptureTime(captureTime: NTPTimestamp(rawValue: t), estimatedCaptureClockOffset: offset)
    }

    /// toffset (RFC 5450): signed 24-bit offset in RTP timestamp units (nil unless exactly 3 bytes).
    public func transmissionTimeOffset(_ map: RTPHeaderExtensionMap) -> Int32? {
        guard let x = unsigned(.timeOffset, map, width: 3) else { return nil }
        return Int32(truncatingIfNeeded: UInt32(truncatingIfNeeded: x) << 8) >> 8
    }

    // MARK: Writers
    //
    // Each writer returns false (and changes nothing) when the map has no id for its extension. When
    // the element already exists with the same length it is overwritten in place (no allocation);
    // otherwise it is added or resized through ``setHeaderExtension(id:value:)``.

    /// Sets sdes:mid.
    @discardableResult
    public mutating func setMID(_ mid: MID, _ map: RTPHeaderExtensionMap) throws(RTPExtensionError) -> Bool {
        guard let id = map[.mid] else { return false }
        try setHeaderExtension(id: id, value: mid.rawValue.utf8)
        return true
    }

    /// Sets rtp-stream-id.
    @discardableResult
    public mutating func setRID(_ rid: RID, _ map: RTPHeaderExtensionMap) throws(RTPExtensionError) -> Bool {
        guard let id = map[.rid] else { return false }
        try setHeaderExtension(id: id, value: rid.rawValue.utf8)
        return true
    }

    /// Sets repaired-rtp-stream-id.
    @discardableResult
    public mutating func setRepairedRID(_ rid: RID, _ map: RTPHeaderExtensionMap) throws(RTPExtensionError) -> Bool {
        guard let id = map[.repairedRID] else { return false }
        try setHeaderExtension(id: id, value: rid.rawValue.utf8)
        return true
    }

    /// Sets the transport-wide sequence number (2 bytes).
    @discardableResult
    public mutating func setTransportSequenceNumber(_ seq: UInt16, _ map: RTPHeaderExtensionMap) throws(RTPExtensionError) -> Bool {
        guard let id = map[.transportWideCC] else { return false }
        if overwriteElement(id: id, length: 2, { b, offset in b.setInteger(seq, at: offset) }) { return true }
        try setHeaderExtension(id: id, value: [UInt8(seq >> 8), UInt8(truncatingIfNeeded: seq)])
        return true
    }

    /// Sets abs-send-time (the low 24 bits of `value`).
    @discardableResult
    public mutating func setAbsSendTime(_ value: UInt32, _ map: RTPHeaderExtensionMap) throws(RTPExtensionError) -> Bool {
        guard let id = map[.absSendTime] else { return false }
        try setUnsigned24(id: id, value)
        return true
    }

    /// Sets ssrc-audio-level (1 byte).
    @discardableResult
    public mutating func setAudioLevel(_ level: RTPAudioLevel, _ map: RTPHeaderExtensionMap) throws(RTPExtensionError) -> Bool {
        guard let id = map[.audioLevel] else { return false }
        let byte = (level.voiceActivity ? 0x80 : 0) | (level.level & 0x7F)
        try setHeaderExtension(id: id, value: CollectionOfOne(byte))
        return true
    }

    /// Sets urn:3gpp:video-orientation (1 byte).
    @discardableResult
    public mutating func setVideoOrientation(_ orientation: RTPVideoOrientation, _ map: RTPHeaderExtensionMap) throws(RTPExtensionError) -> Bool {
        guard let id = map[.videoOrientation] else { return false }
        try setHeaderExtension(id: id, value: CollectionOfOne(orientation.wireByte))
        return true
    }

    /// Sets playout-delay (3 bytes).
    @discardableResult
    public mutating func setPlayoutDelay(_ delay: RTPPlayoutDelay, _ map: RTPHeaderExtensionMap) throws(RTPExtensionError) -> Bool {
        guard let id = map[.playoutDelay] else { return false }
        try setUnsigned24(id: id, UInt32(delay.minimum & 0x0FFF) << 12 | UInt32(delay.maximum & 0x0FFF))
        return true
    }

    /// Sets abs-capture-time (8 bytes, or 16 when the clock offset is given).
    @discardableResult
    public mutating func setAbsCaptureTime(_ time: RTPAbsoluteCaptureTime, _ map: RTPHeaderExtensionMap) throws(RTPExtensionError) -> Bool {
        guard let id = map[.absCaptureTime] else { return false }
        let length = time.estimatedCaptureClockOffset == nil ? 8 : 16
        let written = overwriteElement(id: id, length: length) { b, offset in
            b.setInteger(time.captureTime.rawValue, at: offset)
            if let o = time.estimatedCaptureClockOffset { b.setInteger(o, at: offset + 8) }
        }
        if written { return true }
        var v = ByteBuffer()
        v.writeInteger(time.captureTime.rawValue)
        if let o = time.estimatedCaptureClockOffset { v.writeInteger(o) }
        try setHeaderExtension(id: id, value: v.readableBytesView)
        return true
    }

    /// Sets toffset (RFC 5450; `offset` is truncated to 24 bits, two's complement).
    @discardableResult
    public mutating func setTransmissionTimeOffset(_ offset: Int32, _ map: RTPHeaderExtensionMap) throws(RTPExtensionError) -> Bool {
        guard let id = map[.timeOffset] else { return false }
        try setUnsigned24(id: id, UInt32(bitPattern: offset))
        return true
    }

    /// Removes the extension of `kind`; returns false when the map has no id for it or it is absent.
    @discardableResult
    public mutating func removeHeaderExtension(_ kind: RTPHeaderExtensionKind, _ map: RTPHeaderExtensionMap) -> Bool {
        guard let id = map[kind], headerExtension(id: id) != nil else { return false }
        removeHeaderExtension(id: id)
        return true
    }

    mutating func setUnsigned24(id: HeaderExtensionID, _ value: UInt32) throws(RTPExtensionError) {
        let b0 = UInt8(truncatingIfNeeded: value >> 16), b1 = UInt8(truncatingIfNeeded: value >> 8), b2 = UInt8(truncatingIfNeeded: value)
        let written = overwriteElement(id: id, length: 3) { b, offset in
            b.setInteger(b0, at: offset)
            b.setInteger(b1, at: offset + 1)
            b.setInteger(b2, at: offset + 2)
        }
        if !written { try setHeaderExtension(id: id, value: [b0, b1, b2]) }
    }
}
