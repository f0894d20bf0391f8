public import CairnModel

/// A trace's spans linked into a tree by their parent span ids: what every analysis walks.
///
/// Assembly never fails and never hangs, whatever the spans say:
/// - several spans without a parent are several roots;
/// - a span whose parent never arrived is an *orphan*: kept, flagged, and shown as a root;
/// - spans that share a span id are all kept (deduplication is an adjuster's job, see `TraceAdjuster`); their
///   children hang under the first of them in start order;
/// - parent links that form a cycle are detected: the earliest span of each cycle becomes a root and says so.
///
/// Children and roots are in start order (ties broken by span id), so every walk is deterministic.
/// Nothing recurses: a chain of 100,000 spans is as safe as a flat trace.
public struct TraceTree: Sendable {
    /// One span of the tree with its links.
    public struct Node: Sendable {
        /// The span, with any adjustment applied (see `TraceAdjuster`).
        public var span: Span
        /// The index in `nodes` of its parent; nil for roots and orphans.
        public internal(set) var parent: Int?
        /// The indexes in `nodes` of its children, in start order.
        public internal(set) var children: [Int] = []
        /// True when the span names a parent that is not in the trace.
        public internal(set) var isOrphan = false
        /// What the analyzer changed or noticed about this span, for people to read.
        public var warnings: [String] = []

        init(span: Span) { self.span = span }
    }

    /// The trace's id.
    public let traceID: TraceID
    /// Every span, ordered by start time, then span id.
    public internal(set) var nodes: [Node]
    /// The indexes of the spans with no parent in the tree (orphans included), in start order.
    public internal(set) var roots: [Int] = []
    /// What the analyzer noticed about the trace as a whole.
    public var warnings: [String] = []
    /// Whether two spans share a span id, which only `DeduplicationAdjuster` needs to look into.
    var sharesSpanIDs = false

    /// Links `spans` into a tree, with no adjustment (see `TraceAssembler` for the adjusted tree).
    ///
    /// The spans are moved into the tree when the caller gives up an array that nothing else shares, which saves
    /// retaining and releasing every reference each span holds.
    public init(traceID: TraceID, spans: consuming [Span]) {
        self.traceID = traceID
        nodes = []
        nodes.reserveCapacity(spans.count)
        while let span = spans.popLast() { nodes.append(Node(span: span)) }
        link()
    }

    /// Links the spans of `trace` into a tree, with no adjustment.
    public init(_ trace: consuming Trace) {
        var spans: [Span] = []
        swap(&spans, &trace.spans)
        self.init(traceID: trace.traceID, spans: consume spans)
    }

    /// The earliest start of any span, in Unix nanoseconds; 0 for an empty tree.
    public var startTimeUnixNano: UInt64 { nodes.lazy.map(\.span.startTimeUnixNano).min() ?? 0 }

    /// The latest end of any span, in Unix nanoseconds; 0 for an empty tree.
    public var endTimeUnixNano: UInt64 { nodes.lazy.map(\.span.endTimeUnixNano).max() ?? 0 }

    /// From the earliest start to the latest end.
    public var durationNanos: UInt64 {
        let (start, end) = (startTimeUnixNano, endTimeUnixNano)
        return end > start ? end - start : 0
    }

    /// The spans in depth-first order (each span before its children, roots and children in start order), with
    /// their depth: 0 for roots.
    public func depthFirst() -> [(index: Int, depth: Int)] {
        var order: [(index: Int, depth: Int)] = []
        order.reserveCapacity(nodes.count)
        var stack = roots.reversed().map { (index: $0, depth: 0) }
        while let next = stack.popLast() {
            order.append(next)
            for child in nodes[next.index].children.reversed() { stack.append((child, next.depth + 1)) }
        }
        return order
    }

    /// The services of the trace in the order they first appear depth first (roots first): a stable order to list
    /// them in, and to give them colours by.
    public var services: [String] {
        var seen: Set<String> = []
        return depthFirst().lazy.map { nodes[$0.index].span.serviceName }.filter { seen.insert($0).inserted }
    }

    /// Sorts the nodes and recomputes parents, children, orphans and roots from the spans' ids. Adjusters that
    /// remove spans or change their times call it again; it keeps every node's warnings.
    mutating func link() {
        // Sorting small keys and moving each node once is much cheaper than sorting the nodes, which are large.
        let keys = nodes.withUnsafeBufferPointer { nodes in
            nodes.indices.map { (start: nodes[$0].span.startTimeUnixNano, id: nodes[$0].span.spanID.value, index: $0) }
        }.sorted { ($0.start, $0.id) < ($1.start, $1.id) }
        // Put each node in its place by following the permutation's cycles with swaps: nodes move, nothing is copied.
        var target = [Int](repeating: 0, count: keys.count)  // where the node now at each index belongs
        for (position, key) in keys.enumerated() { target[key.index] = position }
        for start in target.indices {
            while target[start] != start {
                let destination = target[start]
                nodes.swapAt(start, destination)
                target.swapAt(start, destination)
            }
        }

        var indexByID: [SpanID: Int] = [:]
        indexByID.reserveCapacity(nodes.count)
        sharesSpanIDs = false
        for (index, key) in keys.enumerated() {
            let id = SpanID(value: key.id)
            if indexByID[id] == nil { indexByID[id] = index } else { sharesSpanIDs = true }
        }
        for index in nodes.indices {
            nodes[index].children = []
            nodes[index].parent = nil
            nodes[index].isOrphan = false
            guard let parentID = nodes[index].span.parentSpanID else { continue }
            if let parent = indexByID[parentID] {
                nodes[index].parent = parent
            } else {
                nodes[index].isOrphan = true
            }
        }
        breakCycles()
        for index in nodes.indices {
            if let parent = nodes[index].parent { nodes[parent].children.append(index) }
        }
        roots = nodes.indices.filter { nodes[$0].parent == nil }
    }

    /// A span that cannot reach a root by its parents is on a cycle or below one. The earliest span of each cycle
    /// loses its parent, once per cycle, so the rest of the cycle hangs below it.
    private mutating func breakCycles() {
        // 0: not visited, 1: on the current parent chain, 2: known to reach a root.
        var state = [UInt8](repeating: 0, count: nodes.count)
        var chain: [Int] = []
        for start in nodes.indices where state[start] == 0 {
            var cursor: Int? = start
            while let index = cursor, state[index] == 0 {
                state[index] = 1
                chain.append(index)
                cursor = nodes[index].parent
            }
            if let index = cursor, state[index] == 1 {
                // The chain came back to itself: `index` begins the cycle, whose members follow it in `chain`.
                let cycle = chain[chain.lastIndex(of: index)!...]
                let earliest = cycle.min()!
                nodes[earliest].parent = nil
                nodes[earliest].warnings.append(
                    "its parent chain forms a cycle of \(cycle.count) span\(cycle.count == 1 ? "" : "s"); shown as a root")
                warnings.append("spans form a parent cycle at span \(nodes[earliest].span.spanID); it was broken")
            }
            for index in chain { state[index] = 2 }
            chain.removeAll(keepingCapacity: true)
        }
    }
}
