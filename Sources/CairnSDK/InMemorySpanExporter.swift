public import CairnModel
import Synchronization

/// Keeps exported spans in memory, for tests of code that exports through a processor.
public final class InMemorySpanExporter: SpanExporter {
    private let state = Mutex<[CairnModel.Span]>([])

    /// An exporter with no spans.
    public init() {}

    /// Appends the batch to ``spans``.
    public func export(_ batch: [CairnModel.Span]) async throws {
        state.withLock { $0.append(contentsOf: batch) }
    }

    /// Every span exported so far, in order.
    public var spans: [CairnModel.Span] {
        state.withLock { $0 }
    }

    /// Forgets the spans exported so far.
    public func reset() {
        state.withLock { $0.removeAll() }
    }
}
