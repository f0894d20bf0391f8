import CairnModel
import CairnOTLP
import CairnTesting
import Testing

@Suite("Building a SpanBatch from spans")
struct SpanBatchTests {
    @Test("encodes each resource and scope once and references them by index")
    func deduplicates() throws {
        let spans = Fixtures.realisticSpans(count: 64, seed: 9)
        let batch = SpanBatch(spans: spans)
        let services = Set(spans.map(\.serviceName))
        #expect(batch.resources.count == services.count)
        #expect(Set(batch.resources.map(\.serviceName)) == services)
        #expect(batch.scopes.count == 1)
        #expect(batch.count == spans.count)
        for resource in batch.resources {
            #expect(resource.schemaURL == "https://opentelemetry.io/schemas/1.26.0")
        }
    }

    @Test("keeps the indexed fields and each span's encoding back to back")
    func records() throws {
        let spans = Fixtures.everyFieldSpans()
        let batch = SpanBatch(spans: spans)
        var offset = 0
        for (record, span) in zip(batch.records, spans) {
            #expect(record.traceID == span.traceID)
            #expect(record.spanID == span.spanID)
            #expect(record.parentSpanID == span.parentSpanID)
            #expect(record.name == span.name)
            #expect(record.kind == span.kind)
            #expect(record.startTimeUnixNano == span.startTimeUnixNano)
            #expect(record.endTimeUnixNano == span.endTimeUnixNano)
            #expect(record.statusCode == span.status.code)
            #expect(Int(record.payloadOffset) == offset)
            #expect(Array(batch.payload(of: record)) == OTLPProtobuf.encode(span))
            offset += Int(record.payloadLength)
            let resource = batch.resources[Int(record.resourceIndex)]
            #expect(resource.payload == OTLPProtobuf.encode(span.resource))
            #expect(resource.schemaURL == span.resource.schemaURL)
            #expect(resource.serviceName == span.resource.serviceName)
            let scope = batch.scopes[Int(record.scopeIndex)]
            #expect(scope.payload == OTLPProtobuf.encode(span.scope))
            #expect(scope.schemaURL == span.scope.schemaURL)
        }
        #expect(offset == batch.payloads.count)
        #expect(batch.resources.count == 3)
        #expect(batch.scopes.count == 4)
        #expect(batch.resources.contains { $0.serviceName == "unknown_service" && $0.payload.isEmpty })
    }

    @Test("reads back as the spans it was built from")
    func readsBack() throws {
        for spans in [Fixtures.everyFieldSpans(), Fixtures.realisticSpans(count: 100, seed: 4), []] {
            #expect(try SpanBatch(spans: spans).spans() == spans)
        }
    }

    @Test("matches the batch the protobuf decoder makes of the same spans")
    func matchesDecoder() throws {
        let spans = Fixtures.realisticSpans(count: 50, seed: 8)
        let built = SpanBatch(spans: spans)
        let decoded = try OTLPProtobuf.decodeRequest(OTLPProtobuf.encodeRequest(spans)).batch
        #expect(built.payloads == decoded.payloads)
        #expect(built.records.count == decoded.records.count)
        // The decoder keeps a scope per ScopeSpans; the builder shares equal ones, so compare what records point at.
        for (a, b) in zip(built.records, decoded.records) {
            #expect(built.resources[Int(a.resourceIndex)] == decoded.resources[Int(b.resourceIndex)])
            #expect(built.scopes[Int(a.scopeIndex)] == decoded.scopes[Int(b.scopeIndex)])
            #expect(a.payloadOffset == b.payloadOffset && a.payloadLength == b.payloadLength)
            #expect(a.spanID == b.spanID && a.parentSpanID == b.parentSpanID && a.name == b.name && a.kind == b.kind)
        }
    }
}
