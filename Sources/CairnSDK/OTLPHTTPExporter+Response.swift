/// The few protobuf messages an exporter reads from responses, read field by field.
///
/// See [the protobuf encoding](https://protobuf.dev/programming-guides/encoding/).
enum ProtobufFields {
    enum Value {
        case varint(UInt64)
        case bytes(ArraySlice<UInt8>)
        case other
    }

    /// The top-level fields of `bytes`, or nil when they are not well-formed protobuf.
    static func fields(_ bytes: ArraySlice<UInt8>) -> [(number: UInt64, value: Value)]? {
        var fields: [(UInt64, Value)] = []
        var index = bytes.startIndex
        func varint() -> UInt64? {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while index < bytes.endIndex, shift < 64 {
                let byte = bytes[index]
                index += 1
                result |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return result }
                shift += 7
            }
            return nil
        }
        while index < bytes.endIndex {
            guard let key = varint() else { return nil }
            let number = key >> 3
            switch key & 7 {
            case 0:
                guard let value = varint() else { return nil }
                fields.append((number, .varint(value)))
            case 1:
                guard bytes.endIndex - index >= 8 else { return nil }
                index += 8
                fields.append((number, .other))
            case 2:
                guard let length = varint(), length <= UInt64(bytes.endIndex - index) else { return nil }
                let end = index + Int(length)
                fields.append((number, .bytes(bytes[index..<end])))
                index = end
            case 5:
                guard bytes.endIndex - index >= 4 else { return nil }
                index += 4
                fields.append((number, .other))
            default:
                return nil
            }
        }
        return fields
    }

    /// The `message` (field 2) of a `google.rpc.Status`.
    static func statusMessage(_ body: [UInt8]) -> String? {
        guard let fields = fields(body[...]) else { return nil }
        for field in fields where field.number == 2 {
            if case .bytes(let text) = field.value { return String(decoding: text, as: UTF8.self) }
        }
        return nil
    }

    /// The `partial_success` of an `ExportTraceServiceResponse`: `rejected_spans` and `error_message`.
    static func partialSuccess(_ body: [UInt8]) -> (rejected: Int64, message: String)? {
        guard let fields = fields(body[...]) else { return nil }
        for field in fields where field.number == 1 {
            guard case .bytes(let inner) = field.value, let innerFields = self.fields(inner) else { return nil }
            var rejected: Int64 = 0
            var message = ""
            for innerField in innerFields {
                switch (innerField.number, innerField.value) {
                case (1, .varint(let value)): rejected = Int64(bitPattern: value)
                case (2, .bytes(let text)): message = String(decoding: text, as: UTF8.self)
                default: break
                }
            }
            return (rejected, message)
        }
        return nil
    }
}

/// The `Retry-After` header ([RFC 9110](https://www.rfc-editor.org/rfc/rfc9110#name-retry-after)).
enum RetryAfter {
    /// The wait a `Retry-After` value asks for: whole seconds, or until an HTTP date (zero if it has passed); nil
    /// when the value is neither.
    static func delay(_ value: String, nowNanos: UInt64) -> Duration? {
        let text = value.trimmingOWS()
        if let seconds = Int64(text) {
            return seconds >= 0 ? .seconds(seconds) : nil
        }
        guard let date = httpDate(String(text)) else { return nil }
        let now = Int64(nowNanos / 1_000_000_000)
        return .seconds(max(0, date - now))
    }

    /// Seconds since the epoch of an IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`, the form servers must send.
    static func httpDate(_ text: String) -> Int64? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT", let day = Int64(parts[1]), let year = Int64(parts[3]) else {
            return nil
        }
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard let monthIndex = months.firstIndex(of: String(parts[2])) else { return nil }
        let time = parts[4].split(separator: ":")
        guard time.count == 3, let hour = Int64(time[0]), let minute = Int64(time[1]), let second = Int64(time[2]),
            (1...31).contains(day), (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second)
        else { return nil }
        return daysFromCivil(year: year, month: Int64(monthIndex + 1), day: day) * 86_400 + hour * 3600 + minute * 60
            + second
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
