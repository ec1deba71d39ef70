import CLibSRTP
import NIOCore
import RTCBase

/// The libsrtp2 backend of ``SRTPSession`` (Debian's build, whose ciphers are NSS's): libsrtp's "any SSRC"
/// templates, transforming packets in place. Kept as the reference the OpenSSL backend is checked against byte for
/// byte, and selectable with ``SRTPSession/Backend/libsrtp``.
final class LibSRTPEngine {
    private var session: srtp_t?

    private static let libraryReady: Bool = srtp_init() == srtp_err_status_ok

    /// libsrtp's `SRTP_MAX_TRAILER_LEN`: largest tag plus largest MKI.
    static let maxTrailer = Int(SRTP_MAX_TRAILER_LEN)

    init(direction: SRTPSession.Direction, material: SRTPKeyingMaterial, replayWindowSize: Int, allowRepeatTransmission: Bool) throws(SRTPError) {
        guard Self.libraryReady else { throw .libsrtp(status: -1) }
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

    func protectRTP(_ packet: inout ByteBuffer) throws(SRTPError) {
        try transform(&packet, trailer: SRTPSession.rtpTrailerCapacity) { srtp_protect($0, $1, $2) }
    }

    func unprotectRTP(_ packet: inout ByteBuffer) throws(SRTPError) {
        try transform(&packet, trailer: 0) { srtp_unprotect($0, $1, $2) }
    }

    func protectRTCP(_ packet: inout ByteBuffer) throws(SRTPError) {
        try transform(&packet, trailer: SRTPSession.rtcpTrailerCapacity) { srtp_protect_rtcp($0, $1, $2) }
    }

    func unprotectRTCP(_ packet: inout ByteBuffer) throws(SRTPError) {
        try transform(&packet, trailer: 0) { srtp_unprotect_rtcp($0, $1, $2) }
    }

    func removeStream(ssrc: SSRC) {
        guard let session else { return }
        _ = srtp_remove_stream(session, ssrc.rawValue.bigEndian)
    }
}

extension SRTPProfile {
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

extension SRTPError {
    init(_ status: srtp_err_status_t) {
        switch status {
        case srtp_err_status_auth_fail: self = .authenticationFailure
        case srtp_err_status_replay_fail: self = .replay
        case srtp_err_status_replay_old: self = .replayTooOld
        case srtp_err_status_bad_param: self = .badParameter
        case srtp_err_status_alloc_fail: self = .allocationFailure
        case srtp_err_status_key_expired: self = .keyExpired
        default: self = .libsrtp(status: Int32(bitPattern: status.rawValue))
        }
    }
}
