import Testing
import RTCBase

@Suite struct NTPTimestampTests {
    @Test func halvesAndMiddle() {
        let t = NTPTimestamp(seconds: 0xE8A1_2345, fraction: 0x8000_0000)
        #expect(t.rawValue == 0xE8A1_2345_8000_0000)
        #expect(t.middle32 == 0x2345_8000)
    }

    @Test func unixRoundTrip() {
        // 2026-11-25T00:00:00.5Z
        let ns: UInt64 = 1_795_564_800_500_000_000
        let t = NTPTimestamp(unixNanoseconds: ns)
        #expect(UInt64(t.seconds) == 1_795_564_800 + NTPTimestamp.unixEpochOffset)
        #expect(t.fraction == 0x8000_0000)
        let back = t.unixNanoseconds
        #expect(back <= ns && ns - back < 2)
    }
}
