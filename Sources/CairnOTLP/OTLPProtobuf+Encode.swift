public import CairnModel

extension OTLPProtobuf {
    /// Encodes spans as an OTLP `ExportTraceServiceRequest`, the body of an OTLP/HTTP protobuf export.
    ///
    /// See [OTLP/HTTP request](https://opentelemetry.io/docs/specs/otlp/#otlphttp-request) and
    /// `proto/opentelemetry/proto/collector/trace/v1/trace_service.proto`. Spans with equal resources (schema URL
    /// included) share one `ResourceSpans`, and within it spans with equal scopes share one `ScopeSpans`; groups come
    /// in the order they first appear and spans keep their order within a group. Fields equal to their proto3
    /// default are omitted, except the case of an `AnyValue`, which is written even when its value is the default.
    public static func encodeRequest(_ spans: [Span]) -> [UInt8] {
        let groups = SpanGroups(spans)
        return ProtobufWriter.encode(expectedMessages: estimatedMessages(spans)) { writer in
            for group in groups.resources {
                writer.message(1) { writer in
                    if !group.resource.isEmptyMessage {
                        writer.message(1) { $0.resource(group.resource) }
                    }
                    for scopeGroup in group.scopes {
                        writer.message(2) { writer in
                            if !scopeGroup.scope.isEmptyMessage {
                                writer.message(1) { $0.scope(scopeGroup.scope) }
                            }
                            for index in scopeGroup.spans {
                                writer.message(2) { $0.span(spans[index]) }
                            }
                            writer.string(3, scopeGroup.scope.schemaURL)
                        }
                    }
                    writer.string(3, group.resource.schemaURL)
                }
            }
        }
    }

    /// Encodes one OTLP `Span` message, without its resource and scope.
    ///
    /// See `proto/opentelemetry/proto/trace/v1/trace.proto`. A parent of nil (or the all-zero id) writes no
    /// `parent_span_id`; kinds and status codes the enums do not name are written as their raw numbers.
    public static func encode(_ span: Span) -> [UInt8] {
        ProtobufWriter.encode(expectedMessages: estimatedMessages(of: span)) { $0.span(span) }
    }

    /// Encodes an OTLP `Resource` message; the schema URL belongs to `ResourceSpans` and is not part of it.
    ///
    /// See `proto/opentelemetry/proto/resource/v1/resource.proto`.
    public static func encode(_ resource: Resource) -> [UInt8] {
        ProtobufWriter.encode(expectedMessages: 2 * resource.attributes.count) { $0.resource(resource) }
    }

    /// Encodes an OTLP `InstrumentationScope` message; the schema URL belongs to `ScopeSpans` and is not part of it.
    ///
    /// See `proto/opentelemetry/proto/common/v1/common.proto`.
    public static func encode(_ scope: InstrumentationScope) -> [UInt8] {
        ProtobufWriter.encode(expectedMessages: 2 * scope.attributes.count) { $0.scope(scope) }
    }

    /// Encodes an `ExportTraceServiceResponse`: empty when every span was kept, otherwise with `partial_success`.
    ///
    /// See [OTLP partial success](https://opentelemetry.io/docs/specs/otlp/#partial-success-1).
    public static func encodeResponse(rejectedSpans: Int, errorMessage: String) -> [UInt8] {
        guard rejectedSpans != 0 || !errorMessage.isEmpty else { return [] }
        return ProtobufWriter.encode { writer in
            writer.message(1) { writer in
                writer.signedVarint(1, Int64(rejectedSpans))
                writer.string(2, errorMessage)
            }
        }
    }

    /// Encodes a `google.rpc.Status`, the body of an OTLP/HTTP error response.
    ///
    /// See [OTLP/HTTP failures](https://opentelemetry.io/docs/specs/otlp/#failures-1) and
    /// `proto/google/rpc/status.proto`.
    public static func encodeStatus(code: Int32, message: String) -> [UInt8] {
        ProtobufWriter.encode { writer in
            writer.signedVarint(1, Int64(code))
            writer.string(2, message)
        }
    }

    /// Encodes spans as `Span` messages back to back; `offsets` receives where each starts, then the total length.
    static func encodeSpans(_ spans: [Span], offsets: inout [Int]) -> [UInt8] {
        offsets.reserveCapacity(spans.count + 1)
        return ProtobufWriter.encode(expectedMessages: estimatedMessages(spans)) { writer in
            // The body runs twice; both passes record the same offsets.
            offsets.removeAll(keepingCapacity: true)
            for span in spans {
                offsets.append(writer.position)
                writer.span(span)
            }
            offsets.append(writer.position)
        }
    }

    /// About how many nested messages the spans hold, to size the writer's list of lengths once.
    private static func estimatedMessages(_ spans: [Span]) -> Int {
        guard let first = spans.first else { return 4 }
        return spans.count * (estimatedMessages(of: first) + 1) + 16
    }

    private static func estimatedMessages(of span: Span) -> Int {
        2 * span.attributes.count + 4 * span.events.count + 4 * span.links.count + 2
    }
}

extension ProtobufWriter {
    /// The fields of a `Span` message.
    mutating func span(_ span: Span) {
        bigEndianBytes(1, span.traceID.high, span.traceID.low)
        bigEndianBytes(2, span.spanID.value)
        string(3, span.traceState)
        if let parent = span.parentSpanID, parent.isValid {
            bigEndianBytes(4, parent.value)
        }
        string(5, span.name)
        signedVarint(6, Int64(span.kind.rawValue))
        fixed64(7, span.startTimeUnixNano)
        fixed64(8, span.endTimeUnixNano)
        attributes(9, span.attributes)
        varint(10, UInt64(span.droppedAttributesCount))
        for event in span.events {
            message(11) { writer in
                writer.fixed64(1, event.timeUnixNano)
                writer.string(2, event.name)
                writer.attributes(3, event.attributes)
                writer.varint(4, UInt64(event.droppedAttributesCount))
            }
        }
        varint(12, UInt64(span.droppedEventsCount))
        for link in span.links {
            message(13) { writer in
                writer.bigEndianBytes(1, link.traceID.high, link.traceID.low)
                writer.bigEndianBytes(2, link.spanID.value)
                writer.string(3, link.traceState)
                writer.attributes(4, link.attributes)
                writer.varint(5, UInt64(link.droppedAttributesCount))
                writer.fixed32(6, link.flags)
            }
        }
        varint(14, UInt64(span.droppedLinksCount))
        if span.status != .unset {
            message(15) { writer in
                writer.string(2, span.status.message)
                writer.signedVarint(3, Int64(span.status.code.rawValue))
            }
        }
        fixed32(16, span.flags)
    }

    /// The fields of a `Resource` message.
    mutating func resource(_ resource: Resource) {
        attributes(1, resource.attributes)
        varint(2, UInt64(resource.droppedAttributesCount))
    }

    /// The fields of an `InstrumentationScope` message.
    mutating func scope(_ scope: InstrumentationScope) {
        string(1, scope.name)
        string(2, scope.version)
        attributes(3, scope.attributes)
        varint(4, UInt64(scope.droppedAttributesCount))
    }

    /// A repeated `KeyValue` field.
    mutating func attributes(_ field: Int, _ attributes: [Attribute]) {
        for attribute in attributes {
            message(field) { $0.keyValue(attribute) }
        }
    }

    /// The fields of a `KeyValue` message; the value is written even when it is an empty `AnyValue`.
    mutating func keyValue(_ attribute: Attribute) {
        string(1, attribute.key)
        message(2) { $0.anyValue(attribute.value) }
    }

    /// The fields of an `AnyValue` message: the case that is set, even when its value is the default.
    mutating func anyValue(_ value: AttributeValue) {
        switch value {
        case .empty: break
        case .string(let text): alwaysString(1, text)
        case .bool(let flag): alwaysVarint(2, flag ? 1 : 0)
        case .int(let number): alwaysVarint(3, UInt64(bitPattern: number))
        case .double(let number): alwaysDouble(4, number)
        case .array(let values):
            message(5) { writer in
                for element in values {
                    writer.message(1) { $0.anyValue(element) }
                }
            }
        case .keyValueList(let values):
            message(6) { $0.attributes(1, values) }
        case .bytes(let bytes): alwaysBytes(7, bytes)
        }
    }
}

extension Resource {
    /// Whether the `Resource` message has no field set, so that `ResourceSpans` may leave it out.
    var isEmptyMessage: Bool { attributes.isEmpty && droppedAttributesCount == 0 }
}

extension InstrumentationScope {
    /// Whether the `InstrumentationScope` message has no field set, so that `ScopeSpans` may leave it out.
    var isEmptyMessage: Bool { name.isEmpty && version.isEmpty && attributes.isEmpty && droppedAttributesCount == 0 }
}

/// Spans grouped as an export request nests them: by resource, then by scope, in order of first appearance.
struct SpanGroups {
    struct ScopeGroup {
        var scope: InstrumentationScope
        /// Indexes into the spans, in their order.
        var spans: [Int]
    }

    struct ResourceGroup {
        var resource: Resource
        var scopes: [ScopeGroup]
        var scopeIndex: [InstrumentationScope: Int]
    }

    private(set) var resources: [ResourceGroup] = []

    init(_ spans: [Span]) {
        var resourceIndex: [Resource: Int] = [:]
        var last: (resource: Int, scope: Int)?
        for (index, span) in spans.enumerated() {
            // Consecutive spans usually share their resource and scope, often the very same storage, which makes
            // this comparison cheap; the dictionaries are for the rest.
            if let (r, s) = last, resources[r].resource == span.resource, resources[r].scopes[s].scope == span.scope {
                resources[r].scopes[s].spans.append(index)
                continue
            }
            let r: Int
            if let known = resourceIndex[span.resource] {
                r = known
            } else {
                r = resources.count
                resourceIndex[span.resource] = r
                resources.append(ResourceGroup(resource: span.resource, scopes: [], scopeIndex: [:]))
            }
            let s: Int
            if let known = resources[r].scopeIndex[span.scope] {
                s = known
            } else {
                s = resources[r].scopes.count
                resources[r].scopeIndex[span.scope] = s
                resources[r].scopes.append(ScopeGroup(scope: span.scope, spans: []))
            }
            resources[r].scopes[s].spans.append(index)
            last = (r, s)
        }
    }
}
