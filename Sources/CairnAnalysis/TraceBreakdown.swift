import CairnModel

/// Where the time of one trace went: self time and critical path per span, summed by service, operation or
/// attribute.
///
/// A span's self time is its duration less the union of its children's intervals, each clipped to the span: the
/// time it spent on its own work rather than waiting on a child. Self times add up to the time covered by the roots,
/// so their shares of the trace's duration say where the time went.
public struct TraceBreakdown: Sendable {
    /// The tree broken down.
    public let tree: TraceTree
    /// Each span's self time, indexed like the tree's `nodes`.
    public let selfNanos: [UInt64]
    /// The trace's critical path.
    public let criticalPath: CriticalPath
    /// Each span's time on the critical path, indexed like the tree's `nodes`.
    public let criticalPathNanos: [UInt64]

    /// The breakdown of `tree`.
    public init(_ tree: TraceTree) {
        self.tree = tree
        selfNanos = tree.nodes.map { node in
            var covered: UInt64 = 0
            var reached = node.span.startTimeUnixNano
            for child in node.children {
                let start = max(tree.nodes[child].span.startTimeUnixNano, reached)
                let end = min(tree.nodes[child].span.endTimeUnixNano, node.span.endTimeUnixNano)
                if end > start {
                    covered += end - start
                    reached = end
                }
            }
            return node.span.durationNanos - min(covered, node.span.durationNanos)
        }
        criticalPath = CriticalPath(tree)
        criticalPathNanos = criticalPath.nanosByNode(count: tree.nodes.count)
    }

    /// The rows of the breakdown grouped by `grouping`, most self time first.
    public func rows(by grouping: BreakdownGrouping) -> [BreakdownRow] {
        let traceNanos = tree.durationNanos
        let pathNanos = criticalPath.durationNanos
        var rows: [BreakdownGroup: BreakdownRow] = [:]
        tree.nodes.withUnsafeBufferPointer { nodes in  // read in place: copying a span retains a dozen references
            for index in nodes.indices {
                let group = grouping.group(of: nodes[index].span)
                rows[group, default: BreakdownRow(group: group)].add(
                    duration: nodes[index].span.durationNanos, selfNanos: selfNanos[index],
                    criticalPathNanos: criticalPathNanos[index], failed: nodes[index].span.status.code == .error)
            }
        }
        return rows.values.map { row in
            var row = row
            row.selfShare = traceNanos == 0 ? 0 : Double(row.selfNanos) / Double(traceNanos)
            row.criticalPathShare = pathNanos == 0 ? 0 : Double(row.criticalPathNanos) / Double(pathNanos)
            return row
        }.sorted { ($1.selfNanos, $0.group) < ($0.selfNanos, $1.group) }
    }
}

/// How breakdown rows group spans.
public enum BreakdownGrouping: Hashable, Sendable {
    /// By the service of the span's resource.
    case service
    /// By service and span name.
    case operation
    /// By the value of an attribute of the span, else of its resource.
    case attribute(String)

    func group(of span: Span) -> BreakdownGroup {
        switch self {
        case .service: .service(span.serviceName)
        case .operation: .operation(service: span.serviceName, name: span.name)
        case .attribute(let key):
            .attribute(key: key, value: (span.attributes[key] ?? span.resource.attributes[key])?.searchText)
        }
    }
}

/// What one breakdown row sums over.
public enum BreakdownGroup: Hashable, Sendable, Comparable {
    /// The spans of a service.
    case service(String)
    /// The spans of a service with one name.
    case operation(service: String, name: String)
    /// The spans whose attribute `key` has `value`; a nil value groups the spans without the attribute.
    case attribute(key: String, value: String?)

    public static func < (lhs: BreakdownGroup, rhs: BreakdownGroup) -> Bool {
        lhs.sortKey.lexicographicallyPrecedes(rhs.sortKey)
    }

    private var sortKey: [String] {
        switch self {
        case .service(let service): ["0", service]
        case .operation(let service, let name): ["1", service, name]
        case .attribute(let key, let value): ["2", key, value == nil ? "" : "1", value ?? ""]
        }
    }
}

/// One group of spans in a trace's breakdown.
public struct BreakdownRow: Hashable, Sendable {
    /// The spans summed.
    public var group: BreakdownGroup
    /// How many spans.
    public var count = 0
    /// How many of them have status ERROR.
    public var errors = 0
    /// The sum of their durations.
    public var totalNanos: UInt64 = 0
    /// The shortest duration.
    public var minNanos: UInt64 = .max
    /// The longest duration.
    public var maxNanos: UInt64 = 0
    /// The sum of their self times.
    public var selfNanos: UInt64 = 0
    /// Their self time as a share of the trace's duration, 0 to 1.
    public var selfShare: Double = 0
    /// Their time on the critical path.
    public var criticalPathNanos: UInt64 = 0
    /// Their time on the critical path as a share of the path, 0 to 1.
    public var criticalPathShare: Double = 0

    /// The average duration.
    public var averageNanos: UInt64 { count == 0 ? 0 : totalNanos / UInt64(count) }

    init(group: BreakdownGroup) { self.group = group }

    mutating func add(duration: UInt64, selfNanos: UInt64, criticalPathNanos: UInt64, failed: Bool) {
        count += 1
        if failed { errors += 1 }
        totalNanos += duration
        minNanos = min(minNanos, duration)
        maxNanos = max(maxNanos, duration)
        self.selfNanos += selfNanos
        self.criticalPathNanos += criticalPathNanos
    }
}
