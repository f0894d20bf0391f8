import CairnModel

extension DependencyGraph {
    /// The graph as compact JSON (RFC 8259), written by `JSONWriter`, byte-identical for equal graphs;
    /// docs/dependencies.md has the schema.
    ///
    /// One object with `version` (1), `nodes` and `edges`:
    ///
    /// ```json
    /// {"version":1,"nodes":[{"name":"checkout","kind":"service","calls":2,"errors":1,"errorRate":0.5,
    /// "p95Ns":40000000}],"edges":[{"parent":"checkout","child":"db1:5432","kind":"database","calls":1,"errors":0,
    /// "errorRate":0.0,"p50Ns":12000000,"p95Ns":12000000,"p99Ns":12000000}]}
    /// ```
    ///
    /// Node kinds are the raw values of `NodeKind`, edge kinds those of `EdgeKind`. Counts and nanoseconds are
    /// integers; `errorRate` is `errors / calls` as a `Double` (0 when there are no calls), written with the
    /// shortest digits that read back to it, as the other analysis JSON writes its rates.
    public func json() -> String {
        var writer = JSONWriter(capacity: 64 + 128 * nodes.count + 192 * edges.count)
        writer.object { writer in
            writer.member("version", 1)
            writer.key("nodes")
            writer.array(nodes) { writer, node in
                writer.object { writer in
                    writer.member("name", node.name)
                    writer.member("kind", node.kind.rawValue)
                    writer.member("calls", node.calls)
                    writer.member("errors", node.errors)
                    writer.member("errorRate", node.errorRate)
                    writer.member("p95Ns", node.p95Nanos)
                }
            }
            writer.key("edges")
            writer.array(edges) { writer, edge in
                writer.object { writer in
                    writer.member("parent", edge.parent)
                    writer.member("child", edge.child)
                    writer.member("kind", edge.kind.rawValue)
                    writer.member("calls", edge.calls)
                    writer.member("errors", edge.errors)
                    writer.member("errorRate", edge.errorRate)
                    writer.member("p50Ns", edge.p50Nanos)
                    writer.member("p95Ns", edge.p95Nanos)
                    writer.member("p99Ns", edge.p99Nanos)
                }
            }
        }
        return writer.text
    }
}
