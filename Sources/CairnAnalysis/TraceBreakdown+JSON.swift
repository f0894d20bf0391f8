import CairnModel

// The JSON of the analyses; docs/analysis.md documents the schema. Durations are integers of nanoseconds (keys
// ending in `Ns`), shares are numbers from 0 to 1, Unix timestamps are strings of nanoseconds (as in OTLP/JSON, so
// that JavaScript readers keep every digit), ids are lowercase hex.

extension TraceBreakdown {
    /// The breakdown as JSON: the trace, its rows by service and by operation (and by each of `attributeKeys`),
    /// and its critical path.
    public func json(attributeKeys: [String] = []) -> String {
        var writer = JSONWriter(capacity: 1024 + 256 * tree.nodes.count)
        writer.object { writer in
            writer.traceHeader(tree)
            writer.key("services")
            writer.array(rows(by: .service)) { $0.row($1) }
            writer.key("operations")
            writer.array(rows(by: .operation)) { $0.row($1) }
            if !attributeKeys.isEmpty {
                writer.key("attributes")
                writer.object { writer in
                    for key in attributeKeys {
                        writer.key(key)
                        writer.array(rows(by: .attribute(key))) { $0.row($1) }
                    }
                }
            }
            writer.key("criticalPath")
            writer.object { $0.criticalPath(self) }
        }
        return writer.text
    }

    /// The critical path as JSON: the trace, the path's segments, and its time per service and per operation.
    public func criticalPathJSON() -> String {
        var writer = JSONWriter(capacity: 1024 + 128 * criticalPath.segments.count)
        writer.object { writer in
            writer.traceHeader(tree)
            writer.criticalPath(self)
            for (name, grouping) in [("services", BreakdownGrouping.service), ("operations", .operation)] {
                writer.key(name)
                writer.array(rows(by: grouping).filter { $0.criticalPathNanos > 0 }
                    .sorted { ($1.criticalPathNanos, $0.group) < ($0.criticalPathNanos, $1.group) }) { writer, row in
                    writer.object { writer in
                        writer.group(row.group)
                        writer.member("criticalPathNs", row.criticalPathNanos)
                        writer.member("criticalPathShare", row.criticalPathShare)
                    }
                }
            }
        }
        return writer.text
    }
}

extension AggregateBreakdown {
    /// The breakdown as JSON: counts, then one row per service and per operation.
    public func json() -> String {
        var writer = JSONWriter(capacity: 512 + 512 * (byService.count + byOperation.count))
        writer.object { writer in
            writer.member("traceCount", traceCount)
            writer.member("spanCount", spanCount)
            for (name, rows) in [("services", byService), ("operations", byOperation)] {
                writer.key(name)
                writer.array(rows) { writer, row in
                    writer.object { writer in
                        writer.group(row.group)
                        writer.member("calls", row.calls)
                        writer.member("errors", row.errors)
                        writer.member("errorRate", row.errorRate)
                        writer.member("p50Ns", row.p50Nanos)
                        writer.member("p90Ns", row.p90Nanos)
                        writer.member("p95Ns", row.p95Nanos)
                        writer.member("p99Ns", row.p99Nanos)
                        writer.member("maxNs", row.maxNanos)
                        writer.member("selfP50Ns", row.selfP50Nanos)
                        writer.member("selfP95Ns", row.selfP95Nanos)
                        writer.member("criticalPathNs", row.criticalPathNanos)
                        writer.member("criticalPathShare", row.criticalPathShare)
                    }
                }
            }
        }
        return writer.text
    }
}

extension JSONWriter {
    mutating func traceHeader(_ tree: TraceTree) {
        member("traceID", tree.traceID.hex)
        key("startTimeUnixNano")
        quoted(String(tree.startTimeUnixNano))
        member("durationNs", tree.durationNanos)
        member("spanCount", tree.nodes.count)
        key("warnings")
        array(tree.warnings) { $0.quoted($1) }
    }

    mutating func group(_ group: BreakdownGroup) {
        switch group {
        case .service(let service):
            member("service", service)
        case .operation(let service, let name):
            member("service", service)
            member("operation", name)
        case .attribute(let key, let value):
            member("key", key)
            member("value", value)
        }
    }

    mutating func row(_ row: BreakdownRow) {
        object { writer in
            writer.group(row.group)
            writer.member("count", row.count)
            writer.member("errors", row.errors)
            writer.member("totalNs", row.totalNanos)
            writer.member("minNs", row.minNanos)
            writer.member("averageNs", row.averageNanos)
            writer.member("maxNs", row.maxNanos)
            writer.member("selfNs", row.selfNanos)
            writer.member("selfShare", row.selfShare)
            writer.member("criticalPathNs", row.criticalPathNanos)
            writer.member("criticalPathShare", row.criticalPathShare)
        }
    }

    mutating func criticalPath(_ breakdown: TraceBreakdown) {
        let path = breakdown.criticalPath
        member("criticalPathNs", path.durationNanos)
        key("segments")
        array(path.segments) { writer, segment in
            let span = breakdown.tree.nodes[segment.node].span
            writer.object { writer in
                writer.member("spanID", segment.spanID.hex)
                writer.member("service", span.serviceName)
                writer.member("operation", span.name)
                writer.key("startTimeUnixNano")
                writer.quoted(String(segment.startTimeUnixNano))
                writer.member("durationNs", segment.durationNanos)
            }
        }
    }
}
