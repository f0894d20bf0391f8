public import CairnModel

/// The spans that a trace's duration waited on: shorten any of these segments and the trace ends sooner.
///
/// The walk is the one of Jaeger's UI. From the end of each root, step into the child that finished last before
/// the cursor; the parent's own time between that child's end and the cursor is on the path; continue inside the
/// child from its end, and when a span has no child left before the cursor, its time from its start to the cursor
/// is on the path and the walk returns to the parent at the child's start. Children are clipped to their parent's
/// interval. PRODUCER and CONSUMER spans do not block their parent and are left out, as are spans linked rather
/// than parented (they are not children). Each root, orphans included, has its own path. Nothing recurses, and
/// each child is considered once, so the walk is O(n log n) even for zero-length spans.
public struct CriticalPath: Hashable, Sendable {
    /// A stretch of time during which one span was the one being waited on.
    public struct Segment: Hashable, Sendable {
        /// The span's index in the tree's `nodes`.
        public var node: Int
        /// The span's id.
        public var spanID: SpanID
        /// Where the stretch starts, in Unix nanoseconds.
        public var startTimeUnixNano: UInt64
        /// Where the stretch ends, in Unix nanoseconds.
        public var endTimeUnixNano: UInt64

        /// The stretch's length.
        public var durationNanos: UInt64 { endTimeUnixNano - startTimeUnixNano }
    }

    /// The segments of every root's path, each root's in time order, roots in start order.
    public var segments: [Segment]

    /// The critical path of `tree`.
    public init(_ tree: TraceTree) {
        segments = []
        for root in tree.roots {
            let start = tree.nodes[root].span.startTimeUnixNano
            let end = max(start, tree.nodes[root].span.endTimeUnixNano)
            let first = segments.count
            walk(tree, from: root, interval: start...end)
            segments[first...].reverse()
        }
    }

    /// The total time on the path.
    public var durationNanos: UInt64 { segments.reduce(0) { $0 + $1.durationNanos } }

    /// The time on the path of each node, indexed like the tree's `nodes`.
    public func nanosByNode(count: Int) -> [UInt64] {
        var nanos = [UInt64](repeating: 0, count: count)
        for segment in segments { nanos[segment.node] += segment.durationNanos }
        return nanos
    }

    private struct Frame {
        var node: Int
        var start: UInt64
        var cursor: UInt64
        /// The blocking children clipped to the span, latest end first.
        var children: [(node: Int, interval: ClosedRange<UInt64>)]
        var next = 0
    }

    /// Appends the segments under `root`, latest first.
    private mutating func walk(_ tree: TraceTree, from root: Int, interval: ClosedRange<UInt64>) {
        func frame(_ node: Int, _ interval: ClosedRange<UInt64>) -> Frame {
            let children = tree.nodes[node].children.compactMap { child -> (node: Int, interval: ClosedRange<UInt64>)? in
                let kind = tree.nodes[child].span.kind
                guard kind != .producer && kind != .consumer else { return nil }
                let start = max(tree.nodes[child].span.startTimeUnixNano, interval.lowerBound)
                let end = min(tree.nodes[child].span.endTimeUnixNano, interval.upperBound)
                return start <= end ? (child, start...end) : nil
            }
            return Frame(node: node, start: interval.lowerBound, cursor: interval.upperBound,
                         children: children.sorted { ($0.interval.upperBound, $0.node) > ($1.interval.upperBound, $1.node) })
        }
        func append(_ node: Int, _ start: UInt64, _ end: UInt64) {
            if start < end {
                segments.append(Segment(node: node, spanID: tree.nodes[node].span.spanID, startTimeUnixNano: start,
                                        endTimeUnixNano: end))
            }
        }

        var stack = [frame(root, interval)]
        while !stack.isEmpty {
            let top = stack.count - 1
            while stack[top].next < stack[top].children.count,
                  stack[top].children[stack[top].next].interval.upperBound > stack[top].cursor {
                stack[top].next += 1
            }
            if stack[top].next < stack[top].children.count {
                let child = stack[top].children[stack[top].next]
                stack[top].next += 1
                append(stack[top].node, child.interval.upperBound, stack[top].cursor)
                stack[top].cursor = child.interval.lowerBound
                stack.append(frame(child.node, child.interval))
            } else {
                append(stack[top].node, stack[top].start, stack[top].cursor)
                stack.removeLast()
            }
        }
    }
}
