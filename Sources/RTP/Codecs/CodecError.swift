/// Why an RTP payload is not a valid payload of its codec.
public enum RTPCodecError: Error, Hashable, Sendable {
    /// The payload ends inside the payload descriptor / NAL header.
    case truncated(codec: String, need: Int, have: Int)
    /// A field has a value the payload format forbids.
    case invalid(codec: String, reason: String)
}
