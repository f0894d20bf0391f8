public import CairnModel
public import Tracing

/// Decides, when a span starts, whether it is recorded and whether it is sampled (exported).
///
/// See [the OpenTelemetry Sampler](https://opentelemetry.io/docs/specs/otel/trace/sdk/#sampler). The built-in
/// samplers are ``AlwaysOnSampler``, ``AlwaysOffSampler``, ``TraceIDRatioSampler`` and ``ParentBasedSampler``;
/// ``ClosureSampler`` adapts a function. `shouldSample` runs on every span start: keep it fast and non-blocking.
public protocol Sampler: Sendable, CustomStringConvertible {
    /// The decision for a span about to start.
    func shouldSample(_ parameters: SamplingParameters) -> SamplingResult
}

/// What a sampler knows about the span about to start.
///
/// See [ShouldSample](https://opentelemetry.io/docs/specs/otel/trace/sdk/#shouldsample). Attributes and links are
/// not known yet: swift-distributed-tracing sets them after the span starts.
public struct SamplingParameters: Sendable {
    /// The service context the span starts in.
    public var context: ServiceContext
    /// The parent span's context, local or remote, or nil for a root span.
    public var parent: SpanContext?
    /// The trace id the span will have: the parent's, or a new one for a root span.
    public var traceID: TraceID
    /// The name the span starts with.
    public var operationName: String
    /// The span kind.
    public var kind: Tracing.SpanKind

    /// Parameters from their parts.
    public init(
        context: ServiceContext, parent: SpanContext?, traceID: TraceID, operationName: String, kind: Tracing.SpanKind
    ) {
        self.context = context
        self.parent = parent
        self.traceID = traceID
        self.operationName = operationName
        self.kind = kind
    }
}

/// Whether a span is recorded and sampled.
///
/// See [SamplingResult](https://opentelemetry.io/docs/specs/otel/trace/sdk/#shouldsample).
public enum SamplingDecision: Hashable, Sendable {
    /// Not recorded, not exported: the span costs nothing but its ids, which still propagate with flags `00`.
    case drop
    /// Recorded (processors see it) but not sampled, so exporters do not get it.
    case recordOnly
    /// Recorded and sampled: exported.
    case recordAndSample
}

/// A sampler's answer.
public struct SamplingResult: Sendable {
    /// Whether the span is recorded and sampled.
    public var decision: SamplingDecision
    /// Attributes to add to the span.
    public var attributes: SpanAttributes
    /// The trace state the span gets, or nil to keep the parent's.
    public var traceState: TraceState?

    /// A result; by default no attributes and the parent's trace state.
    public init(_ decision: SamplingDecision, attributes: SpanAttributes = [:], traceState: TraceState? = nil) {
        self.decision = decision
        self.attributes = attributes
        self.traceState = traceState
    }
}

/// A sampler from a function: the adapter for samplers that need no type of their own.
public struct ClosureSampler: Sampler {
    private let decide: @Sendable (SamplingParameters) -> SamplingResult
    /// The description given at creation.
    public let description: String

    /// A sampler that calls `decide`, described by `description` in logs.
    public init(description: String, _ decide: @escaping @Sendable (SamplingParameters) -> SamplingResult) {
        self.description = description
        self.decide = decide
    }

    /// Calls the function.
    public func shouldSample(_ parameters: SamplingParameters) -> SamplingResult {
        decide(parameters)
    }
}
