/// Why a packet was not protected or unprotected.
public enum SRTPError: Error, Hashable, Sendable {
    /// The authentication tag does not verify (tampered, wrong key, or not SRTP at all).
    case authenticationFailure
    /// A packet with this index was already received.
    case replay
    /// The packet is older than the replay window.
    case replayTooOld
    /// The packet is too short or malformed for SRTP/SRTCP.
    case badParameter
    /// The backend could not allocate (libsrtp).
    case allocationFailure
    /// The index space of a stream is exhausted (2^48 SRTP / 2^31 SRTCP packets): the session must be re-keyed.
    case keyExpired
    /// Any other libsrtp status.
    case libsrtp(status: Int32)
}
