public import CairnModel

/// An export request decoded into what a store writes, with the spans that could not be kept.
///
/// See [OTLP partial success](https://opentelemetry.io/docs/specs/otlp/#partial-success-1).
public struct DecodedRequest: Sendable {
    /// The spans that were kept.
    public var batch: SpanBatch
    /// How many spans were rejected, for `ExportTracePartialSuccess.rejected_spans`.
    public var rejectedSpans: Int
    /// Why the first rejected span was rejected, for `ExportTracePartialSuccess.error_message`; empty when none was.
    public var errorMessage: String

    public init(batch: SpanBatch, rejectedSpans: Int = 0, errorMessage: String = "") {
        self.batch = batch
        self.rejectedSpans = rejectedSpans
        self.errorMessage = errorMessage
    }
}

/// Why a span of a request is not kept. Both decoders apply the same rules.
public enum SpanRejection: Sendable, Hashable, CustomStringConvertible {
    case invalidTraceID
    case invalidSpanID
    case invalidParentSpanID
    case missingName

    public var description: String {
        switch self {
        case .invalidTraceID: "a span's trace_id is not 16 bytes or is all zero"
        case .invalidSpanID: "a span's span_id is not 8 bytes or is all zero"
        case .invalidParentSpanID: "a span's parent_span_id is neither empty nor 8 bytes"
        case .missingName: "a span has no name"
        }
    }
}

extension DecodedRequest {
    /// Counts a rejected span, keeping the first reason as the error message.
    public mutating func reject(_ reason: SpanRejection) {
        if rejectedSpans == 0 { errorMessage = reason.description }
        rejectedSpans += 1
    }
}
