import SFU

// JSON bridge for the ORTC value types (docs/protocol.md §6.1, §6.2, §6.5, §6.6, §6.8): parsing follows mediasoup's
// validateRtpCapabilities / validateRtpParameters (type checks, defaults), output uses mediasoup-client's
// field names and keeps value types (numbers stay numbers, profile-level-id stays a string).

/// Typed readers over a parsed JSON object, with mediasoup's "truthy but wrong type throws" rule.
private struct JSONFields {
    let members: [String: JSONValue]
    let path: String

    init(_ value: JSONValue, path: String) throws(ORTCError) {
        guard case .object(let members) = value else { throw .invalid(field: path, reason: "not an object") }
        self.members = members
        self.path = path
    }

    func field(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    /// A member that is present and not null.
    func value(_ key: String) -> JSONValue? {
        guard let v = members[key], v != .null else { return nil }
        return v
    }

    func requiredNumber(_ key: String) throws(ORTCError) -> Double {
        guard case .number(let n)? = members[key], n.isFinite else { throw .invalid(field: field(key), reason: "must be a number") }
        return n
    }

    func requiredString(_ key: String) throws(ORTCError) -> String {
        guard case .string(let s)? = members[key], !s.isEmpty else { throw .invalid(field: field(key), reason: "must be a non-empty string") }
        return s
    }

    /// `if (x && typeof x !== 'string') throw`; a falsy non-string counts as absent.
    func optionalString(_ key: String) throws(ORTCError) -> String? {
        guard let v = members[key] else { return nil }
        if case .string(let s) = v { return s }
        if v.isTruthy { throw .invalid(field: field(key), reason: "must be a string") }
        return nil
    }

    /// `if (x && typeof x !== 'number') throw`; a falsy non-number counts as absent.
    func optionalNumber(_ key: String) throws(ORTCError) -> Double? {
        guard let v = members[key] else { return nil }
        if case .number(let n) = v {
            guard n.isFinite else { throw .invalid(field: field(key), reason: "must be a finite number") }
            return n
        }
        if v.isTruthy { throw .invalid(field: field(key), reason: "must be a number") }
        return nil
    }

    /// An optional array: absent/null/falsy → empty, a truthy non-array throws.
    func array(_ key: String) throws(ORTCError) -> [JSONValue] {
        guard let v = members[key] else { return [] }
        if case .array(let items) = v { return items }
        if v.isTruthy { throw .invalid(field: field(key), reason: "must be an array") }
        return []
    }

    func integer<T: FixedWidthInteger>(_ n: Double, _ key: String, as: T.Type, in range: ClosedRange<T>) throws(ORTCError) -> T {
        guard let i = T(exactly: n), range.contains(i) else { throw .invalid(field: field(key), reason: "\(n) is not an integer in \(range)") }
        return i
    }
}

private func parseMimeType(_ f: JSONFields) throws(ORTCError) -> (String, MediaKind) {
    let mimeType = try f.requiredString("mimeType")
    guard let kind = ORTC.kind(ofMimeType: mimeType) else { throw .invalid(field: f.field("mimeType"), reason: "invalid mimeType \(mimeType)") }
    return (mimeType, kind)
}

/// Audio `channels`: a number (integral, ≥ 1) if given as a number, else 1; video: always nil.
private func parseChannels(_ f: JSONFields, kind: MediaKind) throws(ORTCError) -> Int? {
    guard kind == .audio else { return nil }
    guard case .number(let n)? = f.members["channels"] else { return 1 }
    return try f.integer(n, "channels", as: Int.self, in: 1...255)
}

/// Codec `parameters`: values must be strings or numbers; `apt` must be a number.
private func parseCodecParameters(_ f: JSONFields) throws(ORTCError) -> [String: RTPCodecParameterValue] {
    guard case .object(let members)? = f.members["parameters"] else { return [:] }
    var out: [String: RTPCodecParameterValue] = [:]
    for (key, value) in members {
        switch value {
        case .number(let n) where n.isFinite: out[key] = .number(n)
        case .string(let s):
            if key == "apt" { throw .invalid(field: f.field("parameters.apt"), reason: "apt must be a number") }
            out[key] = .string(s)
        default: throw .invalid(field: f.field("parameters." + key), reason: "must be a string or a number")
        }
    }
    return out
}

/// `rtcpFeedback`: a non-array is treated as empty; each entry needs a non-empty string `type`.
private func parseFeedback(_ f: JSONFields) throws(ORTCError) -> [RTCPFeedback] {
    guard case .array(let items)? = f.members["rtcpFeedback"] else { return [] }
    var out: [RTCPFeedback] = []
    for (i, item) in items.enumerated() {
        let fb = try JSONFields(item, path: f.field("rtcpFeedback[\(i)]"))
        let type = try fb.requiredString("type")
        var parameter = ""
        if case .string(let p)? = fb.members["parameter"] { parameter = p }
        out.append(RTCPFeedback(type: type, parameter: parameter))
    }
    return out
}

private func parametersJSON(_ parameters: [String: RTPCodecParameterValue]) -> JSONValue {
    .object(parameters.mapValues { value in
        switch value {
        case .number(let n): return .number(n)
        case .string(let s): return .string(s)
        }
    })
}

private func feedbackJSON(_ feedback: [RTCPFeedback]) -> JSONValue {
    .array(feedback.map { .object(["type": .string($0.type), "parameter": .string($0.parameter)]) })
}

extension RTPCapabilities {
    /// Parses and validates capabilities (the client's reply to INIT_TRANSPORTS, §6.2) like mediasoup's
    /// `validateRtpCapabilities` plus the type rules of §6.8: codec `kind` comes from `mimeType`,
    /// `preferredPayloadType` and `clockRate` must be numbers, audio `channels` default to 1, parameters are
    /// strings or numbers (`apt` a number), feedback `parameter` defaults to `""`; header extensions need
    /// `kind` audio/video, a `uri` and a numeric `preferredId`, `preferredEncrypt` defaults to false and
    /// `direction` to sendrecv.
    init(json: JSONValue) throws(ORTCError) {
        let f = try JSONFields(json, path: "")
        var codecs: [RTPCodecCapability] = []
        for (i, item) in try f.array("codecs").enumerated() {
            let c = try JSONFields(item, path: "codecs[\(i)]")
            let (mimeType, kind) = try parseMimeType(c)
            let pt = try c.integer(try c.requiredNumber("preferredPayloadType"), "preferredPayloadType", as: UInt8.self, in: 0...127)
            let clockRate = try c.integer(try c.requiredNumber("clockRate"), "clockRate", as: Int.self, in: 1...Int(Int32.max))
            codecs.append(RTPCodecCapability(kind: kind, mimeType: mimeType, preferredPayloadType: pt, clockRate: clockRate,
                                             channels: try parseChannels(c, kind: kind), parameters: try parseCodecParameters(c),
                                             rtcpFeedback: try parseFeedback(c)))
        }
        var extensions: [RTPHeaderExtensionCapability] = []
        for (i, item) in try f.array("headerExtensions").enumerated() {
            let e = try JSONFields(item, path: "headerExtensions[\(i)]")
            guard case .string(let kindText)? = e.members["kind"], let kind = MediaKind(rawValue: kindText) else {
                throw .invalid(field: e.field("kind"), reason: "must be audio or video")
            }
            let uri = try e.requiredString("uri")
            let id = try e.integer(try e.requiredNumber("preferredId"), "preferredId", as: UInt8.self, in: 0...255)
            var encrypt = false
            if let v = e.members["preferredEncrypt"] {
                if case .bool(let b) = v { encrypt = b } else if v.isTruthy { throw .invalid(field: e.field("preferredEncrypt"), reason: "must be a boolean") }
            }
            var direction = RTPHeaderExtensionDirection.sendrecv
            if let text = try e.optionalString("direction"), !text.isEmpty {
                guard let d = RTPHeaderExtensionDirection(rawValue: text) else { throw .invalid(field: e.field("direction"), reason: "unknown direction \(text)") }
                direction = d
            }
            extensions.append(RTPHeaderExtensionCapability(kind: kind, uri: uri, preferredID: id, preferredEncrypt: encrypt, direction: direction))
        }
        self.init(codecs: codecs, headerExtensions: extensions)
    }

    /// Router capabilities as INIT_TRANSPORTS carries them (§6.1 field names).
    var json: JSONValue {
        .object([
            "codecs": .array(codecs.map { c in
                var o: [String: JSONValue] = [
                    "kind": .string(c.kind.rawValue), "mimeType": .string(c.mimeType),
                    "preferredPayloadType": .number(Double(c.preferredPayloadType)), "clockRate": .number(Double(c.clockRate)),
                    "parameters": parametersJSON(c.parameters), "rtcpFeedback": feedbackJSON(c.rtcpFeedback),
                ]
                if let ch = c.channels { o["channels"] = .number(Double(ch)) }
                return .object(o)
            }),
            "headerExtensions": .array(headerExtensions.map { e in
                .object([
                    "kind": .string(e.kind.rawValue), "uri": .string(e.uri), "preferredId": .number(Double(e.preferredID)),
                    "preferredEncrypt": .bool(e.preferredEncrypt), "direction": .string(e.direction.rawValue),
                ])
            }),
        ])
    }
}

extension RTPParameters {
    /// Parses and validates RTP parameters (INIT_PRODUCER's `rtpParameters`, §6.5) like mediasoup's
    /// `validateRtpParameters`: `codecs` is required (each with `mimeType`, numeric `payloadType` and
    /// `clockRate`), `mid`/`rid`/`scalabilityMode`/`rtcp.cname` must be strings and `ssrc`/`rtx.ssrc`/header
    /// extension `id` numbers when present; audio `channels` default to 1, encodings' `dtx` to false,
    /// `rtcp.reducedSize` is forced true. Empty encodings stay empty here (``ORTC/validateParameters(_:)``
    /// adds the default one).
    init(json: JSONValue) throws(ORTCError) {
        let f = try JSONFields(json, path: "")
        let mid = try f.optionalString("mid")
        guard case .array(let codecItems)? = f.members["codecs"] else { throw .invalid(field: "codecs", reason: "missing codecs") }
        var codecs: [RTPCodecParameters] = []
        for (i, item) in codecItems.enumerated() {
            let c = try JSONFields(item, path: "codecs[\(i)]")
            let (mimeType, kind) = try parseMimeType(c)
            let pt = try c.integer(try c.requiredNumber("payloadType"), "payloadType", as: UInt8.self, in: 0...127)
            let clockRate = try c.integer(try c.requiredNumber("clockRate"), "clockRate", as: Int.self, in: 1...Int(Int32.max))
            codecs.append(RTPCodecParameters(mimeType: mimeType, payloadType: pt, clockRate: clockRate, channels: try parseChannels(c, kind: kind),
                                             parameters: try parseCodecParameters(c), rtcpFeedback: try parseFeedback(c)))
        }
        var extensions: [RTPHeaderExtensionParameters] = []
        for (i, item) in try f.array("headerExtensions").enumerated() {
            let e = try JSONFields(item, path: "headerExtensions[\(i)]")
            let uri = try e.requiredString("uri")
            let id = try e.integer(try e.requiredNumber("id"), "id", as: UInt8.self, in: 0...255)
            var encrypt = false
            if let v = e.members["encrypt"] {
                if case .bool(let b) = v { encrypt = b } else if v.isTruthy { throw .invalid(field: e.field("encrypt"), reason: "must be a boolean") }
            }
            extensions.append(RTPHeaderExtensionParameters(uri: uri, id: id, encrypt: encrypt))
        }
        var encodings: [RTPEncodingParameters] = []
        for (i, item) in try f.array("encodings").enumerated() {
            let e = try JSONFields(item, path: "encodings[\(i)]")
            var encoding = RTPEncodingParameters()
            if let n = try e.optionalNumber("ssrc") { encoding.ssrc = try e.integer(n, "ssrc", as: UInt32.self, in: 0...UInt32.max) }
            encoding.rid = try e.optionalString("rid")
            if let rtx = e.members["rtx"], rtx.isTruthy {
                let r = try JSONFields(rtx, path: e.field("rtx"))
                encoding.rtxSSRC = try r.integer(try r.requiredNumber("ssrc"), "ssrc", as: UInt32.self, in: 0...UInt32.max)
            }
            encoding.scalabilityMode = try e.optionalString("scalabilityMode")
            if let n = try e.optionalNumber("maxBitrate") {
                guard n >= 0, n < 1e15 else { throw .invalid(field: e.field("maxBitrate"), reason: "out of range") }
                encoding.maxBitrate = Int(n)
            }
            if case .number(let n)? = e.members["scaleResolutionDownBy"], n.isFinite { encoding.scaleResolutionDownBy = n }
            if case .bool(let b)? = e.members["active"] { encoding.active = b }
            if case .bool(let b)? = e.members["dtx"] { encoding.dtx = b } else { encoding.dtx = false }
            encodings.append(encoding)
        }
        var cname: String?
        if let rtcp = f.members["rtcp"], rtcp.isTruthy {
            cname = try JSONFields(rtcp, path: "rtcp").optionalString("cname")
        }
        self.init(mid: mid, codecs: codecs, headerExtensions: extensions, encodings: encodings, rtcpCNAME: cname, rtcpReducedSize: true)
    }

    /// RTP parameters as INIT_CONSUMER carries them (§6.6 field names); absent optional fields are omitted.
    var json: JSONValue {
        var o: [String: JSONValue] = [
            "codecs": .array(codecs.map { c in
                var co: [String: JSONValue] = [
                    "mimeType": .string(c.mimeType), "payloadType": .number(Double(c.payloadType)), "clockRate": .number(Double(c.clockRate)),
                    "parameters": parametersJSON(c.parameters), "rtcpFeedback": feedbackJSON(c.rtcpFeedback),
                ]
                if let ch = c.channels { co["channels"] = .number(Double(ch)) }
                return .object(co)
            }),
            "headerExtensions": .array(headerExtensions.map { e in
                .object(["uri": .string(e.uri), "id": .number(Double(e.id)), "encrypt": .bool(e.encrypt), "parameters": .object([:])])
            }),
            "encodings": .array(encodings.map { e in
                var eo: [String: JSONValue] = [:]
                if let v = e.ssrc { eo["ssrc"] = .number(Double(v)) }
                if let v = e.rid { eo["rid"] = .string(v) }
                if let v = e.rtxSSRC { eo["rtx"] = .object(["ssrc": .number(Double(v))]) }
                if let v = e.scalabilityMode { eo["scalabilityMode"] = .string(v) }
                if let v = e.maxBitrate { eo["maxBitrate"] = .number(Double(v)) }
                if let v = e.scaleResolutionDownBy { eo["scaleResolutionDownBy"] = .number(v) }
                if let v = e.active { eo["active"] = .bool(v) }
                if let v = e.dtx { eo["dtx"] = .bool(v) }
                return .object(eo)
            }),
        ]
        var rtcp: [String: JSONValue] = ["reducedSize": .bool(rtcpReducedSize)]
        if let cname = rtcpCNAME { rtcp["cname"] = .string(cname) }
        o["rtcp"] = .object(rtcp)
        if let mid { o["mid"] = .string(mid) }
        return .object(o)
    }
}
