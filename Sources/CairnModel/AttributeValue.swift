/// The value of an attribute: every case of the OTLP `AnyValue` message.
///
/// See [OTLP common.proto](https://github.com/open-telemetry/opentelemetry-proto/blob/main/opentelemetry/proto/common/v1/common.proto)
/// and [the attribute specification](https://opentelemetry.io/docs/specs/otel/common/#attribute).
/// Doubles compare by bit pattern, so that a stored NaN reads back equal to itself.
public enum AttributeValue: Hashable, Sendable {
    /// No value set (an `AnyValue` with none of its cases).
    case empty
    case string(String)
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case bytes([UInt8])
    case array([AttributeValue])
    /// A map, kept as an ordered list so that duplicate keys survive a round trip.
    case keyValueList([Attribute])

    public static func == (lhs: AttributeValue, rhs: AttributeValue) -> Bool {
        switch (lhs, rhs) {
        case (.empty, .empty): true
        case let (.string(a), .string(b)): a == b
        case let (.bool(a), .bool(b)): a == b
        case let (.int(a), .int(b)): a == b
        case let (.double(a), .double(b)): a.bitPattern == b.bitPattern
        case let (.bytes(a), .bytes(b)): a == b
        case let (.array(a), .array(b)): a == b
        case let (.keyValueList(a), .keyValueList(b)): a == b
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .empty: hasher.combine(0)
        case .string(let value): hasher.combine(value)
        case .bool(let value): hasher.combine(value)
        case .int(let value): hasher.combine(value)
        case .double(let value): hasher.combine(value.bitPattern)
        case .bytes(let value): hasher.combine(value)
        case .array(let value): hasher.combine(value)
        case .keyValueList(let value): hasher.combine(value)
        }
    }

    /// The value as text, as a search compares it: strings as they are, numbers and booleans as written in JSON.
    public var searchText: String? {
        switch self {
        case .string(let value): value
        case .bool(let value): value ? "true" : "false"
        case .int(let value): String(value)
        case .double(let value): String(value)
        default: nil
        }
    }
}

/// A key and its value: the OTLP `KeyValue` message.
public struct Attribute: Hashable, Sendable {
    public var key: String
    public var value: AttributeValue

    public init(_ key: String, _ value: AttributeValue) {
        self.key = key
        self.value = value
    }
}

extension Array where Element == Attribute {
    /// The value of the first attribute with the key, if any.
    @inlinable
    public subscript(key: String) -> AttributeValue? {
        first { $0.key == key }?.value
    }
}
