import CairnModel

/// Flags the spans whose parent never arrived (lost by a sampler, an exporter or a network), which the tree shows
/// as roots, so that a reader knows the trace is incomplete there.
public struct OrphanAdjuster: TraceAdjuster {
    /// The adjuster.
    public init() {}

    /// Adds a warning to every orphan, and one to the trace.
    public func adjust(_ tree: inout TraceTree) {
        var orphans = 0
        for index in tree.nodes.indices where tree.nodes[index].isOrphan {
            let parent = tree.nodes[index].span.parentSpanID.map { "\($0)" } ?? "?"
            tree.nodes[index].warnings.append("its parent span \(parent) is not in the trace; shown as a root")
            orphans += 1
        }
        if orphans > 0 {
            tree.warnings.append("\(orphans) span\(orphans == 1 ? "'s parent is" : "s' parents are") missing")
        }
    }
}
