public import CairnModel
import CairnOTLP
import Synchronization

/// A store that keeps spans in memory: the reference that every other backend is compared with, and a store for
/// tests and demos.
///
/// It is deliberately simple: `write` decodes every span of every batch before storing any of them, and searches
/// look at every stored span. Nothing survives the process.
public final class InMemoryStore: SpanWriter, SpanReader {
    private struct State {
        /// Every span, in the order written.
        var spans: [Span] = []
        /// The positions in `spans` of each trace's spans.
        var byTrace: [TraceID: [Int]] = [:]
    }

    private let state = Mutex(State())

    /// An empty store.
    public init() {}

    /// The number of spans stored, duplicates included.
    public func spanCount() -> Int { state.withLock { $0.spans.count } }

    /// Decodes every span of every batch, then stores them all; throws, storing none, when a payload does not decode.
    public func write(_ batches: [SpanBatch]) async throws {
        var decoded: [Span] = []
        for batch in batches {
            decoded += try batch.spans()
        }
        state.withLock { state in
            for span in decoded {
                state.byTrace[span.traceID, default: []].append(state.spans.count)
                state.spans.append(span)
            }
        }
    }

    /// Memory is always writable.
    public func checkWritable() async throws {}

    /// Every stored span of the trace, in the order written, or nil when none is stored.
    public func trace(_ id: TraceID) async throws -> Trace? {
        state.withLock { state in
            guard let positions = state.byTrace[id] else { return nil }
            return Trace(traceID: id, spans: positions.map { state.spans[$0] })
        }
    }

    /// The traces with a span that `query.matches`, newest first by the start of their newest matching span; equal
    /// starts in trace id order.
    public func findTraceIDs(_ query: TraceQuery) async throws -> [TraceID] {
        guard query.limit > 0 else { return [] }
        let newest: [TraceID: UInt64] = state.withLock { state in
            var newest: [TraceID: UInt64] = [:]
            for span in state.spans where query.matches(span) {
                newest[span.traceID] = max(newest[span.traceID] ?? 0, span.startTimeUnixNano)
            }
            return newest
        }
        // Newest first; equal starts in trace id order, as the other backends break ties.
        return newest.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(query.limit).map(\.key)
    }

    /// Every stored span that `scan` matches, in the order written, trimmed to what it asks for.
    ///
    /// It reads the spans stored when it begins (the array is copied on write, not here) and calls `update` outside
    /// the store's lock, so that `update` may use the store.
    public func reduceSpans<Result: Sendable>(
        _ scan: SpanScan, into initial: Result, _ update: @escaping @Sendable (inout Result, Span) throws -> Void
    ) async throws -> Result {
        let spans = state.withLock { $0.spans }
        var result = initial
        for span in spans where scan.matches(span) {
            try update(&result, scan.trimmed(span))
        }
        return result
    }

    /// The service names of the stored spans, sorted.
    public func services() async throws -> [String] {
        state.withLock { state in Set(state.spans.map(\.serviceName)).sorted() }
    }

    /// The names and kinds of the service's spans, sorted by name, then kind.
    public func operations(service: String) async throws -> [Operation] {
        state.withLock { state in
            Set(state.spans.lazy.filter { $0.serviceName == service }.map { Operation(name: $0.name, kind: $0.kind) })
                .sorted()
        }
    }
}
