public import CairnModel
public import Instrumentation

/// The part of a span that crosses process boundaries: its ids, trace flags and trace state.
///
/// See [W3C Trace Context](https://www.w3.org/TR/trace-context/) and
/// [the OpenTelemetry SpanContext](https://opentelemetry.io/docs/specs/otel/trace/api/#spancontext).
/// A `ServiceContext` carries the active span's context under ``ServiceContext/spanContext``.
public struct SpanContext: Hashable, Sendable {
    /// The trace this span belongs to.
    public var traceID: TraceID
    /// This span's id (for an extracted context, the remote caller's span: the W3C `parent-id`).
    public var spanID: SpanID
    /// The W3C trace flags.
    public var traceFlags: TraceFlags
    /// The W3C `tracestate`, carried unchanged unless a sampler changes it.
    public var traceState: TraceState
    /// Whether the context was extracted from another process.
    public var isRemote: Bool

    /// A context from its parts.
    public init(
        traceID: TraceID, spanID: SpanID, traceFlags: TraceFlags = [], traceState: TraceState = TraceState(),
        isRemote: Bool = false
    ) {
        self.traceID = traceID
        self.spanID = spanID
        self.traceFlags = traceFlags
        self.traceState = traceState
        self.isRemote = isRemote
    }

    /// Whether the trace flags say the trace is sampled.
    @inlinable
    public var isSampled: Bool { traceFlags.contains(.sampled) }

    /// Whether neither id is all zeros, as the specification requires of a usable context.
    @inlinable
    public var isValid: Bool { traceID.isValid && spanID.isValid }
}

/// The W3C `trace-flags` byte.
///
/// See [W3C Trace Context, trace-flags](https://www.w3.org/TR/trace-context/#trace-flags). Only the sampled bit is
/// defined at level 1; the tracer writes the other bits as zero.
public struct TraceFlags: OptionSet, Hashable, Sendable {
    /// The flags byte.
    public var rawValue: UInt8

    /// Flags from their byte.
    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    /// The caller may have recorded the trace ([sampled flag](https://www.w3.org/TR/trace-context/#sampled-flag)).
    public static let sampled = TraceFlags(rawValue: 0x01)
}

/// What a `ServiceContext` holds under ``ServiceContext/spanContext``: an object rather than the span context itself.
/// `ServiceContext` keeps its values as `Any`, which holds three words inline and boxes anything larger in an
/// allocation of its own each time the value is set; a span context is five. A recording span's storage is such an
/// object already, so making its child context allocates nothing more than the context's own dictionary.
class SpanContextHolder: @unchecked Sendable {
    let spanContext: SpanContext

    init(_ spanContext: SpanContext) {
        self.spanContext = spanContext
    }
}

enum SpanContextKey: ServiceContextKey {
    typealias Value = SpanContextHolder
    static var nameOverride: String? { "span-context" }
}

extension ServiceContext {
    /// The context of the active span, or of the remote caller after `extract`; nil when there is none.
    ///
    /// A span started with this service context becomes its child.
    public var spanContext: SpanContext? {
        get { self[SpanContextKey.self]?.spanContext }
        set { self[SpanContextKey.self] = newValue.map(SpanContextHolder.init) }
    }
}
