import Foundation

/// A channel as the HTTP API knows it (sessions and media come later).
struct ChannelRecord: Equatable, Sendable {
    /// Random UUIDv4, lower-case, as `crypto.randomUUID()` prints it.
    let uuid: String
    /// The `iss` claim of the creating `/v1/channel` request (JavaScript string form).
    let issuer: String
    /// Request-info remote address of the creator (ownership for `/v1/disconnect`).
    let remoteAddress: String
    /// Per-channel key bytes (`key` claim, Node-lenient base64), `nil` when the global key applies.
    let key: [UInt8]?
    /// `false` iff created with `?webRTC=false`.
    let webRTC: Bool
    /// Creation time, Unix milliseconds.
    let createdAtMilliseconds: Int64
    /// When the empty-channel close timer fires, Unix milliseconds (armed at creation).
    var closeDeadlineMilliseconds: Int64?
    /// Created with `?tap=true` (not in odoo/sfu): the plaintext tap records this channel's transports when
    /// RTC_PLAINTEXT_TAP is `channel`.
    var tapped = false

    /// `createDate` of `/v1/stats`: ISO-8601 UTC with milliseconds, like `Date.prototype.toISOString`.
    var createDate: String { ISO8601Milliseconds.format(milliseconds: createdAtMilliseconds) }
}

/// Formats Unix milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
enum ISO8601Milliseconds {
    static func format(milliseconds: Int64) -> String {
        let seconds = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
        let ms = Int(milliseconds - seconds * 1000)
        var days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = Int(seconds - days * 86_400)
        // Civil-from-days (proleptic Gregorian).
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let dayOfEra = days - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ v: Int64, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(Int64(secondOfDay / 3600), 2)):"
            + "\(pad(Int64(secondOfDay / 60 % 60), 2)):\(pad(Int64(secondOfDay % 60), 2)).\(pad(Int64(ms), 3))Z"
    }
}

/// The live channels, keyed by uuid and by `"<remoteAddress>::<iss>"` (idempotence of `/v1/channel`).
///
/// Plain value type: the I/O edge owns one instance behind a lock and drives ``expire(nowMilliseconds:)``.
struct ChannelRegistry: Sendable {
    /// How long an empty (≤ 1 session) channel lives: 60 minutes (odoo/sfu `timeouts.channel`).
    static let emptyChannelTimeoutMilliseconds: Int64 = 60 * 60_000

    private(set) var channelsByUUID: [String: ChannelRecord] = [:]
    private var uuidByIssuerKey: [String: String] = [:]
    /// Creation order, so `/v1/stats` lists channels like a JavaScript `Map` iterates.
    private(set) var order: [String] = []

    init() {}

    /// Live channels in creation order.
    var channels: [ChannelRecord] { order.compactMap { channelsByUUID[$0] } }

    /// Returns the live channel of (`remoteAddress`, `issuer`) or creates one.
    /// - Returns: the channel and whether it was created by this call.
    mutating func createOrReuse(remoteAddress: String, issuer: String, key: [UInt8]?, webRTC: Bool, tapped: Bool = false,
                                nowMilliseconds: Int64,
                                makeUUID: () -> String = { UUID().uuidString.lowercased() }) -> (ChannelRecord, created: Bool) {
        let issuerKey = "\(remoteAddress)::\(issuer)"
        if let uuid = uuidByIssuerKey[issuerKey], let existing = channelsByUUID[uuid] {
            return (existing, false)
        }
        let channel = ChannelRecord(uuid: makeUUID(), issuer: issuer, remoteAddress: remoteAddress, key: key,
                              webRTC: webRTC, createdAtMilliseconds: nowMilliseconds,
                              closeDeadlineMilliseconds: nowMilliseconds + Self.emptyChannelTimeoutMilliseconds,
                              tapped: tapped)
        channelsByUUID[channel.uuid] = channel
        uuidByIssuerKey[issuerKey] = channel.uuid
        order.append(channel.uuid)
        return (channel, true)
    }

    /// The live channel created by (`remoteAddress`, `issuer`), if any.
    func channel(remoteAddress: String, issuer: String) -> ChannelRecord? {
        uuidByIssuerKey["\(remoteAddress)::\(issuer)"].flatMap { channelsByUUID[$0] }
    }

    /// The live channel with `uuid`.
    func channel(uuid: String) -> ChannelRecord? { channelsByUUID[uuid] }

    /// Forgets a channel (closing); returns it if it was live.
    @discardableResult
    mutating func close(uuid: String) -> ChannelRecord? {
        guard let channel = channelsByUUID.removeValue(forKey: uuid) else { return nil }
        uuidByIssuerKey.removeValue(forKey: "\(channel.remoteAddress)::\(channel.issuer)")
        order.removeAll { $0 == uuid }
        return channel
    }

    /// A channel's session count changed: more than one session clears its close timer, one or none
    /// re-arms it (odoo/sfu `Channel`: 60 minutes).
    mutating func sessionCountChanged(uuid: String, count: Int, nowMilliseconds: Int64) {
        guard channelsByUUID[uuid] != nil else { return }
        if count > 1 {
            channelsByUUID[uuid]!.closeDeadlineMilliseconds = nil
        } else if channelsByUUID[uuid]!.closeDeadlineMilliseconds == nil {
            channelsByUUID[uuid]!.closeDeadlineMilliseconds = nowMilliseconds + Self.emptyChannelTimeoutMilliseconds
        }
    }

    /// Closes every channel whose close timer has fired at `nowMilliseconds`; returns them.
    mutating func expire(nowMilliseconds: Int64) -> [ChannelRecord] {
        let due = channels.filter { ($0.closeDeadlineMilliseconds ?? .max) <= nowMilliseconds }
        for channel in due { close(uuid: channel.uuid) }
        return due
    }

    /// Closes every channel (shutdown / soft reset).
    mutating func closeAll() -> [ChannelRecord] {
        let all = channels
        channelsByUUID = [:]
        uuidByIssuerKey = [:]
        order = []
        return all
    }
}
