/// The spans of one trace, as read from a store, in no particular order.
public struct Trace: Hashable, Sendable {
    public var traceID: TraceID
    public var spans: [Span]

    public init(traceID: TraceID, spans: [Span]) {
        self.traceID = traceID
        self.spans = spans
    }
}
