import CairnModel
import CairnOTLP
import CairnTesting
import Testing

/// Hand-built protobuf, so that these tests do not lean on Cairn's own encoder.
private enum Wire {
    static func varint(_ value: UInt64) -> [UInt8] {
        var value = value
        var out: [UInt8] = []
        while value >= 0x80 {
            out.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        out.append(UInt8(value))
        return out
    }

    static func field(_ number: UInt64, _ bytes: [UInt8]) -> [UInt8] {
        varint(number << 3 | 2) + varint(UInt64(bytes.count)) + bytes
    }

    static func field(_ number: UInt64, _ text: String) -> [UInt8] { field(number, Array(text.utf8)) }

    static func fixed64(_ number: UInt64, _ value: UInt64) -> [UInt8] {
        varint(number << 3 | 1) + (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }

    static func span(traceID: [UInt8] = Array(repeating: 1, count: 16), spanID: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 2],
                     parent: [UInt8] = [], name: String = "GET /", attributes: [[UInt8]] = []) -> [UInt8] {
        var bytes = field(1, traceID) + field(2, spanID)
        if !parent.isEmpty { bytes += field(4, parent) }
        if !name.isEmpty { bytes += field(5, name) }
        bytes += varint(6 << 3) + varint(2)  // kind SERVER
        bytes += fixed64(7, 1_000) + fixed64(8, 3_500)
        for attribute in attributes { bytes += field(9, attribute) }
        bytes += field(15, varint(3 << 3) + varint(2))  // status ERROR
        return bytes
    }

    static func request(service: String = "checkout", spans: [[UInt8]]) -> [UInt8] {
        let serviceName = field(1, "service.name") + field(2, field(1, service))
        let resource = field(1, serviceName)
        let scopeSpans = field(1, field(1, "lib")) + spans.flatMap { field(2, $0) } + field(3, "https://scope")
        return field(1, field(1, resource) + field(2, scopeSpans) + field(3, "https://resource"))
    }

    /// An attribute whose value is an array nested `depth` deep around a string.
    static func nestedAttribute(depth: Int) -> [UInt8] {
        var value = field(1, "leaf")
        for _ in 0..<depth { value = field(5, field(1, value)) }
        return field(1, "deep") + field(2, value)
    }
}

@Suite("Decoding OTLP protobuf requests")
struct ProtobufDecodeTests {
    @Test("keeps the indexed fields of each span and its bytes as they arrived")
    func indexedFields() throws {
        let span = Wire.span(parent: [0, 0, 0, 0, 0, 0, 0, 9])
        let decoded = try OTLPProtobuf.decodeRequest(Wire.request(spans: [span]))
        #expect(decoded.rejectedSpans == 0)
        let record = try #require(decoded.batch.records.first)
        #expect(record.traceID == TraceID(bytes: Array(repeating: 1, count: 16)))
        #expect(record.spanID == SpanID(value: 2))
        #expect(record.parentSpanID == SpanID(value: 9))
        #expect(record.name == "GET /")
        #expect(record.kind == .server)
        #expect(record.startTimeUnixNano == 1_000 && record.endTimeUnixNano == 3_500)
        #expect(record.statusCode == .error)
        #expect(Array(decoded.batch.payload(of: record)) == span)
        #expect(decoded.batch.resources.map(\.serviceName) == ["checkout"])
        #expect(decoded.batch.resources.map(\.schemaURL) == ["https://resource"])
        #expect(decoded.batch.scopes.map(\.schemaURL) == ["https://scope"])
    }

    @Test("decodes stored spans with their resource and scope")
    func decodesSpans() throws {
        let attribute = Wire.field(1, "http.route") + Wire.field(2, Wire.field(1, "/cart"))
        let spans = try OTLPProtobuf.decodeSpans(Wire.request(spans: [Wire.span(attributes: [attribute])]))
        let span = try #require(spans.first)
        #expect(span.attributes == [Attribute("http.route", .string("/cart"))])
        #expect(span.serviceName == "checkout")
        #expect(span.resource.schemaURL == "https://resource")
        #expect(span.scope == InstrumentationScope(name: "lib", schemaURL: "https://scope"))
        #expect(span.status == SpanStatus(code: .error))
        #expect(span.parentSpanID == nil)
    }

    @Test("rejects a span with a bad id or no name alone and keeps the rest", arguments: [
        (Wire.span(traceID: [1, 2, 3]), SpanRejection.invalidTraceID),
        (Wire.span(traceID: Array(repeating: 0, count: 16)), .invalidTraceID),
        (Wire.span(spanID: Array(repeating: 0, count: 8)), .invalidSpanID),
        (Wire.span(spanID: [1, 2, 3, 4, 5, 6, 7, 8, 9]), .invalidSpanID),
        (Wire.span(parent: [1, 2, 3]), .invalidParentSpanID),
        (Wire.span(name: ""), .missingName),
    ])
    func rejectsAlone(bad: [UInt8], reason: SpanRejection) throws {
        let decoded = try OTLPProtobuf.decodeRequest(Wire.request(spans: [Wire.span(), bad, Wire.span(name: "kept")]))
        #expect(decoded.rejectedSpans == 1)
        #expect(decoded.errorMessage == reason.description)
        #expect(decoded.batch.records.map(\.name) == ["GET /", "kept"])
        #expect(try decoded.batch.spans().map(\.name) == ["GET /", "kept"])
    }

    @Test("treats an all-zero parent as no parent")
    func zeroParent() throws {
        let decoded = try OTLPProtobuf.decodeRequest(Wire.request(spans: [Wire.span(parent: Array(repeating: 0, count: 8))]))
        #expect(decoded.batch.records.first?.parentSpanID == nil)
        #expect(decoded.rejectedSpans == 0)
    }

    @Test("accepts an empty request")
    func emptyRequest() throws {
        #expect(try OTLPProtobuf.decodeRequest([UInt8]()).batch.count == 0)
    }

    @Test("refuses every truncation of a valid request with an error, never a crash")
    func truncations() throws {
        let body = Wire.request(spans: [Wire.span(), Wire.span(name: "other")])
        for length in 1..<body.count {
            // Some prefixes end on a field boundary and are valid requests in their own right.
            if let decoded = try? OTLPProtobuf.decodeRequest(Array(body[..<length])) {
                #expect(decoded.batch.count <= 2)
            }
        }
        #expect(throws: OTLPDecodingError.self) { try OTLPProtobuf.decodeRequest(Array(body.dropLast())) }
    }

    @Test("refuses values nested thousands deep without overflowing the stack")
    func deepNesting() throws {
        let deep = Wire.request(spans: [Wire.span(attributes: [Wire.nestedAttribute(depth: 5_000)])])
        let error = #expect(throws: OTLPDecodingError.self) { try OTLPProtobuf.decodeRequest(deep) }
        #expect(error?.message.contains("nests messages more than") == true)
        let shallow = Wire.request(spans: [Wire.span(attributes: [Wire.nestedAttribute(depth: 40)])])
        #expect(try OTLPProtobuf.decodeSpans(shallow).count == 1)
    }

    @Test("refuses bodies that are not protobuf", arguments: [
        [0xFF, 0xFF, 0xFF], Array("{\"resourceSpans\":[]}".utf8), [0x0A, 0x05, 0x01], [0x0B, 0x00],
    ])
    func garbage(body: [UInt8]) {
        #expect(throws: OTLPDecodingError.self) { try OTLPProtobuf.decodeRequest(body) }
    }

    @Test("keeps a span with a million attributes")
    func millionAttributes() throws {
        let attribute = Wire.field(1, "k") + Wire.field(2, Wire.varint(3 << 3) + Wire.varint(7))
        let span = Wire.span(attributes: Array(repeating: attribute, count: 1_000_000))
        let spans = try OTLPProtobuf.decodeSpans(Wire.request(spans: [span]))
        #expect(spans.first?.attributes.count == 1_000_000)
        #expect(spans.first?.attributes.last == Attribute("k", .int(7)))
    }
}

@Suite("Text with NUL characters")
struct NULTextTests {
    @Test("survives a protobuf round trip whole, in every text field")
    func nulCharacters() throws {
        var span = Fixtures.everyFieldSpans()[0]
        span.name = "before\u{0}after"
        span.traceState = "k=v\u{0}"
        span.attributes.append(Attribute("key\u{0}x", .string("value\u{0}y")))
        span.status = SpanStatus(code: .error, message: "\u{0}message")
        span.resource.attributes.append(Attribute("r\u{0}", .string("\u{0}")))
        span.scope.name = "scope\u{0}name"
        let decoded = try OTLPProtobuf.decodeSpans(OTLPProtobuf.encodeRequest([span]))
        #expect(decoded == [span])
    }
}
