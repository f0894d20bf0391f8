#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A time in nanoseconds since the Unix epoch as [RFC 3339](https://www.rfc-editor.org/rfc/rfc3339) in UTC, with
/// `fractionDigits` digits of the second (0 to 9, cut, not rounded): `2026-11-27T06:01:02.123Z` for 3.
public func formatRFC3339(unixNanos: UInt64, fractionDigits: Int = 9) -> String {
    var seconds = time_t(unixNanos / 1_000_000_000)
    var parts = tm()
    gmtime_r(&seconds, &parts)
    func digits<Value: BinaryInteger>(_ value: Value, _ count: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, count - text.count)) + text
    }
    var text = "\(digits(parts.tm_year + 1900, 4))-\(digits(parts.tm_mon + 1, 2))-\(digits(parts.tm_mday, 2))T"
        + "\(digits(parts.tm_hour, 2)):\(digits(parts.tm_min, 2)):\(digits(parts.tm_sec, 2))"
    let places = min(max(fractionDigits, 0), 9)
    if places > 0 {
        text += "." + digits(unixNanos % 1_000_000_000, 9).prefix(places)
    }
    return text + "Z"
}

/// Now, from the system's real-time clock, in nanoseconds since the Unix epoch.
public func unixNanosNow() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return UInt64(max(0, now.tv_sec)) * 1_000_000_000 + UInt64(max(0, now.tv_nsec))
}
