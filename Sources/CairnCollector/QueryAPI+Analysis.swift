import CairnAnalysis
import CairnModel
import CairnStore
import Hummingbird

// Cairn's own endpoints: the analyses of CairnAnalysis, in their JSON (docs/analysis.md, docs/dependencies.md)
// inside Jaeger's envelope, or a dependency graph as DOT or Mermaid text.
extension QueryAPI {
    /// The default time range of `/api/breakdown`: the last hour.
    static let breakdownLookback: UInt64 = 3_600_000_000_000

    /// Adds Cairn's analysis endpoints to the router.
    func addAnalysisRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.get("/api/traces/:traceID/breakdown") { request, context in
            await answer(context.logger) {
                try await traceBreakdown(try pathParameter("traceID", context), Parameters(request.uri))
            }
        }
        router.get("/api/traces/:traceID/critical-path") { request, context in
            await answer(context.logger) {
                try await criticalPath(try pathParameter("traceID", context), Parameters(request.uri))
            }
        }
        router.get("/api/breakdown") { request, context in
            await answer(context.logger) { try await aggregateBreakdown(Parameters(request.uri)) }
        }
        router.get("/api/dependencies/graph") { request, context in
            await answer(context.logger) { try await graph(Parameters(request.uri)) }
        }
    }

    /// `/api/traces/{traceID}/breakdown?attribute=&raw=`: the trace's breakdown by service and operation (and by
    /// each `attribute` key given), with its critical path.
    func traceBreakdown(_ idText: String, _ parameters: Parameters) async throws -> Reply {
        let breakdown = try await breakdown(idText, parameters)
        return Self.envelope(breakdown.json(attributeKeys: parameters.all("attribute")))
    }

    /// `/api/traces/{traceID}/critical-path?raw=`: the trace's critical path, with its time per service and
    /// operation.
    func criticalPath(_ idText: String, _ parameters: Parameters) async throws -> Reply {
        Self.envelope(try await breakdown(idText, parameters).criticalPathJSON())
    }

    private func breakdown(_ idText: String, _ parameters: Parameters) async throws -> TraceBreakdown {
        let id = try Self.traceID(idText)
        let raw = try parameters.flag("raw")
        guard let trace = try await reader.trace(id) else { throw Failure.traceNotFound }
        return TraceBreakdown(tree(trace, raw: raw))
    }

    /// `/api/breakdown?service=&operation=&tags=&start=&end=&lookback=`: the breakdown of every trace with a span
    /// that matches the service, operation and tags and starts in the range (default: the last hour), over the
    /// spans that start in it.
    func aggregateBreakdown(_ parameters: Parameters) async throws -> Reply {
        var conditions = try spanConditions(parameters)
        conditions.service = parameters.string("service")
        let window = try window(parameters, defaultLookback: Self.breakdownLookback)
        return Self.envelope(try await reader.aggregateBreakdown(window, conditions: conditions, assembler: assembler).json())
    }

    /// `/api/dependencies/graph?format=&start=&end=&lookback=&service=`: the dependency graph of the spans that
    /// start in the range (default: the last day), focused on the service if one is given, as JSON (in the
    /// envelope), DOT or Mermaid.
    func graph(_ parameters: Parameters) async throws -> Reply {
        let format = parameters.string("format")?.lowercased() ?? "json"
        guard ["json", "dot", "mermaid"].contains(format) else {
            throw Failure.badRequest("parameter 'format' is '\(format)'; give json, dot or mermaid")
        }
        let window = try window(parameters, defaultLookback: Self.dependenciesLookback)
        var graph = try await reader.dependencyGraph(window)
        if let service = parameters.string("service") { graph = graph.focused(on: service) }
        switch format {
        case "dot": return Reply(Array(graph.dot().utf8), contentType: "text/vnd.graphviz; charset=utf-8")
        case "mermaid": return Reply(Array(graph.mermaid().utf8), contentType: "text/plain; charset=utf-8")
        default: return Self.envelope(graph.json())
        }
    }

    /// The range of `start` and `end` (Unix microseconds, both inclusive; default: `defaultLookback` up to now) as a
    /// window of span starts.
    private func window(_ parameters: Parameters, defaultLookback: UInt64) throws(Failure) -> Range<UInt64> {
        let now = now()
        let range = try parameters.timeRange(now: now, defaultLookback: defaultLookback)
        let end = range.end ?? now
        let start = range.start ?? end - min(end, defaultLookback)
        guard start <= end else {
            throw .badRequest("parameter 'start' (\(start / 1_000)) is after the end of the range (\(end / 1_000)); both are Unix times in microseconds, give a start before the end")
        }
        return start..<(end == .max ? end : end + 1)
    }

    /// An analysis's JSON as the `data` of the envelope.
    private static func envelope(_ json: String) -> Reply {
        Reply(JaegerJSON.envelope(total: 1, capacity: json.utf8.count + 64) { writer in
            writer.bytes.append(contentsOf: json.utf8)
        })
    }
}
