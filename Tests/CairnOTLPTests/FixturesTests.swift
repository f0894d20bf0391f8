import CairnModel
import CairnOTLP
import CairnTesting
import Testing

@Suite("Fixtures")
struct FixturesTests {
    @Test("realistic spans depend on the seed alone")
    func deterministic() {
        #expect(Fixtures.realisticSpans(count: 100, seed: 1) == Fixtures.realisticSpans(count: 100, seed: 1))
        #expect(Fixtures.realisticSpans(count: 100, seed: 1) != Fixtures.realisticSpans(count: 100, seed: 2))
        #expect(Fixtures.realisticSpans(count: 37, seed: 3).count == 37)
        #expect(Fixtures.realisticSpans(count: 0, seed: 3).isEmpty)
    }

    @Test("realistic spans are about 350 bytes each as protobuf")
    func size() {
        let spans = Fixtures.realisticSpans(count: 2_000, seed: 7)
        let average = Double(SpanBatch(spans: spans).payloads.count) / Double(spans.count)
        #expect(average > 320 && average < 380, "average \(average) bytes")
    }

    @Test("realistic spans form traces with one root first, parents within the trace, and varied content")
    func shape() throws {
        let spans = Fixtures.realisticSpans(count: 4_000, seed: 12, spansPerTrace: 8)
        let byTrace = Dictionary(grouping: spans, by: \.traceID)
        #expect(byTrace.count == 500)
        var seenRoots: Set<TraceID> = []
        for span in spans {
            if span.parentSpanID == nil {
                seenRoots.insert(span.traceID)
                #expect(span.kind == .server)
            } else {
                #expect(seenRoots.contains(span.traceID), "a child comes before its trace's root")
            }
        }
        for (_, trace) in byTrace {
            #expect(trace.count == 8)
            #expect(trace.filter { $0.parentSpanID == nil }.count == 1)
            let ids = Set(trace.map(\.spanID))
            #expect(trace.allSatisfy { $0.parentSpanID.map(ids.contains) ?? true })
        }
        #expect(spans.allSatisfy { $0.attributes.count == 10 && $0.startTimeUnixNano <= $0.endTimeUnixNano })
        #expect(Set(spans.map(\.kind)) == [.server, .client, .internal])
        #expect(Set(spans.map(\.serviceName)) == Set(Fixtures.defaultServices))
        let withEvents = spans.filter { !$0.events.isEmpty }.count
        #expect(withEvents > spans.count / 5 && withEvents < spans.count / 3)
        let errors = spans.filter { $0.status.code == .error }.count
        #expect(errors > 0 && errors < spans.count / 10)
        #expect(spans.allSatisfy { !$0.scope.name.isEmpty && !$0.scope.version.isEmpty })
    }

    @Test("every-field spans use every attribute value case")
    func everyField() {
        var cases: Set<String> = []
        func visit(_ value: AttributeValue) {
            switch value {
            case .empty: cases.insert("empty")
            case .string: cases.insert("string")
            case .bool: cases.insert("bool")
            case .int: cases.insert("int")
            case .double: cases.insert("double")
            case .bytes: cases.insert("bytes")
            case .array(let values):
                cases.insert("array")
                values.forEach(visit)
            case .keyValueList(let values):
                cases.insert("kvlist")
                values.forEach { visit($0.value) }
            }
        }
        let spans = Fixtures.everyFieldSpans()
        spans.flatMap(\.attributes).forEach { visit($0.value) }
        #expect(cases.count == 8)
        #expect(spans.contains { $0.kind.rawValue == 9 })
        #expect(spans.contains { $0.status.code.rawValue == 7 })
        #expect(spans.contains { $0.status.code == .unset && !$0.status.message.isEmpty })
        #expect(spans.allSatisfy { $0.traceID.isValid && $0.spanID.isValid && !$0.name.isEmpty })
    }
}
