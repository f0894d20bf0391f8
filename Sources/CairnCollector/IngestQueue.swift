public import CairnModel
public import CairnStore
import Logging
public import ServiceLifecycle
import Synchronization

/// A queue between the receivers and the store, bounded in spans and bytes, that commits the batches of many
/// requests in one store transaction (group commit) and answers each request once its spans are committed.
///
/// Run it as a ServiceLifecycle `Service`. On graceful shutdown it stops accepting (`IngestError.shuttingDown`),
/// commits everything already accepted, and returns. A store error fails the waiters of that commit only; the queue
/// goes on with the next.
///
/// Implements the collector's side of [OTLP/HTTP throttling](https://opentelemetry.io/docs/specs/otlp/#otlphttp-throttling):
/// a full queue refuses at once, so the receiver can answer 429 with `Retry-After`.
public final class IngestQueue: Service, Sendable {
    private struct Pending {
        var batch: SpanBatch
        var spans: Int
        var bytes: Int
        var waiter: CheckedContinuation<Result<Void, IngestError>, Never>
    }

    private struct State {
        var pending: [Pending] = []
        /// Spans and bytes accepted and not yet committed, including those being committed.
        var queuedSpans = 0
        var queuedBytes = 0
        /// Bytes reserved by receivers for bodies they are reading (`reserve`), which count against the byte bound
        /// too, so that many requests arriving at once cannot all read their bodies into memory.
        var reservedBytes = 0
        var accepting = true
        /// Why the last commit failed; nil once a commit succeeds.
        var lastCommitError: String?
        /// The commit loops that wait for work.
        var runners: [CheckedContinuation<Void, Never>] = []
        /// Tasks waiting for a condition on the queue (`waitUntil`).
        var observers: [(condition: @Sendable (Snapshot) -> Bool, continuation: CheckedContinuation<Void, Never>)] = []

        var snapshot: Snapshot { Snapshot(queuedSpans: queuedSpans, accepting: accepting) }

        /// Removes and returns the observers whose condition now holds.
        mutating func takeSatisfiedObservers() -> [CheckedContinuation<Void, Never>] {
            guard !observers.isEmpty else { return [] }
            let snapshot = self.snapshot
            let satisfied = observers.filter { $0.condition(snapshot) }.map(\.continuation)
            observers.removeAll { $0.condition(snapshot) }
            return satisfied
        }

        /// Removes and returns one waiting commit loop, to wake for new work.
        mutating func takeRunner() -> CheckedContinuation<Void, Never>? {
            runners.popLast()
        }
    }

    /// What the queue reports of each commit, once its requests are answered: the batches, how long the store
    /// took, and the error when it failed.
    public typealias CommitObserver = @Sendable (_ batches: [SpanBatch], _ duration: Duration, _ error: (any Error)?) -> Void

    private let writer: any SpanWriter
    private let configuration: CollectorConfiguration
    private let logger: Logger
    private let onCommit: CommitObserver?
    private let state = Mutex(State())

    /// A queue that commits to `writer`, with the bounds and commit sizes of `configuration`, and tells `onCommit`
    /// of each commit.
    public init(
        writer: any SpanWriter, configuration: CollectorConfiguration, logger: Logger = Logger(label: "cairn.ingest"),
        onCommit: CommitObserver? = nil
    ) {
        self.writer = writer
        self.configuration = configuration
        self.logger = logger
        self.onCommit = onCommit
    }

    /// Whether a batch of about `bytes` bytes could be accepted now, changing nothing. `submit` checks again.
    public func hasRoom(forBytes bytes: Int = 0) -> Bool {
        state.withLock { state in
            state.accepting && fits(spans: 0, bytes: bytes, in: state)
        }
    }

    /// Reserves room for a body of `bytes` that a receiver is about to read, when it fits; false when it does not
    /// (or shutdown has begun), and the receiver refuses the request without reading it. Reservations count against
    /// `maxQueuedBytes` with the queued batches, so memory held by bodies being read stays bounded however many
    /// requests arrive at once. Give the bytes back with `release(bytes:)` once the body is decoded.
    public func reserve(bytes: Int) -> Bool {
        state.withLock { state in
            guard state.accepting && fits(spans: 0, bytes: bytes, in: state) else { return false }
            state.reservedBytes += bytes
            return true
        }
    }

    /// Gives back a reservation of `reserve(bytes:)`.
    public func release(bytes: Int) {
        let wakeUps = state.withLock { state in
            state.reservedBytes -= bytes
            return state.takeSatisfiedObservers()
        }
        for continuation in wakeUps { continuation.resume() }
    }

    /// Whether the queue still accepts batches; false once shutdown has begun.
    public var isAccepting: Bool {
        state.withLock { $0.accepting }
    }

    /// Spans accepted and not yet committed.
    public var queuedSpans: Int {
        state.withLock { $0.queuedSpans }
    }

    /// What health checks read of the queue.
    public struct Status: Sendable {
        /// Whether the queue accepts batches; false once shutdown has begun.
        public var accepting: Bool
        /// Spans accepted and not yet committed.
        public var queuedSpans: Int
        /// Bytes of the batches accepted and not yet committed.
        public var queuedBytes: Int
        /// Bytes reserved for bodies being read.
        public var reservedBytes: Int
        /// Why the last commit failed; nil when it succeeded, or before any.
        public var lastCommitError: String?
    }

    /// The queue's status now.
    public var status: Status {
        state.withLock {
            Status(accepting: $0.accepting, queuedSpans: $0.queuedSpans, queuedBytes: $0.queuedBytes,
                   reservedBytes: $0.reservedBytes, lastCommitError: $0.lastCommitError)
        }
    }

    /// What tests observe of the queue.
    struct Snapshot {
        var queuedSpans: Int
        var accepting: Bool
    }

    /// Returns once the condition holds; lets tests wait for the queue without sleeping.
    func waitUntil(_ condition: @escaping @Sendable (Snapshot) -> Bool) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state in
                guard !condition(state.snapshot) else { return true }
                state.observers.append((condition, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }

    /// Accepts the batch and returns once it is committed to the store.
    ///
    /// Throws `.full` at once when accepting it would exceed a bound, `.shuttingDown` when shutdown has begun, and
    /// `.storeFailed` when the store could not commit it. An empty batch returns at once.
    public func submit(_ batch: SpanBatch) async throws(IngestError) {
        guard batch.count > 0 else { return }
        let spans = batch.count
        let bytes = batch.byteCount
        let result = await withCheckedContinuation { (waiter: CheckedContinuation<Result<Void, IngestError>, Never>) in
            let outcome: Result<[CheckedContinuation<Void, Never>], IngestError> = state.withLock { state in
                guard state.accepting else { return .failure(.shuttingDown) }
                guard fits(spans: spans, bytes: bytes, in: state) else { return .failure(.full) }
                state.pending.append(Pending(batch: batch, spans: spans, bytes: bytes, waiter: waiter))
                state.queuedSpans += spans
                state.queuedBytes += bytes
                return .success(state.takeSatisfiedObservers() + (state.takeRunner().map { [$0] } ?? []))
            }
            switch outcome {
            case .failure(let error): waiter.resume(returning: .failure(error))
            case .success(let wakeUps): for continuation in wakeUps { continuation.resume() }
            }
        }
        try result.get()
    }

    /// Commits accepted batches until graceful shutdown (or cancellation), then commits what remains and returns.
    ///
    /// As many commit loops run as the store takes writes at once (`SpanWriter.concurrentWrites`): each takes the
    /// batches queued when it is free, so while one commit waits for the store the next batches are committed
    /// beside it.
    public func run() async {
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await withDiscardingTaskGroup { group in
                    for _ in 0..<max(1, writer.concurrentWrites) {
                        group.addTask {
                            while let commit = await self.nextCommit() {
                                await self.commit(commit)
                            }
                        }
                    }
                }
            } onCancel: {
                self.stopAccepting()
            }
        } onGracefulShutdown: {
            self.stopAccepting()
        }
    }

    /// Stops accepting; the run loop commits what was accepted, then returns.
    private func stopAccepting() {
        let wakeUps = state.withLock { state in
            state.accepting = false
            defer { state.runners = [] }
            return state.takeSatisfiedObservers() + state.runners
        }
        for continuation in wakeUps { continuation.resume() }
    }

    /// Whether `spans` and `bytes` more fit within the bounds, with the reservations. Anything fits into an empty
    /// queue, so that one request larger than a bound is not refused forever.
    private func fits(spans: Int, bytes: Int, in state: State) -> Bool {
        if state.queuedSpans == 0 && state.queuedBytes == 0 && state.reservedBytes == 0 { return true }
        return state.queuedSpans + spans <= configuration.maxQueuedSpans
            && state.queuedBytes + state.reservedBytes + bytes <= configuration.maxQueuedBytes
            && state.queuedSpans < configuration.maxQueuedSpans
    }

    /// The next batches to commit, waiting for some; nil once shutdown has begun and nothing is left.
    private func nextCommit() async -> [Pending]? {
        while true {
            enum Next { case commit([Pending]), finished, wait }
            let next: Next = state.withLock { state in
                if !state.pending.isEmpty { return .commit(take(from: &state)) }
                return state.accepting ? .wait : .finished
            }
            switch next {
            case .commit(let pending): return pending
            case .finished: return nil
            case .wait:
                await withCheckedContinuation { (runner: CheckedContinuation<Void, Never>) in
                    let resumeNow = state.withLock { state in
                        guard state.pending.isEmpty && state.accepting else { return true }
                        state.runners.append(runner)
                        return false
                    }
                    if resumeNow { runner.resume() }
                }
            }
        }
    }

    /// Takes batches from the head of the queue, up to the commit bounds (at least one).
    private func take(from state: inout State) -> [Pending] {
        var count = 0
        var spans = 0
        for pending in state.pending {
            if count > 0 && (count >= configuration.maxBatchesPerCommit || spans + pending.spans > configuration.maxSpansPerCommit) {
                break
            }
            count += 1
            spans += pending.spans
        }
        let taken = Array(state.pending.prefix(count))
        state.pending.removeFirst(count)
        return taken
    }

    /// Writes the batches in one transaction, releases their room in the queue, and answers their waiters.
    private func commit(_ pending: [Pending]) async {
        let result: Result<Void, IngestError>
        let batches = pending.map(\.batch)
        let started = ContinuousClock.now
        var failure: (any Error)?
        do {
            try await writer.write(batches)
            result = .success(())
        } catch {
            logger.error("the store could not commit spans", metadata: ["error": "\(error)", "requests": "\(pending.count)"])
            result = .failure(.storeFailed(String(describing: error)))
            failure = error
        }
        let duration = ContinuousClock.now - started
        let observers = state.withLock { state in
            if case .failure(.storeFailed(let message)) = result {
                state.lastCommitError = message
            } else {
                state.lastCommitError = nil
            }
            state.queuedSpans -= pending.reduce(0) { $0 + $1.spans }
            state.queuedBytes -= pending.reduce(0) { $0 + $1.bytes }
            return state.takeSatisfiedObservers()
        }
        for observer in observers { observer.resume() }
        for item in pending {
            item.waiter.resume(returning: result)
        }
        onCommit?(batches, duration, failure)
    }
}
