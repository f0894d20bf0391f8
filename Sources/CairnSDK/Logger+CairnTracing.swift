public import Logging
import Instrumentation
import CairnModel

extension Logger.MetadataProvider {
    /// Puts `trace_id` and `span_id` (lowercase hex, as W3C Trace Context writes them) on every record logged
    /// inside a span, so that logs and traces correlate.
    ///
    /// Follows [trace context in non-OTLP log formats](https://opentelemetry.io/docs/specs/otel/compatibility/logging_trace_context/).
    /// It reads the active span from `ServiceContext.current` (set by `withSpan`); outside any span, or where the
    /// context is only a caller's extracted `traceparent`, it adds nothing. Install it once, when logging is
    /// bootstrapped:
    ///
    /// ```swift
    /// LoggingSystem.bootstrap({ label, provider in StreamLogHandler.standardOutput(label: label, metadataProvider: provider) },
    ///                         metadataProvider: .cairnTracing)
    /// ```
    /// or per logger: `Logger(label: "shop", metadataProvider: .cairnTracing)`.
    public static let cairnTracing = Logger.MetadataProvider {
        guard let spanContext = ServiceContext.current?.spanContext, !spanContext.isRemote, spanContext.isValid else {
            return [:]
        }
        return [
            "trace_id": .string(spanContext.traceID.hex),
            "span_id": .string(spanContext.spanID.hex),
        ]
    }
}
