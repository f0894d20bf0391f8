import CairnModel
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
/// `CairnModel.Span` there, off the threads that ended them. Each export is given ``Configuration/exportTimeout``
/// before it is cancelled.
///
/// Exports do not overlap unless the exporter says they may: ``OTLPHTTPExporter`` allows
/// ``OTLPHTTPExporter/Configuration/maxConcurrentExports`` (16 by default), so that the next full batches are sent
/// while earlier ones wait for the collector's answer. With one export at a time, a round trip longer than a batch's
/// worth of spans (512 spans take 10 ms at 50,000 spans/s) fills the 2048-span queue within a few batches. Spans in
/// flight are out of the queue: at most ``Configuration/maxQueueSize`` spans wait, plus a batch per export in flight.
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
    /// One permit per export that may be in flight at once.
    private let exportSlots: AsyncSemaphore
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
        self.exportSlots = AsyncSemaphore(
            permits: max(1, (exporter as? any ConcurrentSpanExporter)?.maxConcurrentExports ?? 1))
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
    /// and with every export already in flight (or each batch's ``Configuration/exportTimeout`` has passed). Works
    /// whether or not ``run()`` runs.
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

    /// Waits for a full batch or the schedule delay, then starts exports: of the full batches only when a batch
    /// filled (the rest waits for the next batch or the delay, rather than costing a round trip of its own), of
    /// everything queued when the delay passed. Exports run in child tasks, at most as many at once as the exporter
    /// allows; the loop returns when those it started are done.
    private func exportLoop() async {
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled {
                if state.withLock({ $0.shutdownRequested }) { return }
                let batchFilled = await waitForFullBatch(orAtMost: configuration.scheduleDelay)
                if Task.isCancelled || state.withLock({ $0.shutdownRequested }) { return }
                while !Task.isCancelled, let (batch, slot) = await takeBatch(fullOnly: batchFilled, atMost: .max) {
                    group.addTask { await self.export(batch, slot: slot) }
                }
                logDropsAndFailures(force: false)
            }
        }
    }

    /// Returns true when a batch is full, false when shutdown is requested or `delay` has passed on the clock.
    private func waitForFullBatch(orAtMost delay: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { [sleep] in
                try? await sleep(delay)
                return false
            }
            group.addTask { await self.waitForSignal() }
            let filled = await group.next() ?? false
            group.cancelAll()
            return filled
        }
    }

    /// Returns when a batch is full (true) or on shutdown or cancellation (false).
    private func waitForSignal() async -> Bool {
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
        return !Task.isCancelled && state.withLock { !$0.shutdownRequested && $0.queue.count >= batchSize }
    }

    // MARK: export

    /// Exports the spans queued now, in batches, and returns when they and every export already in flight are done.
    private func exportQueued() async {
        var remaining = state.withLock { $0.queue.count }
        await withDiscardingTaskGroup { group in
            while remaining > 0, let (batch, slot) = await takeBatch(fullOnly: false, atMost: remaining) {
                remaining -= batch.count
                group.addTask { await self.export(batch, slot: slot) }
            }
        }
        // Exports the export loop started before.
        await exportSlots.waitForPermitsHeldNow()
    }

    /// Waits for an export slot, then takes the oldest batch from the queue: a full one only when `fullOnly`, at
    /// most `limit` spans; nil (and the slot given back) when there is none. The caller exports it with
    /// ``export(_:slot:)``, which gives the slot back.
    private func takeBatch(fullOnly: Bool, atMost limit: Int) async -> ([FinishedSpan], AsyncSemaphore.Permit)? {
        let slot = await exportSlots.acquire()
        let batchSize = min(configuration.maxExportBatchSize, limit)
        let batch: [FinishedSpan] = state.withLock { state in
            let count = min(batchSize, state.queue.count)
            if count == 0 || (fullOnly && count < configuration.maxExportBatchSize) { return [] }
            defer { state.queue.removeFirst(count) }
            return Array(state.queue.prefix(count))
        }
        guard !batch.isEmpty else {
            exportSlots.release(slot)
            return nil
        }
        return (batch, slot)
    }

    /// Converts and exports a batch taken with ``takeBatch(fullOnly:atMost:)``, counts the outcome and gives the
    /// export slot back.
    private func export(_ spans: [FinishedSpan], slot: AsyncSemaphore.Permit) async {
        defer { exportSlots.release(slot) }
        await exportBatch(spans.map { $0.converted() })
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

/// A counting semaphore that suspends rather than blocks, first come first served: it bounds the exports in flight.
///
/// Each permit handed out is numbered, so that ``waitForPermitsHeldNow()`` can wait for the exports in flight when
/// it is called without waiting for later ones (under a steady load there may never be a moment with none).
final class AsyncSemaphore: Sendable {
    /// A permit taken with ``acquire()``; give it back with ``release(_:)``.
    struct Permit: Sendable {
        fileprivate let number: UInt64
    }

    private struct State {
        var available: Int
        var nextNumber: UInt64 = 0
        var held: Set<UInt64> = []
        var waiters: [CheckedContinuation<Permit, Never>] = []
        /// Callers of `waitForPermitsHeldNow`, each with the permits it still waits for.
        var drainers: [(pending: Set<UInt64>, continuation: CheckedContinuation<Void, Never>)] = []

        mutating func take() -> Permit {
            nextNumber += 1
            held.insert(nextNumber)
            return Permit(number: nextNumber)
        }
    }

    private let state: Mutex<State>

    init(permits: Int) {
        state = Mutex(State(available: permits))
    }

    /// Takes a permit, waiting for one if none is free.
    func acquire() async -> Permit {
        await withCheckedContinuation { (continuation: CheckedContinuation<Permit, Never>) in
            let permit: Permit? = state.withLock { state in
                if state.available > 0, state.waiters.isEmpty {
                    state.available -= 1
                    return state.take()
                }
                state.waiters.append(continuation)
                return nil
            }
            if let permit { continuation.resume(returning: permit) }
        }
    }

    /// Gives a permit back, to the longest waiter if there is one.
    func release(_ permit: Permit) {
        let (next, drained) = state.withLock { state in
            state.held.remove(permit.number)
            var drained: [CheckedContinuation<Void, Never>] = []
            for index in state.drainers.indices { state.drainers[index].pending.remove(permit.number) }
            state.drainers.removeAll { drainer in
                guard drainer.pending.isEmpty else { return false }
                drained.append(drainer.continuation)
                return true
            }
            guard !state.waiters.isEmpty else {
                state.available += 1
                return ((CheckedContinuation<Permit, Never>, Permit)?.none, drained)
            }
            return ((state.waiters.removeFirst(), state.take()), drained)
        }
        if let (waiter, permit) = next { waiter.resume(returning: permit) }
        for continuation in drained { continuation.resume() }
    }

    /// Returns when every permit held at the call has been given back.
    func waitForPermitsHeldNow() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state in
                if state.held.isEmpty { return true }
                state.drainers.append((state.held, continuation))
                return false
            }
            if done { continuation.resume() }
        }
    }
}
