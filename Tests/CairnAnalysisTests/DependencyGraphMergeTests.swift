import CairnAnalysis
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
}
