import NIOCore
import RTCBase
import RTCTestSupport
import STUN
import Testing

/// Replays every STUN datagram of every capture in `Captures/`: each parses, re-serialises
/// byte-identically, carries a valid FINGERPRINT when it has one, and its fields equal tshark's
/// dissection of the same frame (the committed `*.stun.tsv` goldens).
@Suite struct STUNConformanceTests {
    static func hex<T: FixedWidthInteger>(_ v: T, digits: Int) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: max(0, digits - s.count)) + s
    }

    static func fields(of m: STUNMessage) -> [String: [String]] {
        var f: [String: [String]] = [:]
        f["stun.type"] = ["0x" + hex(m.type.rawValue, digits: 4)]
        f["stun.length"] = [String(m.length)]
        f["stun.cookie"] = [hex(STUNMessage.magicCookie, digits: 8)]
        f["stun.id"] = [m.transactionID.description]
        f["stun.att.type"] = m.attributes.map { "0x" + hex($0.type.rawValue, digits: 4) }
        f["stun.att.length"] = m.attributes.map { String($0.value.readableBytes) }
        f["stun.att.username"] = m.username.map { [$0] } ?? []
        f["stun.att.priority"] = m.priority.map { [String($0)] } ?? []
        f["stun.att.tie-breaker"] = (m.iceControlling ?? m.iceControlled).map { [hex($0, digits: 16)] } ?? []
        var family: [String] = [], port: [String] = [], ipv4: [String] = [], ipv6: [String] = []
        for a in m.attributes where a.type == .xorMappedAddress {
            let v = a.value
            family.append("0x" + hex(v.getInteger(at: v.readerIndex + 1, as: UInt8.self) ?? 0, digits: 2))
            port.append(hex(v.getInteger(at: v.readerIndex + 2, as: UInt16.self) ?? 0, digits: 4))
            if v.readableBytes == 8 { ipv4.append(v.getSlice(at: v.readerIndex + 4, length: 4)!.hexString) }
            if v.readableBytes == 20 { ipv6.append(v.getSlice(at: v.readerIndex + 4, length: 16)!.hexString) }
        }
        f["stun.att.family"] = family
        f["stun.att.port-xord"] = port
        f["stun.att.ipv4-xord"] = ipv4
        f["stun.att.ipv6-xord"] = ipv6
        f["stun.att.crc32"] = m.fingerprint.map { ["0x" + hex($0, digits: 8)] } ?? []
        f["stun.att.hmac"] = m.value(of: .messageIntegrity).map { [$0.hexString] } ?? []
        if let e = m.errorCode {
            f["stun.att.error.class"] = [String(e.code / 100)]
            f["stun.att.error"] = [String(e.code % 100)]
            f["stun.att.error.reason"] = [e.reason]
        } else {
            f["stun.att.error.class"] = []
            f["stun.att.error"] = []
            f["stun.att.error.reason"] = []
        }
        f["stun.att.software"] = m.software.map { [$0] } ?? []
        return f
    }

    @Test func replayCaptures() throws {
        var report = ConformanceReport(module: "STUN")
        var fingerprints = 0
        for capture in CaptureCorpus.captures {
            guard let golden = try capture.golden("stun") else { continue }
            var seen = Set<Int>()
            for d in try capture.udpDatagrams() where DatagramKind.classify(d.payload.readableBytesView) == .stun {
                var problems: [String] = []
                seen.insert(d.frameNumber)
                do {
                    let m = try STUNMessage(parsing: d.payload)
                    if m.encoded() != d.payload { problems.append("re-serialisation differs") }
                    if m.fingerprint != nil {
                        fingerprints += 1
                        if !m.verifyFingerprint() { problems.append("FINGERPRINT does not verify") }
                    }
                    if let row = golden.rows[d.frameNumber] {
                        for (field, values) in Self.fields(of: m) {
                            expectField(field, golden: row[field], actual: values, into: &problems)
                        }
                    } else {
                        problems.append("no golden row (tshark did not see STUN here)")
                    }
                } catch {
                    problems.append("parse error \(error)")
                }
                report.record(capture: capture.name, frame: d.frameNumber, problems: problems)
            }
            for frame in golden.rows.keys where !seen.contains(frame) {
                report.record(capture: capture.name, frame: frame, problems: ["tshark saw STUN, we did not classify it as STUN"])
            }
        }
        report.print()
        print("STUN conformance: \(fingerprints) FINGERPRINTs verified")
        #expect(report.replayed > 0)
        #expect(report.mismatched == 0, "\(report.details)")
    }
}
