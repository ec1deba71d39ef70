import NIOCore
import RTCBase

/// One direction of SRTP/SRTCP (RFC 3711, RFC 7714 for AES-GCM) for all SSRCs of a transport: `.outbound`
/// protects, `.inbound` unprotects; streams are created on first sight of an SSRC. Packets are transformed in
/// place in their `ByteBuffer`.
///
/// ## The backend seam
/// The API is four verbs and stream removal, with the same meaning whatever does the cryptography: transform the
/// readable bytes of a `ByteBuffer` in place, growing it by at most ``rtpTrailerCapacity`` /
/// ``rtcpTrailerCapacity``; create per-SSRC state on first sight; keep a replay window per SSRC (SRTP:
/// configurable; SRTCP: 128 indices); report failures as ``SRTPError``. ``Backend`` chooses the implementation.
///
/// Not thread-safe: use a session from one thread (the transport's event loop).
public final class SRTPSession {
    /// Which way packets go through a session.
    public enum Direction: Sendable {
        /// Unprotects what the peer sent.
        case inbound
        /// Protects what this side sends.
        case outbound
    }

    /// What does the cryptography.
    public enum Backend: CaseIterable, Hashable, Sendable {
        /// RFC 3711 / RFC 7714 on OpenSSL's EVP ciphers, allocation-free per packet (``OpenSSLSRTPEngine``): the default.
        case openssl
        /// Debian's libsrtp2 (NSS ciphers): the reference the OpenSSL backend is tested against.
        case libsrtp
    }

    /// Which way this session transforms.
    public let direction: Direction
    /// The protection profile of the session's keying material.
    public let profile: SRTPProfile
    /// The backend in use.
    public let backend: Backend
    // Two optionals rather than an enum with two class payloads: such an enum keeps its case in the pointer's spare
    // bits, which hides the object from LeakSanitizer (false leak reports under fuzzing).
    private let openssl: OpenSSLSRTPEngine?
    private let libsrtp: LibSRTPEngine?

    /// Spare bytes an RTP packet's buffer needs after its readable bytes for ``protectRTP(_:)`` to work without
    /// reallocating (libsrtp's `SRTP_MAX_TRAILER_LEN`: largest tag plus largest MKI). Allocate outgoing packets
    /// with this much room.
    public static let rtpTrailerCapacity = LibSRTPEngine.maxTrailer
    /// Spare bytes an RTCP packet's buffer needs for ``protectRTCP(_:)`` without reallocating: the trailer plus
    /// the 4-byte E flag and SRTCP index.
    public static let rtcpTrailerCapacity = LibSRTPEngine.maxTrailer + 4

    /// The replay window sizes accepted for SRTP.
    public static let replayWindowSizes = 64...0x7FFF

    /// Creates a session.
    ///
    /// - Parameters:
    ///   - replayWindowSize: the per-SSRC SRTP replay window, in packets, within ``replayWindowSizes``
    ///     (else ``SRTPError/badParameter``). The default 1024 is mediasoup's; a larger one keeps very late
    ///     packets (retransmissions answered long after a loss) acceptable. SRTCP's window is a fixed 128.
    ///   - allowRepeatTransmission: outbound only: lets the session protect an index (SSRC, ROC, seq) it has
    ///     already protected, instead of failing with ``SRTPError/replay``. On by default, as in mediasoup,
    ///     because an SFU answering a NACK without negotiated RTX re-sends the very packet it sent before —
    ///     same SSRC, same sequence number. (RTX retransmissions carry their own SSRC and fresh sequence
    ///     numbers and never need it.) Re-protecting the *same* plaintext at the same index yields the same
    ///     ciphertext and reveals nothing; protecting *different* plaintext at an index already used reuses
    ///     the keystream, and for the AEAD-GCM profiles also the GCM nonce, which breaks confidentiality and
    ///     lets an observer forge GCM tags. Callers must therefore only ever repeat an index with identical
    ///     bytes — the SFU's sequence-number rewriting must never hand out a number twice for different
    ///     packets. Turn it off where no plain retransmission is sent.
    ///   - backend: what does the cryptography.
    public init(direction: Direction, material: SRTPKeyingMaterial, replayWindowSize: Int = 1024,
                allowRepeatTransmission: Bool = true, backend: Backend = .openssl) throws(SRTPError) {
        guard Self.replayWindowSizes.contains(replayWindowSize) else { throw .badParameter }
        self.direction = direction
        self.profile = material.profile
        self.backend = backend
        switch backend {
        case .openssl:
            openssl = try OpenSSLSRTPEngine(direction: direction, material: material, replayWindowSize: replayWindowSize,
                                            allowRepeatTransmission: allowRepeatTransmission)
            libsrtp = nil
        case .libsrtp:
            libsrtp = try LibSRTPEngine(direction: direction, material: material, replayWindowSize: replayWindowSize,
                                        allowRepeatTransmission: allowRepeatTransmission)
            openssl = nil
        }
    }

    /// Encrypts and authenticates an RTP packet in place (outbound sessions).
    public func protectRTP(_ packet: inout ByteBuffer) throws(SRTPError) {
        guard packet.readableBytes > 0 else { throw .badParameter }
        if let openssl { try openssl.protectRTP(&packet) } else { try libsrtp?.protectRTP(&packet) }
    }

    /// Authenticates and decrypts an SRTP packet in place (inbound sessions).
    public func unprotectRTP(_ packet: inout ByteBuffer) throws(SRTPError) {
        guard packet.readableBytes > 0 else { throw .badParameter }
        if let openssl { try openssl.unprotectRTP(&packet) } else { try libsrtp?.unprotectRTP(&packet) }
    }

    /// Encrypts and authenticates a compound RTCP packet in place (outbound sessions).
    public func protectRTCP(_ packet: inout ByteBuffer) throws(SRTPError) {
        guard packet.readableBytes > 0 else { throw .badParameter }
        if let openssl { try openssl.protectRTCP(&packet) } else { try libsrtp?.protectRTCP(&packet) }
    }

    /// Authenticates and decrypts an SRTCP packet in place (inbound sessions).
    public func unprotectRTCP(_ packet: inout ByteBuffer) throws(SRTPError) {
        guard packet.readableBytes > 0 else { throw .badParameter }
        if let openssl { try openssl.unprotectRTCP(&packet) } else { try libsrtp?.unprotectRTCP(&packet) }
    }

    /// Forgets the stream state of `ssrc` (when a producer or consumer closes). A later packet of that SSRC starts
    /// a fresh stream, with a fresh replay window and rollover counter.
    public func removeStream(ssrc: SSRC) {
        if let openssl { openssl.removeStream(ssrc: ssrc) } else { libsrtp?.removeStream(ssrc: ssrc) }
    }
}
