import CLibSRTP
import NIOCore
import RTCBase

/// The DTLS-SRTP protection profiles this stack negotiates (RFC 5764 §4.1.2, RFC 7714 §14.2), in
/// mediasoup's order of preference.
public enum SRTPProfile: CaseIterable, Hashable, Sendable {
    case aeadAES256GCM
    case aeadAES128GCM
    case aesCM128HMACSHA1_80
    case aesCM128HMACSHA1_32

    /// The IANA "DTLS-SRTP Protection Profiles" value.
    public var ianaID: UInt16 {
        switch self {
        case .aesCM128HMACSHA1_80: return 0x0001
        case .aesCM128HMACSHA1_32: return 0x0002
        case .aeadAES128GCM: return 0x0007
        case .aeadAES256GCM: return 0x0008
        }
    }

    /// The profile with IANA value `id`.
    public init?(ianaID id: UInt16) {
        guard let p = Self.allCases.first(where: { $0.ianaID == id }) else { return nil }
        self = p
    }

    /// Master key length in bytes.
    public var keyLength: Int { self == .aeadAES256GCM ? 32 : 16 }
    /// Master salt length in bytes (12 for the AEAD profiles, RFC 7714 §8.1; 14 otherwise).
    public var saltLength: Int { (self == .aeadAES256GCM || self == .aeadAES128GCM) ? 12 : 14 }
    /// Bytes an SRTP packet grows by (authentication tag).
    public var rtpOverhead: Int { self == .aesCM128HMACSHA1_32 ? 4 : (self == .aesCM128HMACSHA1_80 ? 10 : 16) }
    /// Bytes an SRTCP packet grows by (tag + E flag and index). SRTCP keeps the 80-bit tag for the _32
    /// profile (RFC 5764 §4.1.2).
    public var rtcpOverhead: Int { (self == .aeadAES256GCM || self == .aeadAES128GCM) ? 20 : 14 }

    fileprivate func apply(to policy: inout srtp_policy_t) {
        switch self {
        case .aeadAES256GCM:
            srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtp)
            srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtcp)
        case .aeadAES128GCM:
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp)
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp)
        case .aesCM128HMACSHA1_80:
            srtp_crypto_policy_set_rtp_default(&policy.rtp)   // AES_CM_128_HMAC_SHA1_80 (a macro alias in srtp.h)
            srtp_crypto_policy_set_rtcp_default(&policy.rtcp)
        case .aesCM128HMACSHA1_32:
            srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&policy.rtp)
            srtp_crypto_policy_set_rtcp_default(&policy.rtcp)
        }
    }
}

/// A master key and salt for one direction.
public struct SRTPKeyingMaterial: Hashable, Sendable {
    /// The protection profile the key and salt are for.
    public var profile: SRTPProfile
    /// The master key, ``SRTPProfile/keyLength`` bytes.
    public var key: [UInt8]
    /// The master salt, ``SRTPProfile/saltLength`` bytes.
    public var salt: [UInt8]

    /// Material from a key and salt of the profile's lengths. Lengths are a programming error, not input:
    /// a mismatch traps. Material negotiated over DTLS comes from ``split(exported:profile:isDTLSClient:)``,
    /// which checks the exported block's length and returns `nil` instead.
    public init(profile: SRTPProfile, key: [UInt8], salt: [UInt8]) {
        precondition(key.count == profile.keyLength && salt.count == profile.saltLength, "key/salt lengths do not match \(profile)")
        self.profile = profile
        self.key = key
        self.salt = salt
    }

    /// Splits the block exported from DTLS with label "EXTRACTOR-dtls_srtp" (RFC 5764 §4.2:
    /// client key | server key | client salt | server salt) into this side's sending (`local`) and
    /// receiving (`remote`) material. The DTLS client sends with the client write key.
    public static func split(exported: [UInt8], profile: SRTPProfile, isDTLSClient: Bool) -> (local: SRTPKeyingMaterial, remote: SRTPKeyingMaterial)? {
        let k = profile.keyLength, s = profile.saltLength
        guard exported.count == 2 * (k + s) else { return nil }
        let client = SRTPKeyingMaterial(profile: profile, key: Array(exported[0..<k]), salt: Array(exported[(2 * k)..<(2 * k + s)]))
        let server = SRTPKeyingMaterial(profile: profile, key: Array(exported[k..<(2 * k)]), salt: Array(exported[(2 * k + s)..<(2 * k + 2 * s)]))
        return isDTLSClient ? (client, server) : (server, client)
    }
}

/// What libsrtp2 refused, as a Swift error.
public enum SRTPError: Error, Hashable, Sendable {
    /// The authentication tag does not verify (tampered, wrong key, or not SRTP at all).
    case authenticationFailure
    /// A packet with this index was already received.
    case replay
    /// The packet is older than the replay window.
    case replayTooOld
    /// The packet is too short or malformed for SRTP/SRTCP.
    case badParameter
    /// libsrtp could not allocate.
    case allocationFailure
    /// Any other libsrtp status.
    case libsrtp(status: Int32)

    init(_ status: srtp_err_status_t) {
        switch status {
        case srtp_err_status_auth_fail: self = .authenticationFailure
        case srtp_err_status_replay_fail: self = .replay
        case srtp_err_status_replay_old: self = .replayTooOld
        case srtp_err_status_bad_param: self = .badParameter
        case srtp_err_status_alloc_fail: self = .allocationFailure
        default: self = .libsrtp(status: Int32(bitPattern: status.rawValue))
        }
    }
}

/// One direction of SRTP/SRTCP for all SSRCs of a transport, over libsrtp2: `.outbound` protects,
/// `.inbound` unprotects; streams are created on first sight of an SSRC (libsrtp's "any SSRC"
/// templates). Packets are transformed in place in their `ByteBuffer`.
///
/// The API is deliberately four verbs and stream removal, so another backend (libsrtp built on
/// OpenSSL, which protects AES-CM-HMAC about 5× faster than Debian's NSS build) could be put behind it
/// without touching callers.
///
/// Not thread-safe: use a session from one thread (the transport's event loop). libsrtp's global
/// `srtp_init` runs once per process, on first use, behind Swift's thread-safe lazy static initialisation.
///
/// ## The backend seam
/// Everything libsrtp-specific stays in this file: the profile → crypto-policy mapping, the status → ``SRTPError``
/// mapping and the buffer contract. Another backend (libsrtp on OpenSSL, or a Swift AES-GCM/AES-CM one) only has
/// to provide the same five operations with the same meaning — transform the readable bytes of a `ByteBuffer`
/// in place, growing it by at most ``rtpTrailerCapacity`` / ``rtcpTrailerCapacity``; create per-SSRC state on
/// first sight; keep a replay window per SSRC (SRTP: configurable; SRTCP: 128 indices); report failures as
/// ``SRTPError`` — and pass this module's tests, including the pylibsrtp vectors.
public final class SRTPSession {
    /// Which way packets go through a session.
    public enum Direction: Sendable {
        /// Unprotects what the peer sent (libsrtp's `ssrc_any_inbound` template).
        case inbound
        /// Protects what this side sends (libsrtp's `ssrc_any_outbound` template).
        case outbound
    }

    /// Which way this session transforms.
    public let direction: Direction
    /// The protection profile of the session's keying material.
    public let profile: SRTPProfile
    private var session: srtp_t?

    private static let libraryReady: Bool = srtp_init() == srtp_err_status_ok

    /// Spare bytes an RTP packet's buffer needs after its readable bytes for ``protectRTP(_:)`` to work without
    /// reallocating (libsrtp's `SRTP_MAX_TRAILER_LEN`: largest tag plus largest MKI). Allocate outgoing packets
    /// with this much room.
    public static let rtpTrailerCapacity = Int(SRTP_MAX_TRAILER_LEN)
    /// Spare bytes an RTCP packet's buffer needs for ``protectRTCP(_:)`` without reallocating:
    /// `SRTP_MAX_TRAILER_LEN` plus the 4-byte E flag and SRTCP index.
    public static let rtcpTrailerCapacity = Int(SRTP_MAX_TRAILER_LEN) + 4

    /// The replay window sizes libsrtp accepts for SRTP (`srtp_rdbx_init`).
    public static let replayWindowSizes = 64...0x7FFF

    /// Creates a session.
    ///
    /// - Parameters:
    ///   - replayWindowSize: the per-SSRC SRTP replay window, in packets, within ``replayWindowSizes``
    ///     (else ``SRTPError/badParameter``). The default 1024 is mediasoup's; a larger one keeps very late
    ///     packets (retransmissions answered long after a loss) acceptable. SRTCP's window is libsrtp's fixed 128.
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
    public init(direction: Direction, material: SRTPKeyingMaterial, replayWindowSize: Int = 1024,
                allowRepeatTransmission: Bool = true) throws(SRTPError) {
        guard Self.libraryReady else { throw .libsrtp(status: -1) }
        guard Self.replayWindowSizes.contains(replayWindowSize) else { throw .badParameter }
        self.direction = direction
        self.profile = material.profile
        var policy = srtp_policy_t()
        material.profile.apply(to: &policy)
        policy.ssrc.type = direction == .inbound ? ssrc_any_inbound : ssrc_any_outbound
        policy.window_size = UInt(replayWindowSize)
        policy.allow_repeat_tx = allowRepeatTransmission ? 1 : 0
        policy.next = nil
        var keySalt = material.key + material.salt
        var s: srtp_t?
        let status = keySalt.withUnsafeMutableBufferPointer { kp -> srtp_err_status_t in
            policy.key = kp.baseAddress
            return srtp_create(&s, &policy)
        }
        for i in keySalt.indices { keySalt[i] = 0 }
        guard status == srtp_err_status_ok, let s else { throw SRTPError(status) }
        session = s
    }

    deinit { if let session { srtp_dealloc(session) } }

    /// Runs a libsrtp transform over the readable bytes, in place. `trailer` is the room libsrtp may write past
    /// them (0 for unprotect, which only shrinks: an inbound datagram is never copied).
    private func transform(_ packet: inout ByteBuffer, trailer: Int,
                           _ op: (srtp_t, UnsafeMutableRawPointer, UnsafeMutablePointer<Int32>) -> srtp_err_status_t) throws(SRTPError) {
        guard let session else { throw .libsrtp(status: -1) }
        let start = packet.readerIndex
        guard packet.readableBytes > 0, packet.readableBytes <= Int(Int32.max) - trailer else { throw .badParameter }
        var length = Int32(packet.readableBytes)
        if trailer > 0 { packet.reserveCapacity(minimumWritableBytes: trailer) }   // no-op when the room is there
        let status = packet.withVeryUnsafeMutableBytes { raw -> srtp_err_status_t in
            guard let base = raw.baseAddress else { return srtp_err_status_bad_param }
            return op(session, base + start, &length)
        }
        guard status == srtp_err_status_ok else { throw SRTPError(status) }
        packet.moveWriterIndex(to: start + Int(length))
    }

    /// Encrypts and authenticates an RTP packet in place (outbound sessions).
    public func protectRTP(_ packet: inout ByteBuffer) throws(SRTPError) {
        try transform(&packet, trailer: Self.rtpTrailerCapacity) { srtp_protect($0, $1, $2) }
    }

    /// Authenticates and decrypts an SRTP packet in place (inbound sessions).
    public func unprotectRTP(_ packet: inout ByteBuffer) throws(SRTPError) {
        try transform(&packet, trailer: 0) { srtp_unprotect($0, $1, $2) }
    }

    /// Encrypts and authenticates a compound RTCP packet in place (outbound sessions).
    public func protectRTCP(_ packet: inout ByteBuffer) throws(SRTPError) {
        try transform(&packet, trailer: Self.rtcpTrailerCapacity) { srtp_protect_rtcp($0, $1, $2) }
    }

    /// Authenticates and decrypts an SRTCP packet in place (inbound sessions).
    public func unprotectRTCP(_ packet: inout ByteBuffer) throws(SRTPError) {
        try transform(&packet, trailer: 0) { srtp_unprotect_rtcp($0, $1, $2) }
    }

    /// Forgets the stream state of `ssrc` (when a producer or consumer closes). A later packet of that SSRC starts
    /// a fresh stream, with a fresh replay window and rollover counter.
    public func removeStream(ssrc: SSRC) {
        guard let session else { return }
        _ = srtp_remove_stream(session, ssrc.rawValue.bigEndian)
    }
}
