import CairnModel
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore

extension QueryAPI {
    /// A request the API refuses: its HTTP status, and one sentence that says which parameter is wrong, why, and
    /// what to send instead.
    struct Failure: Error, Equatable {
        var status: HTTPResponse.Status
        var message: String

        /// 400 with the message.
        static func badRequest(_ message: String) -> Failure {
            Failure(status: .badRequest, message: message)
        }

        /// 404 for a trace with no stored span, with Jaeger's message.
        static let traceNotFound = Failure(status: .notFound, message: "trace not found")
    }

    /// The query parameters of one request, read with the API's checks and messages. An empty value counts as an
    /// absent one, as the Jaeger UI sends empty fields.
    struct Parameters {
        private let values: FlatDictionary<Substring, Substring>

        init(_ uri: URI) {
            values = uri.queryParameters
        }

        /// The parameter's value; nil when it is absent or empty.
        func string(_ name: String) -> String? {
            guard let value = values[name[...]], !value.isEmpty else { return nil }
            return String(value)
        }

        /// Every non-empty value of a repeated parameter, in order.
        func all(_ name: String) -> [String] {
            values[values: name[...]].filter { !$0.isEmpty }.map(String.init)
        }

        /// The parameter's value, or 400 when it is absent.
        func required(_ name: String) throws(Failure) -> String {
            guard let value = string(name) else { throw .badRequest("parameter '\(name)' is required") }
            return value
        }

        /// `true` for `true` or `1`, `false` for `false`, `0` or absent.
        func flag(_ name: String) throws(Failure) -> Bool {
            switch string(name)?.lowercased() {
            case nil, "false", "0": return false
            case "true", "1": return true
            case let other?: throw .badRequest("parameter '\(name)' is '\(other)'; give true or false")
            }
        }

        /// A positive whole number, `defaultValue` when absent; at most `maximum`.
        func positiveInteger(_ name: String, default defaultValue: Int, maximum: Int) throws(Failure) -> Int {
            guard let text = string(name) else { return defaultValue }
            guard let value = Int(text), value > 0 else {
                throw .badRequest("parameter '\(name)' is '\(text)'; give a whole number greater than 0")
            }
            guard value <= maximum else {
                throw .badRequest("parameter '\(name)' is \(value), more than the most this collector returns (\(maximum)); ask for at most \(maximum)")
            }
            return value
        }

        /// A Unix time given in `unit` (microseconds or milliseconds), as Unix nanoseconds; nil when absent.
        func unixTime(_ name: String, unit: TimeUnit) throws(Failure) -> UInt64? {
            guard let text = string(name) else { return nil }
            guard let value = UInt64(text) else {
                throw .badRequest("parameter '\(name)' is '\(text)'; give a Unix time in \(unit.name), like \(unit.example)")
            }
            let (nanos, overflow) = value.multipliedReportingOverflow(by: unit.nanos)
            guard !overflow else {
                throw .badRequest("parameter '\(name)' is \(text), too far in the future; give a Unix time in \(unit.name), like \(unit.example)")
            }
            return nanos
        }

        /// A length of time given as a whole number of `unit`, as nanoseconds; nil when absent.
        func length(_ name: String, in unit: TimeUnit) throws(Failure) -> UInt64? {
            guard let text = string(name) else { return nil }
            guard let value = UInt64(text), case let (nanos, false) = value.multipliedReportingOverflow(by: unit.nanos) else {
                throw .badRequest("parameter '\(name)' is '\(text)'; give a whole number of \(unit.name), like \(unit.exampleLength)")
            }
            return nanos
        }

        /// A Go duration (`1.2s`, `100ms`, `500us`, `1m30s`), as nanoseconds; nil when absent.
        func duration(_ name: String) throws(Failure) -> UInt64? {
            guard let text = string(name) else { return nil }
            guard let nanos = QueryAPI.parseGoDuration(text) else {
                throw .badRequest("parameter '\(name)' is '\(text)', which is not a duration; write it like 1.2s, 100ms, 500us or 1m30s")
            }
            return nanos
        }

        /// The Jaeger UI's `lookback` (`1h`, `2d`, or `custom` when it sends `start` and `end`), as nanoseconds; nil
        /// when absent or `custom`.
        func lookback(_ name: String = "lookback") throws(Failure) -> UInt64? {
            guard let text = string(name), text != "custom" else { return nil }
            guard let nanos = QueryAPI.parseGoDuration(text, allowDays: true) else {
                throw .badRequest("parameter '\(name)' is '\(text)', which is not a duration; write it like 1h, 2d or 30m")
            }
            return nanos
        }

        /// The time range of `start` and `end` (Unix microseconds), in Unix nanoseconds, both inclusive. Without
        /// `start`, the range reaches back `lookback` (the parameter, else `defaultLookback`) from `end`, else from
        /// `now`; without either, that side is open (nil).
        func timeRange(now: UInt64, defaultLookback: UInt64?) throws(Failure) -> (start: UInt64?, end: UInt64?) {
            let end = try unixTime("end", unit: .microseconds)
            var start = try unixTime("start", unit: .microseconds)
            if start == nil, let lookback = try lookback() ?? defaultLookback {
                let reference = end ?? now
                start = reference - min(lookback, reference)
            }
            if let start, let end, start > end {
                throw .badRequest("parameter 'start' (\(start / 1_000)) is after 'end' (\(end / 1_000)); both are Unix times in microseconds, give a start before the end")
            }
            return (start, end)
        }

        /// The span attributes to search for: the JSON object of `tags` (`{"http.status_code":"500"}`) merged with
        /// each repeated `tag=key:value`.
        func tags() throws(Failure) -> [String: String] {
            var tags: [String: String] = [:]
            if let json = string("tags") {
                let decoded: [String: TagText]
                do {
                    decoded = try JSONDecoder().decode([String: TagText].self, from: Data(json.utf8))
                } catch {
                    throw .badRequest(#"parameter 'tags' is not a JSON object of strings; write it like {"http.status_code":"500","error":"true"}"#)
                }
                for (key, value) in decoded { tags[key] = value.text }
            }
            for pair in all("tag") {
                guard let colon = pair.firstIndex(of: ":"), colon != pair.startIndex else {
                    throw .badRequest("parameter 'tag' is '\(pair)'; write it as key:value, like tag=http.status_code:500")
                }
                tags[String(pair[..<colon])] = String(pair[pair.index(after: colon)...])
            }
            return tags
        }
    }

    /// A unit that Unix times and lengths of time are given in.
    struct TimeUnit {
        var name: String
        var nanos: UInt64
        var example: String
        var exampleLength: String

        static let microseconds = TimeUnit(
            name: "microseconds", nanos: 1_000, example: "1700000000000000", exampleLength: "3600000000")
        static let milliseconds = TimeUnit(
            name: "milliseconds", nanos: 1_000_000, example: "1700000000000", exampleLength: "86400000")
    }

    /// A tag value in the `tags` JSON: a string, or leniently a number or boolean, as search text.
    private struct TagText: Decodable {
        var text: String

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) {
                self.text = text
            } else if let flag = try? container.decode(Bool.self) {
                text = flag ? "true" : "false"
            } else if let integer = try? container.decode(Int64.self) {
                text = String(integer)
            } else {
                text = String(try container.decode(Double.self))
            }
        }
    }

    /// A trace id of 1 to 32 hexadecimal digits, in either case, left-padded with zeros as Jaeger accepts it; nil
    /// for anything else.
    static func parseTraceID(_ text: String) -> TraceID? {
        guard (1...32).contains(text.utf8.count), text.utf8.allSatisfy({ $0.isHexDigit }) else { return nil }
        return TraceID(hex: String(repeating: "0", count: 32 - text.utf8.count) + text)
    }

    /// A trace id from a path or query parameter, or 400.
    static func traceID(_ text: String) throws(Failure) -> TraceID {
        guard let id = parseTraceID(text) else {
            throw .badRequest("trace id '\(text)' is not 1 to 32 hexadecimal digits; give it like 4bf92f3577b34da6a3ce929d0e0e4736")
        }
        return id
    }

    /// A duration in Go's syntax (`time.ParseDuration`): a sequence of decimal numbers, each with an optional
    /// fraction and a unit (`ns`, `us`, `µs`, `μs`, `ms`, `s`, `m`, `h`; with `allowDays`, also `d` and `w`), like
    /// `1.5h` or `1m30s`; `0` alone needs no unit. Nanoseconds, or nil when the text is not such a duration, is
    /// negative, or overflows.
    ///
    /// See [time.ParseDuration](https://pkg.go.dev/time#ParseDuration).
    public static func parseGoDuration(_ text: some StringProtocol, allowDays: Bool = false) -> UInt64? {
        func isDigit(_ scalar: Unicode.Scalar) -> Bool { ("0"..."9").contains(scalar) }
        var scalars = Substring(text).unicodeScalars
        if scalars.first == "+" { scalars.removeFirst() }
        if scalars.elementsEqual("0".unicodeScalars) { return 0 }
        guard !scalars.isEmpty else { return nil }
        var total: UInt64 = 0
        while !scalars.isEmpty {
            let whole = scalars.prefix(while: isDigit)
            scalars.removeFirst(whole.count)
            var fraction = Substring.UnicodeScalarView()
            if scalars.first == "." {
                scalars.removeFirst()
                fraction = scalars.prefix(while: isDigit)
                scalars.removeFirst(fraction.count)
            }
            guard !whole.isEmpty || !fraction.isEmpty else { return nil }
            let unitName = scalars.prefix { !isDigit($0) && $0 != "." }
            scalars.removeFirst(unitName.count)
            guard let unit = goDurationUnit(String(Substring(unitName)), allowDays: allowDays) else { return nil }
            var value: UInt64 = 0
            for digit in whole {
                guard case let (times10, false) = value.multipliedReportingOverflow(by: 10),
                      case let (sum, false) = times10.addingReportingOverflow(UInt64(digit.value) - 48)
                else { return nil }
                value = sum
            }
            // The fraction, exactly: its first 18 digits as an integer over 10^digits, times the unit.
            var numerator: UInt64 = 0
            var denominator: UInt64 = 1
            for digit in fraction.prefix(18) {
                numerator = numerator * 10 + UInt64(digit.value) - 48
                denominator *= 10
            }
            let fractionNanos = denominator.dividingFullWidth(numerator.multipliedFullWidth(by: unit)).quotient
            guard case let (nanos, false) = value.multipliedReportingOverflow(by: unit),
                  case let (term, false) = nanos.addingReportingOverflow(fractionNanos),
                  case let (sum, false) = total.addingReportingOverflow(term)
            else { return nil }
            total = sum
        }
        return total
    }

    private static func goDurationUnit(_ name: String, allowDays: Bool) -> UInt64? {
        switch name {
        case "ns": 1
        case "us", "\u{00B5}s", "\u{03BC}s": 1_000
        case "ms": 1_000_000
        case "s": 1_000_000_000
        case "m": 60_000_000_000
        case "h": 3_600_000_000_000
        case "d" where allowDays: 86_400_000_000_000
        case "w" where allowDays: 604_800_000_000_000
        default: nil
        }
    }
}

extension UInt8 {
    fileprivate var isHexDigit: Bool {
        switch self {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"),
             UInt8(ascii: "A")...UInt8(ascii: "F"): true
        default: false
        }
    }
}
