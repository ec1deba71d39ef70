import NIOCore
import RTCBase
import RTCP
import RTCTestSupport
import Testing

@Suite struct RTCPPacketTests {
    static func roundTrip(_ hex: String) throws -> [RTCPPacket] {
        let bytes = ByteBuffer(hex: hex)
        let packets = try RTCPPacket.parseCompound(bytes)
        #expect(RTCPPacket.encodeCompound(packets) == bytes, "re-encoding \(hex)")
        return packets
    }

    // Vectors written from the RFC diagrams, one field per group.
    static let sr = "81c8000c" + "11223344" + "e8a12345" + "80000000" + "0000a5a5" + "00000064" + "00003e80" +
        "55667788" + "05fffffe" + "0001ffff" + "00000010" + "23458000" + "00010000"
    static let sdes = "81ca0003" + "11223344" + "0103616263" + "000000"
    static let bye = "82cb0003" + "11223344" + "55667788" + "03627965"
    static let app = "84cc0003" + "11223344" + "51525354" + "deadbeef"

    @Test func senderReport() throws {
        guard case .senderReport(let sr)? = try Self.roundTrip(Self.sr).first else { Issue.record("not an SR"); return }
        #expect(sr.ssrc == 0x1122_3344)
        #expect(sr.ntpTime == NTPTimestamp(seconds: 0xE8A1_2345, fraction: 0x8000_0000))
        #expect(sr.rtpTimestamp == 0xA5A5 && sr.packetCount == 100 && sr.octetCount == 16_000)
        #expect(sr.reports.count == 1)
        let r = sr.reports[0]
        #expect(r.ssrc == 0x5566_7788 && r.fractionLost == 5 && r.cumulativeLost == -2)
        #expect(r.extendedHighestSequenceNumber == 0x0001_FFFF && r.jitter == 16)
        #expect(r.lastSenderReport == 0x2345_8000 && r.delaySinceLastSenderReport == 65_536)
        #expect(RTCPPacket.senderReport(sr).mediaSSRCs == [0x5566_7788])
    }

    @Test func compoundOfEveryBasicType() throws {
        let packets = try Self.roundTrip(Self.sr + Self.sdes + Self.bye + Self.app)
        #expect(packets.map(\.packetType) == [200, 202, 203, 204])
        guard case .sourceDescription(let s) = packets[1], case .goodbye(let b) = packets[2],
              case .applicationDefined(let a) = packets[3] else { Issue.record("types"); return }
        #expect(s.chunks == [.init(ssrc: 0x1122_3344, items: [.cname("abc")])])
        #expect(b.ssrcs == [0x1122_3344, 0x5566_7788] && b.reason == Array("bye".utf8))
        #expect(a.subtype == 4 && a.name == Array("QRST".utf8) && a.data == [0xDE, 0xAD, 0xBE, 0xEF])
    }

    @Test func builtPacketsParseBack() throws {
        let built: [RTCPPacket] = [
            .receiverReport(RTCPReceiverReport(ssrc: 1, reports: [RTCPReportBlock(ssrc: 2, fractionLost: 0, cumulativeLost: 8_388_607,
                                                                                  extendedHighestSequenceNumber: 3, jitter: 4, lastSenderReport: 5, delaySinceLastSenderReport: 6)])),
            .sourceDescription(RTCPSourceDescription(chunks: [.init(ssrc: 1, items: [.cname("user@host"), .init(type: 6, value: Array("tool".utf8))]),
                                                               .init(ssrc: 2, items: [])])),
            .goodbye(RTCPGoodbye(ssrcs: [1], reason: "leaving")),
            .nack(RTCPGenericNACK(senderSSRC: 1, mediaSSRC: 2, lost: [100, 101, 117, 118, 65_535, 0])),
            .pictureLossIndication(RTCPPictureLossIndication(senderSSRC: 1, mediaSSRC: 2)),
            .fullIntraRequest(RTCPFullIntraRequest(senderSSRC: 1, entries: [.init(ssrc: 2, sequenceNumber: 7)])),
            .remb(RTCPREMB(senderSSRC: 1, bitrate: 1_000_000, ssrcs: [2, 3])),
            .extendedReport(RTCPExtendedReport(ssrc: 1, blocks: [.receiverReferenceTime(NTPTimestamp(rawValue: 42)),
                                                                 .dlrr([.init(ssrc: 2, lastRR: 3, delaySinceLastRR: 4)]),
                                                                 .other(blockType: 9, typeSpecific: 1, contents: [1, 2, 3, 4])])),
            .transportFeedback(RTCPTransportFeedback(senderSSRC: 1, mediaSSRC: 2, baseSequenceNumber: 65_530, referenceTime: -5,
                                                     feedbackPacketCount: 9, deltas: [4, nil, 300, -1, 0, nil])),
        ]
        let bytes = RTCPPacket.encodeCompound(built)
        #expect(bytes.readableBytes % 4 == 0)
        let parsed = try RTCPPacket.parseCompound(bytes)
        #expect(parsed == built)
        var padded = built[4]
        padded.paddingLength = 4
        let pb = RTCPPacket.encodeCompound([padded])
        #expect(pb.hexString.hasPrefix("a1ce0003"))
        #expect(try RTCPPacket.parseCompound(pb) == [padded])
    }

    struct NACKRow: Sendable, CustomTestStringConvertible {
        let name: String, lost: [UInt16], entries: [(UInt16, UInt16)]
        var testDescription: String { name }
    }

    @Test(arguments: [
        NACKRow(name: "single", lost: [5], entries: [(5, 0)]),
        NACKRow(name: "consecutive", lost: [5, 6, 7], entries: [(5, 0b11)]),
        NACKRow(name: "PID+16 fits", lost: [5, 21], entries: [(5, 0x8000)]),
        NACKRow(name: "PID+17 does not", lost: [5, 22], entries: [(5, 0), (22, 0)]),
        NACKRow(name: "across the wrap", lost: [65_534, 65_535, 0, 1], entries: [(65_534, 0b111)]),
        NACKRow(name: "duplicates collapse", lost: [9, 9, 10], entries: [(9, 1)]),
    ])
    func nackCompression(_ row: NACKRow) {
        let n = RTCPGenericNACK(senderSSRC: 1, mediaSSRC: 2, lost: row.lost)
        #expect(n.entries.map { ($0.packetID, $0.lostBitmask) }.elementsEqual(row.entries, by: ==))
        #expect(n.lostSequenceNumbers == Array(NSOrderedSetLite(row.lost)))
    }

    @Test(arguments: [
        (UInt64(0), UInt8(0), UInt32(0)),
        (262_143, 0, 262_143),               // largest exact mantissa
        (262_144, 1, 131_072),               // 2^18 needs exponent 1
        (1_000_000, 2, 250_000),
        (30_000_000, 7, 234_375),
    ])
    func rembExponentMantissa(_ bitrate: UInt64, _ exp: UInt8, _ mantissa: UInt32) {
        let r = RTCPREMB(senderSSRC: 1, bitrate: bitrate, ssrcs: [])
        #expect(r.exponent == exp && r.mantissa == mantissa)
        #expect(r.bitrate <= bitrate && bitrate - r.bitrate < (1 << UInt64(exp)))
    }

    @Test func rembFromTheDraft() throws {
        // sender 1, media 0, 'REMB', 1 SSRC, exp 2 mantissa 0x3D090 (=250000) → 1 Mbps, SSRC 0xAABBCCDD
        let packets = try Self.roundTrip("8fce0005" + "00000001" + "00000000" + "52454d42" + "010bd090" + "aabbccdd")
        guard case .remb(let r)? = packets.first else { Issue.record("not REMB"); return }
        #expect(r.bitrate == 1_000_000 && r.ssrcs == [0xAABB_CCDD])
    }

    @Test func transportFeedbackVectors() throws {
        // base 0x0000, 6 statuses, ref time 0xab2d00 (negative 24-bit), fb count 0x20; one two-bit vector
        // chunk 0xd440? — taken from the decrypted Chromium capture: chunk 0x2006 = run-length, symbol 1, length 6,
        // then six 1-byte deltas.
        let hex = "8fcd0006" + "63ec4b08" + "93e1def2" + "0000" + "0006" + "00ab2d00" + "2006" + "d440" + "01013009" + ""
        _ = hex
        let chromium = "8fcd000663ec4b0893e1def20000000600ab2d002006d44001013009"
        guard case .transportFeedback(let t)? = try Self.roundTrip(chromium).first else { Issue.record("not TWCC"); return }
        #expect(t.baseSequenceNumber == 0 && t.statusCount == 6)
        #expect(t.referenceTime == 0xAB2D && t.feedbackPacketCount == 0)
        #expect(t.chunks == [.runLength(symbol: 1, length: 6)])
        #expect(t.deltas == [0xD4, 0x40, 0x01, 0x01, 0x30, 0x09])
        let allReceived = t.packets.allSatisfy { $0.received }
        #expect(allReceived)
        #expect(t.arrivalTimesMicroseconds.first?.time == Int64(0xAB2D) * 64_000 + 0xD4 * 250)
    }

    @Test func transportFeedbackChunkKinds() throws {
        // one-bit vector: 14 symbols 1,0,1,0,... ; two-bit vector with a large delta; run of not-received
        let deltas: [Int16?] = [1, nil, 2, nil, 3, nil, 4, nil, 5, nil, 6, nil, 7, nil] + [1000, -4, nil] + Array(repeating: nil, count: 10) + [8]
        let t = RTCPTransportFeedback(senderSSRC: 1, mediaSSRC: 2, baseSequenceNumber: 100, referenceTime: 1, feedbackPacketCount: 2, deltas: deltas)
        #expect(t.chunks.count == 3)
        if case .oneBitVector(let v) = t.chunks[0] { #expect(v == [1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0]) } else { Issue.record("chunk 0") }
        if case .twoBitVector(let v) = t.chunks[1] { #expect(v == [2, 2, 0, 0, 0, 0, 0]) } else { Issue.record("chunk 1") }
        if case .oneBitVector(let v) = t.chunks[2] { #expect(v == [0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]) } else { Issue.record("chunk 2") }
        let long = RTCPTransportFeedback(senderSSRC: 1, mediaSSRC: 2, baseSequenceNumber: 0, referenceTime: 0, feedbackPacketCount: 0,
                                         deltas: Array(repeating: 4, count: 20) + Array(repeating: nil, count: 9))
        #expect(long.chunks == [.runLength(symbol: 1, length: 20), .runLength(symbol: 0, length: 9)])
        let parsed = try RTCPPacket.parseCompound(RTCPPacket.encodeCompound([.transportFeedback(t)]))
        #expect(parsed == [.transportFeedback(t)])
        #expect(t.packets.map(\.deltaTicks) == deltas)
        #expect(t.packets.last?.sequenceNumber == 100 + UInt16(deltas.count) - 1)
    }

    /// The non-allocating walk the send-side estimator reads feedback with agrees with the decoded arrays, for every
    /// chunk kind and for statuses that claim more deltas than the message carries.
    @Test(arguments: [
        [1, nil, 2, nil, 3, nil, 4, nil, 5, nil, 6, nil, 7, nil] + [1000, -4, nil] + Array(repeating: nil, count: 10) + [8],
        Array(repeating: 4, count: 20) + Array(repeating: nil, count: 9),
        [nil, nil, -32768, 32767, 0],
        [Int16?](repeating: nil, count: 3),
    ] as [[Int16?]])
    func forEachPacketAgreesWithTheArrays(_ deltas: [Int16?]) throws {
        let t = RTCPTransportFeedback(senderSSRC: 1, mediaSSRC: 2, baseSequenceNumber: 65_530, referenceTime: -5,
                                      feedbackPacketCount: 7, deltas: deltas)
        for feedback in [t, RTCPTransportFeedback(copying: t, droppingLastDeltas: 1)] {
            var walked: [(UInt16, Int64)] = [], offsets: [Int] = []
            feedback.forEachPacket { offset, time in
                offsets.append(offset)
                if let time { walked.append((feedback.baseSequenceNumber &+ UInt16(offset), time)) }
            }
            #expect(offsets == Array(0..<Int(feedback.statusCount)))
            let arrays = feedback.arrivalTimesMicroseconds
            #expect(walked.map(\.0) == arrays.map(\.sequenceNumber) && walked.map(\.1) == arrays.map(\.time))
        }
    }

    @Test func unknownTypesArePreserved() throws {
        // PT 195 (IJ), RTPFB FMT 3 (TMMBR), PSFB FMT 15 without "REMB" (application layer FB)
        let hex = "81c30001" + "01020304" + "83cd0004" + "00000001" + "00000002" + "00000003" + "00000004" +
            "8fce0003" + "00000001" + "00000000" + "41424344"
        let packets = try Self.roundTrip(hex)
        #expect(packets.count == 3)
        for p in packets { if case .unknown = p {} else { Issue.record("\(p) should be unknown") } }
        #expect(packets[1].mediaSSRCs == [2])
    }

    @Test func reducedSizeRTCP() throws {
        let pli = "81ce0002" + "00000001" + "00000002"
        #expect(try Self.roundTrip(pli) == [.pictureLossIndication(.init(senderSSRC: 1, mediaSSRC: 2))])
    }

    struct BadRow: Sendable, CustomTestStringConvertible {
        let name: String, hex: String, error: RTCPParseError
        var testDescription: String { name }
    }

    @Test(arguments: [
        BadRow(name: "empty", hex: "", error: .empty),
        BadRow(name: "3 bytes", hex: "81c800", error: .truncatedHeader(offset: 0)),
        BadRow(name: "version 1", hex: "41c90001" + "00000001", error: .badVersion(offset: 0, version: 1)),
        BadRow(name: "length past end", hex: "81c90007" + "00000001", error: .badLength(offset: 0, length: 32, available: 8)),
        BadRow(name: "second packet truncated", hex: "80c90001" + "00000001" + "81", error: .truncatedHeader(offset: 8)),
        BadRow(name: "padding count zero", hex: "a0c90001" + "00000000", error: .badPadding(offset: 0)),
        BadRow(name: "padding count too large", hex: "a0c90001" + "00000009", error: .badPadding(offset: 0)),
        // Found by FuzzRTCP: transport-cc with padding octets 17 00 03 (non-zero before the count).
        // Found by FuzzRTCP: BYE, no SSRCs, empty reason, then 0e 8f ec as "padding".
        BadRow(name: "non-null BYE reason padding", hex: "80cb0001000e8fec",
               error: .malformed(offset: 0, packetType: 203, reason: "non-null BYE reason padding")),
        BadRow(name: "non-zero padding octets (strict)", hex: "afcd000863ec4b0889364aa102c5000b00ab9060200b1f050042ffffffffffffff170003",
               error: .badPadding(offset: 0)),
        BadRow(name: "RR count beyond body", hex: "81c90001" + "00000001", error: .bodyTooShort(offset: 0, packetType: 201)),
        BadRow(name: "SR too short", hex: "80c80001" + "00000001", error: .bodyTooShort(offset: 0, packetType: 200)),
        BadRow(name: "PLI with FCI", hex: "81ce0003" + "00000001" + "00000002" + "00000003", error: .malformed(offset: 0, packetType: 206, reason: "PLI carries no FCI")),
        BadRow(name: "NACK without FCI", hex: "81cd0002" + "00000001" + "00000002", error: .bodyTooShort(offset: 0, packetType: 205)),
        BadRow(name: "REMB count mismatch", hex: "8fce0004" + "00000001" + "00000000" + "52454d42" + "020bd090", error: .malformed(offset: 0, packetType: 206, reason: "REMB SSRC count 2 does not match length")),
        BadRow(name: "SDES without terminator", hex: "81ca0002" + "00000001" + "01026162", error: .malformed(offset: 0, packetType: 202, reason: "SDES chunk without end")),
        BadRow(name: "TWCC chunks truncated", hex: "8fcd0004" + "00000001" + "00000002" + "00000010" + "00000001", error: .malformed(offset: 0, packetType: 205, reason: "transport-cc chunks truncated")),
        BadRow(name: "TWCC reserved symbol", hex: "8fcd0005" + "00000001" + "00000002" + "00000001" + "00000001" + "60010000", error: .malformed(offset: 0, packetType: 205, reason: "reserved transport-cc status symbol 3")),
    ])
    func malformed(_ row: BadRow) {
        #expect(throws: row.error) { try RTCPPacket.parseCompound(ByteBuffer(hex: row.hex)) }
    }

    @Test func lenientParsingKeepsWhatItCan() {
        // RR ok, PLI with a bad body (kept as unknown), then a header whose length overruns
        let hex = "80c90001" + "00000001" + "81ce0003" + "00000001" + "00000002" + "00000003" + "81c9ffff"
        let (packets, error) = RTCPPacket.parseCompoundLeniently(ByteBuffer(hex: hex))
        #expect(packets.count == 2)
        if case .receiverReport = packets[0] {} else { Issue.record("first is RR") }
        if case .unknown = packets[1] {} else { Issue.record("bad PLI kept as unknown") }
        #expect(error == .malformed(offset: 8, packetType: 206, reason: "PLI carries no FCI"))
        #expect(RTCPPacket.parseCompoundLeniently(ByteBuffer()).error == .empty)
        // Non-zero padding octets are accepted leniently (the packet is typed, its padding re-encodes as zeros).
        let fuzzCase = RTCPPacket.parseCompoundLeniently(ByteBuffer(hex: "afcd000863ec4b0889364aa102c5000b00ab9060200b1f050042ffffffffffffff170003"))
        #expect(fuzzCase.error == nil && fuzzCase.packets.count == 1)
        if case .transportFeedback(let t)? = fuzzCase.packets.first { #expect(t.statusCount == 11 && t.paddingLength == 3) } else { Issue.record("TWCC") }
    }

    /// Every proper prefix of valid compounds throws (strict) and never traps (either mode).
    @Test func truncationAtEveryOffset() throws {
        let compounds = [Self.sr + Self.sdes, Self.bye + Self.app,
                         "8fcd000663ec4b0893e1def20000000600ab2d002006d44001013009" + "81ce0002" + "00000001" + "00000002"]
        for hex in compounds {
            let full = ByteBuffer(hex: hex)
            // Cuts at packet boundaries leave a valid, shorter compound.
            var boundaries: Set<Int> = []
            var o = 0
            while o < full.readableBytes {
                boundaries.insert(o)
                o += 4 * (Int(full.getInteger(at: o + 2, as: UInt16.self)!) + 1)
            }
            for cut in 0..<full.readableBytes {
                let prefix = full.getSlice(at: 0, length: cut)!
                if cut == 0 || !boundaries.contains(cut) {
                    #expect(throws: RTCPParseError.self) { try RTCPPacket.parseCompound(prefix) }
                } else {
                    #expect(throws: Never.self) { try RTCPPacket.parseCompound(prefix) }
                }
                _ = RTCPPacket.parseCompoundLeniently(prefix)
            }
        }
    }
}

/// Order-preserving de-duplication for test expectations.
func NSOrderedSetLite(_ values: [UInt16]) -> [UInt16] {
    var seen = Set<UInt16>()
    return values.filter { seen.insert($0).inserted }
}

extension RTCPTransportFeedback {
    /// `t` with its last `n` receive deltas missing (a truncated or hostile message: statuses then claim more deltas
    /// than there are).
    init(copying t: RTCPTransportFeedback, droppingLastDeltas n: Int) {
        self = t
        deltas = Array(t.deltas.dropLast(n))
    }
}
