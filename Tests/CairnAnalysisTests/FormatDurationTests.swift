import CairnAnalysis
import Testing

@Suite("formatDuration")
struct FormatDurationTests {
    @Test("nanoseconds are written whole, below 1 µs", arguments: [
        (UInt64(0), "0 ns"), (1, "1 ns"), (12, "12 ns"), (950, "950 ns"), (999, "999 ns"),
    ])
    func nanoseconds(nanos: UInt64, text: String) {
        #expect(formatDuration(nanos) == text)
    }

    @Test("three significant digits in the largest unit that keeps the number at 1 or more", arguments: [
        (UInt64(1_000), "1.00 µs"), (1_004, "1.00 µs"), (1_005, "1.01 µs"), (12_345, "12.3 µs"), (12_350, "12.4 µs"),
        (250_000, "250 µs"), (5_000_000, "5.00 ms"), (35_249_999, "35.2 ms"), (35_250_000, "35.3 ms"),
        (110_000_000, "110 ms"), (250_000_000, "250 ms"), (1_000_000_000, "1.00 s"), (1_500_000_000, "1.50 s"),
        (4_960_000_000, "4.96 s"), (59_949_999_999, "59.9 s"),
    ])
    func significantDigits(nanos: UInt64, text: String) {
        #expect(formatDuration(nanos) == text)
    }

    @Test("rounding half up that reaches the next power of ten keeps three digits", arguments: [
        (UInt64(9_994), "9.99 µs"), (9_995, "10.0 µs"), (99_949, "99.9 µs"), (99_950, "100 µs"),
        (9_995_000_000, "10.0 s"),
    ])
    func carryToAnotherDigit(nanos: UInt64, text: String) {
        #expect(formatDuration(nanos) == text)
    }

    @Test("rounding that reaches the next unit is written in that unit", arguments: [
        (UInt64(999_499), "999 µs"), (999_500, "1.00 ms"), (999_600, "1.00 ms"), (999_950, "1.00 ms"),
        (999_499_999, "999 ms"), (999_500_000, "1.00 s"), (59_950_000_000, "1.00 min"), (59_999_000_000, "1.00 min"),
    ])
    func carryToTheNextUnit(nanos: UInt64, text: String) {
        #expect(formatDuration(nanos) == text)
    }

    @Test("minutes are the largest unit", arguments: [
        (UInt64(60_000_000_000), "1.00 min"), (90_000_000_000, "1.50 min"), (120_000_000_000, "2.00 min"),
        (5_970_000_000_000, "99.5 min"), (59_970_000_000_000, "1000 min"),
        (UInt64.max, "307445735 min"),
    ])
    func minutes(nanos: UInt64, text: String) {
        #expect(formatDuration(nanos) == text)
    }
}
