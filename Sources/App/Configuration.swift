import SFU

/// A configuration problem found at startup; the message names the variable.
enum ConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A required variable is unset or empty.
    case missing(variable: String, reason: String)
    /// A variable is set to a value the server cannot use.
    case invalid(variable: String, value: String, reason: String)

    var description: String {
        switch self {
        case .missing(let variable, let reason):
            return "\(variable) env variable is required, \(reason)"
        case .invalid(let variable, let value, let reason):
            return "\(variable) env variable is invalid (\"\(value)\"): \(reason)"
        }
    }
}

/// odoo/sfu's `LOG_LEVEL` values, most severe first.
enum SFULogLevel: String, CaseIterable, Sendable {
    case none, error, warn, info, debug, verbose
}

/// Server configuration read from environment variables exactly as odoo/sfu's `src/config.ts` reads them.
///
/// Numbers follow JavaScript `Number()` then `|| default` (so `0`, `""` and garbage fall back to the default).
/// Where odoo/sfu would pass an unusable number on to Node/mediasoup and crash later (negative or fractional
/// ports, out-of-range ports, `RTC_MIN_PORT > RTC_MAX_PORT`) this type reports a ``ConfigurationError`` instead.
struct Configuration: Equatable, Sendable {
    /// One documented variable (for `sfu --help`).
    struct Variable: Sendable {
        let name: String
        let defaultValue: String
        let meaning: String
    }

    /// Every variable the server reads, with its default and meaning.
    static let variables: [Variable] = [
        .init(name: "AUTH_KEY", defaultValue: "(required)",
              meaning: "base64 key for HMAC-SHA256 verification of the JWTs (same as Odoo's \"RTC server KEY\")"),
        .init(name: "PUBLIC_IP", defaultValue: "(required)",
              meaning: "public address announced to clients for RTC connections; also the host of /v1/channel URLs"),
        .init(name: "HTTP_INTERFACE", defaultValue: "0.0.0.0", meaning: "interface of the HTTP/WebSocket listener"),
        .init(name: "PORT", defaultValue: "8070", meaning: "port of the HTTP/WebSocket listener"),
        .init(name: "RTC_INTERFACE", defaultValue: "0.0.0.0", meaning: "interface of the RTC (UDP/TCP) listeners"),
        .init(name: "PROXY", defaultValue: "(unset)",
              meaning: "any non-empty value: trust x-forwarded-for/-proto/-host (first comma-separated value)"),
        .init(name: "AUDIO_CODECS", defaultValue: "opus,PCMU,PCMA",
              meaning: "comma-separated audio codecs to offer, in order (unknown names ignored)"),
        .init(name: "VIDEO_CODECS", defaultValue: "VP8,VP9,H264,H264_1_2cb,H264_1_3ch",
              meaning: "comma-separated video codecs to offer, in order (unknown names ignored)"),
        .init(name: "RTC_MIN_PORT", defaultValue: "40000", meaning: "lowest RTC port (UDP and TCP)"),
        .init(name: "RTC_MAX_PORT", defaultValue: "49999", meaning: "highest RTC port (UDP and TCP)"),
        .init(name: "MAX_BUF_IN", defaultValue: "0",
              meaning: "max size in bytes of an incoming WebSocket message, fragments included (0 = default, 1 MiB); larger closes with 1009"),
        .init(name: "MAX_BUF_OUT", defaultValue: "0", meaning: "max size in bytes of outgoing messages per session (0 = default)"),
        .init(name: "MAX_BITRATE_IN", defaultValue: "8000000", meaning: "max incoming bitrate per session (bps)"),
        .init(name: "MAX_BITRATE_OUT", defaultValue: "10000000", meaning: "max outgoing bitrate per session (bps)"),
        .init(name: "MAX_VIDEO_BITRATE", defaultValue: "4000000",
              meaning: "max bitrate of the top simulcast layer per video stream (bps)"),
        .init(name: "CHANNEL_SIZE", defaultValue: "100", meaning: "max concurrent sessions per channel"),
        .init(name: "NUM_WORKERS", defaultValue: "number of CPUs",
              meaning: "media worker threads, capped at the number of CPUs"),
        .init(name: "WORKER_LOG_LEVEL", defaultValue: "none",
              meaning: "media worker log level (none|error|warn|debug); only honoured when DEBUG is set"),
        .init(name: "LOG_LEVEL", defaultValue: "error",
              meaning: "none|error|warn|info|debug|verbose; any other set value enables every level"),
        .init(name: "LOG_TIMESTAMP", defaultValue: "on",
              meaning: "prefix an ISO-8601 timestamp; off only for disable|false|none|no|0"),
        .init(name: "LOG_COLOR", defaultValue: "on if stdout is a TTY",
              meaning: "any non-empty value colours log lines by level"),
        .init(name: "HTTP_HEADERS_TIMEOUT", defaultValue: "60",
              meaning: "extension (Node's headersTimeout): seconds a new connection has to send a complete request head"),
        .init(name: "HTTP_KEEPALIVE_TIMEOUT", defaultValue: "5",
              meaning: "extension (Node's keepAliveTimeout): seconds an idle keep-alive connection has to send its next request head"),
        .init(name: "HTTP_REQUEST_TIMEOUT", defaultValue: "300",
              meaning: "extension (Node's requestTimeout): seconds a request body has to arrive after its head"),
        .init(name: "RTC_CONGESTION_CONTROL", defaultValue: "send-side",
              meaning: "extension (not in odoo/sfu): send-side (estimate from transport-cc feedback, probing, pacing) or "
                  + "loss-only (the estimate from receiver-reported loss alone, unpaced: the earlier behaviour, for comparison)"),
        .init(name: "RTC_SIMULATED_LOSS", defaultValue: "0",
              meaning: "testing aid (not in odoo/sfu): percent (0-50) of RTP/RTCP datagrams dropped at random each way"),
        .init(name: "RTC_PLAINTEXT_TAP_DIR", defaultValue: "(unset)",
              meaning: "debugging aid (not in odoo/sfu): write every transport's decrypted RTP/RTCP to <dir>/<channel>-<transport>.pcap "
                  + "(synthetic UDP from the peer to PUBLIC_IP:<RTC port> and back; Wireshark: Decode As RTP on that port; "
                  + "200 MB per file, 256 files open per worker)"),
        .init(name: "RTC_PLAINTEXT_TAP", defaultValue: "all",
              meaning: "debugging aid: which channels RTC_PLAINTEXT_TAP_DIR taps: all, or channel (only channels created "
                  + "with GET /v1/channel?tap=true)"),
    ]

    static let audioCodecNames = ["opus", "PCMU", "PCMA"]
    static let videoCodecNames = ["VP8", "VP9", "H264", "H264_1_2cb", "H264_1_3ch"]

    var authKey: String
    /// `AUTH_KEY` decoded with Node-lenient base64.
    var authKeyBytes: [UInt8]
    var publicIP: String
    var httpInterface: String
    var port: Int
    var rtcInterface: String
    var proxy: Bool
    /// Audio codec names in use, in order (odoo/sfu `getAllowedCodecs`).
    var audioCodecs: [String]
    /// Video codec names in use, in order.
    var videoCodecs: [String]
    var rtcMinPort: Int
    var rtcMaxPort: Int
    var maxBufIn: Int
    var maxBufOut: Int
    var maxBitrateIn: Int
    var maxBitrateOut: Int
    var maxVideoBitrate: Int
    var channelSize: Int
    var numWorkers: Int
    var workerLogLevel: String
    /// The effective log level (`nil` raw value handling: unset → error, unknown → verbose).
    var logLevel: SFULogLevel
    var logTimestamp: Bool
    /// `true`/`false` when `LOG_COLOR` decides, `nil` when it is unset (colour iff stdout is a TTY).
    var logColor: Bool?
    /// RTC_SIMULATED_LOSS as a fraction (0…0.5): media datagrams the workers drop on purpose (loss tests).
    var simulatedLoss: Double
    /// RTC_CONGESTION_CONTROL: how the workers estimate what each receiving browser can take.
    var congestionControl: CongestionControlMode
    /// RTC_PLAINTEXT_TAP_DIR: where the plaintext tap writes one pcap per transport (`nil`: tap off).
    var plaintextTapDirectory: String?
    /// RTC_PLAINTEXT_TAP: which channels the tap records.
    var plaintextTapScope: PlaintextTapScope
    /// HTTP_HEADERS_TIMEOUT, HTTP_KEEPALIVE_TIMEOUT, HTTP_REQUEST_TIMEOUT.
    var httpTimeouts: HTTPTimeouts

    /// The largest incoming WebSocket message (MAX_BUF_IN, or 1 MiB when 0).
    var webSocketMessageLimit: Int { maxBufIn > 0 ? maxBufIn : 1 << 20 }

    /// Reads the configuration from `environment`.
    /// - Parameter availableParallelism: the CPU count that caps `NUM_WORKERS` (injected for tests).
    init(environment env: [String: String], availableParallelism: Int = 1) throws(ConfigurationError) {
        func value(_ name: String) -> String? {
            guard let v = env[name], !v.isEmpty else { return nil }
            return v
        }
        guard let authKey = value("AUTH_KEY") else {
            throw .missing(variable: "AUTH_KEY",
                           reason: "it is not possible to authenticate requests without it")
        }
        let keyBytes = NodeBase64.decode(authKey)
        guard !keyBytes.isEmpty else {
            throw .invalid(variable: "AUTH_KEY", value: authKey, reason: "not a base64 encoded key (decodes to 0 bytes)")
        }
        guard let publicIP = value("PUBLIC_IP") else {
            throw .missing(variable: "PUBLIC_IP",
                           reason: "clients cannot establish webRTC connections without it")
        }
        self.authKey = authKey
        self.authKeyBytes = keyBytes
        self.publicIP = publicIP
        self.rtcInterface = value("RTC_INTERFACE") ?? "0.0.0.0"
        self.proxy = value("PROXY") != nil
        self.httpInterface = value("HTTP_INTERFACE") ?? "0.0.0.0"

        /// `Number(env) || default`, then required to be an integer in `range`.
        func integer(_ name: String, default defaultValue: Int, range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
            guard let raw = env[name] else { return defaultValue }
            let number = JSNumber.parse(raw)
            if number == 0 || number.isNaN { return defaultValue }
            guard number == number.rounded(), number >= Double(range.lowerBound), number <= Double(range.upperBound) else {
                throw .invalid(variable: name, value: raw,
                               reason: "expected an integer in \(range.lowerBound)...\(range.upperBound)")
            }
            return Int(number)
        }
        /// One of an extension variable's documented values (their raw values), `defaultValue` when unset.
        func choice<T: RawRepresentable & CaseIterable>(_ name: String, default defaultValue: T) throws(ConfigurationError) -> T
        where T.RawValue == String {
            guard let raw = value(name) else { return defaultValue }
            guard let chosen = T(rawValue: raw) else {
                throw .invalid(variable: name, value: raw, reason: "not " + T.allCases.map(\.rawValue).joined(separator: " or "))
            }
            return chosen
        }
        let big = Int(Int32.max)
        self.port = try integer("PORT", default: 8070, range: 1...65535)
        self.rtcMinPort = try integer("RTC_MIN_PORT", default: 40000, range: 1...65535)
        self.rtcMaxPort = try integer("RTC_MAX_PORT", default: 49999, range: 1...65535)
        guard rtcMinPort <= rtcMaxPort else {
            throw .invalid(variable: "RTC_MIN_PORT", value: String(rtcMinPort),
                           reason: "greater than RTC_MAX_PORT (\(rtcMaxPort))")
        }
        self.maxBufIn = try integer("MAX_BUF_IN", default: 0, range: 1...big)
        self.maxBufOut = try integer("MAX_BUF_OUT", default: 0, range: 1...big)
        self.maxBitrateIn = try integer("MAX_BITRATE_IN", default: 8_000_000, range: 1...big)
        self.maxBitrateOut = try integer("MAX_BITRATE_OUT", default: 10_000_000, range: 1...big)
        self.maxVideoBitrate = try integer("MAX_VIDEO_BITRATE", default: 4_000_000, range: 1...big)
        self.channelSize = try integer("CHANNEL_SIZE", default: 100, range: 1...big)
        let cpus = max(1, availableParallelism)
        // Math.min(Number(NUM_WORKERS) || Infinity, cpus)
        if let raw = env["NUM_WORKERS"], case let n = JSNumber.parse(raw), n != 0, !n.isNaN, n < Double(cpus) {
            guard n == n.rounded(), n >= 1 else {
                throw .invalid(variable: "NUM_WORKERS", value: raw, reason: "expected a positive integer")
            }
            self.numWorkers = Int(n)
        } else {
            self.numWorkers = cpus
        }

        func codecs(_ name: String, known: [String]) -> [String] {
            guard let raw = value(name) else { return known }
            return raw.split(separator: ",", omittingEmptySubsequences: false).map(String.init).filter(known.contains)
        }
        self.audioCodecs = codecs("AUDIO_CODECS", known: Self.audioCodecNames)
        self.videoCodecs = codecs("VIDEO_CODECS", known: Self.videoCodecNames)

        // (DEBUG && WORKER_LOG_LEVEL) || "none"
        if value("DEBUG") != nil, let level = value("WORKER_LOG_LEVEL") {
            self.workerLogLevel = level
        } else {
            self.workerLogLevel = "none"
        }
        // LOG_LEVEL ?? "error"; the logger's switch enables every level for an unknown value (including "").
        if let raw = env["LOG_LEVEL"] {
            self.logLevel = SFULogLevel(rawValue: raw) ?? .verbose
        } else {
            self.logLevel = .error
        }
        // !FALSY_INPUT.has(LOG_TIMESTAMP), case-sensitive
        self.logTimestamp = !["disable", "false", "none", "no", "0"].contains(env["LOG_TIMESTAMP"] ?? "\u{0}unset")
        // LOG_COLOR ? Boolean(LOG_COLOR) : stdout.isTTY
        self.logColor = value("LOG_COLOR") != nil ? true : nil
        self.congestionControl = try choice("RTC_CONGESTION_CONTROL", default: CongestionControlMode.sendSide)
        if let raw = value("RTC_SIMULATED_LOSS") {
            guard let percent = Double(raw), percent >= 0, percent <= 50 else {
                throw .invalid(variable: "RTC_SIMULATED_LOSS", value: raw, reason: "not a percentage between 0 and 50")
            }
            self.simulatedLoss = percent / 100
        } else {
            self.simulatedLoss = 0
        }
        self.httpTimeouts = HTTPTimeouts(
            headers: .seconds(try integer("HTTP_HEADERS_TIMEOUT", default: 60, range: 1...86_400)),
            keepAlive: .seconds(try integer("HTTP_KEEPALIVE_TIMEOUT", default: 5, range: 1...86_400)),
            request: .seconds(try integer("HTTP_REQUEST_TIMEOUT", default: 300, range: 1...86_400)))
        self.plaintextTapDirectory = value("RTC_PLAINTEXT_TAP_DIR")
        self.plaintextTapScope = try choice("RTC_PLAINTEXT_TAP", default: PlaintextTapScope.all)
    }
}

/// Which channels the plaintext tap records (RTC_PLAINTEXT_TAP).
enum PlaintextTapScope: String, Sendable, CaseIterable {
    /// Every transport of every channel.
    case all
    /// Only channels created with `GET /v1/channel?tap=true`.
    case channel
}

extension Configuration {
    /// `producerOptionsByKind` of INIT_TRANSPORTS (odoo/sfu `config.rtc.producerOptionsByKind`, docs/protocol.md §5.2):
    /// three simulcast encodings at /4, /2, ×1 of MAX_VIDEO_BITRATE, and twice it as the Google max bitrate.
    var producerOptionsByKind: JSONValue {
        let base: [String: JSONValue] = ["stopTracks": false, "disableTrackOnPause": false, "zeroRtpOnPause": true]
        var video = base
        video["codecOptions"] = .object([
            "videoGoogleMinBitrate": .number(1000), "videoGoogleStartBitrate": .number(1_000_000),
            "videoGoogleMaxBitrate": .number(Double(2 * maxVideoBitrate)),
        ])
        video["encodings"] = .array([(4, maxVideoBitrate / 4), (2, maxVideoBitrate / 2), (1, maxVideoBitrate)].map {
            .object(["scaleResolutionDownBy": .number(Double($0.0)), "maxBitrate": .number(Double($0.1))])
        })
        return .object(["audio": .object(base), "video": .object(video)])
    }
}
