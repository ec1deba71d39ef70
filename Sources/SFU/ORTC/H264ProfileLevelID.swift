// H.264 `profile-level-id` handling (RFC 6184 §8.1) as mediasoup uses it for strict codec matching:
// the behaviour of the `h264-profile-level-id` package (a port of libwebrtc's h264_profile_level_id),
// re-implemented from its documented semantics.

/// A parsed H.264 `profile-level-id`: profile (from profile_idc + profile_iop) and level.
struct H264ProfileLevelID: Hashable, Sendable {
    /// The profiles libwebrtc distinguishes.
    enum Profile: Hashable, Sendable {
        case constrainedBaseline, baseline, main, constrainedHigh, high, predictiveHigh444
    }

    /// Level as level_idc, except level 1b which is 0 (it shares level_idc 11 with level 1.1).
    typealias Level = UInt8
    static let level1b: Level = 0
    static let level1: Level = 10
    static let level1_1: Level = 11
    static let knownLevels: [Level] = [10, 11, 12, 13, 20, 21, 22, 30, 31, 32, 40, 41, 42, 50, 51, 52]

    var profile: Profile
    var level: Level

    /// Used when the parameter is absent (libwebrtc keeps Constrained Baseline 3.1 for compatibility).
    static let defaultValue = H264ProfileLevelID(profile: .constrainedBaseline, level: 31)

    /// (profile_idc, mask, value, profile): profile_iop matches when `iop & mask == value`.
    private static let patterns: [(idc: UInt8, mask: UInt8, value: UInt8, profile: Profile)] = [
        (0x42, 0b0100_1111, 0b0100_0000, .constrainedBaseline),  // x1xx0000
        (0x4D, 0b1000_1111, 0b1000_0000, .constrainedBaseline),  // 1xxx0000
        (0x58, 0b1100_1111, 0b1100_0000, .constrainedBaseline),  // 11xx0000
        (0x42, 0b0100_1111, 0b0000_0000, .baseline),             // x0xx0000
        (0x58, 0b1100_1111, 0b1000_0000, .baseline),             // 10xx0000
        (0x4D, 0b1010_1111, 0b0000_0000, .main),                 // 0x0x0000
        (0x64, 0b1111_1111, 0b0000_0000, .high),                 // 00000000
        (0x64, 0b1111_1111, 0b0000_1100, .constrainedHigh),      // 00001100
        (0xF4, 0b1111_1111, 0b0000_0000, .predictiveHigh444),    // 00000000
    ]

    init(profile: Profile, level: Level) {
        self.profile = profile
        self.level = level
    }

    /// Parses six hex digits; nil for anything else, an unknown level or profile.
    init?(parsing text: String) {
        let utf8 = Array(text.utf8)
        guard utf8.count == 6 else { return nil }
        var value: UInt32 = 0
        for c in utf8 {
            let digit: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - UInt8(ascii: "A") + 10)
            default: return nil
            }
            value = value << 4 | digit
        }
        guard value != 0 else { return nil }
        let levelIDC = UInt8(value & 0xFF)
        let iop = UInt8((value >> 8) & 0xFF)
        let idc = UInt8((value >> 16) & 0xFF)
        let level: Level
        if levelIDC == Self.level1_1 {
            level = iop & 0x10 != 0 ? Self.level1b : Self.level1_1  // constraint_set3_flag selects 1b
        } else if Self.knownLevels.contains(levelIDC) {
            level = levelIDC
        } else {
            return nil
        }
        guard let match = Self.patterns.first(where: { $0.idc == idc && iop & $0.mask == $0.value }) else { return nil }
        self.init(profile: match.profile, level: level)
    }

    /// The value of an fmtp map: absent/falsy → the default, a non-string or invalid string → nil.
    init?(parameters: [String: RTPCodecParameterValue]) {
        guard let raw = parameters["profile-level-id"], raw.isTruthy else {
            self = Self.defaultValue
            return
        }
        guard case .string(let text) = raw else { return nil }
        self.init(parsing: text)
    }

    /// Canonical six-hex-digit form; nil for level 1b with a profile that cannot carry it.
    var string: String? {
        if level == Self.level1b {
            switch profile {
            case .constrainedBaseline: return "42f00b"
            case .baseline: return "42100b"
            case .main: return "4d100b"
            default: return nil
            }
        }
        let prefix: String
        switch profile {
        case .constrainedBaseline: prefix = "42e0"
        case .baseline: prefix = "4200"
        case .main: prefix = "4d00"
        case .constrainedHigh: prefix = "640c"
        case .high: prefix = "6400"
        case .predictiveHigh444: prefix = "f400"
        }
        let hex = String(level, radix: 16)
        return prefix + (hex.count == 1 ? "0" + hex : hex)
    }

    /// Same profile (levels ignored); false when either side does not parse.
    static func isSameProfile(_ a: [String: RTPCodecParameterValue], _ b: [String: RTPCodecParameterValue]) -> Bool {
        guard let pa = H264ProfileLevelID(parameters: a), let pb = H264ProfileLevelID(parameters: b) else { return false }
        return pa.profile == pb.profile
    }

    /// `level-asymmetry-allowed` is 1 or "1".
    static func isLevelAsymmetryAllowed(_ p: [String: RTPCodecParameterValue]) -> Bool {
        p["level-asymmetry-allowed"] == .number(1) || p["level-asymmetry-allowed"] == .string("1")
    }

    /// Level order with 1b between 1 and 1.1. (The reference package treats "a < 1b" as "a ≠ 1", which
    /// is kept for identical answers.)
    static func isLess(_ a: Level, _ b: Level) -> Bool {
        if a == level1b { return b != level1 && b != level1b }
        if b == level1b { return a != level1 }
        return a < b
    }

    /// What the profile-level-id of an answer is when `local` answers `remote` (same profile required):
    /// `.success(nil)` when neither side has one (both default), `.failure` when they cannot be matched.
    enum AnswerError: Error { case mismatch }
    static func answer(local: [String: RTPCodecParameterValue], remote: [String: RTPCodecParameterValue]) -> Result<String?, AnswerError> {
        let localRaw = local["profile-level-id"], remoteRaw = remote["profile-level-id"]
        if localRaw?.isTruthy != true && remoteRaw?.isTruthy != true { return .success(nil) }
        guard let l = H264ProfileLevelID(parameters: local), let r = H264ProfileLevelID(parameters: remote),
              l.profile == r.profile else { return .failure(.mismatch) }
        let asymmetry = isLevelAsymmetryAllowed(local) && isLevelAsymmetryAllowed(remote)
        let minLevel = isLess(l.level, r.level) ? l.level : r.level
        return .success(H264ProfileLevelID(profile: l.profile, level: asymmetry ? l.level : minLevel).string)
    }
}
