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

    /// Every span that `scan` matches (its start time lies in `scan.window`, lower bound inclusive, upper bound
    /// exclusive, and it belongs to one of `scan.services`), in no particular order, each passed once to `update`;
    /// spans carry only what `scan` asks for (see `SpanScan`, and `SpanScan.trimmed(_:)` for what it keeps).
    ///
    /// "Once" is per stored span: a span written twice is passed twice, as `trace(_:)` returns it twice. The store
    /// calls `update` synchronously, one span at a time, on a value it owns (possibly on a thread of its own, hence
    /// `@Sendable`, and from a callback that keeps it while the scan runs, hence `@escaping`), and never holds the spans of the window at once, so that a reduction over millions of spans
    /// costs the memory of its result; it reads one snapshot, as the other reads do. An error thrown by `update`
    /// ends the scan and is rethrown. An empty window passes no span.
    ///
    /// Backends implement it with a scan of their time-ordered storage.
    func reduceSpans<Result: Sendable>(
        _ scan: SpanScan, into initial: Result, _ update: @escaping @Sendable (inout Result, Span) throws -> Void
    ) async throws -> Result

    /// `reduceSpans(_:into:_:)` split over several partial results, which `merge` combines into the first: each span
    /// still goes to exactly one of them, and each partial result starts from `initial`. A store that can read in
    /// parallel scans parts of the window at once, one partial result each; the others reduce into one result, as
    /// `reduceSpans(_:into:_:)` does. Partial results are merged in the order of the parts, so a deterministic
    /// `merge` gives a deterministic result.
    func reduceSpans<Result: Sendable>(
        _ scan: SpanScan, into initial: Result, _ update: @escaping @Sendable (inout Result, Span) throws -> Void,
        merge: @Sendable (inout Result, Result) throws -> Void
    ) async throws -> Result
}

extension SpanReader {
    /// Reduces into one result, with no parallelism.
    public func reduceSpans<Result: Sendable>(
        _ scan: SpanScan, into initial: Result, _ update: @escaping @Sendable (inout Result, Span) throws -> Void,
        merge: @Sendable (inout Result, Result) throws -> Void
    ) async throws -> Result {
        try await reduceSpans(scan, into: initial, update)
    }

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
