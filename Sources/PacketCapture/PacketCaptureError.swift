/// Errors raised while opening, reading or writing capture files.
///
/// Malformed *frames* never raise: they decode to ``CapturedTransport/other(_:)`` with a reason.
/// Only file-level problems (unreadable, corrupt, unsupported link type, write failures) are errors.
public enum PacketCaptureError: Error, Equatable, Sendable, CustomStringConvertible {
    /// libpcap could not open the file (missing, unreadable, not a pcap/pcapng file, bad header).
    case cannotOpen(path: String, reason: String)
    /// The file's link-layer type is not one this module decodes.
    case unsupportedLinkType(Int32)
    /// libpcap failed part-way through the file (for example a truncated record).
    case readFailed(path: String, frameNumber: Int, reason: String)
    /// libpcap could not create the output file.
    case cannotCreate(path: String, reason: String)
    /// A write was attempted on a closed writer, or a frame could not be framed for the link type.
    case writeFailed(reason: String)

    /// A one-line human-readable description.
    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): "cannot open capture \(path): \(reason)"
        case .unsupportedLinkType(let dlt): "unsupported link-layer type \(dlt)"
        case .readFailed(let path, let n, let reason): "read failed in \(path) at frame \(n): \(reason)"
        case .cannotCreate(let path, let reason): "cannot create capture \(path): \(reason)"
        case .writeFailed(let reason): "write failed: \(reason)"
        }
    }
}
