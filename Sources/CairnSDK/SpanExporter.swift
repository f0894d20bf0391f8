public import CairnModel

/// Sends finished spans somewhere: the OTLP/HTTP exporter, a file, memory.
///
/// See [the OpenTelemetry SpanExporter](https://opentelemetry.io/docs/specs/otel/trace/sdk/#span-exporter). A
/// processor calls `export` with one batch at a time, never concurrently, and never on the thread that ended the
/// spans (unless the exporter allows concurrent exports, as ``OTLPHTTPExporter`` does). Each span carries its
/// resource and instrumentation scope.
public protocol SpanExporter: Sendable {
    /// Exports a batch; throws when the batch could not be delivered.
    func export(_ batch: [CairnModel.Span]) async throws
    /// Delivers anything the exporter buffers.
    func forceFlush() async throws
    /// Releases the exporter's resources; later exports fail.
    func shutdown() async
}

extension SpanExporter {
    /// Does nothing.
    public func forceFlush() async throws {}
    /// Does nothing.
    public func shutdown() async {}
}

/// An exporter from a function: the adapter for exporters that need no type of their own.
public struct ClosureSpanExporter: SpanExporter {
    private let body: @Sendable ([CairnModel.Span]) async throws -> Void

    /// An exporter that calls `body` with each batch.
    public init(_ body: @escaping @Sendable ([CairnModel.Span]) async throws -> Void) {
        self.body = body
    }

    /// Calls the function with the batch.
    public func export(_ batch: [CairnModel.Span]) async throws {
        try await body(batch)
    }
}

/// An exporter whose `export` may run several times at once: ``BatchSpanProcessor`` then keeps up to
/// ``maxConcurrentExports`` batches in flight instead of one.
///
/// The specification lets an exporter be called again while an earlier export is still in progress when it reports
/// results asynchronously ([Export](https://opentelemetry.io/docs/specs/otel/trace/sdk/#exportbatch)); in Swift an
/// exporter declares it with this protocol. Internal until an exporter outside the SDK needs it.
protocol ConcurrentSpanExporter: SpanExporter {
    /// How many exports may be in flight at once; at least 1.
    var maxConcurrentExports: Int { get }
}
