import ArgumentParser
import CairnCollector
import CairnModel
import Foundation

/// The time range of a search, `--since` and `--until`, and the parsing of the durations and times that the
/// commands take.
///
/// Durations are Go durations (`250ms`, `1.5s`, `1m30s`; see `QueryAPI.parseGoDuration(_:allowDays:)`), and a time
/// in the past is either a duration before now, which may also count days (`15m`, `2h`, `7d`), or an RFC 3339 time
/// (`2026-03-12T09:14:07Z`, `2026-03-12T10:14:07.5+01:00`). Every parse error is a `CLIError` with exit status 2
/// that shows how to write the value.
struct TimeOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Only spans that start after this: a duration before now (15m, 2h, 7d) or an RFC 3339 time.",
        valueName: "time"))
    var since: String?

    @Option(help: ArgumentHelp(
        "Only spans that start before this: a duration before now (15m, 2h, 7d) or an RFC 3339 time (default: now).",
        valueName: "time"))
    var until: String?

    /// The range as Unix nanoseconds, both ends inclusive, nil where open; a `CLIError` (status 2) when a value
    /// cannot be read or the range is empty.
    func range(now: UInt64) throws -> (start: UInt64?, end: UInt64?) {
        let start = try since.map { try Self.parseTime($0, option: "--since", now: now) }
        let end = try until.map { try Self.parseTime($0, option: "--until", now: now) }
        if let start, let end, start > end {
            throw CLIError("--since \(since!) is after --until \(until!); give a --since earlier than --until", exitCode: 2)
        }
        return (start, end)
    }

    /// The window of span starts that `--since` and `--until` give, lower bound inclusive, upper bound exclusive:
    /// without `--since`, `defaultSince` (a duration) before the end; without `--until`, up to now.
    func window(defaultSince: String) throws -> Range<UInt64> {
        let now = TimeOptions.now()
        let (start, end) = try range(now: now)
        let last = end ?? now
        let first = try start ?? last - min(TimeOptions.parseDuration(defaultSince, option: "--since"), last)
        guard first <= last else {
            throw CLIError("--since \(defaultSince) reaches back before --until \(until ?? ""); give a --since earlier than --until", exitCode: 2)
        }
        return first..<(last == .max ? last : last + 1)
    }

    /// The window in words for messages: `in the last 1h`, `since 2026-03-12T09:00:00Z`, `from 2h ago to 1h ago`.
    func describe(defaultSince: String) -> String {
        func phrase(_ text: String) -> String {
            QueryAPI.parseGoDuration(text, allowDays: true) != nil ? "\(text) ago" : text
        }
        switch (since, until) {
        case (nil, nil): return "in the last \(defaultSince)"
        case (let since?, nil):
            return QueryAPI.parseGoDuration(since, allowDays: true) != nil ? "in the last \(since)" : "since \(since)"
        case (nil, let until?): return "in the \(defaultSince) before \(phrase(until))"
        case (let since?, let until?): return "from \(phrase(since)) to \(phrase(until))"
        }
    }

    /// Now, in Unix nanoseconds.
    static func now() -> UInt64 {
        unixNanosNow()
    }

    /// A duration (`250ms`, `1.5s`, `2m`) in nanoseconds; `option` names the option in the error.
    static func parseDuration(_ text: String, option: String) throws -> UInt64 {
        guard let nanos = QueryAPI.parseGoDuration(text) else {
            throw CLIError("\(option) \(text) is not a duration; write it like 250ms, 1.5s or 2m", exitCode: 2)
        }
        return nanos
    }

    /// A time in Unix nanoseconds: a duration before `now` (`15m`, `2h`, `7d`) or an RFC 3339 time.
    static func parseTime(_ text: String, option: String, now: UInt64) throws -> UInt64 {
        if let ago = QueryAPI.parseGoDuration(text, allowDays: true) { return now - min(ago, now) }
        if let time = parseRFC3339(text) { return time }
        throw CLIError(
            "\(option) \(text) is neither a duration nor a time; write it like 15m, 2h, 7d or 2026-03-12T09:14:07Z",
            exitCode: 2)
    }

    /// An RFC 3339 time (`2026-03-12T09:14:07Z`, with any fraction of a second and any offset; a space or `t` may
    /// stand for the `T`) in Unix nanoseconds, exactly; nil for anything else or a time before 1970.
    static func parseRFC3339(_ text: String) -> UInt64? {
        let scalars = Array(text.unicodeScalars)
        var position = 0
        func number(_ digits: Int) -> Int? {
            guard position + digits <= scalars.count else { return nil }
            var value = 0
            for scalar in scalars[position..<position + digits] {
                guard ("0"..."9").contains(scalar) else { return nil }
                value = value * 10 + Int(scalar.value - 48)
            }
            position += digits
            return value
        }
        func skip(_ allowed: Set<Unicode.Scalar>) -> Bool {
            guard position < scalars.count, allowed.contains(scalars[position]) else { return false }
            position += 1
            return true
        }
        guard let year = number(4), skip(["-"]), let month = number(2), skip(["-"]), let day = number(2),
              skip(["T", "t", " "]), let hour = number(2), skip([":"]), let minute = number(2), skip([":"]),
              let second = number(2),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var fraction: UInt64 = 0
        if skip(["."]) {
            var digits = 0
            while position < scalars.count, ("0"..."9").contains(scalars[position]) {
                if digits < 9 { fraction = fraction * 10 + UInt64(scalars[position].value - 48) }
                digits += 1
                position += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<max(digits, 9) { fraction *= 10 }
        }
        var offsetSeconds = 0
        if !skip(["Z", "z"]) {
            guard position < scalars.count, scalars[position] == "+" || scalars[position] == "-" else { return nil }
            let sign = scalars[position] == "-" ? -1 : 1
            position += 1
            guard let hours = number(2), skip([":"]), let minutes = number(2), hours < 24, minutes < 60 else { return nil }
            offsetSeconds = sign * (hours * 3_600 + minutes * 60)
        }
        guard position == scalars.count else { return nil }
        let seconds = daysSinceEpoch(year: year, month: month, day: day) * 86_400 + hour * 3_600 + minute * 60
            + second - offsetSeconds
        guard seconds >= 0 else { return nil }
        return UInt64(seconds) * 1_000_000_000 + fraction
    }

    /// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (Howard Hinnant's `days_from_civil`).
    private static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// A time for people to read, `2026-03-12 09:14:07.000`, in `timeZone` (the `TZ` of the environment by
    /// default), to the millisecond (truncated).
    static func format(_ unixNanos: UInt64, timeZone: TimeZone = .current) -> String {
        let seconds = unixNanos / 1_000_000_000
        let millis = unixNanos / 1_000_000 % 1_000
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents(
            [.year, .month, .day, .hour, .minute, .second], from: Date(timeIntervalSince1970: TimeInterval(seconds)))
        func pad(_ value: Int?, _ width: Int) -> String {
            let text = String(value ?? 0)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.year, 4))-\(pad(parts.month, 2))-\(pad(parts.day, 2)) "
            + "\(pad(parts.hour, 2)):\(pad(parts.minute, 2)):\(pad(parts.second, 2)).\(pad(Int(millis), 3))"
    }

    /// A time as RFC 3339 in UTC with nanoseconds, `2026-03-12T09:14:07.123456789Z`: exact, for JSON.
    static func rfc3339(_ unixNanos: UInt64) -> String {
        formatRFC3339(unixNanos: unixNanos)
    }
}
