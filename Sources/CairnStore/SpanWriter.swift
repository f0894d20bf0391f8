public import CairnModel

/// Writes spans to a store.
///
/// Contract, which every backend meets and the conformance suite (`CairnTesting.StoreConformance`) checks:
/// - `write` stores every span of every batch in one transaction: all of them or, when it throws, none.
/// - When `write` returns, the spans are durable: a crash of the process (`kill -9`) after that loses none of them.
///   Backends document what a power loss may lose.
/// - When `write` returns, every reader of the same store sees the spans.
/// - Writing a span that is already stored (same trace id and span id) stores it again; readers return each copy,
///   and the analyzer's deduplication decides between them.
/// - `write` may be called from several tasks at once; calls are serialised by the backend where it has one writer.
public protocol SpanWriter: Sendable {
    /// How many `write` calls the store runs at once, each in a transaction of its own: the collector commits that
    /// many group commits concurrently. 1 (the default) for a store with one writer, such as a SQLite file.
    var concurrentWrites: Int { get }

    /// Stores the spans of all the batches in one transaction; durable when it returns.
    func write(_ batches: [SpanBatch]) async throws

    /// Returns when a write could start now, and throws an error that says why not otherwise (the store is
    /// read-only, or another process holds its write lock). Changes nothing; health checks call it.
    func checkWritable() async throws
}

extension SpanWriter {
    public var concurrentWrites: Int { 1 }
}
