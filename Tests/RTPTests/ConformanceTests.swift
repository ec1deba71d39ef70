import NIOCore
import RTCBase
import RTCTestSupport
import RTP
import Testing

/// Replays every RTP datagram of every capture: encrypted captures header-only (SRTP keeps the header
/// in clear), decrypted twins fully. Each parses, re-serialises byte-identically, and its header fields
/// and every header-extension element equal tshark's dissection of the same frame. VP8 descriptors of
/// every VP8 packet in the decrypted twins parse, and Opus payloads are classified.
@Suite struct RTPConformanceTests {
    static func fields(of p: RTPPacket, plaintext: Bool) -> [String: [String]] {
        var f: [String: [String]] = [
            "rtp.version": [String(p.version)], "rtp.padding": [p.hasPadding ? "1" : "0"],
            "rtp.ext": [p.hasExtension ? "1" : "0"], "rtp.cc": [String(p.csrcCount)],
            "rtp.marker": [p.marker ? "1" : "0"], "rtp.p_type": [String(p.payloadType.rawValue)],
            "rtp.seq": [String(p.sequenceNumber.rawValue)], "rtp.timestamp": [String(p.timestamp.rawValue)],
            "rtp.ssrc": [String(p.ssrc.rawValue)], "rtp.csrc.item": p.csrcs.map { String($0.rawValue) },
        ]
        f["rtp.ext.profile"] = p.extensionProfile.map { [String($0)] } ?? []
        f["rtp.ext.len"] = p.extensionLength.map { [String($0 / 4)] } ?? []
        let elements = p.headerExtensions
        f["rtp.ext.rfc5285.id"] = elements.map { $0.id.description }
        f["rtp.ext.rfc5285.len"] = elements.map { String($0.value.readableBytes) }
        f["rtp.ext.rfc5285.data"] = elements.map { $0.value.hexString }
        if plaintext { f["rtp.padding.count"] = p.hasPadding ? [String(p.paddingLength)] : [] }
        return f
    }

    @Test func replayCaptures() throws {
        var report = ConformanceReport(module: "RTP")
        var vp8 = 0, vp8Keys = 0, opus = 0, opusDTX = 0, rtx = 0
        for capture in CaptureCorpus.captures {
            guard let golden = try capture.golden("rtp") else { continue }
            var seen = Set<Int>()
            for d in try capture.udpDatagrams() where DatagramKind.classify(d.payload.readableBytesView) == .rtp {
                seen.insert(d.frameNumber)
                var problems: [String] = []
                do {
                    let p = capture.isPlaintext ? try RTPPacket(parsing: d.payload) : try RTPPacket(parsingHeaderOf: d.payload)
                    if p.encoded() != d.payload { problems.append("re-serialisation differs") }
                    if let row = golden.rows[d.frameNumber] {
                        for (field, values) in Self.fields(of: p, plaintext: capture.isPlaintext) {
                            expectField(field, golden: row[field], actual: values, into: &problems)
                        }
                    } else {
                        problems.append("no golden row")
                    }
                    if capture.isPlaintext {
                        // Payload types as negotiated in these captures: VP8 96, RTX 97, Opus 111 (Chromium),
                        // VP8 97 / Opus 96 (aiortc ↔ aiortc), and the router's VP8 101, RTX 102, Opus 100 on
                        // what our SFU forwards to a consumer.
                        let aiortcPair = capture.name.hasPrefix("aiortc-aiortc")
                        let sfuConsumer = capture.name.contains(".consumer.plain")
                        let (vp8PT, rtxPT, opusPT): (UInt8, UInt8?, UInt8) =
                            aiortcPair ? (97, nil, 96) : sfuConsumer ? (101, 102, 100) : (96, 97, 111)
                        let pt = p.payloadType.rawValue
                        if pt == vp8PT && p.payloadLength > 0 {
                            do {
                                let desc = try VP8PayloadDescriptor(parsing: p.payload)
                                vp8 += 1
                                if desc.isKeyFrame { vp8Keys += 1 }
                            } catch { problems.append("VP8 descriptor: \(error)") }
                        } else if pt == opusPT {
                            opus += 1
                            if OpusPayload(parsing: p.payload).isDTX { opusDTX += 1 }
                        } else if pt == rtxPT {
                            rtx += 1
                        }
                    }
                } catch {
                    problems.append("parse error \(error)")
                }
                report.record(capture: capture.name, frame: d.frameNumber, problems: problems)
            }
            for frame in golden.rows.keys where !seen.contains(frame) {
                report.record(capture: capture.name, frame: frame, problems: ["tshark saw RTP, we did not classify it as RTP"])
            }
        }
        report.print()
        print("RTP conformance: \(vp8) VP8 descriptors parsed (\(vp8Keys) key-frame starts), \(opus) Opus payloads (\(opusDTX) DTX), \(rtx) RTX packets")
        #expect(report.replayed > 0)
        #expect(report.mismatched == 0, "\(report.details)")
        #expect(vp8 > 0 && vp8Keys > 0 && opus > 0)
    }

    /// Real packets (the first few RTP datagrams with header extensions of every capture) cut at every
    /// offset: a cut inside the header throws a typed error from both parsers, a cut after it
    /// parses header-only with the same header; nothing traps.
    @Test func truncatedCapturePackets() throws {
        var packets = 0
        for capture in CaptureCorpus.captures {
            let samples = try capture.udpDatagrams().lazy.map(\.payload)
                .filter { DatagramKind.classify($0.readableBytesView) == .rtp && $0.readableBytes > 12 && $0.getInteger(at: $0.readerIndex, as: UInt8.self)! & 0x10 != 0 }
                .prefix(3)
            for full in samples {
                packets += 1
                let header = try RTPPacket(parsingHeaderOf: full).headerLength
                for cut in 0..<full.readableBytes {
                    let prefix = full.getSlice(at: full.readerIndex, length: cut)!
                    if cut < header {
                        #expect(throws: RTPParseError.self) { try RTPPacket(parsingHeaderOf: prefix) }
                        #expect(throws: RTPParseError.self) { try RTPPacket(parsing: prefix) }
                    } else {
                        #expect(try RTPPacket(parsingHeaderOf: prefix).headerLength == header)
                        _ = try? RTPPacket(parsing: prefix)
                    }
                }
            }
        }
        #expect(packets >= 6)
    }
}
