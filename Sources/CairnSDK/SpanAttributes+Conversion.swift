import CairnModel
import Tracing

extension SpanAttributes {
    /// The attributes as OTLP key-values, strings cut to `lengthLimit` characters.
    func modelAttributes(lengthLimit: Int?) -> [Attribute] {
        var result: [Attribute] = []
        result.reserveCapacity(count)
        forEach { key, value in
            result.append(Attribute(key, value.modelValue(lengthLimit: lengthLimit)))
        }
        return result
    }
}

extension SpanAttribute {
    /// The value as an OTLP `AnyValue`: integers as `int`, arrays as `array`, string-convertible values by their
    /// description.
    func modelValue(lengthLimit: Int?) -> AttributeValue {
        func text(_ value: String) -> AttributeValue {
            guard let limit = lengthLimit, value.utf8.count > limit, value.count > limit else { return .string(value) }
            return .string(String(value.prefix(max(limit, 0))))
        }
        switch self {
        case .int32(let value): return .int(Int64(value))
        case .int64(let value): return .int(value)
        case .int32Array(let values): return .array(values.map { .int(Int64($0)) })
        case .int64Array(let values): return .array(values.map { .int($0) })
        case .double(let value): return .double(value)
        case .doubleArray(let values): return .array(values.map { .double($0) })
        case .bool(let value): return .bool(value)
        case .boolArray(let values): return .array(values.map { .bool($0) })
        case .string(let value): return text(value)
        case .stringArray(let values): return .array(values.map(text))
        case .stringConvertible(let value): return text(value.description)
        case .stringConvertibleArray(let values): return .array(values.map { text($0.description) })
        default: return .empty
        }
    }
}

extension CairnModel.SpanKind {
    init(_ kind: Tracing.SpanKind) {
        switch kind {
        case .server: self = .server
        case .client: self = .client
        case .producer: self = .producer
        case .consumer: self = .consumer
        case .internal: self = .internal
        }
    }
}

extension CairnModel.SpanStatus {
    /// The status as exported: unset when none was set; a message only with `error`.
    init(_ status: Tracing.SpanStatus?) {
        switch status?.code {
        case .none: self = .unset
        case .ok: self.init(code: .ok)
        case .error: self.init(code: .error, message: status?.message ?? "")
        }
    }
}
