/// Limits on what one span keeps; what goes past them is dropped and counted in the exported span.
///
/// See [span limits](https://opentelemetry.io/docs/specs/otel/trace/sdk/#span-limits) and
/// [attribute limits](https://opentelemetry.io/docs/specs/otel/common/#attribute-limits). The defaults are the
/// specification's: 128 of each, attribute values of unlimited length. Set from `OTEL_SPAN_*_LIMIT` and friends by
/// ``CairnTracer/Configuration/applyingEnvironment(_:logger:)``.
public struct SpanLimits: Hashable, Sendable {
    /// The most attributes on a span (`OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`, default 128).
    public var attributeCountLimit: Int
    /// The most characters in a string attribute value, and in each string of an array, or nil for no limit
    /// (`OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT`); longer values are truncated when the span is exported.
    public var attributeValueLengthLimit: Int?
    /// The most events on a span (`OTEL_SPAN_EVENT_COUNT_LIMIT`, default 128).
    public var eventCountLimit: Int
    /// The most links on a span (`OTEL_SPAN_LINK_COUNT_LIMIT`, default 128).
    public var linkCountLimit: Int
    /// The most attributes on one event (`OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT`, default 128).
    public var attributePerEventCountLimit: Int
    /// The most attributes on one link (`OTEL_LINK_ATTRIBUTE_COUNT_LIMIT`, default 128).
    public var attributePerLinkCountLimit: Int

    /// Limits with the specification's defaults unless given.
    public init(
        attributeCountLimit: Int = 128, attributeValueLengthLimit: Int? = nil, eventCountLimit: Int = 128,
        linkCountLimit: Int = 128, attributePerEventCountLimit: Int = 128, attributePerLinkCountLimit: Int = 128
    ) {
        self.attributeCountLimit = attributeCountLimit
        self.attributeValueLengthLimit = attributeValueLengthLimit
        self.eventCountLimit = eventCountLimit
        self.linkCountLimit = linkCountLimit
        self.attributePerEventCountLimit = attributePerEventCountLimit
        self.attributePerLinkCountLimit = attributePerLinkCountLimit
    }
}
