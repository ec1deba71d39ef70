import COpenSSL
import NIOCore
import RTCBase

/// The DTLS-SRTP protection profiles offered (RFC 5764 §4.1.2, RFC 7714 §14.2), in preference order.
/// Defined here rather than shared with the SRTP module: DTLS only negotiates and exports keys.
public enum DTLSSRTPProfile: String, CaseIterable, Hashable, Sendable {
    case aeadAES256GCM = "SRTP_AEAD_AES_256_GCM"
    case aeadAES128GCM = "SRTP_AEAD_AES_128_GCM"
    case aesCM128HMACSHA1_80 = "SRTP_AES128_CM_SHA1_80"
    case aesCM128HMACSHA1_32 = "SRTP_AES128_CM_SHA1_32"

    /// IANA DTLS-SRTP profile id.
    public var ianaID: UInt16 {
        switch self {
        case .aesCM128HMACSHA1_80: return 1
        case .aesCM128HMACSHA1_32: return 2
        case .aeadAES128GCM: return 7
        case .aeadAES256GCM: return 8
        }
    }
    public var keyLength: Int { self == .aeadAES256GCM ? 32 : 16 }
    public var saltLength: Int { (self == .aeadAES256GCM || self == .aeadAES128GCM) ? 12 : 14 }
}

/// Which side of the handshake this endpoint plays (`a=setup:active` is the client).
public enum DTLSRole: Sendable, Hashable { case client, server }

/// What a completed handshake yields for SRTP (RFC 5764 §4.2).
public struct DTLSHandshakeResult: Hashable, Sendable {
    public var profile: DTLSSRTPProfile
    /// The exported block: client key | server key | client salt | server salt.
    public var keyingMaterial: [UInt8]
    public var role: DTLSRole
    /// The peer's certificate fingerprint (with the algorithm it was verified with).
    public var peerFingerprint: DTLSFingerprint
    /// e.g. "ECDHE-ECDSA-AES128-GCM-SHA256".
    public var cipher: String
}

/// Events a connection produces.
public enum DTLSEvent: Hashable, Sendable {
    case connected(DTLSHandshakeResult)
    case applicationData(ByteBuffer)
    /// The peer sent close_notify.
    case closed
    case failed(DTLSError)
    /// An NSS key log line ("CLIENT_RANDOM …") for SSLKEYLOGFILE — the I/O layer decides where to write it.
    case keyLog(String)
}

/// Settings shared by connections: certificate, offered SRTP profiles, MTU, key logging.
public final class DTLSContext: @unchecked Sendable {
    let ctx: OpaquePointer
    public let certificate: DTLSCertificate
    public let mtu: Int
    public let keyLogging: Bool

    /// A context with `certificate`, offering `profiles` in order (default: AES-256-GCM, AES-128-GCM,
    /// AES-CM-HMAC-SHA1-80, -32, as mediasoup does). DTLS 1.2 only (OpenSSL 3.0 has no DTLS 1.3); ECDHE
    /// with ECDSA, which every browser and aiortc offer.
    public init(certificate: DTLSCertificate, profiles: [DTLSSRTPProfile] = DTLSSRTPProfile.allCases,
                mtu: Int = 1200, keyLogging: Bool = false) throws(DTLSError) {
        guard let c = SSL_CTX_new(DTLS_method()) else { throw .openssl(.context, "SSL_CTX_new") }
        ctx = c
        self.certificate = certificate
        self.mtu = mtu
        self.keyLogging = keyLogging
        guard SSL_CTX_use_certificate(c, certificate.x509) == 1, SSL_CTX_use_PrivateKey(c, certificate.key) == 1,
              SSL_CTX_check_private_key(c) == 1 else { throw .openssl(.context, "certificate/key") }
        _ = sfu_SSL_CTX_set_min_proto_version(c, sfu_DTLS1_2_VERSION())
        _ = sfu_SSL_CTX_set_max_proto_version(c, sfu_DTLS1_2_VERSION())
        SSL_CTX_set_options(c, sfu_SSL_OP_NO_QUERY_MTU() | sfu_SSL_OP_NO_TICKET())
        guard SSL_CTX_set_cipher_list(c, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-SHA") == 1 else {
            throw .openssl(.context, "cipher list")
        }
        // Peers present self-signed certificates: accept any during the handshake, then check the
        // fingerprint signalled out of band (RFC 8122 §5) once it completes.
        SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT) { _, _ in 1 }
        // Note: SSL_CTX_set_tlsext_use_srtp returns 0 on success.
        guard SSL_CTX_set_tlsext_use_srtp(c, profiles.map(\.rawValue).joined(separator: ":")) == 0 else {
            throw .openssl(.context, "use_srtp profiles")
        }
        if keyLogging {
            SSL_CTX_set_keylog_callback(c) { ssl, line in
                guard let ssl, let line, let owner = sfu_SSL_get_app_data(ssl) else { return }
                Unmanaged<DTLSConnection>.fromOpaque(owner).takeUnretainedValue().events.append(.keyLog(String(cString: line)))
            }
        }
    }

    deinit { SSL_CTX_free(ctx) }
}

/// One DTLS association over memory BIOs (no sockets), sans-IO (``SansIO``): feed datagrams with
/// ``handle(_:now:)``, take outgoing datagrams with ``pollTransmit()`` and events with ``pollEvent()``, and
/// drive retransmission with ``nextDeadline`` / ``handleTimeout(now:)``.
///
/// Outgoing records are packed into datagrams of at most the context's MTU, never splitting a record.
/// Handshakes reassemble fragmented ClientHellos (Chromium's post-quantum key share spans two
/// datagrams); `DTLSv1_listen` is deliberately not used, since it cannot. After the handshake the peer
/// certificate is compared with the signalled fingerprints; a mismatch fails the connection.
///
/// OpenSSL keeps its retransmission timer on its own clock, so ``nextDeadline`` is OpenSSL's remaining time
/// added to the caller's `now` of the last call that could arm the timer (start, a datagram, a timeout).
///
/// Not thread-safe: use a connection from one thread.
public final class DTLSConnection: SansIO {
    public let role: DTLSRole
    public let context: DTLSContext
    private let ssl: OpaquePointer
    private let rbio: OpaquePointer
    private let wbio: OpaquePointer
    private var expectedFingerprints: [DTLSFingerprint]
    fileprivate var events = CircularBuffer<DTLSEvent>(initialCapacity: 4)
    private var outgoing = CircularBuffer<ByteBuffer>(initialCapacity: 4)
    /// The retransmission deadline as of the last call (see ``nextDeadline``).
    public private(set) var nextDeadline: Duration?
    public private(set) var isConnected = false
    public private(set) var isClosed = false
    private var started = false

    /// A connection in `role` that accepts a peer whose certificate matches one of `remoteFingerprints`.
    public init(context: DTLSContext, role: DTLSRole, remoteFingerprints: [DTLSFingerprint]) throws(DTLSError) {
        guard let s = SSL_new(context.ctx), let r = BIO_new(BIO_s_mem()), let w = BIO_new(BIO_s_mem()) else {
            throw .openssl(.context, "SSL_new/BIO_new")
        }
        self.role = role
        self.context = context
        self.ssl = s
        self.rbio = r
        self.wbio = w
        self.expectedFingerprints = remoteFingerprints
        _ = sfu_BIO_set_mem_eof_return(r, -1)
        _ = sfu_BIO_set_mem_eof_return(w, -1)
        SSL_set_bio(s, r, w)
        _ = sfu_SSL_set_mtu(s, context.mtu - 28)   // minus IPv4 + UDP headers
        _ = sfu_DTLS_set_link_mtu(s, context.mtu)
        if role == .client { SSL_set_connect_state(s) } else { SSL_set_accept_state(s) }
        _ = sfu_SSL_set_app_data(s, Unmanaged.passUnretained(self).toOpaque())
    }

    deinit {
        _ = sfu_SSL_set_app_data(ssl, nil)
        SSL_free(ssl)   // frees the BIOs too
    }

    /// Replaces the expected peer fingerprints (they may arrive after the connection was created).
    public func setRemoteFingerprints(_ fingerprints: [DTLSFingerprint]) { expectedFingerprints = fingerprints }

    /// Starts the handshake (the client sends its ClientHello; a server does nothing until one arrives).
    public func start(now: Duration) {
        guard !started else { return }
        started = true
        if role == .client { advance() }
        updateDeadline(now: now)
    }

    /// Takes one datagram from the peer.
    public func handle(_ datagram: consuming ByteBuffer, now: Duration) {
        guard !isClosed else { return }
        started = true
        datagram.withUnsafeReadableBytes { raw in _ = BIO_write(rbio, raw.baseAddress, Int32(raw.count)) }
        advance()
        updateDeadline(now: now)
    }

    /// Reads OpenSSL's handshake retransmission timer into ``nextDeadline``.
    private func updateDeadline(now: Duration) {
        guard !isConnected, !isClosed, started else {
            nextDeadline = nil
            return
        }
        var tv = timeval()
        guard sfu_DTLSv1_get_timeout(ssl, &tv) == 1 else {
            nextDeadline = nil
            return
        }
        nextDeadline = now + .seconds(Int64(tv.tv_sec)) + .microseconds(Int64(tv.tv_usec))
    }

    private func advance() {
        if !isConnected {
            let rc = SSL_do_handshake(ssl)
            if rc == 1 {
                finishHandshake()
            } else {
                let err = SSL_get_error(ssl, rc)
                if err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE {
                    fail(.openssl(.handshake, "handshake failed (SSL_get_error \(err))"))
                }
            }
        }
        if isConnected && !isClosed { readApplicationData() }
        drainOutgoing()
    }

    private func finishHandshake() {
        guard let cert = SSL_get1_peer_certificate(ssl) else { return fail(DTLSError(code: .handshake, reason: "peer sent no certificate")) }
        defer { X509_free(cert) }
        guard !expectedFingerprints.isEmpty else {
            return fail(DTLSError(code: .missingFingerprint, reason: "no remote fingerprint was signalled"))
        }
        guard let match = expectedFingerprints.first(where: { DTLSFingerprint.of(cert, algorithm: $0.algorithm).map($0.matches) ?? false }) else {
            let actual = DTLSFingerprint.of(cert, algorithm: expectedFingerprints[0].algorithm)?.value ?? "?"
            return fail(DTLSError(code: .fingerprintMismatch, reason: "peer certificate \(actual) matches none of the signalled fingerprints"))
        }
        guard let p = SSL_get_selected_srtp_profile(ssl), let name = p.pointee.name,
              let profile = DTLSSRTPProfile(rawValue: String(cString: name)) else {
            return fail(DTLSError(code: .noSRTPProfile, reason: "no SRTP profile negotiated"))
        }
        var material = [UInt8](repeating: 0, count: 2 * (profile.keyLength + profile.saltLength))
        let label = "EXTRACTOR-dtls_srtp"
        guard SSL_export_keying_material(ssl, &material, material.count, label, label.utf8.count, nil, 0, 0) == 1 else {
            return fail(.openssl(.keyingMaterial, "SSL_export_keying_material"))
        }
        isConnected = true
        let cipher = SSL_get_current_cipher(ssl).flatMap { SSL_CIPHER_get_name($0) }.map { String(cString: $0) } ?? ""
        events.append(.connected(DTLSHandshakeResult(profile: profile, keyingMaterial: material, role: role, peerFingerprint: match, cipher: cipher)))
    }

    private func fail(_ error: DTLSError) {
        guard !isClosed else { return }
        // A fatal alert tells the peer; then the connection is dead.
        SSL_shutdown(ssl)
        isClosed = true
        isConnected = false
        events.append(.failed(error))
        drainOutgoing()
    }

    private func readApplicationData() {
        var buf = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = SSL_read(ssl, &buf, Int32(buf.count))
            if n > 0 {
                events.append(.applicationData(ByteBuffer(bytes: buf[0..<Int(n)])))
                continue
            }
            let err = SSL_get_error(ssl, n)
            if err == SSL_ERROR_ZERO_RETURN {
                isClosed = true
                isConnected = false
                events.append(.closed)
            } else if err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE {
                fail(.openssl(.io, "SSL_read (SSL_get_error \(err))"))
            }
            return
        }
    }

    private func drainOutgoing() {
        let pending = BIO_ctrl_pending(wbio)
        guard pending > 0 else { return }
        var records = ByteBufferAllocator().buffer(capacity: pending)
        records.writeWithUnsafeMutableBytes(minimumWritableBytes: pending) { raw in
            Int(max(0, BIO_read(wbio, raw.baseAddress, Int32(pending))))
        }
        outgoing += DTLSRecordHeader.packIntoDatagrams(records, mtu: context.mtu)
    }

    /// Sends application data (SCTP for data channels); ignored until connected.
    public func write(applicationData data: ByteBuffer) throws(DTLSError) {
        guard isConnected, !isClosed else { throw DTLSError(code: .closed, reason: "not connected") }
        let n = data.withUnsafeReadableBytes { SSL_write(ssl, $0.baseAddress, Int32($0.count)) }
        guard n == data.readableBytes else { throw .openssl(.io, "SSL_write") }
        drainOutgoing()
    }

    /// Sends close_notify.
    public func close() {
        guard !isClosed else { return }
        SSL_shutdown(ssl)
        isClosed = true
        isConnected = false
        nextDeadline = nil
        drainOutgoing()
    }

    /// The next datagram to send to the peer.
    public func pollTransmit() -> ByteBuffer? { outgoing.popFirst() }

    /// The next event.
    public func pollEvent() -> DTLSEvent? { events.popFirst() }

    /// Lets OpenSSL retransmit its last flight if its timer expired.
    public func handleTimeout(now: Duration) {
        guard !isConnected, !isClosed else { return updateDeadline(now: now) }
        if sfu_DTLSv1_handle_timeout(ssl) < 0 {
            fail(.openssl(.handshake, "handshake timed out"))
            return updateDeadline(now: now)
        }
        drainOutgoing()
        updateDeadline(now: now)
    }

    /// Makes OpenSSL's first retransmission timeout `initial` (doubling after each timeout, as OpenSSL
    /// does by default from 1 s). For tests and for lossy links.
    public func setInitialRetransmissionTimeout(_ initial: Duration) {
        initialTimeoutMicroseconds = UInt32(initial.components.seconds * 1_000_000 + initial.components.attoseconds / 1_000_000_000_000)
        DTLS_set_timer_cb(ssl) { ssl, previous in
            guard let ssl, let owner = sfu_SSL_get_app_data(ssl) else { return 1_000_000 }
            let me = Unmanaged<DTLSConnection>.fromOpaque(owner).takeUnretainedValue()
            return previous == 0 ? me.initialTimeoutMicroseconds : min(previous * 2, 60_000_000)
        }
    }
    fileprivate var initialTimeoutMicroseconds: UInt32 = 1_000_000
}
