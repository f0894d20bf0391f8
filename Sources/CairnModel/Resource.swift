/// The entity that produced spans: the OTLP `Resource` message with its `ResourceSpans.schema_url`.
///
/// See [the resource specification](https://opentelemetry.io/docs/specs/otel/resource/sdk/).
public struct Resource: Hashable, Sendable {
    public var attributes: [Attribute]
    public var droppedAttributesCount: UInt32
    public var schemaURL: String

    public init(attributes: [Attribute] = [], droppedAttributesCount: UInt32 = 0, schemaURL: String = "") {
        self.attributes = attributes
        self.droppedAttributesCount = droppedAttributesCount
        self.schemaURL = schemaURL
    }

    /// The `service.name` attribute, or `unknown_service` as the specification defines when it is missing.
    @inlinable
    public var serviceName: String {
        if case .string(let name)? = attributes["service.name"], !name.isEmpty { return name }
        return "unknown_service"
    }
}
