import Testing
import RTCBase

@Suite struct SerialNumberTests {
    struct DistanceRow: Sendable, CustomTestStringConvertible {
        let bits: Int, a: UInt64, b: UInt64, expected: Int64
        var testDescription: String { "\(bits)-bit \(a)→\(b) = \(expected)" }
    }

    @Test(arguments: [
        DistanceRow(bits: 16, a: 0, b: 1, expected: 1),
        DistanceRow(bits: 16, a: 1, b: 0, expected: -1),
        DistanceRow(bits: 16, a: 65_535, b: 0, expected: 1),
        DistanceRow(bits: 16, a: 0, b: 65_535, expected: -1),
        DistanceRow(bits: 16, a: 65_534, b: 2, expected: 4),
        DistanceRow(bits: 16, a: 0, b: 32_767, expected: 32_767),
        DistanceRow(bits: 16, a: 0, b: 32_768, expected: 32_768),      // half-way, b > a: ahead
        DistanceRow(bits: 16, a: 32_768, b: 0, expected: -32_768),     // half-way, b < a: behind
        DistanceRow(bits: 16, a: 100, b: 100, expected: 0),
        DistanceRow(bits: 32, a: 4_294_967_295, b: 0, expected: 1),
        DistanceRow(bits: 32, a: 10, b: 4_294_967_290, expected: -16),
        DistanceRow(bits: 15, a: 32_767, b: 0, expected: 1),           // VP8 picture id
        DistanceRow(bits: 8, a: 255, b: 3, expected: 4),               // TL0PICIDX
        DistanceRow(bits: 7, a: 127, b: 0, expected: 1),
    ])
    func distance(_ row: DistanceRow) {
        let space = SerialNumberSpace(bits: row.bits)
        #expect(space.distance(from: row.a, to: row.b) == row.expected)
        #expect(space.isNewer(row.b, than: row.a) == (row.expected > 0))
        #expect(space.adding(row.expected, to: row.a) == row.b)
    }

    struct UnwrapRow: Sendable, CustomTestStringConvertible {
        let name: String, bits: Int, input: [UInt64], expected: [Int64], highest: Int64
        var testDescription: String { name }
    }

    @Test(arguments: [
        UnwrapRow(name: "in order", bits: 16, input: [10, 11, 12], expected: [10, 11, 12], highest: 12),
        UnwrapRow(name: "forward wrap", bits: 16, input: [65_534, 65_535, 0, 1], expected: [65_534, 65_535, 65_536, 65_537], highest: 65_537),
        UnwrapRow(name: "late packet across wrap", bits: 16, input: [65_535, 1, 0, 65_534], expected: [65_535, 65_537, 65_536, 65_534], highest: 65_537),
        UnwrapRow(name: "before first value", bits: 16, input: [0, 65_535], expected: [0, -1], highest: 0),
        UnwrapRow(name: "large gap forward", bits: 16, input: [0, 30_000, 60_000, 24_464], expected: [0, 30_000, 60_000, 90_000], highest: 90_000),
        UnwrapRow(name: "two full wraps", bits: 16, input: [0, 32_000, 64_000, 30_464, 62_464, 29_000],
                  expected: [0, 32_000, 64_000, 96_000, 128_000, 160_072], highest: 160_072),
        UnwrapRow(name: "32-bit timestamps wrap", bits: 32, input: [4_294_960_000, 3_000, 4_294_967_000],
                  expected: [4_294_960_000, 4_294_970_296, 4_294_967_000], highest: 4_294_970_296),
        UnwrapRow(name: "only low bits used", bits: 16, input: [0x1_0005], expected: [5], highest: 5),
        UnwrapRow(name: "15-bit picture id", bits: 15, input: [32_766, 32_767, 0, 5], expected: [32_766, 32_767, 32_768, 32_773], highest: 32_773),
    ])
    func unwrap(_ row: UnwrapRow) {
        var u = SerialNumberUnwrapper(bits: row.bits)
        #expect(u.highest == nil)
        let out = row.input.map { u.unwrap($0) }
        #expect(out == row.expected)
        #expect(u.highest == row.highest)
    }

    @Test func peekDoesNotRecord() {
        var u = SerialNumberUnwrapper(space: .sixteenBit)
        _ = u.unwrap(65_535)
        #expect(u.peek(0) == 65_536)
        #expect(u.highest == 65_535)
    }
}
