/// Why the ingest queue did not commit a batch; each case maps to an OTLP/HTTP retryable status.
///
/// See [OTLP/HTTP throttling](https://opentelemetry.io/docs/specs/otlp/#otlphttp-throttling) and
/// [retryable response codes](https://opentelemetry.io/docs/specs/otlp/#retryable-response-codes).
public enum IngestError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Accepting the batch would exceed the queue's bounds; the client should retry later (429).
    case full
    /// The collector is shutting down and accepts nothing more (503).
    case shuttingDown
    /// The store failed to commit the batch; nothing of it was stored (503).
    case storeFailed(String)

    /// The reason as metrics label it: `queue_full`, `shutting_down` or `store_failed`.
    public var reason: String {
        switch self {
        case .full: "queue_full"
        case .shuttingDown: "shutting_down"
        case .storeFailed: "store_failed"
        }
    }

    /// Every `reason`.
    static let reasons = ["queue_full", "shutting_down", "store_failed"]

    /// One sentence saying what happened and what to do.
    public var description: String {
        switch self {
        case .full:
            "the collector's ingest queue is full; retry after the delay in Retry-After"
        case .shuttingDown:
            "the collector is shutting down; retry after the delay in Retry-After, against another collector if there is one"
        case .storeFailed(let message):
            "the store could not commit the spans (\(message)); retry after the delay in Retry-After"
        }
    }
}
