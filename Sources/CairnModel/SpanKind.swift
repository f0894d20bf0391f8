/// The role of a span in a trace: the OTLP `Span.SpanKind` enum.
///
/// Values the enum does not name are kept as they arrived, so that nothing is lost in storage.
/// See [SpanKind](https://opentelemetry.io/docs/specs/otel/trace/api/#spankind).
public struct SpanKind: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32

    public init(rawValue: Int32) {
        self.rawValue = rawValue
    }

    public static let unspecified = SpanKind(rawValue: 0)
    public static let `internal` = SpanKind(rawValue: 1)
    public static let server = SpanKind(rawValue: 2)
    public static let client = SpanKind(rawValue: 3)
    public static let producer = SpanKind(rawValue: 4)
    public static let consumer = SpanKind(rawValue: 5)

    /// The enum name that OTLP uses (`SPAN_KIND_SERVER`), or the number for a value it does not name.
    public var otlpName: String {
        switch rawValue {
        case 0: "SPAN_KIND_UNSPECIFIED"
        case 1: "SPAN_KIND_INTERNAL"
        case 2: "SPAN_KIND_SERVER"
        case 3: "SPAN_KIND_CLIENT"
        case 4: "SPAN_KIND_PRODUCER"
        case 5: "SPAN_KIND_CONSUMER"
        default: String(rawValue)
        }
    }

    /// Lowercase, as Jaeger writes it: `server`, `client`, ...
    public var description: String {
        switch rawValue {
        case 0: "unspecified"
        case 1: "internal"
        case 2: "server"
        case 3: "client"
        case 4: "producer"
        case 5: "consumer"
        default: "kind(\(rawValue))"
        }
    }
}
