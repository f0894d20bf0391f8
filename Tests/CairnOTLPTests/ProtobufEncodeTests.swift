import CairnModel
import CairnOTLP
import CairnTesting
import COTLP
import Testing

@Suite("Encoding OTLP protobuf")
struct ProtobufEncodeTests {
    static let small = Span(
        traceID: TraceID(high: 0x0102_0304_0506_0708, low: 0x090A_0B0C_0D0E_0F10), spanID: SpanID(value: 0x1112_1314_1516_1718),
        flags: 1, name: "hi", kind: .server, startTimeUnixNano: 1, endTimeUnixNano: 2,
        attributes: [Attribute("b", .bool(false)), Attribute("n", .int(-1))],
        status: SpanStatus(code: .error),
        resource: Resource(attributes: [Attribute("service.name", .string("s"))]),
        scope: InstrumentationScope(name: "l"))

    @Test("writes a small request byte for byte as worked out by hand from the wire format")
    func exactBytes() {
        // A tag is (field number << 3 | wire type); wire types: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32.
        // Lengths below are counted by hand, innermost first.
        let serviceName: [UInt8] = [0x0A, 0x0C] + Array("service.name".utf8)  // KeyValue.key (1, LEN), 2 + 12 = 14
            + [0x12, 0x03, 0x0A, 0x01, UInt8(ascii: "s")]                     // KeyValue.value (2, LEN) { string_value "s" }: 5
        let resource: [UInt8] = [0x0A, 0x13] + serviceName                    // Resource.attributes (1, LEN) 19: 21 in all
        let scope: [UInt8] = [0x0A, 0x01, UInt8(ascii: "l")]                  // InstrumentationScope.name "l": 3
        let span: [UInt8] =
            [0x0A, 0x10] + Array(0x01...0x10)                                  // trace_id (1, LEN) 16 bytes: 18
            + [0x12, 0x08] + Array(0x11...0x18)                                // span_id (2, LEN) 8 bytes: 10
            + [0x2A, 0x02, UInt8(ascii: "h"), UInt8(ascii: "i")]               // name (5 << 3 | 2 = 0x2A): 4
            + [0x30, 0x02]                                                     // kind (6 << 3 | 0 = 0x30) SERVER: 2
            + [0x39, 0x01, 0, 0, 0, 0, 0, 0, 0]                                // start_time_unix_nano (7 << 3 | 1) fixed64 1: 9
            + [0x41, 0x02, 0, 0, 0, 0, 0, 0, 0]                                // end_time_unix_nano (8 << 3 | 1) fixed64 2: 9
            + [0x4A, 0x07, 0x0A, 0x01, UInt8(ascii: "b"), 0x12, 0x02, 0x10, 0x00]  // attributes (9 << 3 | 2 = 0x4A)
            // { key "b", value { bool_value (2 << 3 | 0) false, written although it is the default } }: 9
            + [0x4A, 0x10, 0x0A, 0x01, UInt8(ascii: "n"), 0x12, 0x0B, 0x18]    // { key "n", value { int_value (3 << 3 | 0)
            + [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]     //   -1 as ten varint bytes } }: 2 + 16 = 18
            + [0x7A, 0x02, 0x18, 0x02]                                         // status (15 << 3 | 2 = 0x7A) { code (3) ERROR }: 4
            + [0x85, 0x01, 0x01, 0x00, 0x00, 0x00]                             // flags (16 << 3 | 5 = 133, varint 85 01) fixed32 1: 6
        // The span: 18 + 10 + 4 + 2 + 9 + 9 + 9 + 18 + 4 + 6 = 89 = 0x59.
        let scopeSpans: [UInt8] = [0x0A, 0x03] + scope                        // ScopeSpans.scope (1, LEN): 5
            + [0x12, 0x59] + span                                              // ScopeSpans.spans (2, LEN): 2 + 89 = 91; 96 in all
        let resourceSpans: [UInt8] = [0x0A, 0x15] + resource                  // ResourceSpans.resource (1, LEN): 2 + 21 = 23
            + [0x12, 0x60] + scopeSpans                                        // ResourceSpans.scope_spans (2, LEN) 96: 98; 121 in all
        let request: [UInt8] = [0x0A, 0x79] + resourceSpans                   // ExportTraceServiceRequest.resource_spans (1) 121

        #expect(request.count == 123)
        #expect(OTLPProtobuf.encodeRequest([Self.small]) == request)
        #expect(OTLPProtobuf.encode(Self.small) == span)
        #expect(OTLPProtobuf.encode(Self.small.resource) == resource)
        #expect(OTLPProtobuf.encode(Self.small.scope) == scope)
    }

    @Test("writes unknown and negative enum values as their raw numbers, negatives as ten-byte varints")
    func rawEnums() {
        var span = Self.small
        span.attributes = []
        span.kind = SpanKind(rawValue: -3)
        span.status = SpanStatus(code: .init(rawValue: 7), message: "m")
        let bytes = OTLPProtobuf.encode(span)
        // kind (0x30) -3: two's complement over 64 bits, 7 bits at a time, low group first.
        #expect(bytes.contains(subsequence: [0x30, 0xFD, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]))
        // status { message (2) "m", code (3) 7 }
        #expect(bytes.contains(subsequence: [0x7A, 0x05, 0x12, 0x01, UInt8(ascii: "m"), 0x18, 0x07]))
    }

    @Test("leaves out fields at their defaults and the parent of a root span")
    func defaultsOmitted() {
        let span = Span(traceID: TraceID(high: 0, low: 1), spanID: SpanID(value: 1), name: "", kind: .unspecified,
                        startTimeUnixNano: 0, endTimeUnixNano: 0)
        #expect(OTLPProtobuf.encode(span) == [0x0A, 0x10] + Array(repeating: 0, count: 15) + [1] + [0x12, 0x08, 0, 0, 0, 0, 0, 0, 0, 1])
        #expect(OTLPProtobuf.encodeRequest([]) == [])
        #expect(OTLPProtobuf.encode(Resource(schemaURL: "https://schema")) == [])
    }

    @Test("groups spans by resource, then scope, in order of first appearance")
    func grouping() throws {
        let a = Resource(attributes: [Attribute("service.name", .string("a"))])
        let b = Resource(attributes: [Attribute("service.name", .string("b"))])
        var aWithSchema = a
        aWithSchema.schemaURL = "https://schema"
        let x = InstrumentationScope(name: "x")
        let y = InstrumentationScope(name: "y")
        func span(_ id: UInt64, _ resource: Resource, _ scope: InstrumentationScope) -> Span {
            Span(traceID: TraceID(high: 1, low: 1), spanID: SpanID(value: id), name: "s\(id)", startTimeUnixNano: 1,
                 endTimeUnixNano: 2, resource: resource, scope: scope)
        }
        let spans = [span(1, a, x), span(2, b, x), span(3, a, y), span(4, a, x), span(5, aWithSchema, x), span(6, b, x)]
        let decoded = try OTLPProtobuf.decodeSpans(OTLPProtobuf.encodeRequest(spans))
        #expect(decoded.map(\.spanID.value) == [1, 4, 3, 2, 6, 5])
        #expect(decoded.map(\.resource) == [a, a, a, b, b, aWithSchema])
        #expect(decoded.map(\.scope) == [x, x, y, x, x, x])
    }

    @Test("protobuf-c unpacks what the encoder writes, with the same counts, names and ids")
    func protobufCUnpacks() throws {
        let spans = Fixtures.everyFieldSpans() + Fixtures.realisticSpans(count: 40, seed: 11)
        let bytes = OTLPProtobuf.encodeRequest(spans)
        var unpacked: [(name: String, traceID: [UInt8], spanID: [UInt8], parent: [UInt8], kind: Int32, attributes: Int)] = []
        var resourceCount = 0
        var scopeCount = 0
        try bytes.withUnsafeBufferPointer { buffer in
            let request = try #require(
                opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(nil, buffer.count, buffer.baseAddress))
            defer { opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(request, nil) }
            resourceCount = request.pointee.n_resource_spans
            for resourceSpans in UnsafeBufferPointer(start: request.pointee.resource_spans, count: request.pointee.n_resource_spans) {
                let resourceSpans = try #require(resourceSpans).pointee
                scopeCount += resourceSpans.n_scope_spans
                for scopeSpans in UnsafeBufferPointer(start: resourceSpans.scope_spans, count: resourceSpans.n_scope_spans) {
                    let scopeSpans = try #require(scopeSpans).pointee
                    for span in UnsafeBufferPointer(start: scopeSpans.spans, count: scopeSpans.n_spans) {
                        let span = try #require(span).pointee
                        unpacked.append((
                            String(decoding: UnsafeBufferPointer(start: span.name.data, count: span.name.len), as: UTF8.self),
                            Array(UnsafeBufferPointer(start: span.trace_id.data, count: span.trace_id.len)),
                            Array(UnsafeBufferPointer(start: span.span_id.data, count: span.span_id.len)),
                            Array(UnsafeBufferPointer(start: span.parent_span_id.data, count: span.parent_span_id.len)),
                            Int32(bitPattern: span.kind.rawValue), span.n_attributes))
                    }
                }
            }
        }
        #expect(resourceCount == Set(spans.map(\.resource)).count)
        struct Group: Hashable {
            var resource: Resource
            var scope: InstrumentationScope
        }
        #expect(scopeCount == Set(spans.map { Group(resource: $0.resource, scope: $0.scope) }).count)
        #expect(unpacked.count == spans.count)
        for (span, c) in zip(spans, unpacked) {
            #expect(c.name == span.name)
            #expect(c.traceID == span.traceID.bytes)
            #expect(c.spanID == span.spanID.bytes)
            #expect(c.parent == (span.parentSpanID?.bytes ?? []))
            #expect(c.kind == span.kind.rawValue)
            #expect(c.attributes == span.attributes.count)
        }
    }

    @Test("encodes requests that the protobuf decoder reads back equal to the input")
    func roundTrip() throws {
        for spans in [Fixtures.everyFieldSpans(), Fixtures.realisticSpans(count: 300, seed: 5)] {
            let decoded = try OTLPProtobuf.decodeSpans(OTLPProtobuf.encodeRequest(spans))
            #expect(decoded.count == spans.count)
            for (got, expected) in zip(decoded, spans) {
                #expect(got == expected)
            }
        }
    }

    @Test("writes the response as empty on full success and with partial_success otherwise")
    func response() {
        #expect(OTLPProtobuf.encodeResponse(rejectedSpans: 0, errorMessage: "") == [])
        // partial_success (1, LEN) { rejected_spans (1) 3, error_message (2) "no" }
        #expect(OTLPProtobuf.encodeResponse(rejectedSpans: 3, errorMessage: "no")
            == [0x0A, 0x06, 0x08, 0x03, 0x12, 0x02, UInt8(ascii: "n"), UInt8(ascii: "o")])
        #expect(OTLPProtobuf.encodeResponse(rejectedSpans: 0, errorMessage: "w") == [0x0A, 0x03, 0x12, 0x01, UInt8(ascii: "w")])
    }

    @Test("writes google.rpc.Status with code and message")
    func status() {
        // code (1) 3, message (2) "bad"
        #expect(OTLPProtobuf.encodeStatus(code: 3, message: "bad")
            == [0x08, 0x03, 0x12, 0x03, UInt8(ascii: "b"), UInt8(ascii: "a"), UInt8(ascii: "d")])
        #expect(OTLPProtobuf.encodeStatus(code: 0, message: "") == [])
    }
}

extension Array where Element == UInt8 {
    func contains(subsequence: [UInt8]) -> Bool {
        guard subsequence.count <= count else { return false }
        return (0...(count - subsequence.count)).contains { Array(self[$0..<$0 + subsequence.count]) == subsequence }
    }
}
