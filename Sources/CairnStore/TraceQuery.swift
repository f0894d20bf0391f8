public import CairnModel

/// A search for traces, with the semantics of Jaeger's trace search.
///
/// A trace matches when one of its spans meets every span condition given (service, operation, attributes,
/// duration, status) and starts within the time range. Conditions left nil are not checked.
public struct TraceQuery: Hashable, Sendable {
    /// `service.name` of the span's resource.
    public var service: String?
    /// The span's name.
    public var operation: String?
    /// Attributes that the span must carry, each compared as text (`AttributeValue.searchText`) with the span's
    /// attributes, then its resource's.
    public var attributes: [String: String]
    /// Earliest span start, in nanoseconds since the Unix epoch, inclusive.
    public var startTimeMin: UInt64?
    /// Latest span start, in nanoseconds since the Unix epoch, inclusive.
    public var startTimeMax: UInt64?
    /// Shortest span duration in nanoseconds, inclusive.
    public var durationMin: UInt64?
    /// Longest span duration in nanoseconds, inclusive.
    public var durationMax: UInt64?
    /// The span's status code.
    public var statusCode: SpanStatus.Code?
    /// The most trace ids to return.
    public var limit: Int

    public init(
        service: String? = nil, operation: String? = nil, attributes: [String: String] = [:],
        startTimeMin: UInt64? = nil, startTimeMax: UInt64? = nil, durationMin: UInt64? = nil,
        durationMax: UInt64? = nil, statusCode: SpanStatus.Code? = nil, limit: Int = 20
    ) {
        self.service = service
        self.operation = operation
        self.attributes = attributes
        self.startTimeMin = startTimeMin
        self.startTimeMax = startTimeMax
        self.durationMin = durationMin
        self.durationMax = durationMax
        self.statusCode = statusCode
        self.limit = limit
    }

    /// Whether the span meets every condition of the query.
    public func matches(_ span: Span) -> Bool {
        if let service, span.serviceName != service { return false }
        if let operation, span.name != operation { return false }
        if let startTimeMin, span.startTimeUnixNano < startTimeMin { return false }
        if let startTimeMax, span.startTimeUnixNano > startTimeMax { return false }
        if let durationMin, span.durationNanos < durationMin { return false }
        if let durationMax, span.durationNanos > durationMax { return false }
        if let statusCode, span.status.code != statusCode { return false }
        for (key, text) in attributes {
            let value = span.attributes[key] ?? span.resource.attributes[key]
            if value?.searchText != text { return false }
        }
        return true
    }
}
