import Logging

/// The `OTEL_*` variables of an environment, read as [the SDK configuration](https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/)
/// says: surrounding spaces and tabs are trimmed, an empty variable counts as unset, and an invalid value is logged
/// once, by the reader that meets it, and ignored.
struct EnvironmentVariables {
    let values: [String: String]
    let logger: Logger

    /// The trimmed value of `name`; nil when unset or empty.
    func text(_ name: String) -> String? {
        guard let raw = values[name] else { return nil }
        let trimmed = raw.trimmingOWS()
        return trimmed.isEmpty ? nil : String(trimmed)
    }

    /// The first of `names` that is set, with its value.
    func first(_ names: String...) -> (name: String, text: String)? {
        for name in names { if let text = text(name) { return (name, text) } }
        return nil
    }

    /// A whole number of `minimum` or more; any other value is logged with `example` and ignored.
    func number(_ name: String, minimum: Int, example: Int) -> Int? {
        guard let text = text(name) else { return nil }
        guard let value = Int(text), value >= minimum else {
            logger.warning("\(name)=\(text) is not a whole number of \(minimum) or more, so it is ignored; set a number such as \(example).")
            return nil
        }
        return value
    }

    /// The members of `key1=value1,key2=value2` (as `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_EXPORTER_OTLP_HEADERS`
    /// hold them), keys trimmed and values trimmed and percent-decoded, in order; empty members are skipped. Nil when
    /// a member is not `key=value`, or its key or its raw value fails `validKey` or `validValue`.
    static func keyValuePairs(
        _ text: String, validKey: (Substring) -> Bool, validValue: (Substring) -> Bool = { _ in true }
    ) -> [(key: String, value: String)]? {
        var pairs: [(key: String, value: String)] = []
        for rawMember in text.split(separator: ",") {
            let member = rawMember.trimmingOWS()
            if member.isEmpty { continue }
            guard let equals = member.firstIndex(of: "=") else { return nil }
            let key = member[..<equals].trimmingOWS()
            let value = member[member.index(after: equals)...].trimmingOWS()
            guard !key.isEmpty, validKey(key), validValue(value) else { return nil }
            pairs.append((String(key), Baggage.percentDecode(value)))
        }
        return pairs
    }
}
