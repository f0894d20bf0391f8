import CairnAnalysis
import CairnModel
import Testing

@Suite("Trace adjusters")
struct AdjusterTests {
    typealias F = TreeFixtures

    @Test("removes exact copies of a span and says how many arrived")
    func exactCopies() {
        let root = F.span(1, from: 0, to: 10)
        let child = F.span(2, parent: 1, from: 1, to: 2)
        let probe = TraceTreeProbe([root, child, child, root, child], adjusted: true)
        #expect(probe.tree.nodes.count == 2)
        #expect(probe.children(1) == [2])
        #expect(probe.node(1).warnings == ["received 2 times; the copies were removed"])
        #expect(probe.node(2).warnings == ["received 3 times; the copies were removed"])
        #expect(probe.tree.warnings.isEmpty)
    }

    @Test("keeps spans that share an id but differ, and flags them")
    func differingDuplicates() {
        let probe = TraceTreeProbe([
            F.span(1, from: 0, to: 10),
            F.span(2, parent: 1, name: "first", from: 1, to: 2),
            F.span(2, parent: 1, name: "second", from: 3, to: 4),
            F.span(3, parent: 2, from: 1.5, to: 1.7),
        ], adjusted: true)
        #expect(probe.tree.nodes.count == 4)
        let shared = probe.tree.nodes.filter { $0.span.spanID.value == 2 }
        #expect(shared.map(\.span.name) == ["first", "second"])
        #expect(shared.allSatisfy { $0.warnings == ["2 different spans share span id 0000000000000002; all are shown"] })
        #expect(probe.tree.warnings == ["2 different spans share span id 0000000000000002"])
        // The child hangs under the earlier of the two.
        let first = probe.tree.nodes.firstIndex { $0.span.name == "first" }!
        #expect(probe.tree.nodes[first].children.map(probe.id) == [3])
    }

    @Test("centres a child from another host in its parent, with its events and its own host's children")
    func clockSkew() {
        let spans = [
            F.span(1, service: "frontend", kind: .client, from: 0, to: 100, host: "a"),
            F.span(2, parent: 1, service: "backend", kind: .server, from: 150, to: 170, host: "b",
                   events: [SpanEvent(timeUnixNano: F.ms(160), name: "log")]),
            F.span(3, parent: 2, service: "backend", from: 155, to: 160, host: "b"),
            F.span(4, parent: 1, service: "frontend", from: 10, to: 20, host: "a"),
        ]
        let raw = TraceTreeProbe(spans)
        let probe = TraceTreeProbe(spans, adjusted: true)
        // (100 - 20) / 2 = 40: the child starts at 40 ms, a move of -110 ms.
        #expect(probe.node(2).span.startTimeUnixNano == F.ms(40))
        #expect(probe.node(2).span.endTimeUnixNano == F.ms(60))
        #expect(probe.node(2).span.events[0].timeUnixNano == F.ms(50))
        #expect(probe.node(2).warnings == ["clock skew: moved by -110 ms to fit in its parent"])
        #expect(probe.node(3).span.startTimeUnixNano == F.ms(45))
        #expect(probe.node(3).warnings == ["clock skew: moved by -110 ms to fit in its parent"])
        #expect(probe.node(4).span.startTimeUnixNano == F.ms(10))
        #expect(probe.node(4).warnings.isEmpty)
        #expect(probe.children(1) == [4, 2])
        // The raw tree is untouched.
        #expect(raw.node(2).span.startTimeUnixNano == F.ms(150))
        #expect(raw.node(2).warnings.isEmpty)
    }

    @Test("moves a child longer than its parent only to the parent's start")
    func longerChild() {
        let probe = TraceTreeProbe([
            F.span(1, from: 10, to: 20, host: "a"),
            F.span(2, parent: 1, from: 5, to: 35, host: "b"),
        ], adjusted: true)
        #expect(probe.node(2).span.startTimeUnixNano == F.ms(10))
        #expect(probe.node(2).span.endTimeUnixNano == F.ms(40))
        #expect(probe.node(2).warnings == ["clock skew: moved by +5.00 ms to fit in its parent"])
    }

    @Test("leaves a child that fits, or one on the same host, where it is")
    func noMove() {
        let probe = TraceTreeProbe([
            F.span(1, from: 0, to: 100, host: "a"),
            F.span(2, parent: 1, from: 10, to: 20, host: "b"),
            F.span(3, parent: 1, from: 90, to: 120, host: "a"),
        ], adjusted: true)
        #expect(probe.node(2).span.startTimeUnixNano == F.ms(10))
        #expect(probe.node(3).span.startTimeUnixNano == F.ms(90))
        #expect(probe.tree.nodes.allSatisfy { $0.warnings.isEmpty })
    }

    @Test("warns instead of making a move beyond the bound")
    func bound() {
        let spans = [F.span(1, from: 0, to: 100, host: "a"), F.span(2, parent: 1, from: 5_000, to: 5_020, host: "b")]
        let tree = TraceAssembler(maxClockSkewAdjustment: 1_000_000_000).assemble(
            Trace(traceID: F.traceID, spans: spans))
        let child = tree.nodes.first { $0.span.spanID.value == 2 }!
        #expect(child.span.startTimeUnixNano == F.ms(5_000))
        #expect(child.warnings == [
            "clock skew: moving it by -4.96 s would fit it in its parent, but that is more than the bound of 1.00 s; not moved",
        ])
    }

    @Test("treats spans with no host as on another host, as Jaeger does")
    func unknownHost() {
        let probe = TraceTreeProbe([F.span(1, from: 0, to: 100), F.span(2, parent: 1, from: 90, to: 110)],
                                   adjusted: true)
        #expect(probe.node(2).span.startTimeUnixNano == F.ms(40))
    }
}
