/// Why an export failed, in words for the user; `description` says what happened and what to do.
///
/// See [OTLP/HTTP failures](https://opentelemetry.io/docs/specs/otlp/#failures-1).
public struct OTLPExportError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure it is.
    public enum Reason: Sendable, Equatable {
        /// The collector answered with a status that is not retried (400, 401, 413...).
        case rejected(status: Int)
        /// Every attempt failed with a retryable status or a connection failure, until the time was up.
        case retriesExhausted(attempts: Int)
        /// The exporter has shut down.
        case shutDown
        /// The endpoint is not an `http` or `https` URL.
        case invalidEndpoint
        /// The body could not be compressed.
        case compressionFailed
    }

    /// What kind of failure it is.
    public let reason: Reason
    /// What happened and what to do, in one sentence.
    public let description: String

    init(_ reason: Reason, _ description: String) {
        self.reason = reason
        self.description = description
    }
}
