/// WebSocket close codes of the Odoo SFU protocol (docs/protocol.md §3.3).
enum WSCloseCode: UInt16, Error, Sendable {
    /// Session closed cleanly, server shutdown: the browser reconnects.
    case clean = 1000
    /// Never sent by the server.
    case leaving = 1001
    /// RFC 6455 violation (unmasked client frame, reserved opcode or bits, broken fragmentation): Odoo's client
    /// reconnects.
    case protocolError = 1002
    /// A text message that is not UTF-8 (RFC 6455 §8.1): the client reconnects.
    case invalidPayload = 1007
    /// A message over the limit (MAX_BUF_IN, 1 MiB by default): the client reconnects.
    case messageTooBig = 1009
    /// Session error, or a non-authentication exception in the handshake: the browser reconnects.
    case error = 1011
    /// Any authentication failure in the handshake: the browser stops.
    case authenticationFailed = 4106
    /// No credentials in time, connection or ping timeout: the browser reconnects.
    case timeout = 4107
    /// Kicked, replaced or channel closed: the browser stops.
    case kicked = 4108
    /// Channel full: the browser stops.
    case channelFull = 4109
}

/// The authentication step of the WebSocket handshake (docs/protocol.md §3.2, odoo/sfu `ws.ts connect`), as a pure
/// decision over the first frame. Joining, the `""` ack and the session itself belong to the session layer.
enum WSHandshake {
    /// A successful authentication: which channel to join, as which session.
    struct Accepted: Equatable, Sendable {
        /// Uuid of the channel to join.
        var channelUUID: String
        /// The `session_id` claim, kept with its JSON type (`57` ≠ `"57"`).
        var sessionID: JSONValue
    }

    /// Authenticates the first WebSocket message at `now` (Unix seconds).
    ///
    /// - Returns: the channel and session to join, or the close code to send.
    static func authenticate(firstMessage: [UInt8], registry: ChannelRegistry, globalVerifier: JWTVerifier,
                             now: Int64) -> Result<Accepted, WSCloseCode> {
        // JSON.parse failure or `null` (reading `.jwt` of null throws a TypeError): not an auth error → 1011.
        guard let credentials = JSONValue.parse(firstMessage), credentials != .null else {
            return .failure(.error)
        }
        // channelUUID = credentials?.channelUUID; jwt = credentials.jwt || credentials
        let channelUUIDValue = credentials["channelUUID"]
        let jwtValue: JSONValue = credentials["jwt"].flatMap { $0.isTruthy ? $0 : nil } ?? credentials
        // Any non-string "token" fails inside verify's parse → AuthenticationError.
        guard case .string(let token) = jwtValue else { return .failure(.authenticationFailed) }

        var channel: ChannelRecord? = nil
        if let channelUUIDValue, channelUUIDValue.isTruthy, case .string(let uuid) = channelUUIDValue {
            channel = registry.channel(uuid: uuid)
        }
        let verifier = channel?.key.map { JWTVerifier(keyBytes: $0) } ?? globalVerifier
        let claims: JSONValue
        do {
            claims = try verifier.verify(token, now: now)
        } catch {
            return .failure(.authenticationFailed)
        }
        if !(channelUUIDValue?.isTruthy ?? false), let legacy = claims["sfu_channel_uuid"], legacy.isTruthy {
            // Odoo 17 path: bare JWT carrying sfu_channel_uuid, global key, key-less channels only.
            if case .string(let uuid) = legacy { channel = registry.channel(uuid: uuid) } else { channel = nil }
            if channel?.key != nil { return .failure(.authenticationFailed) }
        }
        guard let channel else { return .failure(.authenticationFailed) }
        guard let sessionID = claims["session_id"], sessionID.isTruthy else { return .failure(.authenticationFailed) }
        return .success(Accepted(channelUUID: channel.uuid, sessionID: sessionID))
    }
}
