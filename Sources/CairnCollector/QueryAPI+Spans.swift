import CairnModel
import CairnOTLP
import CairnStore
import HTTPTypes
import Hummingbird
import HummingbirdCore

// Cairn's reader endpoints: the spans of the store as they were received (OTLP), and the ids of a search, so that a
// client (`cairn --server`) reads a collector as it reads a store and computes the same results.
extension QueryAPI {
    /// The media type of OTLP protobuf.
    static let protobufMediaType = "application/x-protobuf"

    /// Adds the reader endpoints to the router.
    func addSpanRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.get("/api/traces/:traceID/otlp") { request, context in
            await answer(context.logger) {
                try await otlpTrace(try pathParameter("traceID", context), accept: request.headers[.accept])
            }
        }
        router.get("/api/trace-ids") { request, context in
            await answer(context.logger) { try await traceIDs(Parameters(request.uri)) }
        }
        router.get("/api/spans") { request, context in
            await answer(context.logger) { try await spans(Parameters(request.uri), uri: request.uri) }
        }
    }

    /// `/api/traces/{traceID}/otlp`: every stored span of the trace as one `ExportTraceServiceRequest`, in
    /// protobuf when `Accept` asks for `application/x-protobuf`, in OTLP/JSON otherwise; 404 when none is stored.
    func otlpTrace(_ idText: String, accept: String?) async throws -> Reply {
        let id = try Self.traceID(idText)
        guard let trace = try await reader.trace(id) else { throw Failure.traceNotFound }
        if Self.accepts(accept, Self.protobufMediaType) {
            return Reply(OTLPProtobuf.encodeRequest(trace.spans), contentType: Self.protobufMediaType)
        }
        return Reply(OTLPJSON.encodeRequest(trace.spans), contentType: JaegerJSON.mediaType)
    }

    /// `/api/trace-ids?service=&operation=&tags=&tag=&status=&minDuration=&maxDuration=&start=&end=&startNanos=&endNanos=&limit=`:
    /// the ids of the traces a search finds, newest first, as hex strings in the envelope's `data`.
    func traceIDs(_ parameters: Parameters) async throws -> Reply {
        let ids = try await reader.findTraceIDs(try traceIDQuery(parameters))
        return Reply(JaegerJSON.strings(ids.map(\.hex)))
    }

    /// The store's query of `/api/trace-ids`: the parameters of `/api/traces`, with the service optional, `status`,
    /// exact bounds in nanoseconds, and no largest `limit`.
    func traceIDQuery(_ parameters: Parameters) throws(Failure) -> TraceQuery {
        var query = try spanConditions(parameters)
        query.service = parameters.string("service")
        query.limit = try parameters.positiveInteger("limit", default: 20, maximum: .max)
        query.durationMin = try parameters.duration("minDuration")
        query.durationMax = try parameters.duration("maxDuration")
        if let min = query.durationMin, let max = query.durationMax, min > max {
            throw .badRequest("parameter 'minDuration' is longer than 'maxDuration'; give a minimum no longer than the maximum")
        }
        let range = try parameters.timeRange(now: now(), defaultLookback: nil)
        query.startTimeMin = try Self.nanos(parameters, "startNanos") ?? range.start
        query.startTimeMax = try Self.nanos(parameters, "endNanos") ?? range.end
        if let start = query.startTimeMin, let end = query.startTimeMax, start > end {
            throw .badRequest("the start of the range (\(start) ns) is after its end (\(end) ns); give a start before the end")
        }
        switch parameters.string("status")?.lowercased() {
        case nil: break
        case "unset": query.statusCode = .unset
        case "ok": query.statusCode = .ok
        case "error": query.statusCode = .error
        case let other?: throw .badRequest("parameter 'status' is '\(other)'; give unset, ok or error")
        }
        return query
    }

    /// `/api/spans?startNanos=&endNanos=&service=&attributes=&events=&links=`: every span that starts in the window,
    /// as one OTLP protobuf `ExportTraceServiceRequest`, trimmed as `SpanScan` trims.
    ///
    /// The window is `startNanos` (inclusive) to `endNanos` (exclusive), in Unix nanoseconds, or `start` to `end`,
    /// both inclusive, in Unix microseconds as elsewhere in the API; one of the two pairs is required. `service` is
    /// repeatable (absent: every service). `attributes` is `*` (or absent) for every span attribute, empty for none,
    /// or keys separated by commas. `events` and `links` are `true` to keep them.
    func spans(_ parameters: Parameters, uri: URI) async throws -> Reply {
        let scan = try spanScan(parameters, uri: uri)
        let limit = maxSpansPerScan
        let spans = try await reader.reduceSpans(scan, into: [Span]()) { spans, span in
            guard spans.count < limit else {
                throw Failure(status: .contentTooLarge, message: "the window holds more than \(limit) spans, the most one answer holds; ask for a shorter window")
            }
            spans.append(span)
        }
        return Reply(OTLPProtobuf.encodeRequest(spans), contentType: Self.protobufMediaType)
    }

    /// The scan of `/api/spans`.
    func spanScan(_ parameters: Parameters, uri: URI) throws(Failure) -> SpanScan {
        let window: Range<UInt64>
        if let start = try Self.nanos(parameters, "startNanos") {
            guard let end = try Self.nanos(parameters, "endNanos") else {
                throw .badRequest("parameter 'endNanos' is required with 'startNanos'; give the end of the window in Unix nanoseconds, exclusive")
            }
            guard start <= end else {
                throw .badRequest("parameter 'startNanos' (\(start)) is after 'endNanos' (\(end)); give a start before the end")
            }
            window = start..<end
        } else {
            let range = try parameters.timeRange(now: now(), defaultLookback: nil)
            guard let start = range.start, let end = range.end else {
                throw .badRequest("the window is required; give startNanos and endNanos (Unix nanoseconds) or start and end (Unix microseconds)")
            }
            window = start..<(end == .max ? end : end + 1)
        }
        var attributeKeys: Set<String>?
        // An empty `attributes` (none) differs from an absent one (all), which `Parameters` does not tell apart.
        if let text = uri.queryParameters["attributes"], text != "*" {
            attributeKeys = Set(text.split(separator: ",").map(String.init))
        }
        let services = parameters.all("service")
        return SpanScan(
            window: window, attributeKeys: attributeKeys, includeEvents: try parameters.flag("events"),
            includeLinks: try parameters.flag("links"), services: services.isEmpty ? nil : Set(services))
    }

    /// A Unix time in nanoseconds; nil when absent.
    private static func nanos(_ parameters: Parameters, _ name: String) throws(Failure) -> UInt64? {
        guard let text = parameters.string(name) else { return nil }
        guard let value = UInt64(text) else {
            throw .badRequest("parameter '\(name)' is '\(text)'; give a Unix time in nanoseconds, like 1700000000000000000")
        }
        return value
    }

    /// Whether an `Accept` header lists the media type (parameters and quality ignored).
    private static func accepts(_ header: String?, _ mediaType: String) -> Bool {
        guard let header else { return false }
        return header.split(separator: ",").contains { item in
            String(item.split(separator: ";").first ?? "").filter { $0 != " " && $0 != "\t" }.lowercased() == mediaType
        }
    }
}
