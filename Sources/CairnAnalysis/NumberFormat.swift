// Numbers as text for people: durations and fixed decimals. Rounding is done on integers wherever the input is an
// integer, so that the same input gives the same text on every platform and in every locale.

/// A duration in nanoseconds for people to read, with three significant digits and the largest unit that keeps the
/// number at 1 or more: `950 ns`, `12.3 µs`, `250 ms`, `1.50 s`, `2.00 min`.
///
/// Nanoseconds are written whole; other units with three significant digits, rounded half up with integer
/// arithmetic (no floating point), so the same input always gives the same text. A value that rounds up to the next
/// unit is written in it: 999,600 ns is `1.00 ms`, 59.999 s is `1.00 min`. Minutes are the largest unit, so a long
/// duration is a whole number of minutes with more than three digits.
public func formatDuration(_ nanos: UInt64) -> String {
    if nanos < 1_000 { return "\(nanos) ns" }
    let units: [(name: String, size: UInt64)] = [
        ("µs", 1_000), ("ms", 1_000_000), ("s", 1_000_000_000), ("min", 60_000_000_000),
    ]
    var index = units.lastIndex { nanos >= $0.size } ?? 0
    var (digits, decimals) = significantDigits(nanos, unit: units[index].size)
    // Rounding may reach the next unit (999.6 µs rounds to 1000 µs): write it in that unit instead.
    if index + 1 < units.count, digits * units[index].size >= units[index + 1].size * powerOfTen(decimals) {
        index += 1
        (digits, decimals) = significantDigits(nanos, unit: units[index].size)
    }
    return "\(decimalText(digits, decimals: decimals)) \(units[index].name)"
}

/// `nanos / unit` with three significant digits (two decimals under 10, one under 100, none from 100), rounded half
/// up: the digits as an integer and the number of decimals in them. A value that rounds up to the next power of ten
/// keeps three digits (9.996 gives 10.0, not 10.00).
private func significantDigits(_ nanos: UInt64, unit: UInt64) -> (digits: UInt64, decimals: Int) {
    let whole = nanos / unit
    var decimals = whole >= 100 ? 0 : whole >= 10 ? 1 : 2
    // No overflow: `whole` is under 100 when there are decimals, and the remainder times 100 is under 100 × unit.
    let scaledRemainder = (nanos % unit) * powerOfTen(decimals)
    var digits = whole * powerOfTen(decimals) + scaledRemainder / unit
    if (scaledRemainder % unit) * 2 >= unit { digits += 1 }
    // With decimals the digits were at most 999 before rounding; 1000 is exactly 10.00 or 100.0.
    while decimals > 0 && digits >= 1_000 {
        digits /= 10
        decimals -= 1
    }
    return (digits, decimals)
}

/// A non-negative number with `digits` decimals, rounded half up: `formatFixed(2.345, digits: 2)` is `2.35`.
/// Negative numbers and NaN are written as 0. Used for values that are not integers to begin with (DOT pen widths).
func formatFixed(_ value: Double, digits: Int) -> String {
    let scaled = value > 0 ? UInt64(min(value * Double(powerOfTen(digits)) + 0.5, 1.8e19)) : 0
    return decimalText(scaled, decimals: digits)
}

/// `digits` with a decimal point before the last `decimals` of them: `decimalText(150, decimals: 2)` is `1.50`.
private func decimalText(_ digits: UInt64, decimals: Int) -> String {
    guard decimals > 0 else { return String(digits) }
    let scale = powerOfTen(decimals)
    let fraction = String(digits % scale)
    return "\(digits / scale)." + String(repeating: "0", count: decimals - fraction.count) + fraction
}

/// 10 to the power of `exponent` (0 to 19).
private func powerOfTen(_ exponent: Int) -> UInt64 {
    var result: UInt64 = 1
    for _ in 0..<exponent { result *= 10 }
    return result
}
