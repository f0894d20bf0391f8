public import CairnModel
public import Tracing

/// The tracer of CairnSDK: a swift-distributed-tracing `Tracer` that samples, records and hands finished spans to a
/// ``SpanProcessor``.
///
/// See [the OpenTelemetry tracing SDK](https://opentelemetry.io/docs/specs/otel/trace/sdk/#tracer) and
/// [swift-distributed-tracing](https://github.com/apple/swift-distributed-tracing). A child span takes its trace id
/// and parent from ``ServiceContext/spanContext``: the active span, or a caller's context that
/// ``extract(_:into:using:)`` read from W3C `traceparent`. Bootstrap it with
/// `InstrumentationSystem.bootstrap(tracer)` so that `withSpan` and instrumented libraries use it.
public final class CairnTracer: Tracer, Sendable {
    /// The span this tracer starts.
    public typealias Span = CairnSpan

    /// The configuration the tracer was made with.
    public let configuration: Configuration
    /// The resource every span carries.
    public let resource: CairnModel.Resource
    /// The instrumentation scope every span carries.
    public let scope: InstrumentationScope
    let processor: any SpanProcessor
    let sampler: SamplerPlan
    let limits: SpanLimits
    let ids: IDGenerator

    /// A tracer with `configuration` as given (apply `OTEL_*` variables first with
    /// ``Configuration/applyingEnvironment(_:logger:)``) that hands spans to `processor`.
    public init(configuration: Configuration = Configuration(), processor: any SpanProcessor) {
        self.configuration = configuration
        self.resource = configuration.resource()
        self.scope = configuration.instrumentationScope
        self.processor = processor
        self.sampler = SamplerPlan(configuration.sampler)
        self.limits = configuration.spanLimits
        self.ids = IDGenerator()
    }

    /// Starts a span, the child of the span context in `context` if there is one.
    ///
    /// The sampler decides first; a dropped span reads no clock and allocates nothing.
    public func startSpan<Instant: TracerInstant>(
        _ operationName: String,
        context: @autoclosure () -> ServiceContext,
        ofKind kind: Tracing.SpanKind,
        at instant: @autoclosure () -> Instant,
        function: String,
        file fileID: String,
        line: UInt
    ) -> CairnSpan {
        let parentContext = context()
        var parent = parentContext.isEmpty ? nil : parentContext.spanContext
        if let candidate = parent, !candidate.isValid { parent = nil }
        let traceID: TraceID
        let spanID: SpanID
        if let parent {
            traceID = parent.traceID
            spanID = ids.nextSpanID()
        } else {
            (traceID, spanID) = ids.nextTraceAndSpanID()
        }
        let decision: SamplingDecision
        var attributes = SpanAttributes()
        var traceState = parent?.traceState
        switch sampler.outcome(parent: parent, traceID: traceID) {
        case .decided(let made):
            decision = made
        case .ask(let custom):
            let result = custom.shouldSample(
                SamplingParameters(
                    context: parentContext, parent: parent, traceID: traceID, operationName: operationName, kind: kind))
            decision = result.decision
            attributes = result.attributes
            if let changed = result.traceState { traceState = changed }
        }
        let spanContext = SpanContext(
            traceID: traceID, spanID: spanID, traceFlags: decision == .recordAndSample ? .sampled : [],
            traceState: traceState ?? TraceState())
        guard decision != .drop else {
            return CairnSpan(storage: nil, spanContext: spanContext, parentContext: parentContext, name: operationName)
        }
        let storage = SpanStorage(
            tracer: self, spanContext: spanContext, parentSpanID: parent?.spanID,
            parentIsRemote: parent?.isRemote ?? false, kind: kind, startNanos: instant().nanosecondsSinceEpoch,
            name: operationName, attributes: attributes)
        let span = CairnSpan(storage: storage, spanContext: spanContext, parentContext: parentContext, name: operationName)
        processor.onStart(span, parentContext: parentContext)
        return span
    }

    /// Asks the processor to export every finished span, without waiting; prefer ``flush()``.
    public func forceFlush() {
        let processor = self.processor
        Task { try? await processor.forceFlush() }
    }

    /// Exports every finished span and returns when the processor is done.
    public func flush() async throws {
        try await processor.forceFlush()
    }

    /// Flushes and shuts the processor down; spans started afterwards are not exported.
    public func shutdown() async throws {
        try await processor.shutdown()
    }
}
