import Testing
@testable import App

private let required = ["AUTH_KEY": "u6bsUQEWrHdKIuYplirRnbBmLbrKV5PxKG7DtA71mng=", "PUBLIC_IP": "203.0.113.10"]

private func config(_ extra: [String: String], cpus: Int = 8) throws(ConfigurationError) -> Configuration {
    try Configuration(environment: required.merging(extra) { $1 }, availableParallelism: cpus)
}

@Suite struct ConfigurationTests {
    @Test func defaults() throws {
        let c = try config([:])
        #expect(c.authKeyBytes.count == 32)
        #expect(c.publicIP == "203.0.113.10")
        #expect(c.httpInterface == "0.0.0.0")
        #expect(c.port == 8070)
        #expect(c.rtcInterface == "0.0.0.0")
        #expect(c.proxy == false)
        #expect(c.audioCodecs == ["opus", "PCMU", "PCMA"])
        #expect(c.videoCodecs == ["VP8", "VP9", "H264", "H264_1_2cb", "H264_1_3ch"])
        #expect(c.rtcMinPort == 40000 && c.rtcMaxPort == 49999)
        #expect(c.maxBufIn == 0 && c.maxBufOut == 0)
        #expect(c.maxBitrateIn == 8_000_000 && c.maxBitrateOut == 10_000_000)
        #expect(c.maxVideoBitrate == 4_000_000)
        #expect(c.channelSize == 100)
        #expect(c.numWorkers == 8)
        #expect(c.workerLogLevel == "none")
        #expect(c.logLevel == .error)
        #expect(c.logTimestamp == true)
        #expect(c.logColor == nil)
        // Node's http server timers (headersTimeout, keepAliveTimeout, requestTimeout), as odoo/sfu has them.
        #expect(c.httpTimeouts == HTTPTimeouts(headers: .seconds(60), keepAlive: .seconds(5), request: .seconds(300)))
        #expect(c.webSocketMessageLimit == 1 << 20)
    }

    @Test func httpTimeoutsAndTheWebSocketLimitCanBeSet() throws {
        let c = try config(["HTTP_HEADERS_TIMEOUT": "2", "HTTP_KEEPALIVE_TIMEOUT": "1", "HTTP_REQUEST_TIMEOUT": "30", "MAX_BUF_IN": "4096"])
        #expect(c.httpTimeouts == HTTPTimeouts(headers: .seconds(2), keepAlive: .seconds(1), request: .seconds(30)))
        #expect(c.webSocketMessageLimit == 4096)
        #expect(throws: ConfigurationError.self) { try config(["HTTP_HEADERS_TIMEOUT": "-3"]) }
    }

    @Test(arguments: [
        ([:], "AUTH_KEY"), (["AUTH_KEY": ""], "AUTH_KEY"), (["AUTH_KEY": "!!!!"], "AUTH_KEY"),
        (["AUTH_KEY": "k2V5"], "PUBLIC_IP"), (["AUTH_KEY": "k2V5", "PUBLIC_IP": ""], "PUBLIC_IP"),
    ] as [([String: String], String)])
    func requiredVariables(env: [String: String], variable: String) {
        do {
            _ = try Configuration(environment: env)
            Issue.record("expected an error naming \(variable)")
        } catch {
            switch error {
            case .missing(let v, _), .invalid(let v, _, _): #expect(v == variable)
            }
            #expect(error.description.contains(variable))
        }
    }

    @Test(arguments: [
        // JavaScript Number(x) || default
        ("8080", 8080), ("", 8070), ("0", 8070), ("abc", 8070), (" 9000 ", 9000), ("0x1F90", 8080),
        ("1e3", 1000), ("+81", 81), ("8070.0", 8070), ("08081", 8081),
    ] as [(String, Int)])
    func port(raw: String, expected: Int) throws {
        #expect(try config(["PORT": raw]).port == expected)
    }

    @Test(arguments: ["-1", "65536", "80.5", "Infinity"])
    func invalidPort(raw: String) {
        #expect(throws: ConfigurationError.self) { try config(["PORT": raw]) }
    }

    @Test(arguments: [
        ("RTC_MIN_PORT", "41000", \Configuration.rtcMinPort as any KeyPath<Configuration, Int> & Sendable, 41000),
        ("RTC_MIN_PORT", "", \.rtcMinPort, 40000),
        ("RTC_MIN_PORT", "0", \.rtcMinPort, 40000),
        ("RTC_MAX_PORT", "45000", \.rtcMaxPort, 45000),
        ("RTC_MAX_PORT", "nope", \.rtcMaxPort, 49999),
        ("MAX_BUF_IN", "65536", \.maxBufIn, 65536),
        ("MAX_BUF_IN", "x", \.maxBufIn, 0),
        ("MAX_BUF_OUT", "131072", \.maxBufOut, 131072),
        ("MAX_BITRATE_IN", "1000000", \.maxBitrateIn, 1_000_000),
        ("MAX_BITRATE_IN", "0", \.maxBitrateIn, 8_000_000),
        ("MAX_BITRATE_OUT", "2000000", \.maxBitrateOut, 2_000_000),
        ("MAX_BITRATE_OUT", "", \.maxBitrateOut, 10_000_000),
        ("MAX_VIDEO_BITRATE", "1500000", \.maxVideoBitrate, 1_500_000),
        ("MAX_VIDEO_BITRATE", "abc", \.maxVideoBitrate, 4_000_000),
        ("CHANNEL_SIZE", "3", \.channelSize, 3),
        ("CHANNEL_SIZE", "0", \.channelSize, 100),
        ("NUM_WORKERS", "2", \.numWorkers, 2),
        ("NUM_WORKERS", "64", \.numWorkers, 8),
        ("NUM_WORKERS", "0", \.numWorkers, 8),
        ("NUM_WORKERS", "many", \.numWorkers, 8),
    ] as [(String, String, any KeyPath<Configuration, Int> & Sendable, Int)])
    func numericVariables(name: String, raw: String, path: any KeyPath<Configuration, Int> & Sendable, expected: Int) throws {
        #expect(try config([name: raw])[keyPath: path] == expected)
    }

    @Test(arguments: [
        ["RTC_MIN_PORT": "50000", "RTC_MAX_PORT": "40000"], ["RTC_MIN_PORT": "-5"], ["RTC_MAX_PORT": "70000"],
        ["NUM_WORKERS": "-1"], ["NUM_WORKERS": "1.5"], ["CHANNEL_SIZE": "-3"], ["MAX_BITRATE_IN": "2.5"],
    ])
    func invalidNumbers(env: [String: String]) {
        #expect(throws: ConfigurationError.self) { try config(env) }
    }

    @Test func interfacesAndProxy() throws {
        let c = try config(["HTTP_INTERFACE": "127.0.0.1", "RTC_INTERFACE": "10.0.0.1", "PROXY": "1"])
        #expect(c.httpInterface == "127.0.0.1" && c.rtcInterface == "10.0.0.1" && c.proxy)
        #expect(try config(["PROXY": ""]).proxy == false)
        #expect(try config(["PROXY": "false"]).proxy == true)  // Boolean("false") is true
        #expect(try config(["HTTP_INTERFACE": ""]).httpInterface == "0.0.0.0")
        #expect(try config(["RTC_INTERFACE": ""]).rtcInterface == "0.0.0.0")
    }

    @Test(arguments: [
        ("opus", ["opus"]), ("PCMA,opus", ["PCMA", "opus"]), ("opus,unknown,PCMU", ["opus", "PCMU"]),
        ("OPUS", []), ("opus, PCMU", ["opus"]), ("", ["opus", "PCMU", "PCMA"]),
    ] as [(String, [String])])
    func audioCodecs(raw: String, expected: [String]) throws {
        #expect(try config(["AUDIO_CODECS": raw]).audioCodecs == expected)
    }

    @Test(arguments: [
        ("VP8,H264", ["VP8", "H264"]), ("H264_1_2cb", ["H264_1_2cb"]), ("vp8", []),
        ("", ["VP8", "VP9", "H264", "H264_1_2cb", "H264_1_3ch"]),
    ] as [(String, [String])])
    func videoCodecs(raw: String, expected: [String]) throws {
        #expect(try config(["VIDEO_CODECS": raw]).videoCodecs == expected)
    }

    @Test func workerLogLevelNeedsDebug() throws {
        #expect(try config(["WORKER_LOG_LEVEL": "debug"]).workerLogLevel == "none")
        #expect(try config(["WORKER_LOG_LEVEL": "debug", "DEBUG": "1"]).workerLogLevel == "debug")
        #expect(try config(["WORKER_LOG_LEVEL": "", "DEBUG": "1"]).workerLogLevel == "none")
    }

    @Test(arguments: [
        ("none", SFULogLevel.none), ("error", .error), ("warn", .warn), ("info", .info), ("debug", .debug),
        ("verbose", .verbose), ("all", .verbose), ("", .verbose), ("INFO", .verbose),
    ] as [(String, SFULogLevel)])
    func logLevel(raw: String, expected: SFULogLevel) throws {
        #expect(try config(["LOG_LEVEL": raw]).logLevel == expected)
    }

    @Test(arguments: [
        ("disable", false), ("false", false), ("none", false), ("no", false), ("0", false),
        ("FALSE", true), ("", true), ("1", true), ("yes", true),
    ] as [(String, Bool)])
    func logTimestamp(raw: String, expected: Bool) throws {
        #expect(try config(["LOG_TIMESTAMP": raw]).logTimestamp == expected)
    }

    @Test func logColor() throws {
        #expect(try config(["LOG_COLOR": "1"]).logColor == true)
        #expect(try config(["LOG_COLOR": "false"]).logColor == true)  // Boolean("false")
        #expect(try config(["LOG_COLOR": ""]).logColor == nil)
        #expect(try config([:]).simulatedLoss == 0 && config(["RTC_SIMULATED_LOSS": "15"]).simulatedLoss == 0.15)
        #expect(throws: ConfigurationError.self) { try config(["RTC_SIMULATED_LOSS": "60"]) }
        #expect(throws: ConfigurationError.self) { try config(["RTC_SIMULATED_LOSS": "x"]) }
    }

    @Test func plaintextTapDirectory() throws {
        #expect(try config([:]).plaintextTapDirectory == nil)
        #expect(try config(["RTC_PLAINTEXT_TAP_DIR": ""]).plaintextTapDirectory == nil)
        #expect(try config(["RTC_PLAINTEXT_TAP_DIR": "/tmp/taps"]).plaintextTapDirectory == "/tmp/taps")
        // Which channels: every one (default) or only those created with GET /v1/channel?tap=true.
        #expect(try config([:]).plaintextTapScope == .all)
        #expect(try config(["RTC_PLAINTEXT_TAP": "all"]).plaintextTapScope == .all)
        #expect(try config(["RTC_PLAINTEXT_TAP": "channel"]).plaintextTapScope == .channel)
        #expect(throws: ConfigurationError.self) { try config(["RTC_PLAINTEXT_TAP": "some"]) }
    }

    @Test func congestionControlMode() throws {
        #expect(try config([:]).congestionControl == .sendSide)
        #expect(try config(["RTC_CONGESTION_CONTROL": "send-side"]).congestionControl == .sendSide)
        #expect(try config(["RTC_CONGESTION_CONTROL": "loss-only"]).congestionControl == .lossOnly)
        #expect(throws: ConfigurationError.self) { try config(["RTC_CONGESTION_CONTROL": "gcc"]) }
    }

    @Test func helpListsEveryVariable() {
        let help = CommandLineAction.helpText
        for name in ["AUTH_KEY", "PUBLIC_IP", "HTTP_INTERFACE", "PORT", "RTC_INTERFACE", "PROXY", "AUDIO_CODECS",
                     "VIDEO_CODECS", "RTC_MIN_PORT", "RTC_MAX_PORT", "MAX_BUF_IN", "MAX_BUF_OUT", "MAX_BITRATE_IN",
                     "MAX_BITRATE_OUT", "MAX_VIDEO_BITRATE", "CHANNEL_SIZE", "NUM_WORKERS", "WORKER_LOG_LEVEL",
                     "LOG_LEVEL", "LOG_TIMESTAMP", "LOG_COLOR", "RTC_SIMULATED_LOSS", "RTC_PLAINTEXT_TAP_DIR",
                     "RTC_PLAINTEXT_TAP", "RTC_CONGESTION_CONTROL"] {
            #expect(help.contains("  \(name) "), "missing \(name)")
        }
        #expect(help.contains("[default: 8070]"))
    }

    @Test(arguments: [
        ([], CommandLineAction.run), (["--help"], .help), (["-h"], .help), (["--version"], .version),
        (["--bogus"], .invalid("--bogus")),
    ] as [([String], CommandLineAction)])
    func commandLine(arguments: [String], expected: CommandLineAction) {
        #expect(CommandLineAction.parse(arguments) == expected)
    }

    @Test func logLineFormat() {
        #expect(SFULogHandler.format(level: .error, label: "HTTP", message: "boom", timestamp: nil, color: false)
            == "odoo-sfu :ERROR: [HTTP] - boom")
        #expect(SFULogHandler.format(level: .warning, label: "WS", message: "m", timestamp: "2026-01-01T00:00:00.000Z", color: true)
            == "2026-01-01T00:00:00.000Z odoo-sfu \u{1B}[33m:WARN: [WS] - m\u{1B}[0m")
        #expect(SFULogHandler.format(level: .debug, label: "X", message: "d", timestamp: nil, color: true)
            == "odoo-sfu :DEBUG: [X] - d\u{1B}[0m")
        #expect(SFULogHandler.format(level: .trace, label: "X", message: "v", timestamp: nil, color: false)
            == "odoo-sfu :VERBOSE: [X] - v")
        #expect(SFULogHandler.format(level: .info, label: "X", message: "i", timestamp: nil, color: false)
            == "odoo-sfu :INFO: [X] - i")
        #expect(SFULogHandler.swiftLogLevel(.none) == nil)
        #expect(SFULogHandler.swiftLogLevel(.warn) == .warning)
        #expect(SFULogHandler.swiftLogLevel(.verbose) == .trace)
    }

    @Test func isoTimestamps() {
        #expect(ISO8601Milliseconds.format(milliseconds: 0) == "1970-01-01T00:00:00.000Z")
        #expect(ISO8601Milliseconds.format(milliseconds: 1_736_241_164_103) == "2025-01-07T09:12:44.103Z")
        #expect(ISO8601Milliseconds.format(milliseconds: 951_782_400_999) == "2000-02-29T00:00:00.999Z")
    }
}
