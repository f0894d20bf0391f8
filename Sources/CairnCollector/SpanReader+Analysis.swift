public import CairnAnalysis
import CairnModel
public import CairnStore

// The analyses of a time window, read from any store: what the query API and the CLI compute the same way.
extension SpanReader {
    /// The dependency graph of the spans that start in `window` (Unix nanoseconds).
    public func dependencyGraph(_ window: Range<UInt64>) async throws -> DependencyGraph {
        // The builder reads the links of CONSUMER spans, to find the PRODUCER spans they answer.
        let scan = SpanScan(window: window, attributeKeys: DependencyGraphBuilder.attributeKeys, includeLinks: true)
        return try await reduceSpans(scan, into: DependencyGraphBuilder()) { builder, span in
            builder.add(span)
        } merge: { builder, part in
            builder.merge(part)
        }.build()
    }

    /// The breakdown of every trace with a span that starts in `window` and meets `conditions` (its service,
    /// operation, attributes and status; its other fields are ignored), over the spans of those traces that start in
    /// the window.
    public func aggregateBreakdown(
        _ window: Range<UInt64>, conditions: TraceQuery, assembler: TraceAssembler = TraceAssembler()
    ) async throws -> AggregateBreakdown {
        var conditions = conditions
        conditions.startTimeMin = nil
        conditions.startTimeMax = nil
        conditions.durationMin = nil
        conditions.durationMax = nil
        // Breakdowns by service and operation read no span attribute but those of the conditions; the resource (for
        // clock skew) is kept whole.
        let scan = SpanScan(window: window, attributeKeys: Set(conditions.attributes.keys))
        let collected = try await reduceSpans(scan, into: TraceSpans()) { [conditions] collected, span in
            collected.spans[span.traceID, default: []].append(span)
            if conditions.matches(span) { collected.matching.insert(span.traceID) }
        } merge: { collected, part in
            collected.spans.merge(part.spans) { $0 + $1 }
            collected.matching.formUnion(part.matching)
        }
        var builder = AggregateBreakdownBuilder()
        for id in collected.matching.sorted() {
            builder.add(TraceBreakdown(assembler.assemble(Trace(traceID: id, spans: collected.spans[id] ?? []))))
        }
        return builder.build()
    }
}

/// The spans of a window by trace, and the traces that have a span the breakdown asks for.
private struct TraceSpans: Sendable {
    var spans: [TraceID: [Span]] = [:]
    var matching: Set<TraceID> = []
}
