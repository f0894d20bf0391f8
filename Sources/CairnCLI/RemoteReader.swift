import CairnModel
import CairnOTLP
import CairnStore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A running collector read as a store (`--server`), through its query API (docs/api.md).
///
/// It reads spans as they were stored, not Jaeger's JSON, so that every command computes from a collector exactly
/// what it computes from the store behind it:
/// - `trace(_:)`: `GET /api/traces/{id}/otlp` in protobuf (404: nil);
/// - `findTraceIDs(_:)`: `GET /api/trace-ids` with exact bounds in nanoseconds;
/// - `services()`: `GET /api/services`; `operations(service:)`: `GET /api/operations?service=`;
/// - `reduceSpans(_:into:_:)`: `GET /api/spans` (one protobuf request of the window's spans), folded here.
///
/// Errors are `CLIError`s in one line: a collector that cannot be reached says how to start one; an error the
/// collector answers carries the message of its envelope.
struct RemoteReader: SpanReader {
    /// The collector's base URL, as given.
    let server: URL

    /// A reader of the collector at `server` (`http://host:port`, optionally with a path prefix); throws a
    /// `CLIError` when it is not an http(s) URL.
    init(server: String) throws {
        var text = server
        while text.hasSuffix("/") { text.removeLast() }
        guard let url = URL(string: text), url.scheme == "http" || url.scheme == "https", url.host != nil else {
            throw CLIError("\(server) is not a collector URL; give --server like http://127.0.0.1:4318", exitCode: 2)
        }
        self.server = url
    }

    // MARK: SpanReader

    /// The trace's stored spans, from `/api/traces/{id}/otlp` in protobuf; nil on the collector's 404.
    func trace(_ id: TraceID) async throws -> Trace? {
        let response = try await get("/api/traces/\(id.hex)/otlp", accept: "application/x-protobuf", notFoundIsNil: true)
        guard let response else { return nil }
        let spans = try decodeProtobuf(response, what: "trace \(id.hex)")
        return spans.isEmpty ? nil : Trace(traceID: id, spans: spans)
    }

    /// The ids `/api/trace-ids` finds, with the query's bounds in nanoseconds and durations in `ns`, so exact.
    func findTraceIDs(_ query: TraceQuery) async throws -> [TraceID] {
        guard query.limit > 0 else { return [] }
        var items: [(String, String)] = [("limit", String(query.limit))]
        if let service = query.service { items.append(("service", service)) }
        if let operation = query.operation { items.append(("operation", operation)) }
        if !query.attributes.isEmpty {
            let json = try JSONSerialization.data(withJSONObject: query.attributes, options: [.sortedKeys])
            items.append(("tags", String(decoding: json, as: UTF8.self)))
        }
        if let min = query.startTimeMin { items.append(("startNanos", String(min))) }
        if let max = query.startTimeMax { items.append(("endNanos", String(max))) }
        if let min = query.durationMin { items.append(("minDuration", "\(min)ns")) }
        if let max = query.durationMax { items.append(("maxDuration", "\(max)ns")) }
        if let code = query.statusCode {
            switch code {
            case .ok: items.append(("status", "ok"))
            case .error: items.append(("status", "error"))
            default: items.append(("status", "unset"))
            }
        }
        let data = try await envelopeData("/api/trace-ids", items)
        guard let texts = data as? [String] else { throw unexpected("/api/trace-ids") }
        return try texts.map { text in
            guard let id = TraceID(hex: text) else { throw unexpected("/api/trace-ids") }
            return id
        }
    }

    /// The services of `/api/services`, sorted.
    func services() async throws -> [String] {
        guard let names = try await envelopeData("/api/services", []) as? [String] else {
            throw unexpected("/api/services")
        }
        return names.sorted()
    }

    /// The operations of `/api/operations?service=`, with kinds from Jaeger's names, sorted.
    func operations(service: String) async throws -> [CairnStore.Operation] {
        guard let list = try await envelopeData("/api/operations", [("service", service)]) as? [[String: Any]] else {
            throw unexpected("/api/operations")
        }
        let operations = list.compactMap { item -> CairnStore.Operation? in
            guard let name = item["name"] as? String else { return nil }
            return CairnStore.Operation(name: name, kind: Self.kind(item["spanKind"] as? String ?? ""))
        }
        return Set(operations).sorted()
    }

    /// The spans of `/api/spans` for the scan's window, services and trimming, folded here in the order received.
    func reduceSpans<Result: Sendable>(
        _ scan: SpanScan, into initial: Result, _ update: @escaping @Sendable (inout Result, Span) throws -> Void
    ) async throws -> Result {
        if scan.window.isEmpty || scan.services?.isEmpty == true { return initial }
        var items: [(String, String)] = [
            ("startNanos", String(scan.window.lowerBound)), ("endNanos", String(scan.window.upperBound)),
        ]
        // Keys with a comma cannot be listed in `attributes`: ask for every attribute and trim here.
        if let keys = scan.attributeKeys, !keys.contains(where: { $0.contains(",") }) {
            items.append(("attributes", keys.sorted().joined(separator: ",")))
        }
        if scan.includeEvents { items.append(("events", "true")) }
        if scan.includeLinks { items.append(("links", "true")) }
        for service in (scan.services ?? []).sorted() { items.append(("service", service)) }
        let body = try await get("/api/spans", items, accept: "application/x-protobuf")!
        var result = initial
        for span in try decodeProtobuf(body, what: "the spans of a window") {
            try update(&result, scan.trimmed(span))
        }
        return result
    }

    // MARK: HTTP

    /// The URL of a path of the API with query parameters, percent-encoded so that `+` and `&` survive.
    func url(_ path: String, _ items: [(String, String)] = []) -> URL {
        var text = server.absoluteString + path
        if !items.isEmpty {
            text += "?" + items.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
        }
        return URL(string: text)!
    }

    /// Sends a request; the body and status, or a `CLIError` when the collector cannot be reached.
    func send(_ request: URLRequest) async throws -> (body: Data, response: HTTPURLResponse) {
        var request = request
        request.timeoutInterval = 300
        let data: Data
        let response: URLResponse
        if let token = ProcessInfo.processInfo.environment["CAIRN_QUERY_TOKEN"], !token.isEmpty {
            request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        }
        do {
            (data, response) = try await URLSession.shared.data(for: request)
        } catch {
            let reason = (error as? URLError).map { $0.localizedDescription } ?? "\(error)"
            throw CLIError(
                "cannot reach the collector at \(server.absoluteString) (\(reason)); start it with `cairn serve` or check --server",
                exitCode: 2)
        }
        guard let http = response as? HTTPURLResponse else {
            throw CLIError("the collector at \(server.absoluteString) did not answer over HTTP; check --server", exitCode: 2)
        }
        return (data, http)
    }

    /// GETs a path of the query API; its body on 200, nil on a 404 that says "trace not found" when `notFoundIsNil`,
    /// and a `CLIError` with the envelope's message otherwise.
    func get(
        _ path: String, _ items: [(String, String)] = [], accept: String = "application/json", notFoundIsNil: Bool = false
    ) async throws -> Data? {
        var request = URLRequest(url: url(path, items))
        request.setValue(accept, forHTTPHeaderField: "Accept")
        let (body, response) = try await send(request)
        if response.statusCode == 200 { return body }
        let message = Self.envelopeMessage(body)
        if response.statusCode == 404 && notFoundIsNil && message == "trace not found" { return nil }
        if response.statusCode == 404 && message == nil {
            throw CLIError(
                "the server at \(server.absoluteString) does not serve \(path); point --server at a Cairn collector (`cairn serve`) of this version",
                exitCode: 2)
        }
        throw CLIError(
            "the collector at \(server.absoluteString) answered \(response.statusCode): \(message ?? Self.excerpt(body))",
            exitCode: response.statusCode < 500 ? 2 : 1)
    }

    /// The `data` of a JSON envelope answer.
    private func envelopeData(_ path: String, _ items: [(String, String)]) async throws -> Any {
        let body = try await get(path, items)!
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any], let data = object["data"] else {
            throw unexpected(path)
        }
        return data
    }

    private func decodeProtobuf(_ body: Data, what: String) throws -> [Span] {
        do {
            return try OTLPProtobuf.decodeSpans([UInt8](body))
        } catch {
            throw CLIError("the collector at \(server.absoluteString) sent \(what) that does not decode (\(error)); check that it runs this version of Cairn")
        }
    }

    private func unexpected(_ path: String) -> CLIError {
        CLIError("the collector at \(server.absoluteString) answered \(path) with JSON of another shape; check that it runs this version of Cairn")
    }

    /// The first error message of a JSON envelope, `{"errors": [{"msg": ...}]}`.
    static func envelopeMessage(_ body: Data) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
            let errors = object["errors"] as? [[String: Any]], let message = errors.first?["msg"] as? String
        else { return nil }
        return message
    }

    /// The start of a body that is not an envelope, on one line.
    static func excerpt(_ body: Data) -> String {
        let text = String(decoding: body.prefix(200), as: UTF8.self)
            .split(whereSeparator: \.isNewline).joined(separator: " ")
        return text.isEmpty ? "an empty body" : text
    }

    /// A span kind from Jaeger's lowercase name; unspecified for an empty or unknown name.
    static func kind(_ name: String) -> SpanKind {
        switch name {
        case "internal": .internal
        case "server": .server
        case "client": .client
        case "producer": .producer
        case "consumer": .consumer
        default: .unspecified
        }
    }

    private static let unreserved = CharacterSet(charactersIn:
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    private static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }
}
