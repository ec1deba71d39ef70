import RTCBase
import RTP

/// The VP8 payload descriptor values one forwarded packet gets (RFC 7741 §4.2), from
/// ``VP8ContinuityRewriter/process(_:)``.
public struct VP8DescriptorRewrite: Hashable, Sendable {
    /// The outgoing picture id (nil: the packet has none).
    public var pictureID: UInt16?
    /// The outgoing TL0PICIDX (nil: the packet has none).
    public var tl0PicIdx: UInt8?

    /// Values to write; nil leaves a field as it is.
    public init(pictureID: UInt16? = nil, tl0PicIdx: UInt8? = nil) {
        self.pictureID = pictureID
        self.tl0PicIdx = tl0PicIdx
    }

    /// Writes the values in place into `packet`, whose payload `descriptor` was parsed from (the
    /// descriptor's offsets are relative to the payload, so a rebuilt header does not move them). No
    /// allocation when `packet`'s buffer is not shared.
    public func apply(to packet: inout RTPPacket, descriptor: VP8PayloadDescriptor) {
        if let p = pictureID { descriptor.rewrite(pictureID: p, in: &packet) }
        if let t = tl0PicIdx { descriptor.rewrite(tl0PicIdx: t, in: &packet) }
    }
}

/// Keeps one consumer's VP8 picture ids and TL0PICIDX continuous across simulcast layer switches and
/// dropped frames, and drops temporal layers above a target (RFC 7741 §4.2, the VP8 handling of
/// mediasoup's simulcast consumer).
///
/// * Picture ids (15-bit; 7-bit fields are extended against the newest one and written back as their low
///   7 bits) and TL0PICIDX (8-bit) go through a ``SerialNumberRewriter`` each: all packets of one
///   picture get the same output, a dropped picture leaves no gap, and after ``resync()`` the next picture
///   continues at the last output + 1.
/// * A packet whose TID is above ``targetTemporalLayer`` is dropped, and so is one above the current
///   temporal layer unless it is a layer-sync point (Y bit): upgrading only at a Y packet keeps the
///   receiver's reference chain intact. The caller must drop the packet's sequence number too
///   (``RTPSequenceRewriter/drop(_:)``) so the outgoing sequence has no gap.
public struct VP8ContinuityRewriter: Sendable, Hashable {
    @usableFromInline var pictureIDs: SerialNumberRewriter
    @usableFromInline var tl0s: SerialNumberRewriter
    @usableFromInline var syncPending = false
    /// Highest temporal layer forwarded (TID); packets above it are dropped. `Int.max`: all layers.
    public var targetTemporalLayer: Int
    /// The temporal layer currently forwarded: raised at layer-sync packets up to the target.
    public private(set) var currentTemporalLayer = 0

    /// A rewriter whose first picture id and TL0PICIDX are the given values (pick them at random).
    public init(initialPictureID: UInt16 = 0, initialTL0PicIdx: UInt8 = 0, targetTemporalLayer: Int = .max) {
        pictureIDs = SerialNumberRewriter(space: SerialNumberSpace(bits: 15), initialOutput: UInt64(initialPictureID))
        tl0s = SerialNumberRewriter(space: SerialNumberSpace(bits: 8), initialOutput: UInt64(initialTL0PicIdx))
        self.targetTemporalLayer = targetTemporalLayer
    }

    /// The next packet carrying a picture id starts a new source (layer switch, resume): ids continue at
    /// the last output + 1 and the temporal layer restarts at 0 (a key frame is TL0).
    public mutating func resync() {
        syncPending = true
        currentTemporalLayer = 0
    }

    /// The newest outgoing picture id (15-bit), nil before the first.
    public var highestPictureID: UInt16? { pictureIDs.highestOutput.map { UInt16(truncatingIfNeeded: $0) } }
    /// The newest outgoing TL0PICIDX, nil before the first.
    public var highestTL0PicIdx: UInt8? { tl0s.highestOutput.map { UInt8(truncatingIfNeeded: $0) } }

    /// Decides for one packet: nil to drop it (temporal layer above the target, not yet at a layer-sync
    /// point, or part of a dropped picture), else the descriptor values to write.
    public mutating func process(_ d: VP8PayloadDescriptor) -> VP8DescriptorRewrite? {
        if syncPending, d.pictureID != nil {
            pictureIDs.resync()
            tl0s.resync()
            syncPending = false
        }
        let pictureInput: UInt64? = d.pictureID.map { raw in
            guard !d.pictureIDIs15Bit, let last = pictureIDs.highestInput, !pictureIDs.isSyncPending else { return UInt64(raw) }
            let seven = SerialNumberSpace(bits: 7)
            return pictureIDs.space.adding(seven.distance(from: last & 0x7F, to: UInt64(raw)), to: last)
        }
        if let tid = d.temporalLayer.map(Int.init) {
            let isNewPicture: Bool = pictureInput.map { p in
                guard let last = pictureIDs.highestInput, !pictureIDs.isSyncPending else { return true }
                return pictureIDs.space.isNewer(p, than: last)
            } ?? true
            if isNewPicture && (tid > targetTemporalLayer || (tid > currentTemporalLayer && !d.layerSync)) {
                if let p = pictureInput { pictureIDs.drop(p) }
                if tid == 0, let t = d.tl0PicIdx { tl0s.drop(UInt64(t)) }
                return nil
            }
        }
        var out = VP8DescriptorRewrite()
        if let p = pictureInput {
            guard let o = pictureIDs.rewrite(p) else { return nil }
            out.pictureID = UInt16(truncatingIfNeeded: o)
        }
        if let t = d.tl0PicIdx {
            guard let o = tl0s.rewrite(UInt64(t)) else { return nil }
            out.tl0PicIdx = UInt8(truncatingIfNeeded: o)
        }
        if let tid = d.temporalLayer.map(Int.init) {
            if tid > currentTemporalLayer { currentTemporalLayer = tid }
        } else {
            currentTemporalLayer = 0
        }
        currentTemporalLayer = min(currentTemporalLayer, targetTemporalLayer)
        return out
    }
}
