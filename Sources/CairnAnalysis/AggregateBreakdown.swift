import CairnModel

/// Where the time of many traces went, per service and per operation: calls, errors, duration and self-time
/// percentiles, and the share of the critical path.
///
/// Percentiles are exact (nearest rank, see `Percentiles`): the builder keeps each span's duration and self time.
public struct AggregateBreakdown: Hashable, Sendable {
    /// One service or operation over every trace added.
    public struct Row: Hashable, Sendable {
        /// The spans summed: `.service` or `.operation`.
        public var group: BreakdownGroup
        /// How many spans.
        public var calls: Int
        /// How many of them have status ERROR.
        public var errors: Int
        /// `errors / calls`, 0 to 1.
        public var errorRate: Double
        /// Duration percentiles.
        public var p50Nanos, p90Nanos, p95Nanos, p99Nanos: UInt64
        /// The longest duration.
        public var maxNanos: UInt64
        /// Self-time percentiles.
        public var selfP50Nanos, selfP95Nanos: UInt64
        /// The time these spans spent on their traces' critical paths, summed over the traces.
        public var criticalPathNanos: UInt64
        /// `criticalPathNanos` as a share of the summed critical paths of every trace added, 0 to 1.
        public var criticalPathShare: Double
    }

    /// How many traces were added.
    public var traceCount: Int
    /// How many spans they hold.
    public var spanCount: Int
    /// One row per service, most critical-path time first.
    public var byService: [Row]
    /// One row per service and span name, most critical-path time first.
    public var byOperation: [Row]
}

/// Adds up trace breakdowns into an `AggregateBreakdown`.
public struct AggregateBreakdownBuilder: Sendable {
    private struct Sums: Sendable {
        var durations: [UInt64] = []
        var selfTimes: [UInt64] = []
        var errors = 0
        var criticalPathNanos: UInt64 = 0

        mutating func add(duration: UInt64, selfNanos: UInt64, criticalPathNanos: UInt64, failed: Bool) {
            durations.append(duration)
            selfTimes.append(selfNanos)
            if failed { errors += 1 }
            self.criticalPathNanos += criticalPathNanos
        }
    }

    private var services: [BreakdownGroup: Sums] = [:]
    private var operations: [BreakdownGroup: Sums] = [:]
    private var traceCount = 0
    private var spanCount = 0
    private var criticalPathNanos: UInt64 = 0

    /// An empty builder.
    public init() {}

    /// Adds the spans of one trace.
    public mutating func add(_ breakdown: TraceBreakdown) {
        traceCount += 1
        spanCount += breakdown.tree.nodes.count
        criticalPathNanos += breakdown.criticalPath.durationNanos
        breakdown.tree.nodes.withUnsafeBufferPointer { nodes in  // read in place: copying a span retains a lot
            for index in nodes.indices {
                for (grouping, keyPath) in [(BreakdownGrouping.service, \Self.services), (.operation, \Self.operations)] {
                    let group = grouping.group(of: nodes[index].span)
                    self[keyPath: keyPath][group, default: Sums()].add(
                        duration: nodes[index].span.durationNanos, selfNanos: breakdown.selfNanos[index],
                        criticalPathNanos: breakdown.criticalPathNanos[index],
                        failed: nodes[index].span.status.code == .error)
                }
            }
        }
    }

    /// The breakdown of every trace added.
    public func build() -> AggregateBreakdown {
        AggregateBreakdown(traceCount: traceCount, spanCount: spanCount, byService: rows(services),
                           byOperation: rows(operations))
    }

    private func rows(_ sums: [BreakdownGroup: Sums]) -> [AggregateBreakdown.Row] {
        sums.map { group, sums in
            var durations = sums.durations
            var selfTimes = sums.selfTimes
            let duration = Percentiles.nearestRank([50, 90, 95, 99, 100], selectingIn: &durations)
            let selfTime = Percentiles.nearestRank([50, 95], selectingIn: &selfTimes)
            return AggregateBreakdown.Row(
                group: group, calls: durations.count, errors: sums.errors,
                errorRate: Double(sums.errors) / Double(durations.count),
                p50Nanos: duration[0], p90Nanos: duration[1], p95Nanos: duration[2], p99Nanos: duration[3],
                maxNanos: duration[4], selfP50Nanos: selfTime[0], selfP95Nanos: selfTime[1],
                criticalPathNanos: sums.criticalPathNanos,
                criticalPathShare: criticalPathNanos == 0 ? 0 : Double(sums.criticalPathNanos) / Double(criticalPathNanos))
        }.sorted { ($1.criticalPathNanos, $0.group) < ($0.criticalPathNanos, $1.group) }
    }
}
