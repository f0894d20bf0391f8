public import CairnModel
public import Instrumentation
import Synchronization

/// Converts every sampled span as it ends and keeps it in memory: the processor for tests of instrumented code.
///
/// It lives in CairnSDK (not CairnTesting) so that users can test their own instrumentation with it. Conversion
/// happens in `onEnd`, on the caller's thread; a production processor defers that work to its export task.
public final class InMemorySpanProcessor: SpanProcessor {
    private struct State {
        var started = 0
        var spans: [CairnModel.Span] = []
    }

    private let state = Mutex(State())

    /// A processor with no spans.
    public init() {}

    /// Counts the span in ``startedCount``.
    public func onStart(_ span: CairnSpan, parentContext: ServiceContext) {
        state.withLock { $0.started += 1 }
    }

    /// Converts the span and keeps it if it is sampled.
    public func onEnd(_ span: FinishedSpan) {
        guard span.isSampled else { return }
        let converted = span.converted()
        state.withLock { $0.spans.append(converted) }
    }

    /// The sampled spans ended so far, in the order they ended.
    public var spans: [CairnModel.Span] {
        state.withLock { $0.spans }
    }

    /// How many recording spans have started.
    public var startedCount: Int {
        state.withLock { $0.started }
    }

    /// Forgets the spans kept so far.
    public func reset() {
        state.withLock { $0 = State() }
    }
}
