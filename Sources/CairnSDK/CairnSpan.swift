public import Tracing

/// The span that ``CairnTracer`` starts: a swift-distributed-tracing `Span`.
///
/// See [the OpenTelemetry Span](https://opentelemetry.io/docs/specs/otel/trace/api/#span) and
/// [the SDK span](https://opentelemetry.io/docs/specs/otel/trace/sdk/#additional-span-interfaces). A value type: a
/// span that is not recording (dropped by the sampler) allocates nothing and ignores every change; a recording span
/// shares one storage object among its copies. Every method may be called from any thread. A span ends once;
/// a second `end` and any change after the end are ignored.
public struct CairnSpan: Tracing.Span {
    let storage: SpanStorage?
    /// The span's ids, flags and trace state.
    public let spanContext: SpanContext
    let parentContext: ServiceContext
    let initialName: String

    init(storage: SpanStorage?, spanContext: SpanContext, parentContext: ServiceContext, name: String) {
        self.storage = storage
        self.spanContext = spanContext
        self.parentContext = parentContext
        self.initialName = name
    }

    /// The service context the span started in, with this span as the active span: pass it to child work.
    ///
    /// A recording span's context holds its storage (see `SpanContextHolder`), as OpenTelemetry's other SDKs hold
    /// the span in their context: what the span recorded stays in memory while a child context does.
    public var context: ServiceContext {
        var context = parentContext
        context[SpanContextKey.self] = storage ?? SpanContextHolder(spanContext)
        return context
    }

    /// The span's name; it can change until the span ends.
    public var operationName: String {
        get { storage?.withLock { $0.name } ?? initialName }
        nonmutating set {
            storage?.withLock { state in
                if !state.ended { state.name = newValue }
            }
        }
    }

    /// The span's attributes; changes past the attribute limit are dropped and counted.
    ///
    /// `span.attributes["key"] = value` changes the attributes in place, without copying them.
    public var attributes: SpanAttributes {
        get { storage?.withLock { $0.attributes } ?? SpanAttributes() }
        nonmutating set { storage?.replaceAttributes(newValue) }
        nonmutating _modify {
            // One coroutine with a small frame: a nested `_modify` would allocate its frame on every call.
            if let storage {
                storage.lock()
                defer { storage.unlock() }
                if storage.state.ended {
                    var scratch = SpanAttributes()
                    yield &scratch
                } else {
                    let before = storage.prepareAttributeChange()
                    yield &storage.state.attributes
                    storage.finishAttributeChange(before: before)
                }
            } else {
                let scratch = ScratchAttributes.current
                if scratch.pointee.isLent {
                    var fresh = SpanAttributes()
                    yield &fresh
                } else {
                    scratch.pointee.isLent = true
                    defer {
                        scratch.pointee.clear()
                        scratch.pointee.isLent = false
                    }
                    yield &scratch.pointee.attributes
                }
            }
        }
    }

    /// Whether the span records changes: sampled (or recorded only) and not yet ended.
    public var isRecording: Bool {
        guard let storage else { return false }
        return storage.withLock { !$0.ended }
    }

    /// Sets the status: once `ok` it stays `ok`, and a message is kept only with `error`
    /// ([Set Status](https://opentelemetry.io/docs/specs/otel/trace/api/#set-status)).
    public func setStatus(_ status: Tracing.SpanStatus) {
        storage?.setStatus(status)
    }

    /// Adds an event; past the event limit it is dropped and counted.
    public func addEvent(_ event: Tracing.SpanEvent) {
        storage?.addEvent(name: event.name, nanos: event.nanosecondsSinceEpoch, attributes: event.attributes)
    }

    /// Records an error as an `exception` event with `exception.type` and `exception.message`, as the
    /// [exception semantic conventions](https://opentelemetry.io/docs/specs/semconv/exceptions/exceptions-spans/)
    /// say; `attributes` are added and win on conflict. It does not set the status.
    public func recordError<Instant: TracerInstant>(
        _ error: any Error, attributes: SpanAttributes, at instant: @autoclosure () -> Instant
    ) {
        guard let storage else { return }
        var eventAttributes: SpanAttributes = [
            "exception.type": .string(String(reflecting: type(of: error))),
            "exception.message": .string(String(describing: error)),
        ]
        eventAttributes.merge(attributes)
        storage.addEvent(name: "exception", nanos: instant().nanosecondsSinceEpoch, attributes: eventAttributes)
    }

    /// Links another span by the span context in `link.context`; a link without one is ignored.
    public func addLink(_ link: Tracing.SpanLink) {
        guard let storage, let linked = link.context.spanContext else { return }
        storage.addLink(linked, attributes: link.attributes)
    }

    /// Ends the span and hands it to the processor; only the first call counts.
    public func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {
        guard let storage, storage.end(nanos: instant().nanosecondsSinceEpoch) else { return }
        storage.tracer.processor.onEnd(FinishedSpan(storage: storage))
    }
}
