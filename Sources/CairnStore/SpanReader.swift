public import CairnModel

/// Reads spans from a store.
///
/// Contract, which every backend meets and the conformance suite (`CairnTesting.StoreConformance`) checks:
/// - What was written reads back equal: every field of every span, with its resource and scope.
/// - "Not found" is not an error: `trace(_:)` returns nil when no span of the trace is stored, and searches return
///   empty lists. Errors are for a store that cannot be read.
/// - Readers see every write that returned before the read began, and never part of a write.
public protocol SpanReader: Sendable {
    /// Every stored span of the trace, in no particular order, or nil when none is stored.
    func trace(_ id: TraceID) async throws -> Trace?

    /// The ids of the traces that match the query, newest first (by the start of their newest matching span),
    /// at most `query.limit` of them.
    func findTraceIDs(_ query: TraceQuery) async throws -> [TraceID]

    /// The names of the services that have spans in the store, sorted.
    func services() async throws -> [String]

    /// The operations (span names and kinds) of a service, sorted by name, then kind.
    func operations(service: String) async throws -> [Operation]
}

extension SpanReader {
    /// The traces that match the query, newest first.
    public func findTraces(_ query: TraceQuery) async throws -> [Trace] {
        var traces: [Trace] = []
        for id in try await findTraceIDs(query) {
            if let trace = try await trace(id) { traces.append(trace) }
        }
        return traces
    }
}

/// An operation of a service: a span name with the kind of span that carries it.
public struct Operation: Hashable, Sendable, Comparable {
    public var name: String
    public var kind: SpanKind

    public init(name: String, kind: SpanKind) {
        self.name = name
        self.kind = kind
    }

    public static func < (lhs: Operation, rhs: Operation) -> Bool {
        (lhs.name, lhs.kind.rawValue) < (rhs.name, rhs.kind.rawValue)
    }
}
