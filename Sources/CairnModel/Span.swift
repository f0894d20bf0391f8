/// One operation within a trace, with the resource and scope that produced it: the OTLP `Span` message.
///
/// See [OTLP trace.proto](https://github.com/open-telemetry/opentelemetry-proto/blob/main/opentelemetry/proto/trace/v1/trace.proto).
public struct Span: Hashable, Sendable {
    public var traceID: TraceID
    public var spanID: SpanID
    /// The parent, or nil for a root span.
    public var parentSpanID: SpanID?
    /// The W3C `tracestate` of the span's context.
    public var traceState: String
    /// W3C trace flags in the low byte, and the `SpanFlags` remote bits.
    public var flags: UInt32
    public var name: String
    public var kind: SpanKind
    public var startTimeUnixNano: UInt64
    public var endTimeUnixNano: UInt64
    public var attributes: [Attribute]
    public var droppedAttributesCount: UInt32
    public var events: [SpanEvent]
    public var droppedEventsCount: UInt32
    public var links: [SpanLink]
    public var droppedLinksCount: UInt32
    public var status: SpanStatus
    public var resource: Resource
    public var scope: InstrumentationScope

    public init(
        traceID: TraceID, spanID: SpanID, parentSpanID: SpanID? = nil, traceState: String = "", flags: UInt32 = 0,
        name: String, kind: SpanKind = .internal, startTimeUnixNano: UInt64, endTimeUnixNano: UInt64,
        attributes: [Attribute] = [], droppedAttributesCount: UInt32 = 0, events: [SpanEvent] = [],
        droppedEventsCount: UInt32 = 0, links: [SpanLink] = [], droppedLinksCount: UInt32 = 0,
        status: SpanStatus = .unset, resource: Resource = Resource(), scope: InstrumentationScope = InstrumentationScope()
    ) {
        self.traceID = traceID
        self.spanID = spanID
        self.parentSpanID = parentSpanID
        self.traceState = traceState
        self.flags = flags
        self.name = name
        self.kind = kind
        self.startTimeUnixNano = startTimeUnixNano
        self.endTimeUnixNano = endTimeUnixNano
        self.attributes = attributes
        self.droppedAttributesCount = droppedAttributesCount
        self.events = events
        self.droppedEventsCount = droppedEventsCount
        self.links = links
        self.droppedLinksCount = droppedLinksCount
        self.status = status
        self.resource = resource
        self.scope = scope
    }

    /// The service that produced the span (`service.name` of its resource).
    @inlinable
    public var serviceName: String { resource.serviceName }

    /// The span's duration in nanoseconds; zero when the end precedes the start.
    @inlinable
    public var durationNanos: UInt64 {
        endTimeUnixNano >= startTimeUnixNano ? endTimeUnixNano - startTimeUnixNano : 0
    }
}
