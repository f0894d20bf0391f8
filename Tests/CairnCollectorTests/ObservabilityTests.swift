@testable import CairnCollector
import CairnModel
import CairnOTLP
import CairnStore
import CairnTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

@Suite("Observability: request ids, /metrics, bearer tokens")
struct ObservabilityTests {
    static func metrics(_ client: some TestClientProtocol, headers: HTTPFields = [:]) async throws -> Exposition {
        let response = try await client.execute(uri: "/metrics", method: .get, headers: headers)
        #expect(response.status == .ok)
        #expect(response.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
        return Exposition(response.text)
    }

    @Test("a request's x-request-id comes back; a missing or implausible one is replaced by a new random id")
    func requestIDs() async throws {
        try await Collector(store: InMemoryStore()).application().test(.router) { client in
            let given = try await client.execute(
                uri: "/health/live", method: .get, headers: [RequestMiddleware<CollectorRequestContext>.requestIDField: "req-42.a:b_c"])
            #expect(given.headers[RequestMiddleware<CollectorRequestContext>.requestIDField] == "req-42.a:b_c")

            var ids: Set<String> = []
            for header in [nil, "", "has space", "quote\"", String(repeating: "x", count: 129)] {
                var headers: HTTPFields = [:]
                if let header { headers[RequestMiddleware<CollectorRequestContext>.requestIDField] = header }
                let response = try await client.execute(uri: "/api/services", method: .get, headers: headers)
                let id = try #require(response.headers[RequestMiddleware<CollectorRequestContext>.requestIDField])
                #expect(id.count == 32 && id.allSatisfy(\.isHexDigit), "\(id)")
                ids.insert(id)
            }
            #expect(ids.count == 5)
            // Errors carry it too, the router's 404 included.
            let missing = try await client.execute(uri: "/nowhere", method: .get)
            #expect(missing.status == .notFound)
            #expect(missing.headers[RequestMiddleware<CollectorRequestContext>.requestIDField] != nil)
        }
    }

    @Test("/metrics counts requests by route and status, and spans received, accepted, rejected and dropped; promtool finds no problem")
    func exposition() async throws {
        let collector = Collector(store: InMemoryStore(), configuration: CollectorConfiguration(maxQueuedSpans: 10))
        try await collector.application().test(.router) { client in
            let spans = Fixtures.realisticSpans(count: 30, seed: 3)
            for index in 0..<3 {
                let response = try await client.export(OTLPProtobuf.encodeRequest(Array(spans[index * 10..<index * 10 + 10])))
                #expect(response.status == .ok)
            }
            // One span without a trace id is rejected alone (partial success).
            var invalid = spans[0]
            invalid.traceID = TraceID(bytes: [UInt8](repeating: 0, count: 16))!
            invalid.spanID = SpanID(bytes: [1, 2, 3, 4, 5, 6, 7, 8])!
            #expect(try await client.export(OTLPProtobuf.encodeRequest([invalid])).status == .ok)
            #expect(try await client.export([0xFF, 0xFF]).status == .badRequest)
            #expect(try await client.execute(uri: "/api/traces/zz", method: .get).status == .badRequest)

            let metrics = try await Self.metrics(client)
            #expect(metrics[#"cairn_ingest_spans_received_total"#] == 31)
            #expect(metrics[#"cairn_ingest_spans_accepted_total"#] == 30)
            #expect(metrics[#"cairn_ingest_spans_rejected_total{reason="invalid"}"#] == 1)
            #expect(metrics[#"cairn_ingest_spans_dropped_total{reason="queue_full"}"#] == 0)
            #expect(metrics[#"cairn_http_requests_total{route="/v1/traces",method="POST",status="200"}"#] == 4)
            #expect(metrics[#"cairn_http_requests_total{route="/v1/traces",method="POST",status="400"}"#] == 1)
            #expect(metrics[#"cairn_http_requests_total{route="/api/traces/{traceID}",method="GET",status="400"}"#] == 1)
            #expect(metrics[#"cairn_http_request_duration_seconds_count{route="/v1/traces",method="POST",status="200"}"#] == 4)
            #expect(metrics[#"cairn_ingest_commit_batch_spans_count"#] == 3)
            #expect(metrics[#"cairn_ingest_commit_batch_spans_sum"#] == 30)
            #expect(metrics[#"cairn_ingest_commit_failures_total"#] == 0)
            #expect(metrics[#"cairn_ingest_queue_spans"#] == 0)
            #expect(metrics[#"cairn_ingest_queue_capacity_spans"#] == 10)
            #expect(metrics[#"cairn_ingest_accepting"#] == 1)
            #expect((metrics[#"process_resident_memory_bytes"#] ?? 0) > 1_000_000)
            #expect((metrics[#"process_open_fds"#] ?? 0) >= 3)
            #expect((metrics[#"process_cpu_seconds_total"#] ?? 0) > 0)
            #expect(try metrics.promtoolProblems() == nil)
        }
    }

    @Test("a full queue's refusal is counted")
    func dropped() async throws {
        let store = InstrumentedStore(InMemoryStore(), holding: true)
        let collector = Collector(store: store, configuration: CollectorConfiguration(maxQueuedSpans: 10))
        try await collector.application().test(.router) { client in
            async let held = client.export(OTLPProtobuf.encodeRequest(Fixtures.realisticSpans(count: 10, seed: 5)))
            await store.waitUntilWritesBegan(1)
            let refused = try await client.export(OTLPProtobuf.encodeRequest(Fixtures.realisticSpans(count: 4, seed: 6)))
            #expect(refused.status == .tooManyRequests)
            let metrics = try await Self.metrics(client)
            // Refused before its body was read: the request is counted, its spans are unknown.
            #expect(metrics[#"cairn_ingest_requests_refused_total{reason="queue_full"}"#] == 1)
            #expect(metrics[#"cairn_ingest_spans_dropped_total{reason="queue_full"}"#] == 0)
            #expect(metrics[#"cairn_ingest_queue_spans"#] == 10)
            store.release()
            #expect(try await held.status == .ok)
        }
    }

    @Test("the store's size, spans and oldest span are on /metrics")
    func storeGauges() async throws {
        let store = try StoreKind.sqlite.make()
        try await Collector(store: store).application().test(.router) { client in
            let spans = Fixtures.realisticSpans(count: 20, seed: 9)
            #expect(try await client.export(OTLPProtobuf.encodeRequest(spans)).status == .ok)
            let metrics = try await Self.metrics(client)
            #expect(metrics["cairn_store_spans"] == 20)
            #expect((metrics["cairn_store_size_bytes"] ?? 0) > 4096)
            let oldest = Double(spans.map(\.startTimeUnixNano).min()!) / 1e9
            let age = try #require(metrics["cairn_store_oldest_span_age_seconds"])
            let expected = Date().timeIntervalSince1970 - oldest
            #expect(abs(age - expected) < 60)
            #expect((metrics["cairn_store_filesystem_free_bytes"] ?? 0) > 0)
            #expect(metrics["cairn_backup_last_success_timestamp_seconds"] == 0)
        }
    }

    @Test("with tokens, ingest and queries need their own bearer token; health stays open")
    func tokens() async throws {
        let configuration = CollectorConfiguration(accessTokens: AccessTokens(ingest: "in-secret", query: "q-secret"))
        try await Collector(store: InMemoryStore(), configuration: configuration).application().test(.router) { client in
            let body = OTLPProtobuf.encodeRequest(Fixtures.realisticSpans(count: 3, seed: 1))
            func export(_ authorization: String?) async throws -> TestResponse {
                var headers: HTTPFields = [.contentType: MediaType.protobuf]
                if let authorization { headers[.authorization] = authorization }
                return try await client.execute(uri: "/v1/traces", method: .post, headers: headers, body: ByteBuffer(bytes: body))
            }
            for wrong in [nil, "Bearer q-secret", "Bearer in-secre", "Bearer in-secret2", "Basic in-secret", "in-secret"] {
                let response = try await export(wrong)
                #expect(response.status == .unauthorized, "\(wrong ?? "none")")
                #expect(response.headers[.wwwAuthenticate] == #"Bearer realm="cairn""#)
                #expect(try WireReader.statusAnswer(protobuf: response.bytes).code == 16)
            }
            #expect(try await export("Bearer in-secret").status == .ok)
            #expect(try await export("bearer in-secret").status == .ok)

            for path in ["/api/services", "/metrics"] {
                #expect(try await client.execute(uri: path, method: .get).status == .unauthorized)
                #expect(try await client.execute(uri: path, method: .get, headers: [.authorization: "Bearer in-secret"]).status == .unauthorized)
                #expect(try await client.execute(uri: path, method: .get, headers: [.authorization: "Bearer q-secret"]).status == .ok)
            }
            #expect(try await client.execute(uri: "/health/ready", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/health/live", method: .get).status == .ok)
        }
    }

    @Test("tokens match only when equal, whatever their lengths")
    func tokenComparison() {
        #expect(AccessTokens.matches("abc", "abc"))
        #expect(!AccessTokens.matches("abd", "abc"))
        #expect(!AccessTokens.matches("ab", "abc"))
        #expect(!AccessTokens.matches("abcd", "abc"))
        #expect(!AccessTokens.matches("", "abc"))
        #expect(!AccessTokens.matches("abc\u{0}", "abc"))
    }
}

@Suite("JSON logs")
struct JSONLogHandlerTests {
    final class Lines: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [[UInt8]] = []
        func append(_ line: [UInt8]) { lock.withLock { lines.append(line) } }
        var objects: [[String: Any]] {
            lock.withLock { lines }.map { try! JSONSerialization.jsonObject(with: Data($0)) as! [String: Any] }
        }
        var text: String { lock.withLock { lines }.map { String(decoding: $0, as: UTF8.self) }.joined() }
    }

    @Test("each record is one JSON line with time, level, component, message and the metadata")
    func records() throws {
        let lines = Lines()
        var logger = Logger(label: "cairn.test") { JSONLogHandler(label: $0, level: .debug, sink: lines.append) }
        logger[metadataKey: "request_id"] = "r-1"
        logger.debug("first \"quoted\"\nline", metadata: ["count": "3", "nested": ["a": "b"], "list": ["x", "y"]])
        logger.trace("not written")
        let records = lines.objects
        #expect(records.count == 1)
        let record = try #require(records.first)
        #expect(record["level"] as? String == "debug")
        #expect(record["component"] as? String == "cairn.test")
        #expect(record["message"] as? String == "first \"quoted\"\nline")
        #expect(record["request_id"] as? String == "r-1")
        #expect(record["count"] as? String == "3")
        #expect(record["nested"] as? [String: String] == ["a": "b"])
        #expect(record["list"] as? [String] == ["x", "y"])
        let time = try #require(record["time"] as? String)
        #expect(time.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil, "\(time)")
        #expect(lines.text.filter { $0 == "\n" }.count == 1)
    }

    @Test("every request is logged once with its id, method, route, status and duration, and nothing of its headers")
    func requestLog() async throws {
        let lines = Lines()
        let handler = JSONLogHandler(label: "cairn.http", level: .info, sink: lines.append)
        let metrics = CollectorMetrics()
        let router = Router(context: CollectorRequestContext.self)
        router.add(middleware: RequestMiddleware(metrics: metrics, logger: Logger(label: "cairn.http") { _ in handler }))
        router.get("/hello/{name}") { _, context in
            context.logger.info("inside")
            return "hi"
        }
        let app = Application(router: router, logger: Logger(label: "cairn.http") { _ in handler })
        try await app.test(.router) { client in
            let response = try await client.execute(
                uri: "/hello/world?token=abc", method: .get,
                headers: [.authorization: "Bearer top-secret", RequestMiddleware<CollectorRequestContext>.requestIDField: "rid-7"])
            #expect(response.status == .ok)
        }
        let requests = lines.objects.filter { $0["message"] as? String == "request" }
        #expect(requests.count == 1)
        let record = try #require(requests.first)
        #expect(record["request_id"] as? String == "rid-7")
        #expect(record["method"] as? String == "GET")
        #expect(record["route"] as? String == "/hello/{name}")
        #expect(record["status"] as? String == "200")
        #expect(Double(record["duration_ms"] as? String ?? "") != nil)
        #expect(!lines.text.contains("top-secret"))
        #expect(!lines.text.contains("token=abc"))
    }

    @Test("log levels parse from their names, warn included")
    func levels() {
        #expect(Logger.Level(name: "WARN") == .warning)
        #expect(Logger.Level(name: "debug") == .debug)
        #expect(Logger.Level(name: "loud") == nil)
    }
}
