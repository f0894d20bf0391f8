@testable import CairnCollector
import CairnModel
import CairnOTLP
import CairnStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Two small hand-built traces, an hour apart, that the query API tests ingest through `/v1/traces`.
enum QueryFixture {
    /// The start of the payment trace, in Unix nanoseconds (2023-11-14).
    static let base: UInt64 = 1_700_000_000_000_000_000
    static let traceID = TraceID(high: 0x0af7_6519_16cd_43dd, low: 0x8448_eb21_1c80_319c)
    static let skewTraceID = TraceID(high: 0, low: 0x2)
    static let frontend = Resource(attributes: [
        Attribute("service.name", .string("frontend")), Attribute("host.name", .string("web-1")),
    ])
    static let checkout = Resource(attributes: [
        Attribute("service.name", .string("checkout")), Attribute("host.name", .string("app-2")),
    ])

    /// frontend `GET /checkout` (SERVER) → frontend `POST /charge` (CLIENT, ERROR, an event, a link) → checkout
    /// `charge` (SERVER). Times are chosen to show truncation to microseconds.
    static func paymentTrace() -> [Span] {
        let root = Span(
            traceID: traceID, spanID: SpanID(value: 0xA1), traceState: "vendor=1", flags: 1, name: "GET /checkout",
            kind: .server, startTimeUnixNano: base + 1_500, endTimeUnixNano: base + 1_500 + 100_000_999,
            attributes: [Attribute("http.request.method", .string("GET")), Attribute("http.response.status_code", .int(200))],
            resource: frontend, scope: InstrumentationScope(name: "hummingbird", version: "2.28.1"))
        let client = Span(
            traceID: traceID, spanID: SpanID(value: 0xA2), parentSpanID: SpanID(value: 0xA1), flags: 0x301,
            name: "POST /charge", kind: .client, startTimeUnixNano: base + 10_000_000, endTimeUnixNano: base + 60_000_000,
            events: [SpanEvent(timeUnixNano: base + 20_000_000, name: "retry", attributes: [Attribute("attempt", .int(2))])],
            links: [SpanLink(traceID: TraceID(high: 0, low: 0xFF), spanID: SpanID(value: 0xEE))],
            status: SpanStatus(code: .error, message: "card declined"), resource: frontend)
        let server = Span(
            traceID: traceID, spanID: SpanID(value: 0xA3), parentSpanID: SpanID(value: 0xA2), flags: 1, name: "charge",
            kind: .server, startTimeUnixNano: base + 15_000_000, endTimeUnixNano: base + 55_000_000,
            attributes: [Attribute("payment.amount", .double(12.5)), Attribute("rpc.system", .string("grpc"))], status: SpanStatus(code: .ok), resource: checkout)
        return [root, client, server]
    }

    /// The start of the skewed trace, an hour after the payment trace.
    static let skewBase = base + 3_600_000_000_000

    /// frontend `GET /cart` (SERVER, 200 ms) → checkout `load cart` (SERVER, 20 ms) on another host whose clock is
    /// behind: it starts 50 ms before its parent.
    static func skewedTrace() -> [Span] {
        let root = Span(
            traceID: skewTraceID, spanID: SpanID(value: 0xB1), flags: 1, name: "GET /cart", kind: .server,
            startTimeUnixNano: skewBase, endTimeUnixNano: skewBase + 200_000_000,
            attributes: [Attribute("http.request.method", .string("POST"))], resource: frontend)
        let child = Span(
            traceID: skewTraceID, spanID: SpanID(value: 0xB2), parentSpanID: SpanID(value: 0xB1), flags: 1,
            name: "load cart", kind: .server, startTimeUnixNano: skewBase - 50_000_000,
            endTimeUnixNano: skewBase - 30_000_000, resource: checkout)
        return [root, child]
    }
}

/// The JSON of a response, read with Foundation, independently of Cairn's writer.
private struct Answer {
    let response: TestResponse
    let object: [String: Any]

    init(_ response: TestResponse) throws {
        self.response = response
        object = try #require(try JSONSerialization.jsonObject(with: Data(response.bytes)) as? [String: Any])
    }

    var data: Any? { object["data"] }
    var list: [[String: Any]] { data as? [[String: Any]] ?? [] }
    var strings: [String] { data as? [String] ?? [] }
    var errors: [[String: Any]] { object["errors"] as? [[String: Any]] ?? [] }

    /// Whether the body is Jaeger's envelope, with `total` as given.
    func isEnvelope(total: Int) -> Bool {
        Set(object.keys) == ["data", "total", "limit", "offset", "errors"]
            && object["total"] as? Int == total && object["limit"] as? Int == 0 && object["offset"] as? Int == 0
            && response.headers[.contentType] == "application/json"
    }

    /// Whether this is the error envelope, with the status code in it and a message containing `text`.
    func isError(_ status: HTTPResponse.Status, containing text: String) -> Bool {
        response.status == status && isEnvelope(total: 0) && data is NSNull && errors.count == 1
            && errors[0]["code"] as? Int == status.code && (errors[0]["msg"] as? String)?.contains(text) == true
    }
}

extension TestClientProtocol {
    fileprivate func get(_ uri: String) async throws -> Answer {
        try Answer(await execute(uri: uri, method: .get))
    }
}

/// A collector over a fresh store with both fixture traces ingested through `/v1/traces`.
private func withFixtures(
    _ kind: StoreKind = .memory, _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void
) async throws {
    let store = try kind.make()
    try await Collector(store: store).application().test(.router) { client in
        let request = OTLPProtobuf.encodeRequest(QueryFixture.paymentTrace() + QueryFixture.skewedTrace())
        try #require(try await client.export(request).status == .ok)
        try await body(client)
    }
}

@Suite("The query API: Jaeger's endpoints and Cairn's analyses, in process")
struct QueryAPITests {
    static let traceHex = QueryFixture.traceID.hex
    static let baseMicros = QueryFixture.base / 1_000

    @Test("services and operations answer Jaeger's shapes", arguments: StoreKind.allCases)
    func servicesAndOperations(kind: StoreKind) async throws {
        try await withFixtures(kind) { client in
            let services = try await client.get("/api/services")
            #expect(services.response.status == .ok)
            #expect(services.isEnvelope(total: 2) && services.object["errors"] is NSNull)
            #expect(services.strings == ["checkout", "frontend"])

            let names = try await client.get("/api/services/frontend/operations")
            #expect(names.isEnvelope(total: 3))
            #expect(names.strings == ["GET /cart", "GET /checkout", "POST /charge"])

            let all = try await client.get("/api/operations?service=frontend")
            #expect(all.isEnvelope(total: 3))
            #expect(all.list.map { $0["name"] as? String } == ["GET /cart", "GET /checkout", "POST /charge"])
            #expect(all.list.map { $0["spanKind"] as? String } == ["server", "server", "client"])

            let clients = try await client.get("/api/operations?service=frontend&spanKind=client")
            #expect(clients.list.count == 1 && clients.list[0]["name"] as? String == "POST /charge")
            #expect(try await client.get("/api/services/nobody/operations").isEnvelope(total: 0))
        }
    }

    @Test("a trace by id has Jaeger's shape: µs times, references, tags, logs and processes", arguments: StoreKind.allCases)
    func traceByID(kind: StoreKind) async throws {
        try await withFixtures(kind) { client in
            let answer = try await client.get("/api/traces/\(Self.traceHex)")
            #expect(answer.response.status == .ok)
            #expect(answer.isEnvelope(total: 1))
            let trace = try #require(answer.list.first)
            #expect(Set(trace.keys) == ["traceID", "spans", "processes", "warnings"])
            #expect(trace["traceID"] as? String == Self.traceHex)
            #expect(trace["warnings"] is NSNull)
            let spans = try #require(trace["spans"] as? [[String: Any]])
            #expect(spans.map { $0["spanID"] as? String } == ["00000000000000a1", "00000000000000a2", "00000000000000a3"])
            #expect(Set(spans[0].keys) == [
                "traceID", "spanID", "flags", "operationName", "references", "startTime", "duration", "tags", "logs",
                "processID", "warnings",
            ])
            #expect(spans[0]["startTime"] as? Int == Int(Self.baseMicros) + 1)
            #expect(spans[0]["duration"] as? Int == 100_000)
            #expect(spans[1]["flags"] as? Int == 1)
            let references = try #require(spans[1]["references"] as? [[String: String]])
            #expect(references == [
                ["refType": "CHILD_OF", "traceID": Self.traceHex, "spanID": "00000000000000a1"],
                ["refType": "FOLLOWS_FROM", "traceID": "000000000000000000000000000000ff", "spanID": "00000000000000ee"],
            ])
            let tags = try #require(spans[1]["tags"] as? [[String: Any]])
            #expect(tags.map { $0["key"] as? String } == ["span.kind", "otel.status_code", "error", "otel.status_description"])
            #expect(tags.map { $0["type"] as? String } == ["string", "string", "bool", "string"])
            let logs = try #require(spans[1]["logs"] as? [[String: Any]])
            #expect(logs.first?["timestamp"] as? Int == Int(Self.baseMicros) + 20_000)
            #expect((logs.first?["fields"] as? [[String: Any]])?.map { $0["key"] as? String } == ["event", "attempt"])
            #expect(spans.map { $0["processID"] as? String } == ["p1", "p1", "p2"])
            let processes = try #require(trace["processes"] as? [String: [String: Any]])
            #expect(processes["p1"]?["serviceName"] as? String == "frontend")
            #expect(processes["p2"]?["serviceName"] as? String == "checkout")
            #expect((processes["p2"]?["tags"] as? [[String: Any]])?.first?["value"] as? String == "app-2")
        }
    }

    @Test("a trace id is read in either case and left-padded; an absent trace is 404 in the envelope")
    func traceIDsAndNotFound() async throws {
        try await withFixtures { client in
            let short = try await client.get("/api/traces/2")
            #expect(short.response.status == .ok)
            #expect(short.list.first?["traceID"] as? String == QueryFixture.skewTraceID.hex)
            #expect(try await client.get("/api/traces/\(Self.traceHex.uppercased())").response.status == .ok)
            #expect(try await client.get("/api/traces/abc123").isError(.notFound, containing: "trace not found"))
            #expect(try await client.get("/api/traces/xyz").isError(.badRequest, containing: "trace id 'xyz'"))
            #expect(try await client.get("/api/traces/\(String(repeating: "1", count: 33))").isError(.badRequest, containing: "1 to 32"))
        }
    }

    @Test("raw=true answers the spans as stored; by default a child skewed outside its parent on another host is moved, with a warning")
    func rawAndAdjusted() async throws {
        try await withFixtures { client in
            let skewHex = QueryFixture.skewTraceID.hex
            let childStart = { (answer: Answer) -> (Int?, Any?) in
                let spans = answer.list.first?["spans"] as? [[String: Any]] ?? []
                let child = spans.first { $0["spanID"] as? String == "00000000000000b2" }
                return (child?["startTime"] as? Int, child?["warnings"])
            }
            let raw = childStart(try await client.get("/api/traces/\(skewHex)?raw=true"))
            #expect(raw.0 == Int(QueryFixture.skewBase / 1_000) - 50_000)
            #expect(raw.1 is NSNull)
            let adjusted = childStart(try await client.get("/api/traces/\(skewHex)"))
            #expect(adjusted.0 == Int(QueryFixture.skewBase / 1_000) + 90_000, "centred in its 200 ms parent")
            let warnings = adjusted.1 as? [String] ?? []
            #expect(warnings.count == 1 && warnings[0].contains("clock skew"))
            #expect(try await client.get("/api/traces/\(skewHex)?raw=maybe").isError(.badRequest, containing: "'raw'"))
        }
    }

    @Test("a trace search filters by service, operation, tags, durations and time, newest first, up to the limit", arguments: StoreKind.allCases)
    func search(kind: StoreKind) async throws {
        try await withFixtures(kind) { client in
            func ids(_ query: String) async throws -> [String] {
                let answer = try await client.get("/api/traces?\(query)")
                #expect(answer.response.status == .ok, "\(query)")
                #expect(answer.isEnvelope(total: answer.list.count), "\(query)")
                return answer.list.map { $0["traceID"] as? String ?? "" }
            }
            let (payment, skewed) = (Self.traceHex, QueryFixture.skewTraceID.hex)
            #expect(try await ids("service=frontend") == [skewed, payment])
            #expect(try await ids("service=frontend&limit=1") == [skewed])
            #expect(try await ids("service=frontend&operation=POST%20%2Fcharge") == [payment])
            #expect(try await ids("service=frontend&tags=%7B%22error%22%3A%22true%22%7D") == [payment])
            #expect(try await ids("service=frontend&tags=%7B%22http.request.method%22%3A%22POST%22%7D") == [skewed])
            #expect(try await ids("service=frontend&tag=http.response.status_code:200") == [payment])
            #expect(try await ids("service=checkout&tags=%7B%22payment.amount%22%3A12.5%7D") == [payment])
            #expect(try await ids("service=frontend&minDuration=150ms") == [skewed])
            #expect(try await ids("service=frontend&maxDuration=0.15s&minDuration=60ms") == [payment])
            let half = Self.baseMicros + 1_800_000_000
            #expect(try await ids("service=frontend&start=\(half)") == [skewed])
            #expect(try await ids("service=frontend&end=\(half)&lookback=custom") == [payment])
            #expect(try await ids("service=frontend&end=\(half)&lookback=1h") == [payment])
            #expect(try await ids("service=frontend&end=\(Self.baseMicros - 1)&lookback=2d") == [])
            #expect(try await ids("service=nobody") == [])

            let byIDs = try await client.get("/api/traces?traceID=\(payment)&traceID=ff&traceID=2")
            #expect(byIDs.list.map { $0["traceID"] as? String } == [payment, skewed])
            #expect(byIDs.errors.count == 1)
            #expect(byIDs.errors.first?["traceID"] as? String == "000000000000000000000000000000ff")
            #expect(byIDs.errors.first?["msg"] as? String == "trace not found")
        }
    }

    @Test("bad parameters are answered 400 in the envelope, with a message that says which and why")
    func badParameters() async throws {
        let cases: [(String, String)] = [
            ("/api/traces", "parameter 'service' is required"),
            ("/api/traces?service=a&limit=0", "parameter 'limit' is '0'"),
            ("/api/traces?service=a&limit=ten", "parameter 'limit' is 'ten'"),
            ("/api/traces?service=a&limit=5000", "at most 1500"),
            ("/api/traces?service=a&minDuration=fast", "parameter 'minDuration' is 'fast', which is not a duration"),
            ("/api/traces?service=a&maxDuration=10", "parameter 'maxDuration' is '10'"),
            ("/api/traces?service=a&minDuration=2s&maxDuration=1s", "'minDuration' is longer than 'maxDuration'"),
            ("/api/traces?service=a&tags=%7Bnope", "parameter 'tags' is not a JSON object"),
            ("/api/traces?service=a&tags=%5B1%5D", "parameter 'tags' is not a JSON object"),
            ("/api/traces?service=a&tag=novalue", "parameter 'tag' is 'novalue'"),
            ("/api/traces?service=a&start=yesterday", "parameter 'start' is 'yesterday'; give a Unix time in microseconds"),
            ("/api/traces?service=a&start=20&end=10", "parameter 'start' (20) is after 'end' (10)"),
            ("/api/traces?service=a&lookback=soon", "parameter 'lookback' is 'soon'"),
            ("/api/traces?traceID=nothex", "trace id 'nothex'"),
            ("/api/operations", "parameter 'service' is required"),
            ("/api/operations?service=a&spanKind=sideways", "parameter 'spanKind' is 'sideways'"),
            ("/api/dependencies?endTs=now", "parameter 'endTs' is 'now'; give a Unix time in milliseconds"),
            ("/api/dependencies?lookback=-1", "parameter 'lookback' is '-1'; give a whole number of milliseconds"),
            ("/api/dependencies/graph?format=png", "parameter 'format' is 'png'; give json, dot or mermaid"),
            ("/api/breakdown?start=30&end=20", "parameter 'start' (30) is after 'end' (20)"),
            ("/api/traces/zz/breakdown", "trace id 'zz'"),
        ]
        try await Collector(store: InMemoryStore()).application().test(.router) { client in
            for (uri, message) in cases {
                let answer = try await client.get(uri)
                #expect(answer.isError(.badRequest, containing: message), "\(uri): \(answer.response.text)")
            }
        }
    }

    @Test("Go durations parse as time.ParseDuration does; lookbacks also take days and weeks")
    func goDurations() {
        let valid: [(String, UInt64)] = [
            ("0", 0), ("1ns", 1), ("500us", 500_000), ("500µs", 500_000), ("500μs", 500_000), ("100ms", 100_000_000),
            ("1.2s", 1_200_000_000), (".5s", 500_000_000), ("1.s", 1_000_000_000), ("2m", 120_000_000_000),
            ("1h", 3_600_000_000_000), ("1m30s", 90_000_000_000), ("1h2m3.5s", 3_723_500_000_000), ("+3ms", 3_000_000),
            ("0.000000001s", 1), ("1.0000000019s", 1_000_000_001),
        ]
        for (text, nanos) in valid {
            #expect(QueryAPI.parseGoDuration(text) == nanos, "\(text)")
        }
        for text in ["", "10", "1.2", "s", ".s", "1x", "-1s", "1 s", "1s ", "1d", "1..2s", "99999999999h"] {
            #expect(QueryAPI.parseGoDuration(text) == nil, "\(text)")
        }
        #expect(QueryAPI.parseGoDuration("2d", allowDays: true) == 172_800_000_000_000)
        #expect(QueryAPI.parseGoDuration("1w", allowDays: true) == 604_800_000_000_000)
    }

    @Test("dependencies answer Jaeger's links, summed over protocols, and the graph as JSON, DOT or Mermaid", arguments: StoreKind.allCases)
    func dependencies(kind: StoreKind) async throws {
        try await withFixtures(kind) { client in
            let endMillis = (QueryFixture.skewBase + 3_600_000_000_000) / 1_000_000
            let links = try await client.get("/api/dependencies?endTs=\(endMillis)&lookback=\(3 * 3_600_000)")
            #expect(links.isEnvelope(total: 1))
            #expect(links.list.count == 1)
            #expect(links.list.first?["parent"] as? String == "frontend")
            #expect(links.list.first?["child"] as? String == "checkout")
            #expect(links.list.first?["callCount"] as? Int == 2)
            let recent = try await client.get("/api/dependencies?endTs=\(endMillis)&lookback=\(5_400_000)")
            #expect(recent.list.first?["callCount"] as? Int == 1, "only the skewed trace is in the last 90 minutes")
            #expect(try await client.get("/api/dependencies").list.isEmpty, "nothing in the last day")

            let range = "start=\(Self.baseMicros - 1)&end=\(endMillis * 1_000)"
            let graph = try await client.get("/api/dependencies/graph?\(range)")
            #expect(graph.isEnvelope(total: 1))
            let data = try #require(graph.data as? [String: Any])
            #expect((data["nodes"] as? [[String: Any]])?.map { $0["name"] as? String } == ["checkout", "frontend"])
            #expect((data["edges"] as? [[String: Any]])?.map { $0["kind"] as? String } == ["other", "rpc"])
            let dot = try await client.execute(uri: "/api/dependencies/graph?format=dot&\(range)", method: .get)
            #expect(dot.status == .ok && dot.headers[.contentType]?.hasPrefix("text/vnd.graphviz") == true)
            #expect(dot.text.contains("digraph"))
            let mermaid = try await client.execute(uri: "/api/dependencies/graph?format=mermaid&service=checkout&\(range)", method: .get)
            #expect(mermaid.status == .ok && mermaid.text.contains("frontend"))
            let focused = try await client.get("/api/dependencies/graph?service=nobody&\(range)")
            #expect((focused.data as? [String: Any])?["nodes"] as? [Any] != nil)
            #expect(((focused.data as? [String: Any])?["nodes"] as? [Any])?.isEmpty == true)
        }
    }

    @Test("breakdowns and the critical path of a trace, and the breakdown of a window, answer in the envelope")
    func breakdowns() async throws {
        try await withFixtures { client in
            let breakdown = try await client.get("/api/traces/\(Self.traceHex)/breakdown?attribute=http.request.method")
            #expect(breakdown.response.status == .ok && breakdown.isEnvelope(total: 1))
            let data = try #require(breakdown.data as? [String: Any])
            #expect(data["traceID"] as? String == Self.traceHex)
            #expect((data["services"] as? [[String: Any]])?.compactMap { $0["service"] as? String }.sorted() == ["checkout", "frontend"])
            #expect((data["attributes"] as? [String: Any])?["http.request.method"] != nil)

            let path = try await client.get("/api/traces/\(Self.traceHex)/critical-path")
            #expect(path.isEnvelope(total: 1))
            let segments = try #require((path.data as? [String: Any])?["segments"] as? [[String: Any]])
            #expect(!segments.isEmpty)
            #expect(try await client.get("/api/traces/abc/critical-path").isError(.notFound, containing: "trace not found"))

            let end = Self.baseMicros + 2 * 3_600_000_000
            let window = try await client.get("/api/breakdown?service=checkout&start=\(Self.baseMicros)&end=\(end)")
            #expect(window.isEnvelope(total: 1))
            let aggregate = try #require(window.data as? [String: Any])
            #expect(aggregate["traceCount"] as? Int == 2)
            #expect(aggregate["spanCount"] as? Int == 5)
            let operation = try await client.get("/api/breakdown?operation=charge&start=\(Self.baseMicros)&end=\(end)")
            #expect((operation.data as? [String: Any])?["traceCount"] as? Int == 1)
            let tagged = try await client.get("/api/breakdown?tag=http.request.method:POST&start=\(Self.baseMicros)&end=\(end)")
            let taggedAggregate = try #require(tagged.data as? [String: Any])
            #expect(taggedAggregate["traceCount"] as? Int == 1)
            #expect(taggedAggregate["spanCount"] as? Int == 2)
        }
    }
}
