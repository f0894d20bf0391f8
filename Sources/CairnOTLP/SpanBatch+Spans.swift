public import CairnModel

extension SpanBatch {
    /// A batch of the spans, in their order, each encoded as an OTLP `Span` message.
    ///
    /// See [OTLP trace.proto](https://github.com/open-telemetry/opentelemetry-proto/blob/main/opentelemetry/proto/trace/v1/trace.proto).
    /// Equal resources (schema URL included) and equal scopes are encoded once and shared by index. The spans are
    /// taken as they are: apply the `SpanRejection` rules before, as the decoders do.
    public init(spans: [Span]) {
        var resources: [EncodedResource] = []
        var scopes: [EncodedScope] = []
        var resourceIndex: [Resource: Int32] = [:]
        var scopeIndex: [InstrumentationScope: Int32] = [:]
        var last: (resource: Resource, r: Int32, scope: InstrumentationScope, s: Int32)?

        var offsets: [Int] = []
        let payloads = OTLPProtobuf.encodeSpans(spans, offsets: &offsets)
        var records: [Record] = []
        records.reserveCapacity(spans.count)

        for (index, span) in spans.enumerated() {
            let r: Int32
            let s: Int32
            // Consecutive spans usually share their resource and scope, which makes this comparison cheap.
            if let last, last.resource == span.resource, last.scope == span.scope {
                (r, s) = (last.r, last.s)
            } else {
                if let known = resourceIndex[span.resource] {
                    r = known
                } else {
                    r = Int32(resources.count)
                    resourceIndex[span.resource] = r
                    resources.append(
                        EncodedResource(payload: OTLPProtobuf.encode(span.resource), schemaURL: span.resource.schemaURL,
                                        serviceName: span.resource.serviceName))
                }
                if let known = scopeIndex[span.scope] {
                    s = known
                } else {
                    s = Int32(scopes.count)
                    scopeIndex[span.scope] = s
                    scopes.append(EncodedScope(payload: OTLPProtobuf.encode(span.scope), schemaURL: span.scope.schemaURL))
                }
                last = (span.resource, r, span.scope, s)
            }
            let parent = span.parentSpanID.flatMap { $0.isValid ? $0 : nil }
            records.append(
                Record(
                    traceID: span.traceID, spanID: span.spanID, parentSpanID: parent, name: span.name, kind: span.kind,
                    startTimeUnixNano: span.startTimeUnixNano, endTimeUnixNano: span.endTimeUnixNano,
                    statusCode: span.status.code, resourceIndex: r, scopeIndex: s, payloadOffset: Int32(offsets[index]),
                    payloadLength: Int32(offsets[index + 1] - offsets[index])))
        }
        self.init(resources: resources, scopes: scopes, records: records, payloads: payloads)
    }
}
