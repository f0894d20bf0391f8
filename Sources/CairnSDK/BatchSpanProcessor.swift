public import CairnModel
public import Logging
public import ServiceLifecycle
import Synchronization

/// Queues sampled spans as they end and exports them in batches from a task of its own: the processor for
/// production.
///
/// Implements [the OpenTelemetry batching processor](https://opentelemetry.io/docs/specs/otel/trace/sdk/#batching-processor).
/// `onEnd` (called by `span.end()`) appends the span to a bounded, preallocated queue under a lock and returns; it
/// never waits for the network. When the queue is full the span is dropped and counted in ``droppedSpanCount``, and
/// the export task logs the count at most once per ``Configuration/droppedSpansLogInterval``. The export task, which
/// ``run()`` runs, exports a batch of at most ``Configuration/maxExportBatchSize`` spans as soon as that many are
/// queued, and whatever is queued every ``Configuration/scheduleDelay`` otherwise; it converts spans to
/// `CairnModel.Span` there, off the threads that ended them. Exports never overlap, and each is given
/// ``Configuration/exportTimeout`` before it is cancelled.
///
/// It is a ServiceLifecycle `Service`: run it in your `ServiceGroup` (``CairnTracingService`` does). Its graceful
/// shutdown exports every span ended before it, then shuts the exporter down. Spans that end after shutdown are
/// dropped and counted.
public final class BatchSpanProcessor: SpanProcessor, Service, CustomStringConvertible {
    private struct State {
        var queue: [FinishedSpan]
        /// The export loop waiting for a full batch, a flush or shutdown.
        var waiter: CheckedContinuation<Void, Never>?
        var shutdownRequested = false
        var isShutDown = false
        var dropped = 0
        var droppedNotLogged = 0
        var exported = 0
        var failed = 0
        var failedNotLogged = 0
    }

    /// The configuration the processor was made with.
    public let configuration: Configuration
    private let exporter: any SpanExporter
    private let logger: Logger
    private let sleep: @Sendable (Duration) async throws -> Void
    private let now: @Sendable () -> Duration
    private let state: Mutex<State>
    private let exportLock = AsyncLock()
    private let lastLog = Mutex<Duration?>(nil)

    /// A processor that exports to `exporter`, reading time from `clock` (tests pass a manual clock).
    ///
    /// A ``Configuration/maxExportBatchSize`` larger than ``Configuration/maxQueueSize`` is lowered to it.
    public init<C: Clock>(
        exporter: any SpanExporter, configuration: Configuration = Configuration(), clock: C = ContinuousClock(),
        logger: Logger = Logger(label: "cairn.sdk.batch")
    ) where C.Duration == Duration {
        var configuration = configuration
        configuration.maxQueueSize = max(1, configuration.maxQueueSize)
        configuration.maxExportBatchSize = min(max(1, configuration.maxExportBatchSize), configuration.maxQueueSize)
        self.configuration = configuration
        self.exporter = exporter
        self.logger = logger
        self.sleep = { duration in try await clock.sleep(for: duration) }
        let start = clock.now
        self.now = { start.duration(to: clock.now) }
        var queue: [FinishedSpan] = []
        queue.reserveCapacity(configuration.maxQueueSize)
        self.state = Mutex(State(queue: queue))
    }

    /// `BatchSpanProcessor`.
    public var description: String { "BatchSpanProcessor" }

    // MARK: counters

    /// How many spans were dropped because the queue was full or the processor had shut down.
    public var droppedSpanCount: Int { state.withLock { $0.dropped } }
    /// How many spans the exporter accepted.
    public var exportedSpanCount: Int { state.withLock { $0.exported } }
    /// How many spans were lost because the exporter failed (after its own retries) or timed out.
    public var failedSpanCount: Int { state.withLock { $0.failed } }
    /// How many spans wait in the queue.
    public var queuedSpanCount: Int { state.withLock { $0.queue.count } }

    // MARK: SpanProcessor

    /// Queues a sampled span; drops and counts it if the queue is full. Wakes the export task only when a batch is
    /// full. Never waits.
    public func onEnd(_ span: FinishedSpan) {
        guard span.isSampled else { return }
        let batchSize = configuration.maxExportBatchSize
        let maxQueueSize = configuration.maxQueueSize
        let waiter: CheckedContinuation<Void, Never>? = state.withLock { state in
            guard !state.isShutDown, state.queue.count < maxQueueSize else {
                state.dropped += 1
                state.droppedNotLogged += 1
                return nil
            }
            state.queue.append(span)
            guard state.queue.count >= batchSize, let waiter = state.waiter else { return nil }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Exports every span queued when it is called, in batches, and returns when the exporter is done with them
    /// (or each batch's ``Configuration/exportTimeout`` has passed). Works whether or not ``run()`` runs.
    public func forceFlush() async throws {
        await exportQueued()
        try await exporter.forceFlush()
    }

    /// Exports every queued span, then shuts the exporter down; later spans are dropped. Only the first call does
    /// anything.
    public func shutdown() async throws {
        let first = state.withLock { state in
            defer { state.isShutDown = true }
            return !state.isShutDown
        }
        guard first else { return }
        let waiter = state.withLock { state in
            state.shutdownRequested = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
        await exportQueued()
        logDropsAndFailures(force: true)
        await exporter.shutdown()
    }

    // MARK: Service

    /// Runs the export loop until graceful shutdown, then exports every queued span and shuts the exporter down.
    ///
    /// Cancellation stops the loop at once, without a final export.
    public func run() async throws {
        await withGracefulShutdownHandler {
            await exportLoop()
        } onGracefulShutdown: {
            let waiter = self.state.withLock { state in
                state.shutdownRequested = true
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
        if Task.isCancelled {
            logDropsAndFailures(force: true)
            await exporter.shutdown()
        } else {
            try await shutdown()
        }
    }

    private func exportLoop() async {
        while !Task.isCancelled {
            if state.withLock({ $0.shutdownRequested }) { return }
            await waitForFullBatch(orAtMost: configuration.scheduleDelay)
            if Task.isCancelled || state.withLock({ $0.shutdownRequested }) { return }
            await exportQueued()
            logDropsAndFailures(force: false)
        }
    }

    /// Returns when a batch is full, shutdown is requested, or `delay` has passed on the clock.
    private func waitForFullBatch(orAtMost delay: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [sleep] in try? await sleep(delay) }
            group.addTask { await self.waitForSignal() }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForSignal() async {
        let batchSize = configuration.maxExportBatchSize
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state in
                    // Checked under the lock, so that a cancellation handler that ran before finds no waiter and
                    // one that runs after finds this one.
                    if Task.isCancelled || state.shutdownRequested || state.queue.count >= batchSize { return true }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }

    // MARK: export

    /// Takes the queued spans and exports them in batches; exports never overlap.
    private func exportQueued() async {
        await exportLock.lock()
        defer { exportLock.unlock() }
        var fresh: [FinishedSpan] = []
        fresh.reserveCapacity(configuration.maxQueueSize)
        let taken = state.withLock { state in
            swap(&fresh, &state.queue)
            return fresh
        }
        guard !taken.isEmpty else { return }
        let batchSize = configuration.maxExportBatchSize
        var start = 0
        while start < taken.count {
            let end = min(start + batchSize, taken.count)
            let batch = taken[start..<end].map { $0.converted() }
            await exportBatch(batch)
            start = end
        }
    }

    private func exportBatch(_ batch: [CairnModel.Span]) async {
        let exporter = self.exporter
        let timeout = configuration.exportTimeout
        let succeeded = await withTaskGroup(of: Bool?.self) { [sleep] group in
            group.addTask {
                do {
                    try await exporter.export(batch)
                    return true
                } catch {
                    return false
                }
            }
            group.addTask {
                try? await sleep(timeout)
                return nil
            }
            var outcome: Bool? = nil
            if let first = await group.next() { outcome = first }
            group.cancelAll()
            return outcome ?? false
        }
        state.withLock { state in
            if succeeded {
                state.exported += batch.count
            } else {
                state.failed += batch.count
                state.failedNotLogged += batch.count
            }
        }
    }

    /// Logs the spans dropped and failed since the last log, at most once per interval unless `force`.
    private func logDropsAndFailures(force: Bool) {
        let (dropped, failed) = state.withLock { ($0.droppedNotLogged, $0.failedNotLogged) }
        guard dropped > 0 || failed > 0 else { return }
        let current = now()
        let due = lastLog.withLock { last in
            if !force, let last, current - last < configuration.droppedSpansLogInterval { return false }
            last = current
            return true
        }
        guard due else { return }
        let (droppedNow, failedNow, droppedTotal) = state.withLock { state in
            defer {
                state.droppedNotLogged = 0
                state.failedNotLogged = 0
            }
            return (state.droppedNotLogged, state.failedNotLogged, state.dropped)
        }
        if droppedNow > 0 {
            logger.warning(
                "\(droppedNow) spans were dropped because the export queue (\(configuration.maxQueueSize) spans) was full; raise OTEL_BSP_MAX_QUEUE_SIZE, or check that the collector keeps up.",
                metadata: ["dropped": "\(droppedNow)", "dropped_total": "\(droppedTotal)"])
        }
        if failedNow > 0 {
            logger.warning(
                "\(failedNow) spans were lost because their export failed or took longer than \(configuration.exportTimeout); check that the collector is reachable.",
                metadata: ["failed": "\(failedNow)"])
        }
    }
}

/// A lock that suspends rather than blocks: it keeps exports from overlapping.
final class AsyncLock: Sendable {
    private struct State {
        var locked = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    func lock() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let acquired = state.withLock { state in
                if !state.locked {
                    state.locked = true
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if acquired { continuation.resume() }
        }
    }

    func unlock() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.locked = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
