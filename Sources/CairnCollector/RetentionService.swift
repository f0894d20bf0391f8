public import CairnModel
public import CairnStore
public import Logging
public import ServiceLifecycle
import Synchronization

/// Deletes spans older than the retention period in the background (`cairn serve --retention 7d`), so that a store
/// under a steady load stops growing.
///
/// Run it as a ServiceLifecycle `Service`. Every `interval`, a round deletes everything that ended before now minus
/// `retention`, in batches of at most `maxSpansPerBatch` spans (whole blocks, see `SpanRetention`), each batch one
/// short transaction with a yield between them, so that the ingest queue's commits, which share the store's one
/// writer, interleave; then it reclaims the space. A round that fails is logged and retried at the next one. On
/// graceful shutdown (or cancellation) it stops at once: a batch cut short rolls back whole.
public final class RetentionService: Service, Sendable {
    /// What the metrics and health checks read of the service.
    public struct Status: Sendable, Equatable {
        /// Spans deleted since the service started.
        public var deletedSpansTotal: Int
        /// When the last round finished, successfully or not, in nanoseconds since the Unix epoch (`now`); nil before
        /// the first.
        public var lastRunAt: UInt64?
        /// Why the last round failed; nil when it succeeded, or before any.
        public var lastError: String?
    }

    private let store: any SpanRetention
    private let retention: UInt64
    private let interval: Duration
    private let maxSpansPerBatch: Int
    private let clock: any Clock<Duration>
    private let now: @Sendable () -> UInt64
    private let logger: Logger
    private let state = Mutex(Status(deletedSpansTotal: 0))

    /// A service that keeps `retention` of spans in `store`.
    /// - Parameters:
    ///   - retention: how long spans are kept after they end.
    ///   - interval: the pause after each round; 60 seconds by default.
    ///   - maxSpansPerBatch: the most spans one transaction deletes (but always one whole block); 5,000 by default,
    ///     10 to 35 ms on a SQLite store of 1 million spans, during which a commit of the ingest queue waits.
    ///   - clock: what the service sleeps on between rounds, and measures rounds with.
    ///   - now: the time now, in Unix nanoseconds; the system's clock by default.
    public init(
        store: any SpanRetention, retention: Duration, interval: Duration = .seconds(60), maxSpansPerBatch: Int = 5_000,
        clock: any Clock<Duration> = ContinuousClock(), now: @escaping @Sendable () -> UInt64 = unixNanosNow,
        logger: Logger = Logger(label: "cairn.retention")
    ) {
        self.store = store
        let (seconds, attoseconds) = retention.components
        let nanoseconds = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        self.retention = seconds < 0
            ? 0 : nanoseconds.overflow ? .max : UInt64(nanoseconds.partialValue) + UInt64(attoseconds / 1_000_000_000)
        self.interval = interval
        self.maxSpansPerBatch = max(1, maxSpansPerBatch)
        self.clock = clock
        self.now = now
        self.logger = logger
    }

    /// The service's counters now.
    public var status: Status {
        state.withLock { $0 }
    }

    /// Runs a round, then sleeps `interval`, until graceful shutdown or cancellation.
    public func run() async {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.round()
                do { try await self.clock.sleep(for: self.interval) } catch { return }
            }
        }
    }

    /// Deletes every span that ended before now minus the retention, batch by batch, then reclaims the space.
    func round() async {
        let cutoff = now().subtractingReportingOverflow(retention)
        var deleted = 0
        var failure: (any Error)?
        let elapsed = await measure(clock) {
            guard !cutoff.overflow else { return }
            do {
                while true {
                    let spans = try await store.deleteSpans(endingBefore: cutoff.partialValue, maxSpans: maxSpansPerBatch)
                    if spans == 0 { break }
                    deleted += spans
                    state.withLock { $0.deletedSpansTotal += spans }
                    try Task.checkCancellation()
                    await Task.yield()
                }
                try await store.reclaimSpace()
            } catch {
                failure = error
            }
        }
        if failure != nil && Task.isCancelled { return }  // shutting down: the batch rolled back
        state.withLock {
            $0.lastRunAt = now()
            $0.lastError = failure.map { String(describing: $0) }
        }
        var metadata: Logger.Metadata = [
            "deleted_spans": "\(deleted)", "elapsed": "\(elapsed)",
            "cutoff": "\(formatRFC3339(unixNanos: cutoff.overflow ? 0 : cutoff.partialValue, fractionDigits: 0))",
        ]
        if let failure {
            metadata["error"] = "\(failure)"
            logger.error("retention could not delete old spans; retrying at the next round", metadata: metadata)
        } else if deleted > 0 {
            logger.info("retention deleted old spans", metadata: metadata)
        } else {
            logger.debug("retention found no old spans", metadata: metadata)
        }
    }

    /// How long `body` takes on `clock` (a function of its own, to open the existential clock).
    private func measure<C: Clock<Duration>>(_ clock: C, _ body: () async -> Void) async -> Duration {
        let start = clock.now
        await body()
        return start.duration(to: clock.now)
    }
}
