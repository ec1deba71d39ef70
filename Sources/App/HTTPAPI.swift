import Foundation

/// An HTTP request as the API sees it (the NIO edge fills it in).
struct APIRequest: Sendable {
    var method: String
    /// The request-target exactly as received (`/v1/channel?webRTC=false`).
    var uri: String
    /// Header fields in arrival order.
    var headers: [(name: String, value: String)]
    var body: [UInt8]
    /// Textual peer address of the socket (e.g. `127.0.0.1`, `::1`).
    var peerAddress: String

    init(method: String, uri: String, headers: [(name: String, value: String)] = [], body: [UInt8] = [],
         peerAddress: String = "127.0.0.1") {
        self.method = method
        self.uri = uri
        self.headers = headers
        self.body = body
        self.peerAddress = peerAddress
    }

    /// First value of a header, case-insensitive (Node keeps the first of duplicated singleton headers and
    /// joins other duplicates with ", ", whose first comma-part is again the first value).
    func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}

/// An HTTP response produced by the API.
struct APIResponse: Equatable, Sendable {
    var status: Int
    var headers: [String: String]
    var body: [UInt8]

    init(status: Int, headers: [String: String] = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    static func json(_ text: String) -> APIResponse {
        APIResponse(status: 200, headers: ["content-type": "application/json"], body: Array(text.utf8))
    }

    var bodyString: String { String(decoding: body, as: UTF8.self) }
}

/// Request info of odoo/sfu `extractRequestInfo` (docs/protocol.md §1.1).
struct RequestInfo: Equatable, Sendable {
    var remoteAddress: String
    var `protocol`: String
    var host: String
    var pathname: String
    var query: String
}

/// The HTTP routes of docs/protocol.md §1 as a plain request-in/response-out type; NIO is only the edge around it.
struct HTTPAPI: Sendable {
    /// Log lines the edge should emit (level, message), so routing stays free of I/O.
    enum LogEvent: Equatable, Sendable {
        case verbose(String), info(String), warn(String), error(String)
    }

    let publicIP: String
    let port: Int
    let proxy: Bool
    let globalVerifier: JWTVerifier
    var registry = ChannelRegistry()
    /// Session counts per channel, published by the workers (`/v1/stats` `sessionsStats`).
    var sessionStats: [String: ChannelSessionStats] = [:]
    /// Sessions `/v1/disconnect` asked to kick (channel uuid, session id), for the WebSocket layer to
    /// close with 4108; taken with ``takeKicks()``.
    private(set) var kicks: [(channel: String, sessionID: JSONValue)] = []

    /// The pending kicks, emptied.
    mutating func takeKicks() -> [(channel: String, sessionID: JSONValue)] {
        defer { kicks = [] }
        return kicks
    }

    init(configuration: Configuration) {
        self.init(publicIP: configuration.publicIP, port: configuration.port, proxy: configuration.proxy,
                  authKeyBytes: configuration.authKeyBytes)
    }

    init(publicIP: String, port: Int, proxy: Bool, authKeyBytes: [UInt8]) {
        self.publicIP = publicIP
        self.port = port
        self.proxy = proxy
        self.globalVerifier = JWTVerifier(keyBytes: authKeyBytes)
    }

    /// odoo/sfu `extractRequestInfo`.
    func requestInfo(_ request: APIRequest) -> RequestInfo {
        let (pathname, query) = URLTarget.parse(request.uri)
        var info = RequestInfo(remoteAddress: request.peerAddress, protocol: "http", host: "\(publicIP):\(port)",
                               pathname: pathname, query: query)
        if proxy {
            func first(_ name: String) -> String? {
                guard let value = request.header(name), !value.isEmpty else { return nil }
                return String(value.split(separator: ",", maxSplits: 1, omittingEmptySubsequences: false)[0])
            }
            if let host = first("x-forwarded-host") { info.host = host }
            if let proto = first("x-forwarded-proto") { info.protocol = proto == "https" ? "https" : "http" }
            if let address = first("x-forwarded-for") { info.remoteAddress = address }
        }
        return info
    }

    /// Handles one request at wall time `nowMilliseconds` (Unix ms; JWT checks use `floor(ms/1000)`).
    mutating func handle(_ request: APIRequest, nowMilliseconds: Int64) -> (APIResponse, [LogEvent]) {
        let info = requestInfo(request)
        var log: [LogEvent] = [.verbose("\(info.remoteAddress) - \(request.method) - \(request.uri)")]
        let response: APIResponse
        switch request.method {
        case "GET":
            switch info.pathname {
            case "/v1/noop": response = .json(#"{"result":"ok"}"#)
            case "/v1/stats": response = .json(statsJSON())
            case "/v1/channel": response = createChannel(request, info, nowMilliseconds, &log)
            default: response = APIResponse(status: 404)
            }
        case "POST":
            switch info.pathname {
            case "/v1/disconnect": response = disconnect(request, info, nowMilliseconds, &log)
            default: response = APIResponse(status: 404)
            }
        case "OPTIONS":
            response = APIResponse(status: 404)  // no route enables CORS
        default:
            log.append(.warn("[\(info.remoteAddress)] \(request.method) is not allowed on \(request.uri)"))
            response = APIResponse(status: 405)
        }
        return (response, log)
    }

    private func sessions(_ uuid: String) -> ChannelSessionStats { sessionStats[uuid] ?? ChannelSessionStats() }

    private func statsJSON() -> String {
        let objects = registry.channels.map { channel in
            "{\"createDate\":\(JSONText.string(channel.createDate)),\"uuid\":\(JSONText.string(channel.uuid)),"
                + "\"remoteAddress\":\(JSONText.string(channel.remoteAddress)),"
                + "\"sessionsStats\":{\"count\":\(sessions(channel.uuid).count),\"cameraCount\":\(sessions(channel.uuid).cameraCount),"
                + "\"screenCount\":\(sessions(channel.uuid).screenCount),"
                + "\"incomingBitRate\":{\"audio\":\(sessions(channel.uuid).audioBitrate),\"camera\":\(sessions(channel.uuid).cameraBitrate),"
                + "\"screen\":\(sessions(channel.uuid).screenBitrate),\"total\":\(sessions(channel.uuid).totalBitrate)}},"
                + "\"webRtcEnabled\":\(channel.webRTC)}"
        }
        return "[" + objects.joined(separator: ",") + "]"
    }

    private mutating func createChannel(_ request: APIRequest, _ info: RequestInfo, _ nowMilliseconds: Int64,
                                        _ log: inout [LogEvent]) -> APIResponse {
        // authorization?.split(" ")[1]
        guard let authorization = request.header("authorization") else {
            log.append(.warn("\(info.remoteAddress): missing authorization header when creating channel"))
            return APIResponse(status: 401)
        }
        let parts = authorization.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count > 1, !parts[1].isEmpty else {
            log.append(.warn("\(info.remoteAddress): missing authorization header when creating channel"))
            return APIResponse(status: 401)
        }
        let claims: JSONValue
        do {
            claims = try globalVerifier.verify(String(parts[1]), now: Self.seconds(nowMilliseconds))
        } catch {
            log.append(.warn("[\(info.remoteAddress)] failed to create channel: \(error)"))
            return APIResponse(status: 500)
        }
        guard let iss = claims["iss"], iss.isTruthy else {
            log.append(.warn("\(info.remoteAddress): missing issuer claim when creating channel"))
            return APIResponse(status: 403)
        }
        let issuer = iss.jsString
        let webRTC = URLTarget.queryValue(info.query, name: "webRTC") != "false"
        // Not in odoo/sfu: asks the plaintext tap to record this channel (RTC_PLAINTEXT_TAP=channel).
        let tapped = URLTarget.queryValue(info.query, name: "tap") == "true"
        if let existing = registry.channel(remoteAddress: info.remoteAddress, issuer: issuer) {
            log.append(.verbose("reusing channel \(existing.uuid)"))
            return channelResponse(existing, info)
        }
        let key: [UInt8]?
        switch claims["key"] {
        case .some(.string(let text)) where !text.isEmpty: key = NodeBase64.decode(text)
        case .some(let other) where other.isTruthy:
            // Buffer.from(<non-string>, "base64") throws in odoo/sfu → 500.
            log.append(.warn("[\(info.remoteAddress)] failed to create channel: invalid key claim"))
            return APIResponse(status: 500)
        default: key = nil
        }
        let (channel, _) = registry.createOrReuse(remoteAddress: info.remoteAddress, issuer: issuer, key: key,
                                                  webRTC: webRTC, tapped: tapped, nowMilliseconds: nowMilliseconds)
        log.append(.info("created channel \(channel.uuid) (\(key != nil ? "unique" : "global") key) for \(info.remoteAddress)::\(issuer)"))
        return channelResponse(channel, info)
    }

    private func channelResponse(_ channel: ChannelRecord, _ info: RequestInfo) -> APIResponse {
        let body = "{\"uuid\":\(JSONText.string(channel.uuid)),\"url\":\(JSONText.string("\(info.protocol)://\(info.host)"))}"
        return APIResponse(status: 200, headers: ["content-type": "application/json"], body: Array(body.utf8))
    }

    private mutating func disconnect(_ request: APIRequest, _ info: RequestInfo, _ nowMilliseconds: Int64,
                                     _ log: inout [LogEvent]) -> APIResponse {
        let token = String(decoding: request.body, as: UTF8.self)
        do {
            let claims = try globalVerifier.verify(token, now: Self.seconds(nowMilliseconds))
            // Object.entries(claims.sessionIdsByChannel): throws for undefined/null (→ 422).
            guard let byChannel = claims["sessionIdsByChannel"], byChannel != .null else {
                log.append(.error("[\(info.remoteAddress)] failed to disconnect session: missing sessionIdsByChannel"))
                return APIResponse(status: 422)
            }
            let entries: [(String, JSONValue)]
            switch byChannel {
            case .object(let members): entries = members.map { ($0.key, $0.value) }
            case .array(let elements): entries = elements.enumerated().map { (String($0.offset), $0.element) }
            case .string(let text): entries = text.enumerated().map { (String($0.offset), .string(String($0.element))) }
            default: entries = []  // numbers/booleans have no own enumerable entries
            }
            for (uuid, sessionIds) in entries {
                guard let channel = registry.channel(uuid: uuid) else { continue }
                guard channel.remoteAddress == info.remoteAddress else {
                    log.append(.warn("[\(info.remoteAddress)] tried to disconnect sessions from channel \(uuid) but is not the owner, requested by: \(info.remoteAddress), authorized for: \(channel.remoteAddress)"))
                    continue
                }
                // `for (const sessionId of sessionIds)`: must be iterable; each id is matched type-exactly.
                switch sessionIds {
                case .array(let ids): kicks += ids.map { (uuid, $0) }
                case .string(let text): kicks += text.map { (uuid, .string(String($0))) }
                default:
                    log.append(.error("[\(info.remoteAddress)] failed to disconnect session: sessionIds not iterable"))
                    return APIResponse(status: 422)
                }
            }
            return APIResponse(status: 200)
        } catch {
            log.append(.error("[\(info.remoteAddress)] failed to disconnect session: \(error)"))
            return APIResponse(status: 422)
        }
    }

    static func seconds(_ milliseconds: Int64) -> Int64 {
        milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
    }
}

/// JSON text helpers matching `JSON.stringify` for strings.
enum JSONText {
    static func string(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// Request-target parsing as `new URL(req.url, "http://localhost/")` does for the cases that matter:
/// fragment and query split, `\` → `/`, dot-segment removal, absolute-form and `//authority` targets.
enum URLTarget {
    static func parse(_ uri: String) -> (pathname: String, query: String) {
        var rest = Substring(uri.replacingOccurrences(of: "\\", with: "/"))
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        var query = ""
        if let question = rest.firstIndex(of: "?") {
            query = String(rest[rest.index(after: question)...])
            rest = rest[..<question]
        }
        // Absolute form (scheme://authority/path) or scheme-relative (//authority/path).
        if let schemeEnd = rest.range(of: "://"), rest[..<schemeEnd.lowerBound].allSatisfy({ $0.isLetter || $0 == "+" || $0 == "-" || $0 == "." }),
           !rest[..<schemeEnd.lowerBound].isEmpty {
            let afterAuthority = rest[schemeEnd.upperBound...]
            rest = afterAuthority.firstIndex(of: "/").map { afterAuthority[$0...] } ?? "/"
        } else if rest.hasPrefix("//") {
            let afterAuthority = rest.dropFirst(2)
            rest = afterAuthority.firstIndex(of: "/").map { afterAuthority[$0...] } ?? "/"
        }
        if !rest.hasPrefix("/") { rest = "/" + rest }
        return (removeDotSegments(String(rest)), query)
    }

    private static func removeDotSegments(_ path: String) -> String {
        let segments = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        var output: [Substring] = []
        for (index, segment) in segments.enumerated() {
            let isLast = index == segments.count - 1
            let lower = segment.lowercased()
            if lower == ".." || lower == ".%2e" || lower == "%2e." || lower == "%2e%2e" {
                if !output.isEmpty { output.removeLast() }
                if isLast { output.append("") }
            } else if lower == "." || lower == "%2e" {
                if isLast { output.append("") }
            } else {
                output.append(segment)
            }
        }
        return "/" + output.joined(separator: "/")
    }

    /// `URLSearchParams.get(name)`: first matching pair, `+` → space, percent-decoded.
    static func queryValue(_ query: String, name: String) -> String? {
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if decode(parts[0]) == name { return parts.count > 1 ? decode(parts[1]) : "" }
        }
        return nil
    }

    private static func decode(_ text: Substring) -> String {
        let bytes = Array(text.replacingOccurrences(of: "+", with: " ").utf8)
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count,
               let high = Character(UnicodeScalar(bytes[index + 1])).hexDigitValue,
               let low = Character(UnicodeScalar(bytes[index + 2])).hexDigitValue {
                out.append(UInt8(high * 16 + low))
                index += 3
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
