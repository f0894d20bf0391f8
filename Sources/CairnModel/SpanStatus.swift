/// The outcome of a span: the OTLP `Status` message.
///
/// See [Set Status](https://opentelemetry.io/docs/specs/otel/trace/api/#set-status).
public struct SpanStatus: Hashable, Sendable {
    /// The status code; values the enum does not name are kept as they arrived.
    public struct Code: RawRepresentable, Hashable, Sendable {
        public var rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        public static let unset = Code(rawValue: 0)
        public static let ok = Code(rawValue: 1)
        public static let error = Code(rawValue: 2)
    }

    public var code: Code
    public var message: String

    public init(code: Code = .unset, message: String = "") {
        self.code = code
        self.message = message
    }

    /// Unset, with no message.
    public static let unset = SpanStatus()
}
