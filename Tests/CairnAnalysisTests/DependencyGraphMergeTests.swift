@testable import CairnAnalysis
import CairnModel
import CairnTesting
import Testing

@Suite("Dependency graph builders merged")
struct DependencyGraphMergeTests {
    @Test("builders of disjoint parts, merged, give the graph of the whole, links across parts included")
    func mergedParts() {
        var spans = ShopTraces.spans() + Fixtures.realisticSpans(count: 4_000, seed: 3)
        var random = SeededShuffle(state: 99)
        spans.shuffle(using: &random)
        let whole = ShopTraces.build(spans)
        for parts in [2, 3, 7] {
            var builders = [DependencyGraphBuilder](repeating: DependencyGraphBuilder(), count: parts)
            for (index, span) in spans.enumerated() { builders[index % parts].add(span) }
            var merged = builders[0]
            for builder in builders.dropFirst() { merged.merge(builder) }
            #expect(merged.count == spans.count)
            #expect(merged.build() == whole, "\(parts) parts")
        }
    }

    @Test("the partitions walked in chunks at once give the graph of one walk, duplicates and links across traces included")
    func chunks() throws {
        var spans = ShopTraces.spans() + Fixtures.realisticSpans(count: 20_000, seed: 5)
        // Consumers in traces of their own, linked to producers of other traces (the targets spread over every chunk).
        for i in UInt64(1)...3_000 {
            let producer = TraceID(high: 30, low: i)
            spans.append(ShopTraces.span(producer, 1, "orders", .producer, start: 0, duration: ShopTraces.ms(1)))
            spans.append(ShopTraces.span(TraceID(high: 40, low: i), 1, "billing", .consumer, start: ShopTraces.ms(1),
                                         duration: ShopTraces.ms(i % 5), error: i % 50 == 0,
                                         links: [SpanLink(traceID: producer, spanID: SpanID(value: 1))]))
        }
        spans += spans.prefix(500)  // duplicates
        var random = SeededShuffle(state: 17)
        spans.shuffle(using: &random)
        var builder = DependencyGraphBuilder()
        builder.add(contentsOf: spans.prefix(10_000))
        var other = DependencyGraphBuilder()
        other.add(contentsOf: spans.dropFirst(10_000))
        builder.merge(other)
        let one = builder.build(chunks: 1)
        let messaging = try #require(one.edges.first { $0.parent == "orders" && $0.child == "billing" })
        #expect(messaging.calls == 3_000 && messaging.errors == 60)
        for chunks in [2, 3, 8, 64] {
            #expect(builder.build(chunks: chunks) == one, "\(chunks) chunks")
        }
    }
}
