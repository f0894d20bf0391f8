public import CairnAnalysis
import CairnModel
public import CairnStore
import Foundation
import HTTPTypes
public import Hummingbird
import Logging

/// The query API of `cairn serve`: Jaeger's HTTP API, so that the Jaeger UI and Grafana's Jaeger data source read
/// Cairn, and Cairn's own analyses, in JSON. docs/api.md describes every endpoint.
///
/// Jaeger's endpoints (the `/api/...` JSON of the Jaeger v1 query service,
/// [http_handler.go](https://github.com/jaegertracing/jaeger/blob/main/cmd/query/app/http_handler.go)),
/// answered in its envelope `{"data", "total", "limit", "offset", "errors"}` (see `JaegerJSON`):
/// - `GET /api/services`, `GET /api/services/{service}/operations`, `GET /api/operations?service=&spanKind=`;
/// - `GET /api/traces?service=&operation=&tags=&minDuration=&maxDuration=&start=&end=&lookback=&limit=`, or
///   `?traceID=` (repeatable); `GET /api/traces/{traceID}` (404 when no span of it is stored), both with `raw=true`
///   for the spans as stored, without the adjusters;
/// - `GET /api/dependencies?endTs=&lookback=` (milliseconds).
///
/// Cairn's own: `GET /api/traces/{traceID}/breakdown`, `GET /api/traces/{traceID}/critical-path`,
/// `GET /api/breakdown?service=&operation=&start=&end=` and
/// `GET /api/dependencies/graph?format=json|dot|mermaid&start=&end=&service=`.
///
/// A bad parameter is answered 400, in the envelope, with a message that says which parameter and why; a store
/// that cannot be read, 500.
public struct QueryAPI: Sendable {
    /// What the API reads.
    public let reader: any SpanReader
    /// How traces are assembled and adjusted before they are answered (unless `raw=true`).
    public let assembler: TraceAssembler
    /// The largest `limit` a trace search accepts.
    public let maxTracesPerSearch: Int
    /// The most spans `GET /api/spans` answers at once.
    public let maxSpansPerScan: Int
    /// The time now, in Unix nanoseconds: the default end of time ranges.
    let now: @Sendable () -> UInt64

    /// An API over `reader`.
    /// - Parameters:
    ///   - assembler: assembles and adjusts traces; the standard adjusters by default.
    ///   - maxTracesPerSearch: the largest `limit` a trace search accepts; 1,500 by default, the Jaeger UI's largest.
    ///   - maxSpansPerScan: the most spans `GET /api/spans` answers at once; 1,000,000 by default.
    ///   - now: the time now, in Unix nanoseconds; the system's clock by default.
    public init(
        reader: any SpanReader, assembler: TraceAssembler = TraceAssembler(), maxTracesPerSearch: Int = 1_500,
        maxSpansPerScan: Int = 1_000_000,
        now: @escaping @Sendable () -> UInt64 = unixNanosNow
    ) {
        self.reader = reader
        self.assembler = assembler
        self.maxTracesPerSearch = maxTracesPerSearch
        self.maxSpansPerScan = maxSpansPerScan
        self.now = now
    }

    /// The default `lookback` of `/api/dependencies`, as Jaeger's: one day.
    static let dependenciesLookback: UInt64 = 86_400_000_000_000

    /// Adds every endpoint of the API to the router.
    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.get("/api/services") { _, context in
            await answer(context.logger) { try await services() }
        }
        router.get("/api/services/:service/operations") { _, context in
            await answer(context.logger) { try await operationNames(service: try pathParameter("service", context)) }
        }
        router.get("/api/operations") { request, context in
            await answer(context.logger) { try await operations(Parameters(request.uri)) }
        }
        router.get("/api/traces") { request, context in
            await answer(context.logger) { try await searchTraces(Parameters(request.uri)) }
        }
        router.get("/api/traces/:traceID") { request, context in
            await answer(context.logger) {
                try await trace(try pathParameter("traceID", context), Parameters(request.uri))
            }
        }
        router.get("/api/dependencies") { request, context in
            await answer(context.logger) { try await dependencies(Parameters(request.uri)) }
        }
        addAnalysisRoutes(to: router)
        addSpanRoutes(to: router)
    }

    // MARK: Jaeger's endpoints

    /// `/api/services`: the names of the services, sorted.
    func services() async throws -> Reply {
        Reply(JaegerJSON.strings(try await reader.services()))
    }

    /// `/api/services/{service}/operations`: the service's span names, sorted, each once.
    func operationNames(service: String) async throws -> Reply {
        var names: [String] = []
        for operation in try await reader.operations(service: service) where names.last != operation.name {
            names.append(operation.name)
        }
        return Reply(JaegerJSON.strings(names))
    }

    /// `/api/operations?service=&spanKind=`: the service's operations, `{"name", "spanKind"}`, of one kind if asked.
    func operations(_ parameters: Parameters) async throws -> Reply {
        let service = try parameters.required("service")
        let kindFilter: String?
        switch parameters.string("spanKind")?.lowercased() {
        case nil: kindFilter = nil
        case "unspecified": kindFilter = ""
        case let kind? where ["server", "client", "producer", "consumer", "internal"].contains(kind): kindFilter = kind
        case let kind?:
            throw Failure.badRequest(
                "parameter 'spanKind' is '\(kind)'; give server, client, producer, consumer or internal, or leave it out for every kind")
        }
        var seen: Set<[String]> = []
        let operations = try await reader.operations(service: service)
            .map { (name: $0.name, kind: Self.jaegerKind($0.kind)) }
            .filter { kindFilter == nil || $0.kind == kindFilter }
            .filter { seen.insert([$0.name, $0.kind]).inserted }
        let body = JaegerJSON.envelope(total: operations.count, capacity: 64 + operations.count * 64) { writer in
            writer.array(operations) { writer, operation in
                writer.object { writer in
                    writer.member("name", operation.name)
                    writer.member("spanKind", operation.kind)
                }
            }
        }
        return Reply(body)
    }

    /// `/api/traces`: the traces of the `traceID` parameters, or those a search finds, newest first.
    func searchTraces(_ parameters: Parameters) async throws -> Reply {
        let raw = try parameters.flag("raw")
        let ids = parameters.all("traceID")
        if !ids.isEmpty {
            var trees: [TraceTree] = []
            var errors: [JaegerJSON.StructuredError] = []
            for text in ids {
                let id = try Self.traceID(text)
                if let trace = try await reader.trace(id) {
                    trees.append(tree(trace, raw: raw))
                } else {
                    errors.append(JaegerJSON.StructuredError(code: 404, message: "trace not found", traceID: id))
                }
            }
            return Reply(JaegerJSON.traces(trees, errors: errors))
        }
        let query = try traceQuery(parameters)
        let trees = try await reader.findTraces(query).map { tree($0, raw: raw) }
        return Reply(JaegerJSON.traces(trees))
    }

    /// The store's query for a trace search's parameters.
    func traceQuery(_ parameters: Parameters) throws(Failure) -> TraceQuery {
        let service = try parameters.required("service")
        let limit = try parameters.positiveInteger("limit", default: 20, maximum: maxTracesPerSearch)
        let minDuration = try parameters.duration("minDuration")
        let maxDuration = try parameters.duration("maxDuration")
        if let minDuration, let maxDuration, minDuration > maxDuration {
            throw .badRequest("parameter 'minDuration' is longer than 'maxDuration'; give a minimum no longer than the maximum")
        }
        let range = try parameters.timeRange(now: now(), defaultLookback: nil)
        var query = try spanConditions(parameters)
        query.service = service
        query.startTimeMin = range.start
        query.startTimeMax = range.end
        query.durationMin = minDuration
        query.durationMax = maxDuration
        query.limit = limit
        return query
    }

    /// The conditions on one span of `operation` and `tags` (`tag`), as a query with no other condition.
    func spanConditions(_ parameters: Parameters) throws(Failure) -> TraceQuery {
        var attributes = try parameters.tags()
        var statusCode: SpanStatus.Code?
        // Jaeger's `error=true` and `otel.status_code` are the span's status, not attributes.
        if attributes["error"] == "true" {
            attributes["error"] = nil
            statusCode = .error
        }
        if let code = attributes["otel.status_code"], let status = ["UNSET": SpanStatus.Code.unset, "OK": .ok, "ERROR": .error][code.uppercased()] {
            attributes["otel.status_code"] = nil
            statusCode = status
        }
        return TraceQuery(operation: parameters.string("operation"), attributes: attributes, statusCode: statusCode)
    }

    /// `/api/traces/{traceID}`: the trace in a list of one, or 404.
    func trace(_ idText: String, _ parameters: Parameters) async throws -> Reply {
        let id = try Self.traceID(idText)
        let raw = try parameters.flag("raw")
        guard let trace = try await reader.trace(id) else { throw Failure.traceNotFound }
        return Reply(JaegerJSON.traces([tree(trace, raw: raw)]))
    }

    /// `/api/dependencies?endTs=&lookback=`: the calls between services that start in the `lookback` milliseconds
    /// before `endTs` (Unix milliseconds; default now and one day), `{"parent", "child", "callCount"}`.
    func dependencies(_ parameters: Parameters) async throws -> Reply {
        let end = try parameters.unixTime("endTs", unit: .milliseconds) ?? now()
        let lookback = try parameters.length("lookback", in: .milliseconds) ?? Self.dependenciesLookback
        // Both ends inclusive.
        let graph = try await reader.dependencyGraph(end - min(lookback, end)..<(end == .max ? end : end + 1))
        // Jaeger's links are per caller and callee; Cairn's edges are also per protocol, so their calls are summed.
        var links: [(parent: String, child: String, calls: Int)] = []
        for edge in graph.edges {
            if let last = links.last, last.parent == edge.parent, last.child == edge.child {
                links[links.count - 1].calls += edge.calls
            } else {
                links.append((edge.parent, edge.child, edge.calls))
            }
        }
        let body = JaegerJSON.envelope(total: links.count, capacity: 64 + links.count * 80) { writer in
            writer.array(links) { writer, link in
                writer.object { writer in
                    writer.member("parent", link.parent)
                    writer.member("child", link.child)
                    writer.member("callCount", link.calls)
                }
            }
        }
        return Reply(body)
    }

    // MARK: Shared

    /// The trace as a tree: adjusted by the assembler, or as stored when `raw`.
    func tree(_ trace: Trace, raw: Bool) -> TraceTree {
        raw ? TraceTree(trace) : assembler.assemble(trace)
    }

    /// Jaeger's name of a span kind: lowercase, and empty for unspecified or unknown kinds.
    static func jaegerKind(_ kind: SpanKind) -> String {
        switch kind {
        case .server, .client, .producer, .consumer, .internal: kind.description
        default: ""
        }
    }

    /// A path parameter, percent-decoded.
    func pathParameter<Context: RequestContext>(_ name: String, _ context: Context) throws(Failure) -> String {
        guard let value = context.parameters.get(name), let decoded = value.removingPercentEncoding else {
            throw .badRequest("the path parameter '\(name)' is not valid percent-encoded text; encode it with %XX escapes")
        }
        return decoded
    }

    /// What an endpoint answers when it succeeds.
    struct Reply {
        var body: [UInt8]
        var contentType: String

        init(_ body: [UInt8], contentType: String = JaegerJSON.mediaType) {
            self.body = body
            self.contentType = contentType
        }
    }

    /// Runs an endpoint: its reply, or its failure in Jaeger's envelope, or 500 when the store fails.
    func answer(_ logger: Logger, _ endpoint: () async throws -> Reply) async -> Response {
        let status: HTTPResponse.Status
        let reply: Reply
        do {
            reply = try await endpoint()
            status = .ok
        } catch let failure as Failure {
            status = failure.status
            reply = Reply(JaegerJSON.errorEnvelope(code: failure.status.code, message: failure.message))
        } catch {
            logger.error("a query failed", metadata: ["error": "\(error)"])
            status = .internalServerError
            reply = Reply(JaegerJSON.errorEnvelope(
                code: status.code, message: "the store could not be read (\(error)); retry, and check the store if it keeps failing"))
        }
        return Response(
            status: status, headers: [.contentType: reply.contentType],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: reply.body)))
    }
}
