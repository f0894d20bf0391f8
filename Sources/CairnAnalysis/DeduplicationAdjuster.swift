import CairnModel

/// Removes copies of a span received more than once (an exporter's retry, a collector's replay), and flags spans
/// that share a span id but differ, which no correct SDK produces.
///
/// Exact copies are removed and the span that stays says how many arrived. Spans that differ are all kept, each
/// with a warning, because there is no telling which is right; their children hang under the earliest of them.
public struct DeduplicationAdjuster: TraceAdjuster {
    /// The adjuster.
    public init() {}

    /// Removes exact copies and flags the rest.
    public func adjust(_ tree: inout TraceTree) {
        guard tree.sharesSpanIDs else { return }
        var firstByID: [SpanID: Int] = [:]
        var sharing: [SpanID: [Int]] = [:]
        for index in tree.nodes.indices {
            let id = tree.nodes[index].span.spanID
            if let first = firstByID[id] {
                sharing[id, default: [first]].append(index)
            } else {
                firstByID[id] = index
            }
        }
        guard !sharing.isEmpty else { return }

        var removed = Set<Int>()
        for (id, indexes) in sharing.sorted(by: { $0.key < $1.key }) {
            var distinct: [Int] = []
            var copies: [Int: Int] = [:]
            for index in indexes {
                if let same = distinct.first(where: { tree.nodes[$0].span == tree.nodes[index].span }) {
                    copies[same, default: 1] += 1
                    removed.insert(index)
                } else {
                    distinct.append(index)
                }
            }
            for (index, count) in copies.sorted(by: { $0.key < $1.key }) {
                tree.nodes[index].warnings.append("received \(count) times; the copies were removed")
            }
            if distinct.count > 1 {
                for index in distinct {
                    tree.nodes[index].warnings.append(
                        "\(distinct.count) different spans share span id \(id); all are shown")
                }
                tree.warnings.append("\(distinct.count) different spans share span id \(id)")
            }
        }
        guard !removed.isEmpty else { return }
        tree.nodes = tree.nodes.indices.filter { !removed.contains($0) }.map { tree.nodes[$0] }
        tree.link()
    }
}
