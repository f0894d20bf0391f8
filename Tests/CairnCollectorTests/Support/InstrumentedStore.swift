import CairnModel
import CairnStore
import Synchronization

/// A real store wrapped so that tests can count its writes, hold them until released, or make them fail: what a
/// real store cannot be made to do on demand. Reads go straight to the store.
final class InstrumentedStore: SpanWriter, SpanReader {
    struct InjectedFailure: Error, CustomStringConvertible {
        var description: String { "the disk is full (injected by the test)" }
    }

    private struct State {
        var holding: Bool
        var failuresLeft: Int
        var held: [CheckedContinuation<Void, Never>] = []
        var started = 0
        var startWaiters: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
        /// The number of batches in each successful write, in order.
        var committedWrites: [Int] = []
    }

    let store: any SpanWriter & SpanReader
    let concurrentWrites: Int
    private let state: Mutex<State>

    /// - Parameters:
    ///   - holding: whether writes wait until `release()`.
    ///   - failing: how many writes fail (the first ones) before writes reach the store.
    ///   - concurrentWrites: the writes the store says it takes at once.
    init(_ store: any SpanWriter & SpanReader, holding: Bool = false, failing: Int = 0, concurrentWrites: Int = 1) {
        self.store = store
        self.concurrentWrites = concurrentWrites
        self.state = Mutex(State(holding: holding, failuresLeft: failing))
    }

    /// The writes begun so far.
    var writesBegun: Int { state.withLock { $0.started } }

    /// The number of batches in each successful write, in order.
    var committedWrites: [Int] { state.withLock { $0.committedWrites } }

    /// Lets held writes, and all later ones, go through.
    func release() {
        let held = state.withLock { state in
            state.holding = false
            defer { state.held = [] }
            return state.held
        }
        for continuation in held { continuation.resume() }
    }

    /// Returns once `count` writes have begun (and, if holding, are held).
    func waitUntilWritesBegan(_ count: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state in
                guard state.started < count else { return true }
                state.startWaiters.append((count, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }

    /// Unwritable while injected failures are left.
    func checkWritable() async throws {
        if state.withLock({ $0.failuresLeft > 0 }) { throw InjectedFailure() }
        try await store.checkWritable()
    }

    func write(_ batches: [SpanBatch]) async throws {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let wakeUps: [CheckedContinuation<Void, Never>] = state.withLock { state in
                state.started += 1
                var wakeUps = state.startWaiters.filter { $0.count <= state.started }.map(\.continuation)
                state.startWaiters.removeAll { $0.count <= state.started }
                if state.holding {
                    state.held.append(continuation)
                } else {
                    wakeUps.append(continuation)
                }
                return wakeUps
            }
            for wakeUp in wakeUps { wakeUp.resume() }
        }
        let fail = state.withLock { state in
            guard state.failuresLeft > 0 else { return false }
            state.failuresLeft -= 1
            return true
        }
        if fail { throw InjectedFailure() }
        try await store.write(batches)
        state.withLock { $0.committedWrites.append(batches.count) }
    }

    func trace(_ id: TraceID) async throws -> Trace? { try await store.trace(id) }
    func findTraceIDs(_ query: TraceQuery) async throws -> [TraceID] { try await store.findTraceIDs(query) }
    func services() async throws -> [String] { try await store.services() }
    func operations(service: String) async throws -> [Operation] { try await store.operations(service: service) }
    func reduceSpans<Result: Sendable>(
        _ scan: SpanScan, into initial: Result, _ update: @escaping @Sendable (inout Result, Span) throws -> Void
    ) async throws -> Result {
        try await store.reduceSpans(scan, into: initial, update)
    }
}
