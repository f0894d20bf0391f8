public import CairnAnalysis
public import CairnModel
import CairnOTLP

/// The JSON of Jaeger's HTTP query API (the `/api/...` endpoints of the Jaeger v1 query service, as the Jaeger UI
/// and Grafana's Jaeger data source read them), written from Cairn's spans.
///
/// Spans become Jaeger spans as Jaeger's own OTLP translator makes them
/// ([traces_to_jaegerproto.go](https://github.com/open-telemetry/opentelemetry-collector-contrib/blob/main/pkg/translator/jaeger/traces_to_jaegerproto.go)),
/// and as Jaeger's query service writes them for its UI: times and durations
/// in microseconds (truncated), the parent as a `CHILD_OF` reference and links as `FOLLOWS_FROM` references, events
/// as logs whose first field is `event`, and the span's kind, status, trace state and scope as the tags `span.kind`,
/// `otel.status_code`, `otel.status_description`, `error`, `w3c.tracestate`, `otel.scope.name` and
/// `otel.scope.version`. Each distinct resource is a process (`p1`, `p2`, ... in the order the spans show them),
/// with the resource's attributes but `service.name` as its tags.
public enum JaegerJSON {
    /// One entry of the envelope's `errors`: Jaeger's `structuredError`.
    public struct StructuredError: Hashable, Sendable {
        /// An HTTP status code.
        public var code: Int
        /// What went wrong, for people to read.
        public var message: String
        /// The trace the error is about, if any.
        public var traceID: TraceID?

        /// An error from its fields.
        public init(code: Int, message: String, traceID: TraceID? = nil) {
            self.code = code
            self.message = message
            self.traceID = traceID
        }
    }

    /// The media type of every answer.
    public static let mediaType = "application/json"

    /// The envelope of every answer, `{"data": ..., "total": N, "limit": 0, "offset": 0, "errors": null}`, with
    /// `data` written by `data`; `errors` is null when there are none.
    public static func envelope(
        total: Int, errors: [StructuredError] = [], capacity: Int = 256, data: (inout JSONWriter) -> Void
    ) -> [UInt8] {
        var writer = JSONWriter(capacity: capacity)
        writer.object { writer in
            writer.key("data")
            data(&writer)
            writer.member("total", total)
            writer.member("limit", 0)
            writer.member("offset", 0)
            writer.key("errors")
            if errors.isEmpty {
                writer.null()
            } else {
                writer.array(errors) { writer, error in
                    writer.object { writer in
                        writer.member("code", error.code)
                        writer.member("msg", error.message)
                        if let traceID = error.traceID { writer.member("traceID", traceID.hex) }
                    }
                }
            }
        }
        return writer.bytes
    }

    /// The envelope of a failed request: `data` null and one error with the HTTP status code.
    public static func errorEnvelope(code: Int, message: String) -> [UInt8] {
        envelope(total: 0, errors: [StructuredError(code: code, message: message)]) { $0.null() }
    }

    /// The envelope of a list of strings, such as service or operation names.
    public static func strings(_ values: [String]) -> [UInt8] {
        envelope(total: values.count, capacity: 64 + values.reduce(0) { $0 + $1.utf8.count + 3 }) { writer in
            writer.array(values) { writer, value in writer.quoted(value) }
        }
    }

    /// The envelope of traces, each as `trace(_:into:)` writes it.
    public static func traces(_ trees: [TraceTree], errors: [StructuredError] = []) -> [UInt8] {
        let spanCount = trees.reduce(0) { $0 + $1.nodes.count }
        return envelope(total: trees.count, errors: errors, capacity: 256 + spanCount * 700) { writer in
            writer.array(trees) { writer, tree in trace(tree, into: &writer) }
        }
    }

    /// One trace: `{"traceID", "spans", "processes", "warnings"}`, its spans in depth-first order of the tree (each
    /// span before its children), each with the tree's warnings about it.
    public static func trace(_ tree: TraceTree, into writer: inout JSONWriter) {
        let order = tree.depthFirst()
        var processIDs: [[Attribute]: String] = [:]
        var processes: [(id: String, resource: Resource)] = []
        var spanProcess: [String] = []
        spanProcess.reserveCapacity(order.count)
        for (index, _) in order {
            let resource = tree.nodes[index].span.resource
            if let id = processIDs[resource.attributes] {
                spanProcess.append(id)
            } else {
                let id = "p\(processes.count + 1)"
                processIDs[resource.attributes] = id
                processes.append((id, resource))
                spanProcess.append(id)
            }
        }
        writer.object { writer in
            writer.member("traceID", tree.traceID.hex)
            writer.key("spans")
            writer.array(zip(order, spanProcess)) { writer, entry in
                span(tree.nodes[entry.0.index], processID: entry.1, into: &writer)
            }
            writer.key("processes")
            writer.object { writer in
                for (id, resource) in processes {
                    writer.key(id)
                    writer.object { writer in
                        writer.member("serviceName", resource.serviceName)
                        writer.key("tags")
                        writer.array(resource.attributes.filter { $0.key != "service.name" }) { writer, attribute in
                            tag(attribute.key, attribute.value, into: &writer)
                        }
                    }
                }
            }
            writer.key("warnings")
            warnings(tree.warnings, into: &writer)
        }
    }

    /// One span, with the fields of Jaeger's UI model in its order.
    static func span(_ node: TraceTree.Node, processID: String, into writer: inout JSONWriter) {
        let span = node.span
        writer.object { writer in
            writer.member("traceID", span.traceID.hex)
            writer.member("spanID", span.spanID.hex)
            // Jaeger's flags are the W3C trace flags (1: sampled); the OTLP bits above them are not Jaeger's.
            writer.member("flags", Int(span.flags & 0xFF))
            writer.member("operationName", span.name)
            writer.key("references")
            writer.array(references(of: span)) { writer, reference in
                writer.object { writer in
                    writer.member("refType", reference.type)
                    writer.member("traceID", reference.traceID.hex)
                    writer.member("spanID", reference.spanID.hex)
                }
            }
            writer.member("startTime", span.startTimeUnixNano / 1_000)
            writer.member("duration", span.durationNanos / 1_000)
            writer.key("tags")
            writer.array(tags(of: span)) { writer, attribute in tag(attribute.key, attribute.value, into: &writer) }
            writer.key("logs")
            writer.array(span.events) { writer, event in
                writer.object { writer in
                    writer.member("timestamp", event.timeUnixNano / 1_000)
                    writer.key("fields")
                    var fields = event.attributes
                    if !event.name.isEmpty && fields["event"] == nil {
                        fields.insert(Attribute("event", .string(event.name)), at: 0)
                    }
                    writer.array(fields) { writer, field in tag(field.key, field.value, into: &writer) }
                }
            }
            writer.member("processID", processID)
            writer.key("warnings")
            warnings(node.warnings, into: &writer)
        }
    }

    /// The parent as `CHILD_OF`, then each link as `FOLLOWS_FROM`.
    static func references(of span: Span) -> [(type: String, traceID: TraceID, spanID: SpanID)] {
        var references: [(type: String, traceID: TraceID, spanID: SpanID)] = []
        if let parent = span.parentSpanID { references.append(("CHILD_OF", span.traceID, parent)) }
        for link in span.links { references.append(("FOLLOWS_FROM", link.traceID, link.spanID)) }
        return references
    }

    /// The span's attributes, then the tags Jaeger's OTLP translator adds, in its order.
    static func tags(of span: Span) -> [Attribute] {
        var tags = span.attributes
        switch span.kind {
        case .server, .client, .producer, .consumer, .internal:
            tags.append(Attribute("span.kind", .string(span.kind.description)))
        default:
            break
        }
        switch span.status.code {
        case .ok:
            tags.append(Attribute("otel.status_code", .string("OK")))
        case .error:
            tags.append(Attribute("otel.status_code", .string("ERROR")))
            tags.append(Attribute("error", .bool(true)))
        default:
            break
        }
        if !span.status.message.isEmpty {
            tags.append(Attribute("otel.status_description", .string(span.status.message)))
        }
        if !span.traceState.isEmpty { tags.append(Attribute("w3c.tracestate", .string(span.traceState))) }
        if !span.scope.name.isEmpty { tags.append(Attribute("otel.scope.name", .string(span.scope.name))) }
        if !span.scope.version.isEmpty { tags.append(Attribute("otel.scope.version", .string(span.scope.version))) }
        return tags
    }

    /// A tag, `{"key", "type", "value"}`: strings, booleans, 64-bit integers and doubles as themselves, bytes as
    /// base64 of type `binary`, and arrays and maps as their JSON text in a string, as Jaeger's translator writes
    /// them.
    static func tag(_ key: String, _ value: AttributeValue, into writer: inout JSONWriter) {
        writer.object { writer in
            writer.member("key", key)
            switch value {
            case .string(let text):
                writer.member("type", "string")
                writer.member("value", text)
            case .bool(let flag):
                writer.member("type", "bool")
                writer.member("value", flag)
            case .int(let number):
                writer.member("type", "int64")
                writer.key("value")
                writer.decimal(number)
            case .double(let number):
                writer.member("type", "float64")
                writer.member("value", number)
            case .bytes(let data):
                writer.member("type", "binary")
                writer.key("value")
                base64(data, into: &writer)
            case .empty:
                writer.member("type", "string")
                writer.member("value", "")
            case .array, .keyValueList:
                var text = JSONWriter()
                plain(value, into: &text)
                writer.member("type", "string")
                writer.member("value", text.text)
            }
        }
    }

    /// An attribute value as plain JSON: what Jaeger's translator writes, as text, for arrays and maps.
    static func plain(_ value: AttributeValue, into writer: inout JSONWriter) {
        switch value {
        case .empty: writer.null()
        case .string(let text): writer.quoted(text)
        case .bool(let flag): writer.bool(flag)
        case .int(let number): writer.decimal(number)
        case .double(let number): writer.double(number)
        case .bytes(let data): base64(data, into: &writer)
        case .array(let values): writer.array(values) { writer, element in plain(element, into: &writer) }
        case .keyValueList(let attributes):
            writer.object { writer in
                for attribute in attributes {
                    writer.key(attribute.key)
                    plain(attribute.value, into: &writer)
                }
            }
        }
    }

    private static func base64(_ data: [UInt8], into writer: inout JSONWriter) {
        writer.bytes.append(UInt8(ascii: "\""))
        OTLPJSON.Base64.encode(data, into: &writer.bytes)
        writer.bytes.append(UInt8(ascii: "\""))
    }

    /// `null` when there are none, as Jaeger writes an empty list of warnings.
    private static func warnings(_ warnings: [String], into writer: inout JSONWriter) {
        if warnings.isEmpty {
            writer.null()
        } else {
            writer.array(warnings) { writer, warning in writer.quoted(warning) }
        }
    }
}
