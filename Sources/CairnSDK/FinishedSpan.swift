public import CairnModel

/// A span that has ended, as processors receive it: a reference to the span's storage, which no longer changes.
///
/// Handing it over costs no copy and no allocation; ``converted()`` builds the exported `CairnModel.Span`, off the
/// thread that ended the span when a batch processor calls it from its export task.
public struct FinishedSpan: Sendable {
    let storage: SpanStorage

    init(storage: SpanStorage) {
        self.storage = storage
    }

    /// The span's ids, flags and trace state.
    public var spanContext: SpanContext { storage.spanContext }

    /// Whether the span is sampled, so exporters should get it (a `recordOnly` span is not).
    public var isSampled: Bool { storage.spanContext.isSampled }

    /// The span's final name.
    public var name: String { storage.withLock { $0.name } }

    /// The span as exported, with its resource and instrumentation scope, limits applied.
    public func converted() -> CairnModel.Span {
        let state = storage.withLock { $0 }
        let tracer = storage.tracer
        let lengthLimit = tracer.limits.attributeValueLengthLimit
        var flags = UInt32(storage.spanContext.traceFlags.rawValue) | Self.contextHasIsRemote
        if storage.parentIsRemote { flags |= Self.contextIsRemote }
        return CairnModel.Span(
            traceID: storage.spanContext.traceID,
            spanID: storage.spanContext.spanID,
            parentSpanID: storage.parentSpanID,
            traceState: storage.spanContext.traceState.header,
            flags: flags,
            name: state.name,
            kind: CairnModel.SpanKind(storage.kind),
            startTimeUnixNano: storage.startNanos,
            endTimeUnixNano: state.endNanos,
            attributes: state.attributes.modelAttributes(lengthLimit: lengthLimit),
            droppedAttributesCount: state.droppedAttributes,
            events: state.events.map { event in
                SpanEvent(
                    timeUnixNano: event.nanos, name: event.name,
                    attributes: event.attributes.modelAttributes(lengthLimit: lengthLimit),
                    droppedAttributesCount: event.droppedAttributes)
            },
            droppedEventsCount: state.droppedEvents,
            links: state.links.map { link in
                SpanLink(
                    traceID: link.context.traceID, spanID: link.context.spanID,
                    traceState: link.context.traceState.header,
                    attributes: link.attributes.modelAttributes(lengthLimit: lengthLimit),
                    droppedAttributesCount: link.droppedAttributes,
                    flags: UInt32(link.context.traceFlags.rawValue) | Self.contextHasIsRemote
                        | (link.context.isRemote ? Self.contextIsRemote : 0))
            },
            droppedLinksCount: state.droppedLinks,
            status: CairnModel.SpanStatus(state.status),
            resource: tracer.resource,
            scope: tracer.scope)
    }

    /// OTLP `SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK`.
    static let contextHasIsRemote: UInt32 = 0x100
    /// OTLP `SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK`.
    static let contextIsRemote: UInt32 = 0x200
}
