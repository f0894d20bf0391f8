import CairnAnalysis
import CairnModel
import Testing

@Suite("Trace assembly")
struct TraceTreeTests {
    typealias F = TreeFixtures

    @Test("links children to parents in start order, whatever order the spans come in")
    func linksInStartOrder() {
        let spans = [
            F.span(4, parent: 1, from: 30, to: 40),
            F.span(2, parent: 1, from: 10, to: 20),
            F.span(1, from: 0, to: 100),
            F.span(3, parent: 1, from: 10, to: 15),  // starts with 2: the span id breaks the tie
            F.span(5, parent: 2, from: 11, to: 12),
        ]
        let probe = TraceTreeProbe(spans)
        #expect(probe.roots == [1])
        #expect(probe.children(1) == [2, 3, 4])
        #expect(probe.children(2) == [5])
        #expect(probe.parent(5) == 2)
        #expect(probe.tree.depthFirst().map { probe.id($0.index) } == [1, 2, 5, 3, 4])
        #expect(probe.tree.depthFirst().map(\.depth) == [0, 1, 2, 1, 1])
        #expect(probe.tree.durationNanos == 100_000_000)
    }

    @Test("keeps several roots, and orphans as flagged roots")
    func rootsAndOrphans() {
        let probe = TraceTreeProbe([
            F.span(1, from: 0, to: 10),
            F.span(2, from: 5, to: 20),
            F.span(3, parent: 99, from: 7, to: 8),
            F.span(4, parent: 3, from: 7, to: 7.5),
        ], adjusted: true)
        #expect(probe.roots == [1, 2, 3])
        #expect(probe.node(3).isOrphan)
        #expect(!probe.node(4).isOrphan)
        #expect(probe.children(3) == [4])
        #expect(probe.node(3).warnings == ["its parent span 0000000000000063 is not in the trace; shown as a root"])
        #expect(probe.tree.warnings == ["1 span's parent is missing"])
    }

    @Test("breaks parent cycles at their earliest span, and never hangs")
    func cycles() {
        let probe = TraceTreeProbe([
            F.span(1, parent: 3, from: 0, to: 10),
            F.span(2, parent: 1, from: 1, to: 9),
            F.span(3, parent: 2, from: 2, to: 8),
            F.span(4, parent: 3, from: 3, to: 4),
            F.span(5, parent: 5, from: 5, to: 6),  // its own parent
        ])
        #expect(probe.roots == [1, 5])
        #expect(probe.children(1) == [2])
        #expect(probe.children(2) == [3])
        #expect(probe.children(3) == [4])
        #expect(probe.node(1).warnings == ["its parent chain forms a cycle of 3 spans; shown as a root"])
        #expect(probe.node(5).warnings == ["its parent chain forms a cycle of 1 span; shown as a root"])
        #expect(probe.tree.warnings.count == 2)
        #expect(probe.tree.depthFirst().count == 5)
    }

    @Test("assembles a chain of 100,000 spans without recursing")
    func deepChain() {
        let count: UInt64 = 100_000
        let spans = (1...count).reversed().map { id in
            F.span(id, parent: id == 1 ? nil : id - 1, from: Double(id) * 0.001, to: 200_000 - Double(id) * 0.001)
        }
        let tree = TraceAssembler().assemble(Trace(traceID: F.traceID, spans: spans))
        #expect(tree.roots.count == 1)
        let order = tree.depthFirst()
        #expect(order.count == Int(count))
        #expect(order.last?.depth == Int(count) - 1)
        let breakdown = TraceBreakdown(tree)
        #expect(breakdown.criticalPath.durationNanos == tree.durationNanos)
    }

    @Test("assembles 100,000 siblings")
    func wideTrace() {
        var spans = [F.span(1, from: 0, to: 1_000)]
        for id in UInt64(2)...100_001 {
            let start = Double(id % 997)
            spans.append(F.span(id, parent: 1, from: start, to: start + 1))
        }
        let tree = TraceAssembler().assemble(Trace(traceID: F.traceID, spans: spans))
        #expect(tree.nodes[tree.roots[0]].children.count == 100_000)
        let starts = tree.nodes[tree.roots[0]].children.map { tree.nodes[$0].span.startTimeUnixNano }
        #expect(starts == starts.sorted())
    }
}
