/// The library that produced spans: the OTLP `InstrumentationScope` message with its `ScopeSpans.schema_url`.
///
/// See [instrumentation scope](https://opentelemetry.io/docs/specs/otel/common/instrumentation-scope/).
public struct InstrumentationScope: Hashable, Sendable {
    public var name: String
    public var version: String
    public var attributes: [Attribute]
    public var droppedAttributesCount: UInt32
    public var schemaURL: String

    public init(
        name: String = "", version: String = "", attributes: [Attribute] = [], droppedAttributesCount: UInt32 = 0,
        schemaURL: String = ""
    ) {
        self.name = name
        self.version = version
        self.attributes = attributes
        self.droppedAttributesCount = droppedAttributesCount
        self.schemaURL = schemaURL
    }
}
