import NIOCore
import RTCBase

/// The header extensions this module interprets, by the URIs negotiated in SDP / mediasoup
/// `headerExtensions`.
public enum RTPHeaderExtensionKind: String, Hashable, Sendable, CaseIterable {
    case mid = "urn:ietf:params:rtp-hdrext:sdes:mid"
    case rid = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
    case repairedRID = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
    case absSendTime = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
    case transportWideCC = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
    case audioLevel = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
    case videoOrientation = "urn:3gpp:video-orientation"
    case playoutDelay = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"
    case absCaptureTime = "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time"
    case timeOffset = "urn:ietf:params:rtp-hdrext:toffset"
}

/// Which local id each extension has on a stream, as negotiated (`a=extmap` / mediasoup
/// `rtpParameters.headerExtensions`). Unknown URIs are ignored.
public struct RTPHeaderExtensionMap: Hashable, Sendable {
    @usableFromInline var ids: [UInt8?] = Array(repeating: nil, count: RTPHeaderExtensionKind.allCases.count)

    public init() {}

    /// A map from negotiated (URI, id) pairs.
    public init<S: Sequence>(_ pairs: S) where S.Element == (uri: String, id: UInt8) {
        for (uri, id) in pairs { if let kind = RTPHeaderExtensionKind(rawValue: uri) { self[kind] = id } }
    }

    @usableFromInline static func index(_ kind: RTPHeaderExtensionKind) -> Int {
        RTPHeaderExtensionKind.allCases.firstIndex(of: kind)!
    }

    /// The id negotiated for `kind`.
    public subscript(kind: RTPHeaderExtensionKind) -> UInt8? {
        get { ids[Self.index(kind)] }
        set { ids[Self.index(kind)] = newValue }
    }

    /// The kind whose id is `id`.
    public func kind(of id: UInt8) -> RTPHeaderExtensionKind? {
        for kind in RTPHeaderExtensionKind.allCases where self[kind] == id { return kind }
        return nil
    }
}

/// ssrc-audio-level (RFC 6464): voice activity flag and level in -dBov (0 loudest, 127 silence).
public struct AudioLevel: Hashable, Sendable {
    public var voiceActivity: Bool
    public var level: UInt8
    public init(voiceActivity: Bool, level: UInt8) {
        self.voiceActivity = voiceActivity
        self.level = level & 0x7F
    }
}

/// Coordination of video orientation (3GPP TS 26.114 §7.4.5): camera, flip and rotation.
public struct VideoOrientation: Hashable, Sendable {
    public var backFacingCamera: Bool
    public var horizontalFlip: Bool
    /// Clockwise rotation in degrees: 0, 90, 180 or 270.
    public var rotation: Int
    public init(backFacingCamera: Bool, horizontalFlip: Bool, rotation: Int) {
        self.backFacingCamera = backFacingCamera
        self.horizontalFlip = horizontalFlip
        self.rotation = rotation
    }
}

/// playout-delay: minimum and maximum in units of 10 ms, 12 bits each.
public struct PlayoutDelay: Hashable, Sendable {
    public var minimum: UInt16
    public var maximum: UInt16
    public init(minimum: UInt16, maximum: UInt16) {
        self.minimum = minimum & 0x0FFF
        self.maximum = maximum & 0x0FFF
    }
}

/// abs-capture-time: the NTP capture time of the first packet of the frame and optionally the
/// sender's estimate of its clock offset to the capturer (Q32.32 seconds, signed).
public struct AbsoluteCaptureTime: Hashable, Sendable {
    public var captureTime: NTPTimestamp
    public var estimatedCaptureClockOffset: Int64?
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

    /// sdes:mid (RFC 8843).
    public func mid(_ map: RTPHeaderExtensionMap) -> MID? { text(.mid, map).map(MID.init(rawValue:)) }
    /// rtp-stream-id (RFC 8852).
    public func rid(_ map: RTPHeaderExtensionMap) -> RID? { text(.rid, map).map(RID.init(rawValue:)) }
    /// repaired-rtp-stream-id (RFC 8852), on RTX packets.
    public func repairedRID(_ map: RTPHeaderExtensionMap) -> RID? { text(.repairedRID, map).map(RID.init(rawValue:)) }

    /// abs-send-time: 24-bit 6.18 fixed-point seconds.
    public func absSendTime(_ map: RTPHeaderExtensionMap) -> UInt32? {
        guard let v = value(.absSendTime, map), v.readableBytes == 3 else { return nil }
        return v.readableBytesView.reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// Transport-wide sequence number (draft-holmer-rmcat-transport-wide-cc-extensions-01 §2).
    public func transportSequenceNumber(_ map: RTPHeaderExtensionMap) -> UInt16? {
        guard let v = value(.transportWideCC, map), v.readableBytes >= 2 else { return nil }
        return v.getInteger(at: v.readerIndex, as: UInt16.self)
    }

    /// ssrc-audio-level (RFC 6464).
    public func audioLevel(_ map: RTPHeaderExtensionMap) -> AudioLevel? {
        guard let v = value(.audioLevel, map), let b = v.getInteger(at: v.readerIndex, as: UInt8.self) else { return nil }
        return AudioLevel(voiceActivity: b & 0x80 != 0, level: b & 0x7F)
    }

    /// urn:3gpp:video-orientation (bits: C F R1 R0 in the low nibble).
    public func videoOrientation(_ map: RTPHeaderExtensionMap) -> VideoOrientation? {
        guard let v = value(.videoOrientation, map), let b = v.getInteger(at: v.readerIndex, as: UInt8.self) else { return nil }
        return VideoOrientation(backFacingCamera: b & 0x08 != 0, horizontalFlip: b & 0x04 != 0, rotation: Int(b & 0x03) * 90)
    }

    /// playout-delay (min 12 bits, max 12 bits).
    public func playoutDelay(_ map: RTPHeaderExtensionMap) -> PlayoutDelay? {
        guard let v = value(.playoutDelay, map), v.readableBytes == 3 else { return nil }
        let x = v.readableBytesView.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        return PlayoutDelay(minimum: UInt16(x >> 12), maximum: UInt16(x & 0x0FFF))
    }

    /// abs-capture-time (8 bytes, or 16 with the clock offset).
    public func absCaptureTime(_ map: RTPHeaderExtensionMap) -> AbsoluteCaptureTime? {
        guard let v = value(.absCaptureTime, map), v.readableBytes == 8 || v.readableBytes == 16,
              let t = v.getInteger(at: v.readerIndex, as: UInt64.self) else { return nil }
        let offset = v.readableBytes == 16 ? v.getInteger(at: v.readerIndex + 8, as: Int64.self) : nil
        return AbsoluteCaptureTime(captureTime: NTPTimestamp(rawValue: t), estimatedCaptureClockOffset: offset)
    }

    // MARK: Setters for what an SFU rewrites

    /// Sets sdes:mid; no-op (returns false) when the map has no id for it.
    @discardableResult
    public mutating func setMID(_ mid: MID, _ map: RTPHeaderExtensionMap) throws(RTPExtensionError) -> Bool {
        guard let id = map[.mid] else { return false }
        try setHeaderExtension(id: id, value: Array(mid.rawValue.utf8))
        return true
    }

    /// Sets the transport-wide sequence number.
    @discardableResult
    public mutating func setTransportSequenceNumber(_ seq: UInt16, _ map: RTPHeaderExtensionMap) throws(RTPExtensionError) -> Bool {
        guard let id = map[.transportWideCC] else { return false }
        // Per-packet path: overwrite in place without building a temporary array.
        if let loc = elementLocation(id: id), loc.length == 2 {
            bytes.setInteger(seq, at: bytes.readerIndex + loc.offset)
            return true
        }
        try setHeaderExtension(id: id, value: [UInt8(seq >> 8), UInt8(seq & 0xFF)])
        return true
    }

    /// Sets abs-send-time (low 24 bits of `value`).
    @discardableResult
    public mutating func setAbsSendTime(_ value: UInt32, _ map: RTPHeaderExtensionMap) throws(RTPExtensionError) -> Bool {
        guard let id = map[.absSendTime] else { return false }
        try setHeaderExtension(id: id, value: [UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)])
        return true
    }
}
