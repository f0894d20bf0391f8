public import Instrumentation

/// Sees every recording span when it starts and when it ends: the hook between the tracer and export.
///
/// See [the OpenTelemetry SpanProcessor](https://opentelemetry.io/docs/specs/otel/trace/sdk/#span-processor).
/// `onStart` and `onEnd` run on the thread of the code that starts or ends the span: they must be fast and must
/// never wait for I/O (a batch processor only enqueues). Spans that are not recording (dropped by the sampler) reach
/// no processor. ``MultiSpanProcessor`` combines several.
public protocol SpanProcessor: Sendable {
    /// Called when a recording span starts; it may still be changed.
    func onStart(_ span: CairnSpan, parentContext: ServiceContext)
    /// Called once when a recording span ends; sampled or not, see ``FinishedSpan/isSampled``.
    func onEnd(_ span: FinishedSpan)
    /// Exports every span ended so far; returns when done.
    func forceFlush() async throws
    /// Flushes and stops; later spans are ignored.
    func shutdown() async throws
}

extension SpanProcessor {
    /// Does nothing.
    public func onStart(_ span: CairnSpan, parentContext: ServiceContext) {}
    /// Does nothing.
    public func forceFlush() async throws {}
    /// Does nothing.
    public func shutdown() async throws {}
}

/// Hands every span to several processors in order: the combinator of ``SpanProcessor``.
public struct MultiSpanProcessor: SpanProcessor {
    /// The processors, in the order they are called.
    public let processors: [any SpanProcessor]

    /// A processor that calls each of `processors` in order.
    public init(_ processors: [any SpanProcessor]) {
        self.processors = processors
    }

    /// Calls `onStart` of each processor.
    public func onStart(_ span: CairnSpan, parentContext: ServiceContext) {
        for processor in processors { processor.onStart(span, parentContext: parentContext) }
    }

    /// Calls `onEnd` of each processor.
    public func onEnd(_ span: FinishedSpan) {
        for processor in processors { processor.onEnd(span) }
    }

    /// Flushes each processor in turn.
    public func forceFlush() async throws {
        for processor in processors { try await processor.forceFlush() }
    }

    /// Shuts each processor down in turn.
    public func shutdown() async throws {
        for processor in processors { try await processor.shutdown() }
    }
}
