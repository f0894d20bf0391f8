public import Instrumentation

extension CairnTracer {
    /// Reads W3C `traceparent`, `tracestate` and `baggage` from a carrier into `context`.
    ///
    /// See [W3C Trace Context, processing model](https://www.w3.org/TR/trace-context/#processing-model) and
    /// [W3C Baggage](https://www.w3.org/TR/baggage/). A valid `traceparent` becomes a remote
    /// ``ServiceContext/spanContext``, so the next span continues the caller's trace; an invalid one is ignored
    /// (the next span starts a new trace) and so is `tracestate` with it. An invalid `tracestate` is dropped
    /// without dropping the `traceparent`. A carrier that holds a header several times should join the values with
    /// `,`.
    public func extract<Carrier, Extract: Extractor>(
        _ carrier: Carrier, into context: inout ServiceContext, using extractor: Extract
    ) where Extract.Carrier == Carrier {
        if let header = extractor.extract(key: "traceparent", from: carrier),
            let traceParent = TraceParent(header: header)
        {
            let traceState = extractor.extract(key: "tracestate", from: carrier).flatMap(TraceState.init(header:))
            context.spanContext = SpanContext(
                traceID: traceParent.traceID, spanID: traceParent.parentID, traceFlags: traceParent.traceFlags,
                traceState: traceState ?? TraceState(), isRemote: true)
        }
        if let header = extractor.extract(key: "baggage", from: carrier) {
            let baggage = Baggage(header: header)
            if !baggage.isEmpty { context.baggage = baggage }
        }
    }

    /// Writes the active span context as W3C `traceparent` (version `00`) and `tracestate`, and the baggage as
    /// `baggage`; writes nothing for what the context lacks.
    public func inject<Carrier, Inject: Injector>(
        _ context: ServiceContext, into carrier: inout Carrier, using injector: Inject
    ) where Inject.Carrier == Carrier {
        if let spanContext = context.spanContext, spanContext.isValid {
            let traceParent = TraceParent(
                traceID: spanContext.traceID, parentID: spanContext.spanID, traceFlags: spanContext.traceFlags)
            injector.inject(traceParent.header, forKey: "traceparent", into: &carrier)
            if !spanContext.traceState.isEmpty {
                injector.inject(spanContext.traceState.header, forKey: "tracestate", into: &carrier)
            }
        }
        if let baggage = context.baggage, !baggage.isEmpty {
            let header = baggage.header
            if !header.isEmpty { injector.inject(header, forKey: "baggage", into: &carrier) }
        }
    }
}
