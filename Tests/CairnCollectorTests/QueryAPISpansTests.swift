@testable import CairnCollector
import CairnModel
import CairnOTLP
import CairnStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// A collector over a fresh store with both query fixtures ingested through `/v1/traces`.
private func withFixtures(
    _ kind: StoreKind, _ body: @escaping @Sendable (any TestClientProtocol, any SpanReader) async throws -> Void
) async throws {
    let store = try kind.make()
    try await Collector(store: store).application().test(.router) { client in
        let request = OTLPProtobuf.encodeRequest(QueryFixture.paymentTrace() + QueryFixture.skewedTrace())
        try #require(try await client.export(request).status == .ok)
        try await body(client, store)
    }
}

extension TestClientProtocol {
    fileprivate func get(_ uri: String, accept: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if let accept { headers[.accept] = accept }
        return try await execute(uri: uri, method: .get, headers: headers)
    }

    /// The hex ids in the envelope of `/api/trace-ids`.
    fileprivate func traceIDs(_ query: String) async throws -> [String] {
        let response = try await get("/api/trace-ids?\(query)")
        #expect(response.status == .ok, "\(response.text)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(response.bytes)) as? [String: Any])
        return try #require(object["data"] as? [String])
    }
}

/// The first error message of an envelope.
private func errorMessage(_ response: TestResponse) throws -> String {
    let object = try #require(try JSONSerialization.jsonObject(with: Data(response.bytes)) as? [String: Any])
    let errors = try #require(object["errors"] as? [[String: Any]])
    return try #require(errors.first?["msg"] as? String)
}

@Suite("The query API's reader endpoints: OTLP traces, trace ids and span windows, in process")
struct QueryAPISpansTests {
    static let base = QueryFixture.base
    static let hex = QueryFixture.traceID.hex

    @Test("a trace as OTLP holds the stored spans, in protobuf or JSON by Accept", arguments: StoreKind.allCases)
    func otlpTrace(kind: StoreKind) async throws {
        try await withFixtures(kind) { client, _ in
            let protobuf = try await client.get("/api/traces/\(Self.hex)/otlp", accept: "application/x-protobuf")
            #expect(protobuf.status == .ok)
            #expect(protobuf.headers[.contentType] == "application/x-protobuf")
            #expect(Set(try OTLPProtobuf.decodeSpans(protobuf.bytes)) == Set(QueryFixture.paymentTrace()))

            let json = try await client.get("/api/traces/\(Self.hex)/otlp")
            #expect(json.headers[.contentType] == "application/json")
            #expect(Set(try OTLPJSON.decodeSpans(json.bytes).spans) == Set(QueryFixture.paymentTrace()))

            let weighted = try await client.get(
                "/api/traces/\(Self.hex)/otlp", accept: "application/json;q=0.5, application/x-protobuf")
            #expect(weighted.headers[.contentType] == "application/x-protobuf")
        }
    }

    @Test("a trace that is not stored is 404 in the envelope; a bad id is 400")
    func otlpNotFound() async throws {
        try await withFixtures(.memory) { client, _ in
            let absent = try await client.get("/api/traces/\(String(repeating: "ab", count: 16))/otlp")
            #expect(absent.status == .notFound)
            #expect(try errorMessage(absent) == "trace not found")
            let bad = try await client.get("/api/traces/xyz/otlp")
            #expect(bad.status == .badRequest)
            #expect(try errorMessage(bad).contains("is not 1 to 32 hexadecimal digits"))
        }
    }

    @Test("trace ids are searched newest first, with the service optional and exact bounds", arguments: StoreKind.allCases)
    func traceIDs(kind: StoreKind) async throws {
        try await withFixtures(kind) { client, _ in
            let skew = QueryFixture.skewTraceID.hex
            #expect(try await client.traceIDs("") == [skew, Self.hex])
            #expect(try await client.traceIDs("limit=1") == [skew])
            #expect(try await client.traceIDs("service=checkout&operation=charge") == [Self.hex])
            #expect(try await client.traceIDs("status=error") == [Self.hex])
            #expect(try await client.traceIDs("minDuration=100000999ns&maxDuration=100000999ns") == [Self.hex])
            #expect(try await client.traceIDs("tags=%7B%22rpc.system%22%3A%22grpc%22%7D") == [Self.hex])
            // The payment trace's root starts at base + 1,500 ns: nanosecond bounds are exact.
            #expect(try await client.traceIDs("endNanos=\(Self.base + 1_500)") == [Self.hex])
            #expect(try await client.traceIDs("endNanos=\(Self.base + 1_499)") == [])
            #expect(try await client.traceIDs("startNanos=\(Self.base + 1_501)&endNanos=\(Self.base + 10_000_000)") == [Self.hex])
            // Microseconds, as /api/traces takes them.
            #expect(try await client.traceIDs("start=\(QueryFixture.skewBase / 1_000 - 50_000)") == [skew])

            let bad = try await client.get("/api/trace-ids?status=broken")
            #expect(bad.status == .badRequest)
            #expect(try errorMessage(bad).contains("give unset, ok or error"))
        }
    }

    @Test("a window of spans is one protobuf request, trimmed as SpanScan trims, equal to the store's scan", arguments: StoreKind.allCases)
    func spans(kind: StoreKind) async throws {
        try await withFixtures(kind) { client, store in
            let cases: [(query: String, scan: SpanScan)] = [
                ("startNanos=\(Self.base)&endNanos=\(Self.base + 15_000_000)", SpanScan(window: Self.base..<Self.base + 15_000_000)),
                ("startNanos=0&endNanos=\(UInt64.max)&attributes=&events=true&links=true",
                 SpanScan(window: 0..<UInt64.max, attributeKeys: [], includeEvents: true, includeLinks: true)),
                ("startNanos=0&endNanos=\(UInt64.max)&attributes=rpc.system,http.request.method&service=checkout",
                 SpanScan(window: 0..<UInt64.max, attributeKeys: ["rpc.system", "http.request.method"], services: ["checkout"])),
                ("startNanos=0&endNanos=\(UInt64.max)&attributes=*&service=checkout&service=frontend",
                 SpanScan(window: 0..<UInt64.max, services: ["checkout", "frontend"])),
                ("start=\(Self.base / 1_000)&end=\(Self.base / 1_000 + 10_000)", SpanScan(window: Self.base..<Self.base + 10_001_000)),
            ]
            for (query, scan) in cases {
                let response = try await client.get("/api/spans?\(query)")
                #expect(response.status == .ok, "\(query): \(response.text)")
                #expect(response.headers[.contentType] == "application/x-protobuf")
                let expected = try await store.reduceSpans(scan, into: [Span]()) { $0.append($1) }
                #expect(!expected.isEmpty)
                #expect(Set(try OTLPProtobuf.decodeSpans(response.bytes)) == Set(expected), "\(query)")
            }
            let window = try await client.get("/api/spans?startNanos=\(Self.base)&endNanos=\(Self.base + 15_000_000)")
            #expect(Set(try OTLPProtobuf.decodeSpans(window.bytes).map(\.name)) == ["GET /checkout", "POST /charge"])
        }
    }

    @Test("a window that holds more spans than one answer may is refused with 413, and a shorter one is answered")
    func spansBound() async throws {
        let spans = QueryFixture.paymentTrace() + QueryFixture.skewedTrace()
        let collector = Collector(store: InMemoryStore(), configuration: CollectorConfiguration(maxSpansPerScan: spans.count - 1))
        try await collector.application().test(.router) { client in
            try #require(try await client.export(OTLPProtobuf.encodeRequest(spans)).status == .ok)
            let everything = try await client.get("/api/spans?startNanos=0&endNanos=\(UInt64.max)")
            #expect(everything.status == .contentTooLarge)
            #expect(try errorMessage(everything) == "the window holds more than \(spans.count - 1) spans, the most one answer holds; ask for a shorter window")
            let first = try #require(spans.map(\.startTimeUnixNano).min())
            let short = try await client.get("/api/spans?startNanos=\(first)&endNanos=\(first + 1)")
            #expect(short.status == .ok)
        }
    }

    @Test("a window of spans needs both ends, in order")
    func spansErrors() async throws {
        try await withFixtures(.memory) { client, _ in
            for (query, message) in [
                ("", "the window is required"),
                ("startNanos=5", "'endNanos' is required"),
                ("startNanos=5&endNanos=4", "is after 'endNanos'"),
                ("startNanos=x&endNanos=4", "give a Unix time in nanoseconds"),
            ] {
                let response = try await client.get("/api/spans?\(query)")
                #expect(response.status == .badRequest)
                #expect(try errorMessage(response).contains(message), "\(query)")
            }
        }
    }
}
