import CairnModel
import CairnSDK
import Synchronization

/// An exporter that records batches and can be held stuck until a test releases it.
final class RecordingExporter: SpanExporter {
    private struct State {
        var batches: [[CairnModel.Span]] = []
        var started = 0
        var isStuck = false
        var stuck: [Int: CheckedContinuation<Void, any Error>] = [:]
        var nextID = 0
        var shutDown = false
    }

    private let state = Mutex(State())

    init(stuck: Bool = false) {
        state.withLock { $0.isStuck = stuck }
    }

    /// The batches exported so far (a batch that timed out is not among them).
    var batches: [[CairnModel.Span]] { state.withLock { $0.batches } }
    /// How many exports have started, finished or not.
    var startedCount: Int { state.withLock { $0.started } }
    var spanCount: Int { batches.reduce(0) { $0 + $1.count } }
    var isShutDown: Bool { state.withLock { $0.shutDown } }

    /// Makes the next exports wait until ``release()``.
    func stick() {
        state.withLock { $0.isStuck = true }
    }

    /// Lets stuck exports finish, and later ones go through.
    func release() {
        let waiting = state.withLock { state in
            state.isStuck = false
            defer { state.stuck.removeAll() }
            return Array(state.stuck.values)
        }
        for continuation in waiting { continuation.resume() }
    }

    func export(_ batch: [CairnModel.Span]) async throws {
        let (stuck, id) = state.withLock { state in
            state.started += 1
            state.nextID += 1
            return (state.isStuck, state.nextID)
        }
        if stuck {
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    let outcome: Result<Void, any Error>? = state.withLock { state in
                        if Task.isCancelled { return .failure(CancellationError()) }
                        if !state.isStuck { return .success(()) }
                        state.stuck[id] = continuation
                        return nil
                    }
                    if let outcome { continuation.resume(with: outcome) }
                }
            } onCancel: {
                let continuation = state.withLock { $0.stuck.removeValue(forKey: id) }
                continuation?.resume(throwing: CancellationError())
            }
        }
        state.withLock { $0.batches.append(batch) }
    }

    func shutdown() async {
        state.withLock { $0.shutDown = true }
    }
}
