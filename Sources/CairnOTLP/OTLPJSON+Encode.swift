public import CairnModel

extension OTLPJSON {
    /// Encodes spans as an OTLP/JSON `ExportTraceServiceRequest`.
    ///
    /// See [OTLP JSON Protobuf Encoding](https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding): keys in
    /// lowerCamelCase, ids as lowercase hex, 64-bit integers as strings, enums as integers, doubles that are not
    /// finite as `"NaN"`, `"Infinity"` and `"-Infinity"`, bytes as standard base64. Fields equal to their default are
    /// omitted, except the case of an `AnyValue`. Spans are grouped as `OTLPProtobuf.encodeRequest` groups them.
    public static func encodeRequest(_ spans: [Span]) -> [UInt8] {
        let groups = SpanGroups(spans)
        var writer = JSONWriter(capacity: 64 + spans.count * 900)
        writer.object { writer in
            writer.array("resourceSpans", groups.resources) { writer, group in
                writer.object { writer in
                    if !group.resource.isEmptyMessage {
                        writer.key("resource")
                        writer.object { $0.resource(group.resource) }
                    }
                    writer.array("scopeSpans", group.scopes) { writer, scopeGroup in
                        writer.object { writer in
                            if !scopeGroup.scope.isEmptyMessage {
                                writer.key("scope")
                                writer.object { $0.scope(scopeGroup.scope) }
                            }
                            writer.array("spans", scopeGroup.spans) { writer, index in
                                writer.object { $0.span(spans[index]) }
                            }
                            writer.string("schemaUrl", scopeGroup.scope.schemaURL)
                        }
                    }
                    writer.string("schemaUrl", group.resource.schemaURL)
                }
            }
        }
        return writer.bytes
    }

    /// Encodes an `ExportTraceServiceResponse`: `{}` when every span was kept, otherwise with `partialSuccess`.
    ///
    /// See [OTLP partial success](https://opentelemetry.io/docs/specs/otlp/#partial-success-1).
    public static func encodeResponse(rejectedSpans: Int, errorMessage: String) -> [UInt8] {
        var writer = JSONWriter(capacity: 64 + errorMessage.utf8.count)
        writer.object { writer in
            guard rejectedSpans != 0 || !errorMessage.isEmpty else { return }
            writer.key("partialSuccess")
            writer.object { writer in
                writer.int64String("rejectedSpans", Int64(rejectedSpans))
                writer.string("errorMessage", errorMessage)
            }
        }
        return writer.bytes
    }

    /// Encodes a `google.rpc.Status`, the body of an OTLP/HTTP error response: `{"code":3,"message":"..."}`.
    ///
    /// See [OTLP/HTTP failures](https://opentelemetry.io/docs/specs/otlp/#failures-1) and `proto/google/rpc/status.proto`.
    public static func encodeStatus(code: Int32, message: String) -> [UInt8] {
        var writer = JSONWriter(capacity: 32 + message.utf8.count)
        writer.object { writer in
            writer.integer("code", Int64(code))
            writer.string("message", message)
        }
        return writer.bytes
    }
}

/// The members of OTLP/JSON: proto3 JSON omits a field equal to its default.
extension JSONWriter {
    /// An array member, omitted when empty; `element` writes each value.
    mutating func array<Elements: Collection>(
        _ name: StaticString, _ elements: Elements, _ element: (inout JSONWriter, Elements.Element) -> Void
    ) {
        guard !elements.isEmpty else { return }
        key(name)
        array(elements, element)
    }

    /// A string member, omitted when empty.
    mutating func string(_ name: StaticString, _ value: String) {
        guard !value.isEmpty else { return }
        member(name, value)
    }

    /// A 32-bit integer member as a JSON number, omitted when zero.
    mutating func integer(_ name: StaticString, _ value: Int64) {
        guard value != 0 else { return }
        key(name)
        decimal(value)
    }

    /// A 64-bit integer member as a JSON string, omitted when zero.
    mutating func int64String(_ name: StaticString, _ value: Int64) {
        guard value != 0 else { return }
        key(name)
        inQuotes { $0.decimal(value) }
    }

    /// An unsigned 64-bit integer member as a JSON string, omitted when zero.
    mutating func uint64String(_ name: StaticString, _ value: UInt64) {
        guard value != 0 else { return }
        key(name)
        inQuotes { $0.decimal(value) }
    }

    /// What `write` appends, between double quotes.
    mutating func inQuotes(_ write: (inout Self) -> Void) {
        bytes.append(UInt8(ascii: "\""))
        write(&self)
        bytes.append(UInt8(ascii: "\""))
    }

    /// An id member as lowercase hex: 16 digits for one half, 32 for two.
    mutating func hexID(_ name: StaticString, _ high: UInt64, _ low: UInt64? = nil) {
        key(name)
        inQuotes {
            $0.hex(high)
            if let low { $0.hex(low) }
        }
    }

    // MARK: Messages

    mutating func span(_ span: Span) {
        hexID("traceId", span.traceID.high, span.traceID.low)
        hexID("spanId", span.spanID.value)
        string("traceState", span.traceState)
        if let parent = span.parentSpanID, parent.isValid { hexID("parentSpanId", parent.value) }
        integer("flags", Int64(span.flags))
        string("name", span.name)
        integer("kind", Int64(span.kind.rawValue))
        uint64String("startTimeUnixNano", span.startTimeUnixNano)
        uint64String("endTimeUnixNano", span.endTimeUnixNano)
        attributes("attributes", span.attributes)
        integer("droppedAttributesCount", Int64(span.droppedAttributesCount))
        array("events", span.events) { writer, event in
            writer.object { writer in
                writer.uint64String("timeUnixNano", event.timeUnixNano)
                writer.string("name", event.name)
                writer.attributes("attributes", event.attributes)
                writer.integer("droppedAttributesCount", Int64(event.droppedAttributesCount))
            }
        }
        integer("droppedEventsCount", Int64(span.droppedEventsCount))
        array("links", span.links) { writer, link in
            writer.object { writer in
                writer.hexID("traceId", link.traceID.high, link.traceID.low)
                writer.hexID("spanId", link.spanID.value)
                writer.string("traceState", link.traceState)
                writer.attributes("attributes", link.attributes)
                writer.integer("droppedAttributesCount", Int64(link.droppedAttributesCount))
                writer.integer("flags", Int64(link.flags))
            }
        }
        integer("droppedLinksCount", Int64(span.droppedLinksCount))
        if span.status != .unset {
            key("status")
            object { writer in
                writer.string("message", span.status.message)
                writer.integer("code", Int64(span.status.code.rawValue))
            }
        }
    }

    mutating func resource(_ resource: Resource) {
        attributes("attributes", resource.attributes)
        integer("droppedAttributesCount", Int64(resource.droppedAttributesCount))
    }

    mutating func scope(_ scope: InstrumentationScope) {
        string("name", scope.name)
        string("version", scope.version)
        attributes("attributes", scope.attributes)
        integer("droppedAttributesCount", Int64(scope.droppedAttributesCount))
    }

    /// A repeated `KeyValue` member; each value is written, `{}` for an empty one.
    mutating func attributes(_ name: StaticString, _ attributes: [Attribute]) {
        array(name, attributes) { writer, attribute in
            writer.object { writer in
                writer.string("key", attribute.key)
                writer.key("value")
                writer.anyValue(attribute.value)
            }
        }
    }

    /// An `AnyValue` object with its one case, written even when the value is the default.
    mutating func anyValue(_ value: AttributeValue) {
        object { writer in
            switch value {
            case .empty:
                break
            case .string(let text):
                writer.key("stringValue")
                writer.quoted(text)
            case .bool(let flag):
                writer.key("boolValue")
                writer.bool(flag)
            case .int(let number):
                writer.key("intValue")
                writer.inQuotes { $0.decimal(number) }
            case .double(let number):
                writer.key("doubleValue")
                writer.double(number)
            case .bytes(let data):
                writer.key("bytesValue")
                writer.bytes.append(UInt8(ascii: "\""))
                OTLPJSON.Base64.encode(data, into: &writer.bytes)
                writer.bytes.append(UInt8(ascii: "\""))
            case .array(let values):
                writer.key("arrayValue")
                writer.object { writer in
                    writer.array("values", values) { writer, element in writer.anyValue(element) }
                }
            case .keyValueList(let values):
                writer.key("kvlistValue")
                writer.object { $0.attributes("values", values) }
            }
        }
    }
}

extension OTLPJSON {
    /// Base64 as RFC 4648 defines it: written in the standard alphabet with padding, read in either the standard or
    /// the URL-safe alphabet, with or without padding. Public so that other JSON encoders (Jaeger's JSON, whose
    /// `binary` tag values are base64) write bytes the same way.
    public enum Base64 {
        private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

        /// The value of each character in either alphabet; 0xFF for the others.
        private static let values: [UInt8] = {
            var table = [UInt8](repeating: 0xFF, count: 256)
            for (index, character) in alphabet.enumerated() { table[Int(character)] = UInt8(index) }
            table[Int(UInt8(ascii: "-"))] = 62
            table[Int(UInt8(ascii: "_"))] = 63
            return table
        }()

        /// Appends `data` in base64 (standard alphabet, padded) to `output`.
        public static func encode(_ data: [UInt8], into output: inout [UInt8]) {
            var index = 0
            while index + 3 <= data.count {
                let group = UInt32(data[index]) << 16 | UInt32(data[index + 1]) << 8 | UInt32(data[index + 2])
                for shift in [18, 12, 6, 0] as [UInt32] { output.append(alphabet[Int(group >> shift & 0x3F)]) }
                index += 3
            }
            switch data.count - index {
            case 1:
                let group = UInt32(data[index]) << 16
                output.append(alphabet[Int(group >> 18 & 0x3F)])
                output.append(alphabet[Int(group >> 12 & 0x3F)])
                output.append(contentsOf: "==".utf8)
            case 2:
                let group = UInt32(data[index]) << 16 | UInt32(data[index + 1]) << 8
                output.append(alphabet[Int(group >> 18 & 0x3F)])
                output.append(alphabet[Int(group >> 12 & 0x3F)])
                output.append(alphabet[Int(group >> 6 & 0x3F)])
                output.append(UInt8(ascii: "="))
            default:
                break
            }
        }

        /// The bytes of base64 text, or nil when it is not base64.
        static func decode(_ text: String) -> [UInt8]? {
            var characters = Array(text.utf8)
            // Padding is optional: drop it, then check that what is left has a length base64 can have.
            var padding = 0
            while characters.last == UInt8(ascii: "="), padding < 2 {
                characters.removeLast()
                padding += 1
            }
            guard characters.count % 4 != 1, padding == 0 || (characters.count + padding) % 4 == 0 else { return nil }
            var output: [UInt8] = []
            output.reserveCapacity(characters.count * 3 / 4)
            var group: UInt32 = 0
            var count = 0
            for character in characters {
                let value = values[Int(character)]
                guard value != 0xFF else { return nil }
                group = group << 6 | UInt32(value)
                count += 1
                if count == 4 {
                    output.append(UInt8(truncatingIfNeeded: group >> 16))
                    output.append(UInt8(truncatingIfNeeded: group >> 8))
                    output.append(UInt8(truncatingIfNeeded: group))
                    group = 0
                    count = 0
                }
            }
            switch count {
            case 2:
                guard group & 0xF == 0 else { return nil }
                output.append(UInt8(truncatingIfNeeded: group >> 4))
            case 3:
                guard group & 0x3 == 0 else { return nil }
                output.append(UInt8(truncatingIfNeeded: group >> 10))
                output.append(UInt8(truncatingIfNeeded: group >> 2))
            default:
                break
            }
            return output
        }
    }
}
