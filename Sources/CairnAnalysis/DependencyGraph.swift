/// A service dependency map: which services call which, and which peers outside the traced world they call, with
/// calls, errors and latency percentiles per call path. Built from spans by `DependencyGraphBuilder`, exported by
/// `json()`, `dot()` and `mermaid()`; docs/dependencies.md defines every number.
///
/// Nodes are the services that sent spans (`service.name` of the span's resource), plus *virtual* nodes for peers
/// that sent none: databases, queues, third-party APIs, named from the calling span's attributes. Edges point from
/// caller to callee. The order is fixed, so that two graphs of the same spans compare equal and export
/// byte-identical text: nodes by name, edges by parent, child, then kind (Swift `String` order, which compares
/// Unicode scalars of the canonical form and does not depend on the locale).
public struct DependencyGraph: Hashable, Sendable {
    /// A service or a peer.
    public struct Node: Hashable, Sendable {
        /// The service name, or the virtual node's peer name.
        public var name: String
        /// What the node stands for.
        public var kind: NodeKind
        /// Calls the node received. For a service, its SERVER and CONSUMER spans plus its root spans (entry points:
        /// spans with no parent id); for a virtual node, the calls on the edges into it.
        public var calls: Int
        /// Those of `calls` that failed: the received span in ERROR status, or for a virtual node the errors of the
        /// edges into it.
        public var errors: Int
        /// The 95th percentile (nearest rank) of the received calls' latencies: the received spans' durations for a
        /// service, the latencies of the edges into it for a virtual node; 0 when there are no calls.
        public var p95Nanos: UInt64

        /// A node from its fields.
        public init(name: String, kind: NodeKind, calls: Int, errors: Int, p95Nanos: UInt64) {
            self.name = name
            self.kind = kind
            self.calls = calls
            self.errors = errors
            self.p95Nanos = p95Nanos
        }

        /// `errors / calls`, 0 when there are no calls.
        public var errorRate: Double { calls == 0 ? 0 : Double(errors) / Double(calls) }
    }

    /// What a node stands for.
    public enum NodeKind: String, Hashable, Sendable, CaseIterable {
        /// A service that sent spans.
        case service
        /// A peer that sent no spans, called with `db.*` attributes (`db.system.name`, `db.system`, `db.namespace`,
        /// `db.name`) or named from them.
        case database
        /// A peer that sent no spans, called with `messaging.system` or by PRODUCER spans.
        case messaging
        /// Any other peer that sent no spans.
        case virtual
    }

    /// Calls from one node to another of one kind.
    public struct Edge: Hashable, Sendable {
        /// The caller: a service name.
        public var parent: String
        /// The callee: a service name or a virtual node's name.
        public var child: String
        /// The protocol, as the spans' attributes tell it.
        public var kind: EdgeKind
        /// The number of calls.
        public var calls: Int
        /// Calls where either side is in ERROR status.
        public var errors: Int
        /// Latency percentiles of the calls (nearest rank, see `Percentiles`), in nanoseconds.
        public var p50Nanos: UInt64
        /// See `p50Nanos`.
        public var p95Nanos: UInt64
        /// See `p50Nanos`.
        public var p99Nanos: UInt64

        /// An edge from its fields.
        public init(
            parent: String, child: String, kind: EdgeKind, calls: Int, errors: Int, p50Nanos: UInt64, p95Nanos: UInt64,
            p99Nanos: UInt64
        ) {
            self.parent = parent
            self.child = child
            self.kind = kind
            self.calls = calls
            self.errors = errors
            self.p50Nanos = p50Nanos
            self.p95Nanos = p95Nanos
            self.p99Nanos = p99Nanos
        }

        /// `errors / calls`, 0 when there are no calls.
        public var errorRate: Double { calls == 0 ? 0 : Double(errors) / Double(calls) }
    }

    /// The protocol of an edge, from the first of these that the calling spans show (see `DependencyGraphBuilder`).
    public enum EdgeKind: String, Hashable, Sendable, CaseIterable {
        /// `db.system.name`, `db.system`, `db.namespace` or `db.name`.
        case database
        /// A PRODUCER or CONSUMER span, or `messaging.system`.
        case messaging
        /// `rpc.system`.
        case rpc
        /// `http.request.method`, `http.method`, `url.full` or `http.route`.
        case http
        /// None of these, to a virtual node.
        case virtual
        /// None of these, between services.
        case other
    }

    /// Every node, sorted by name.
    public var nodes: [Node]
    /// Every edge, sorted by parent, child, then kind (its raw value).
    public var edges: [Edge]

    /// A graph of these nodes and edges, sorted into the graph's order. Every edge's ends should be nodes.
    public init(nodes: [Node] = [], edges: [Edge] = []) {
        self.nodes = nodes.sorted { $0.name < $1.name }
        self.edges = edges.sorted(by: Self.edgeOrder)
    }

    /// The node with this name, if any.
    public func node(named name: String) -> Node? {
        nodes.first { $0.name == name }
    }

    /// The service or peer, the nodes it calls or is called by, and the edges that touch it (its self-loops
    /// included); the nodes keep their numbers for the whole graph. An empty graph when no node has the name.
    public func focused(on service: String) -> DependencyGraph {
        guard nodes.contains(where: { $0.name == service }) else { return DependencyGraph() }
        let kept = edges.filter { $0.parent == service || $0.child == service }
        var names: Set<String> = [service]
        for edge in kept {
            names.insert(edge.parent)
            names.insert(edge.child)
        }
        var graph = DependencyGraph()
        graph.nodes = nodes.filter { names.contains($0.name) }
        graph.edges = kept
        return graph
    }

    static func edgeOrder(_ a: Edge, _ b: Edge) -> Bool {
        if a.parent != b.parent { return a.parent < b.parent }
        if a.child != b.child { return a.child < b.child }
        return a.kind.rawValue < b.kind.rawValue
    }
}

// MARK: - Text shared by the exports

extension DependencyGraph {
    /// `count` and the noun, singular for 1: `1 call`, `120 calls`.
    static func counted(_ count: Int, _ noun: String) -> String {
        count == 1 ? "1 \(noun)" : "\(count) \(noun)s"
    }

    /// `errors / calls` as a percentage with one decimal, rounded half up with integer arithmetic: `2.5%`, `0.0%`.
    static func percent(_ errors: Int, of calls: Int) -> String {
        let tenths = ratio(errors, calls, scale: 1_000)
        return "\(tenths / 10).\(tenths % 10)%"
    }

    /// `numerator * scale / denominator` rounded half up, exact for any counts; 0 when the denominator is 0.
    static func ratio(_ numerator: Int, _ denominator: Int, scale: UInt64) -> UInt64 {
        guard denominator > 0, numerator > 0 else { return 0 }
        let (n, d) = (UInt64(numerator), UInt64(denominator))
        let product = n.multipliedFullWidth(by: scale)
        let (quotient, remainder) = d.dividingFullWidth(product)
        return remainder >= d - remainder ? quotient + 1 : quotient
    }

    /// The natural logarithm of a positive number, in plain arithmetic (no C library), so that the result, and
    /// any text made from it, is the same on every platform: x = m × 2ᵉ with m in [1, 2), and
    /// ln m = 2 atanh((m − 1)/(m + 1)) by its series.
    static func naturalLog(_ x: Double) -> Double {
        guard x > 0, x.isFinite else { return 0 }
        let exponent = Double(x.exponent)
        let m = x.significand
        let z = (m - 1) / (m + 1)
        let z2 = z * z
        var term = z
        var sum = 0.0
        var n = 1.0
        while n < 60 {
            sum += term / n
            term *= z2
            n += 2
        }
        return exponent * 0.693_147_180_559_945_309_4 + 2 * sum
    }
}
