import CairnModel

/// Small traces for the tree, adjuster and breakdown tests, with times in milliseconds from a fixed origin.
enum TreeFixtures {
    static let traceID = TraceID(high: 0xA1, low: 0xB2)
    static let origin: UInt64 = 1_700_000_000_000_000_000

    static func ms(_ milliseconds: Double) -> UInt64 { UInt64(Int64(origin) + Int64(milliseconds * 1_000_000)) }

    static func span(
        _ id: UInt64, parent: UInt64? = nil, service: String = "frontend", name: String? = nil,
        kind: SpanKind = .internal, from start: Double, to end: Double, host: String? = nil, error: Bool = false,
        attributes: [Attribute] = [], events: [SpanEvent] = []
    ) -> Span {
        var resource = [Attribute("service.name", .string(service))]
        if let host { resource.append(Attribute("host.name", .string(host))) }
        return Span(
            traceID: traceID, spanID: SpanID(value: id), parentSpanID: parent.map { SpanID(value: $0) },
            name: name ?? "op\(id)", kind: kind, startTimeUnixNano: ms(start), endTimeUnixNano: ms(end),
            attributes: attributes, events: events, status: error ? SpanStatus(code: .error) : .unset,
            resource: Resource(attributes: resource))
    }

    static func tree(_ spans: [Span]) -> TraceTreeProbe { TraceTreeProbe(spans) }
}

import CairnAnalysis

/// A tree with look-ups by span id, so that tests read as the traces they describe.
struct TraceTreeProbe {
    let tree: TraceTree

    init(_ spans: [Span], adjusted: Bool = false) {
        let trace = Trace(traceID: TreeFixtures.traceID, spans: spans)
        tree = adjusted ? TraceAssembler().assemble(trace) : TraceTree(trace)
    }

    func index(_ id: UInt64) -> Int { tree.nodes.firstIndex { $0.span.spanID.value == id }! }
    func node(_ id: UInt64) -> TraceTree.Node { tree.nodes[index(id)] }
    func id(_ index: Int) -> UInt64 { tree.nodes[index].span.spanID.value }
    var roots: [UInt64] { tree.roots.map(id) }
    func children(_ id: UInt64) -> [UInt64] { node(id).children.map(self.id) }
    func parent(_ id: UInt64) -> UInt64? { node(id).parent.map(self.id) }
}
