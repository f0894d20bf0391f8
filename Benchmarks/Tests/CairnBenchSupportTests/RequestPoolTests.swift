import CairnBenchSupport
import CairnModel
import CairnOTLP
import Testing

@Suite("RequestPool")
struct RequestPoolTests {
    let pool: RequestPool

    init() throws {
        pool = try RequestPool(templates: 4, spansPerRequest: 512, salt: 42)
    }

    private func spans(_ number: UInt64) throws -> [Span] {
        try OTLPProtobuf.decodeSpans(pool.body(number: number))
    }

    @Test("every span of a patched request decodes and is kept")
    func keepsEverySpan() throws {
        let decoded = try OTLPProtobuf.decodeRequest(pool.body(number: 7))
        #expect(decoded.rejectedSpans == 0)
        #expect(decoded.batch.count == 512)
    }

    @Test("each request carries trace ids that neither its template nor any other request carries")
    func newTraceIDsPerRequest() throws {
        let template = Set(try OTLPProtobuf.decodeSpans(pool.templateBody(1)).map(\.traceID))
        var seen = template
        for number: UInt64 in [1, 5, 9, 2] {
            let ids = Set(try spans(number).map(\.traceID))
            #expect(ids.isDisjoint(with: seen))
            #expect(!ids.contains(.zero))
            seen.formUnion(ids)
        }
    }

    @Test("spans of one trace keep sharing one id, and parents stay in their trace")
    func tracesStayWhole() throws {
        let original = try OTLPProtobuf.decodeSpans(pool.templateBody(3))
        let patched = try spans(3)
        #expect(original.count == patched.count)
        var mapping: [TraceID: TraceID] = [:]
        for (before, after) in zip(original, patched) {
            #expect(before.spanID == after.spanID)
            #expect(before.parentSpanID == after.parentSpanID)
            if let mapped = mapping[before.traceID] {
                #expect(mapped == after.traceID)
            } else {
                mapping[before.traceID] = after.traceID
            }
        }
        #expect(Set(mapping.values).count == mapping.count)
    }

    @Test("the same request number gives the same body")
    func deterministic() {
        #expect(pool.body(number: 11) == pool.body(number: 11))
        #expect(pool.body(number: 11) != pool.body(number: 15))
    }
}
