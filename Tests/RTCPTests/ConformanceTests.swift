import NIOCore
import RTCBase
import RTCP
import RTCTestSupport
import Testing

/// Replays every RTCP datagram of every decrypted capture (`*.plain.pcap`): each compound parses
/// strictly, re-serialises byte-identically, and its fields equal tshark's dissection of the same frame
/// (the `*.rtcp.tsv` goldens). SRTCP in encrypted captures is counted and skipped (bodies are ciphertext).
@Suite struct RTCPConformanceTests {
    static func hex32(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - s.count) + s
    }

    /// The values tshark prints for each field, in packet order.
    static func fields(of packets: [RTCPPacket]) -> [String: [String]] {
        var f: [String: [String]] = [:]
        func add(_ k: String, _ v: String) { f[k, default: []].append(v) }
        func block(_ r: RTCPReportBlock) {
            add("rtcp.ssrc.identifier", hex32(r.ssrc.rawValue))
            add("rtcp.ssrc.fraction", String(r.fractionLost))
            add("rtcp.ssrc.cum_nr", String(r.cumulativeLost))
            add("rtcp.ssrc.ext_high", String(r.extendedHighestSequenceNumber))
            add("rtcp.ssrc.jitter", String(r.jitter))
            add("rtcp.ssrc.lsr", String(r.lastSenderReport))
            add("rtcp.ssrc.dlsr", String(r.delaySinceLastSenderReport))
        }
        for p in packets {
            let bytes = RTCPPacket.encodeCompound([p])
            add("rtcp.version", "2")
            add("rtcp.padding", p.paddingLength > 0 ? "1" : "0")
            add("rtcp.pt", String(p.packetType))
            add("rtcp.length", String(bytes.readableBytes / 4 - 1))
            switch p {
            case .senderReport(let sr):
                add("rtcp.rc", String(sr.reports.count))
                add("rtcp.senderssrc", hex32(sr.ssrc.rawValue))
                add("rtcp.timestamp.ntp.msw", String(sr.ntpTime.seconds))
                add("rtcp.timestamp.ntp.lsw", String(sr.ntpTime.fraction))
                add("rtcp.timestamp.rtp", String(sr.rtpTimestamp))
                add("rtcp.sender.packetcount", String(sr.packetCount))
                add("rtcp.sender.octetcount", String(sr.octetCount))
                sr.reports.forEach(block)
            case .receiverReport(let rr):
                add("rtcp.rc", String(rr.reports.count))
                add("rtcp.senderssrc", hex32(rr.ssrc.rawValue))
                rr.reports.forEach(block)
            case .sourceDescription(let sdes):
                for c in sdes.chunks {
                    add("rtcp.ssrc.identifier", hex32(c.ssrc.rawValue))
                    for item in c.items {
                        add("rtcp.sdes.type", String(item.type))
                        // tshark shows no text field for an empty item (Chromium's CNAME on RID-simulcast
                        // streams is empty).
                        if !item.text.isEmpty { add("rtcp.sdes.text", item.text) }
                    }
                    add("rtcp.sdes.type", "0")
                }
            case .goodbye(let bye):
                for s in bye.ssrcs { add("rtcp.ssrc.identifier", hex32(s.rawValue)) }
            case .nack(let n):
                add("rtcp.senderssrc", hex32(n.senderSSRC.rawValue))
                add("rtcp.mediassrc", hex32(n.mediaSSRC.rawValue))
                add("rtcp.rtpfb.fmt", "1")
                for e in n.entries {
                    add("rtcp.nack.fsn", String(e.packetID))
                    add("rtcp.nack.blp", String(e.lostBitmask))
                }
            case .transportFeedback(let t):
                add("rtcp.senderssrc", hex32(t.senderSSRC.rawValue))
                add("rtcp.mediassrc", hex32(t.mediaSSRC.rawValue))
                add("rtcp.rtpfb.fmt", "15")
                add("rtcp.rtpfb.transportcc.baseseq", String(t.baseSequenceNumber))
                add("rtcp.rtpfb.transportcc.statuscount", String(t.statusCount))
                add("rtcp.rtpfb.transportcc.reftime", String(t.referenceTime))
                add("rtcp.rtpfb.transportcc.pktcount", String(t.feedbackPacketCount))
            case .pictureLossIndication(let pli):
                add("rtcp.senderssrc", hex32(pli.senderSSRC.rawValue))
                add("rtcp.mediassrc", hex32(pli.mediaSSRC.rawValue))
                add("rtcp.psfb.fmt", "1")
            case .fullIntraRequest(let fir):
                add("rtcp.senderssrc", hex32(fir.senderSSRC.rawValue))
                add("rtcp.mediassrc", hex32(fir.mediaSSRC.rawValue))
                add("rtcp.psfb.fmt", "4")
                for e in fir.entries {
                    add("rtcp.psfb.fir.fci.ssrc", hex32(e.ssrc.rawValue))
                    add("rtcp.psfb.fir.fci.csn", String(e.sequenceNumber))
                }
            case .remb(let r):
                add("rtcp.senderssrc", hex32(r.senderSSRC.rawValue))
                add("rtcp.mediassrc", hex32(r.mediaSSRC.rawValue))
                add("rtcp.psfb.fmt", "15")
                add("rtcp.psfb.remb.fci.number_ssrcs", String(r.ssrcs.count))
                add("rtcp.psfb.remb.fci.br_exp", String(r.exponent))
                add("rtcp.psfb.remb.fci.br_mantissa", String(r.mantissa))
                for s in r.ssrcs { add("rtcp.psfb.remb.fci.ssrc", hex32(s.rawValue)) }
            case .applicationDefined, .extendedReport, .unknown:
                break
            }
        }
        return f
    }

    static let compared = ["rtcp.version", "rtcp.padding", "rtcp.rc", "rtcp.pt", "rtcp.length", "rtcp.senderssrc", "rtcp.mediassrc",
                           "rtcp.timestamp.ntp.msw", "rtcp.timestamp.ntp.lsw", "rtcp.timestamp.rtp", "rtcp.sender.packetcount",
                           "rtcp.sender.octetcount", "rtcp.ssrc.identifier", "rtcp.ssrc.fraction", "rtcp.ssrc.cum_nr",
                           "rtcp.ssrc.ext_high", "rtcp.ssrc.jitter", "rtcp.ssrc.lsr", "rtcp.ssrc.dlsr", "rtcp.sdes.type",
                           "rtcp.sdes.text", "rtcp.rtpfb.fmt", "rtcp.psfb.fmt", "rtcp.nack.fsn", "rtcp.nack.blp",
                           "rtcp.rtpfb.transportcc.baseseq", "rtcp.rtpfb.transportcc.statuscount",
                           "rtcp.rtpfb.transportcc.reftime", "rtcp.rtpfb.transportcc.pktcount",
                           "rtcp.psfb.remb.fci.number_ssrcs", "rtcp.psfb.remb.fci.br_exp", "rtcp.psfb.remb.fci.br_mantissa",
                           "rtcp.psfb.remb.fci.ssrc", "rtcp.psfb.fir.fci.ssrc", "rtcp.psfb.fir.fci.csn"]

    @Test func replayCaptures() throws {
        var report = ConformanceReport(module: "RTCP")
        var encryptedSkipped = 0
        var kinds: [String: Int] = [:]
        var twccPackets = 0
        for capture in CaptureCorpus.captures {
            let datagrams = try capture.udpDatagrams().filter { DatagramKind.classify($0.payload.readableBytesView) == .rtcp }
            guard capture.isPlaintext else {
                encryptedSkipped += datagrams.count
                continue
            }
            let golden = try capture.golden("rtcp")
            for d in datagrams {
                var problems: [String] = []
                do {
                    let packets = try RTCPPacket.parseCompound(d.payload)
                    if RTCPPacket.encodeCompound(packets) != d.payload { problems.append("re-serialisation differs") }
                    for p in packets {
                        kinds["\(p.packetType)", default: 0] += 1
                        if case .transportFeedback(let t) = p {
                            twccPackets += Int(t.statusCount)
                            if t.packets.count != Int(t.statusCount) { problems.append("transport-cc decode count") }
                        }
                    }
                    if let row = golden?.rows[d.frameNumber] {
                        let ours = Self.fields(of: packets)
                        for field in Self.compared {
                            expectField(field, golden: row[field], actual: ours[field] ?? [], into: &problems)
                        }
                    } else {
                        problems.append("no golden row")
                    }
                } catch {
                    problems.append("parse error \(error)")
                }
                report.record(capture: capture.name, frame: d.frameNumber, problems: problems)
            }
        }
        report.print()
        print("RTCP conformance: packet types \(kinds.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " ")), " +
              "\(twccPackets) transport-cc statuses decoded; \(encryptedSkipped) SRTCP datagrams in encrypted captures skipped")
        #expect(report.replayed > 0)
        #expect(report.mismatched == 0, "\(report.details)")
        #expect(kinds["205"] ?? 0 > 0 && kinds["206"] ?? 0 > 0)
    }
}
