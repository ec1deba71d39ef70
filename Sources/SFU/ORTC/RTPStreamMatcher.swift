import NIOCore
import RTCBase
import RTP

/// Identifies which encoding (simulcast layer) of a producer an incoming RTP packet belongs to, and
/// whether it is media or RTX (docs/protocol.md §7.5 rule 1, mediasoup `Producer::GetRtpStream`).
///
/// Order of the checks for a packet whose payload type is one of the producer's:
/// 1. a known SSRC (announced in `encodings[].ssrc` / `rtx.ssrc`, or latched earlier);
/// 2. the RID extension (or, failing that, the repaired-RID extension) against `encodings[].rid` — media
///    packets latch the encoding's media SSRC (refused when that RID already has another SSRC), RTX packets
///    latch its RTX SSRC once the media stream is known; a MID extension, when present, must be the
///    producer's;
/// 3. a producer with a single encoding with neither SSRC nor RID takes the first media SSRC it sees (and
///    then the first RTX SSRC).
/// Latching matters because browsers stop sending MID/RID once RTCP flows. Packets with another payload
/// type are `.unknown` (dropped).
///
/// The per-packet path does not allocate: SSRCs sit in small arrays, extension values are compared in
/// place with the packet's bytes.
public struct RTPStreamMatcher: Sendable {
    /// What a packet is.
    public enum Classification: Hashable, Sendable {
        /// Media of encoding `index` (index in the producer's `encodings`).
        case media(Int)
        /// Retransmission (RTX) of encoding `index`.
        case rtx(Int)
        /// Not (yet) attributable to this producer: drop it.
        case unknown
    }

    /// Producer-side header extension ids (the browser's, from INIT_PRODUCER).
    public struct ExtensionIDs: Hashable, Sendable {
        /// sdes:mid id.
        public var mid: HeaderExtensionID?
        /// rtp-stream-id id.
        public var rid: HeaderExtensionID?
        /// repaired-rtp-stream-id id.
        public var repairedRID: HeaderExtensionID?

        /// Creates the id set.
        public init(mid: HeaderExtensionID? = nil, rid: HeaderExtensionID? = nil, repairedRID: HeaderExtensionID? = nil) {
            self.mid = mid
            self.rid = rid
            self.repairedRID = repairedRID
        }

        /// The ids found in a producer's `headerExtensions` (by URI).
        public init(_ extensions: [RTPHeaderExtensionParameters]) {
            for ext in extensions where ext.id != 0 {
                switch ext.uri {
                case ORTC.URI.mid: mid = HeaderExtensionID(ext.id)
                case ORTC.URI.rid: rid = HeaderExtensionID(ext.id)
                case ORTC.URI.repairedRID: repairedRID = HeaderExtensionID(ext.id)
                default: break
                }
            }
        }
    }

    let ids: ExtensionIDs
    let mid: [UInt8]?
    let mediaPayloadTypes: [UInt8]
    let rtxPayloadTypes: [UInt8]
    let rids: [[UInt8]?]
    /// Media SSRC per encoding (announced or latched).
    var mediaSSRCs: [UInt32?]
    /// RTX SSRC per encoding (announced or latched).
    var rtxSSRCs: [UInt32?]
    /// Whether the single-encoding fallback (no SSRC, no RID) applies.
    let singleUnnamedEncoding: Bool

    /// Creates a matcher from its parts: the encodings of the producer's mapping, its extension ids, its
    /// MID and its media / RTX payload types (producer-side PTs).
    public init(mapping: RTPParametersMapping, extensionIDs: ExtensionIDs, mid: String?,
                mediaPayloadTypes: [UInt8], rtxPayloadTypes: [UInt8]) {
        self.ids = extensionIDs
        self.mid = mid.flatMap { $0.isEmpty ? nil : Array($0.utf8) }
        self.mediaPayloadTypes = mediaPayloadTypes
        self.rtxPayloadTypes = rtxPayloadTypes
        self.rids = mapping.encodings.map { $0.rid.map { Array($0.utf8) } }
        self.mediaSSRCs = mapping.encodings.map(\.ssrc)
        self.rtxSSRCs = mapping.encodings.map(\.rtxSSRC)
        self.singleUnnamedEncoding = mapping.encodings.count == 1 && mapping.encodings[0].ssrc == nil && mapping.encodings[0].rid == nil
    }

    /// Creates a matcher for a producer: extension ids, MID and payload types come from its (validated)
    /// RTP parameters, the encodings from its mapping.
    public init(producer: RTPParameters, mapping: RTPParametersMapping) {
        self.init(mapping: mapping, extensionIDs: ExtensionIDs(producer.headerExtensions), mid: producer.mid,
                  mediaPayloadTypes: producer.codecs.filter { !$0.isRTX }.map(\.payloadType),
                  rtxPayloadTypes: producer.codecs.filter(\.isRTX).map(\.payloadType))
    }

    /// The media SSRC of encoding `index`, once announced or latched.
    public func mediaSSRC(ofEncoding index: Int) -> SSRC? {
        guard mediaSSRCs.indices.contains(index) else { return nil }
        return mediaSSRCs[index].map(SSRC.init(rawValue:))
    }

    /// The RTX SSRC of encoding `index`, once announced or latched.
    public func rtxSSRC(ofEncoding index: Int) -> SSRC? {
        guard rtxSSRCs.indices.contains(index) else { return nil }
        return rtxSSRCs[index].map(SSRC.init(rawValue:))
    }

    /// Classifies `packet`, latching its SSRC when it is identified by MID/RID (or the single-encoding rule).
    public mutating func classify(_ packet: RTPPacket) -> Classification {
        let pt = packet.payloadType.rawValue
        let isMedia = mediaPayloadTypes.contains(pt)
        let isRTX = !isMedia && rtxPayloadTypes.contains(pt)
        guard isMedia || isRTX else { return .unknown }
        let ssrc = packet.ssrc.rawValue

        // 1. Known SSRC.
        for i in mediaSSRCs.indices where mediaSSRCs[i] == ssrc { return isMedia ? .media(i) : .unknown }
        for i in rtxSSRCs.indices where rtxSSRCs[i] == ssrc { return isRTX ? .rtx(i) : .unknown }

        // A MID, when the packet carries one, must be this producer's.
        if let midID = ids.mid, let mid, let value = packet.headerExtension(id: midID),
           !value.readableBytesView.elementsEqual(mid) {
            return .unknown
        }

        // 2. RID (or repaired RID).
        if let index = ridIndex(in: packet) {
            guard let index = index else { return .unknown }  // a RID naming no encoding
            if isMedia {
                guard mediaSSRCs[index] == nil else { return .unknown }  // that RID already has another SSRC
                mediaSSRCs[index] = ssrc
                return .media(index)
            }
            guard mediaSSRCs[index] != nil, rtxSSRCs[index] == nil else { return .unknown }
            rtxSSRCs[index] = ssrc
            return .rtx(index)
        }

        // 3. Single encoding without SSRC or RID.
        if singleUnnamedEncoding {
            if isMedia {
                guard mediaSSRCs[0] == nil else { return .unknown }
                mediaSSRCs[0] = ssrc
                return .media(0)
            }
            guard mediaSSRCs[0] != nil, rtxSSRCs[0] == nil else { return .unknown }
            rtxSSRCs[0] = ssrc
            return .rtx(0)
        }
        return .unknown
    }

    /// nil when the packet carries no RID/RRID; `.some(nil)` when it carries one naming no encoding.
    func ridIndex(in packet: RTPPacket) -> Int?? {
        var value: ByteBuffer?
        if let id = ids.rid { value = packet.headerExtension(id: id) }
        if value == nil, let id = ids.repairedRID { value = packet.headerExtension(id: id) }
        guard let value else { return nil }
        let bytes = value.readableBytesView
        for i in rids.indices {
            if let rid = rids[i], bytes.elementsEqual(rid) { return .some(i) }
        }
        return .some(nil)
    }
}

extension RTPParameters {
    /// The negotiated extension ids of these parameters as the RTP module's lookup table (unknown URIs and
    /// ids outside 1…255 are ignored): producer parameters give the ids to read incoming packets with,
    /// consumer parameters the ids to write outgoing ones with.
    public var headerExtensionMap: RTPHeaderExtensionMap {
        RTPHeaderExtensionMap(headerExtensions.lazy.filter { $0.id != 0 }.map { (uri: $0.uri, id: HeaderExtensionID($0.id)) })
    }
}
