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
