import CairnCollector
import CairnModel
import CairnOTLP
import CairnTesting
import Foundation
import Prometheus
import Synchronization
import Testing

@Suite("RED metrics of the traced services, derived from their spans")
struct SpanMetricsTests {
    /// A clock the tests move by hand, in nanoseconds.
    final class TestClock: Sendable {
        private let nanos = Mutex<UInt64>(5_000_000_000)

        var now: @Sendable () -> UInt64 { { self.nanos.withLock { $0 } } }

        func advance(seconds: Double) {
            nanos.withLock { $0 += UInt64(seconds * 1e9) }
        }
    }

    /// Span metrics in a fresh registry, on a hand-moved clock.
    struct Subject {
        let registry = PrometheusCollectorRegistry()
        let clock = TestClock()
        let metrics: SpanMetrics

        init(_ configuration: SpanMetrics.Configuration = .init()) {
            metrics = SpanMetrics(registry: registry, configuration: configuration, now: clock.now)
        }

        func record(_ spans: Span...) {
            metrics.record(SpanBatch(spans: spans))
        }

        var exposition: Exposition { Exposition(registry.emitToString()) }
    }

    static let start: UInt64 = 1_700_000_000_000_000_000

    static func span(
        _ service: String, _ name: String, _ kind: SpanKind, trace: UInt64 = 1, id: UInt64, parent: UInt64? = nil,
        millis: Double = 10, status: SpanStatus.Code = .unset, attributes: [Attribute] = [], links: [SpanLink] = []
    ) -> Span {
        Span(
            traceID: TraceID(high: 7, low: trace), spanID: SpanID(value: id), parentSpanID: parent.map { SpanID(value: $0) },
            name: name, kind: kind, startTimeUnixNano: start, endTimeUnixNano: start + UInt64(millis * 1e6),
            attributes: attributes, links: links, status: SpanStatus(code: status),
            resource: Resource(attributes: [Attribute("service.name", .string(service))]))
    }

    /// `name{labels}` as the registry writes the labels: in the order given, quoted.
    static func sample(_ name: String, _ labels: KeyValuePairs<String, String>) -> String {
        "\(name){\(labels.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: ","))}"
    }

    static func calls(_ service: String, _ operation: String, _ kind: String, _ status: String = "unset") -> String {
        sample("cairn_span_calls_total", ["service": service, "operation": operation, "kind": kind, "status": status])
    }

    static func durationBucket(_ service: String, _ operation: String, _ kind: String, _ status: String, le: String) -> String {
        sample(
            "cairn_span_duration_seconds_bucket",
            ["service": service, "operation": operation, "kind": kind, "status": status, "le": le])
    }

    static func edge(_ family: String, _ client: String, _ server: String, _ type: String = "", le: String? = nil) -> String {
        if let le {
            return sample(
                "cairn_dependency_\(family)", ["client": client, "server": server, "connection_type": type, "le": le])
        }
        return sample("cairn_dependency_\(family)", ["client": client, "server": server, "connection_type": type])
    }

    static let expired = sample("cairn_dependency_unpaired_total", ["reason": "expired"])
    static let evicted = sample("cairn_dependency_unpaired_total", ["reason": "evicted"])

    // MARK: - Spans

    @Test("spans are counted per service, operation, kind and status, with their durations in buckets")
    func calls() {
        let subject = Subject()
        subject.record(
            Self.span("frontend", "GET /cart", .server, id: 1, millis: 10),
            Self.span("frontend", "GET /cart", .server, id: 2, millis: 1_500),
            Self.span("frontend", "GET /cart", .server, id: 3, millis: 3_000, status: .error),
            Self.span("frontend", "render", .internal, id: 4, parent: 1, millis: 0.5, status: .ok),
            Self.span("frontend", "odd", SpanKind(rawValue: 9), id: 5, status: SpanStatus.Code(rawValue: 7)))
        subject.record(Self.span("frontend", "GET /cart", .server, trace: 2, id: 1, millis: 20))
        let exposition = subject.exposition

        #expect(exposition[Self.calls("frontend", "GET /cart", "server")] == 3)
        #expect(exposition[Self.calls("frontend", "GET /cart", "server", "error")] == 1)
        #expect(exposition[Self.calls("frontend", "render", "internal", "ok")] == 1)
        #expect(exposition[Self.calls("frontend", "odd", "unspecified")] == 1)

        let bucket = { (le: String) in exposition[Self.durationBucket("frontend", "GET /cart", "server", "unset", le: le)] }
        #expect(bucket("0.005") == 0)
        #expect(bucket("0.01") == 1)
        #expect(bucket("0.025") == 2)
        #expect(bucket("1.0") == 2)
        #expect(bucket("2.0") == 3)
        #expect(bucket("+Inf") == 3)
        #expect(exposition[Self.sample("cairn_span_duration_seconds_sum", [
            "service": "frontend", "operation": "GET /cart", "kind": "server", "status": "unset",
        ])] == 1.53)
        #expect(exposition[Self.durationBucket("frontend", "GET /cart", "server", "error", le: "2.0")] == 0)
        #expect(exposition[Self.durationBucket("frontend", "GET /cart", "server", "error", le: "5.0")] == 1)
        #expect(exposition[Self.durationBucket("frontend", "render", "internal", "ok", le: "0.001")] == 1)
    }

    // MARK: - Edges

    @Test("a CLIENT span and the SERVER span under it make one edge, in whichever batches and order they come")
    func pairs() {
        for serverFirst in [false, true] {
            let subject = Subject()
            let client = Self.span("frontend", "GET", .client, id: 10, parent: 1, millis: 40)
            let server = Self.span("checkout", "GET /price", .server, id: 11, parent: 10, millis: 30)
            subject.record(serverFirst ? server : client)
            #expect(subject.exposition[Self.edge("requests_total", "frontend", "checkout")] == nil)
            subject.record(serverFirst ? client : server)

            let exposition = subject.exposition
            #expect(exposition[Self.edge("requests_total", "frontend", "checkout")] == 1)
            #expect(exposition[Self.edge("failures_total", "frontend", "checkout")] == 0)
            // The client's duration: 40 ms.
            #expect(exposition[Self.edge("duration_seconds_bucket", "frontend", "checkout", le: "0.025")] == 0)
            #expect(exposition[Self.edge("duration_seconds_bucket", "frontend", "checkout", le: "0.05")] == 1)
            #expect(exposition[Self.edge("duration_seconds_sum", "frontend", "checkout")] == 0.04)

            // Nothing is left waiting.
            subject.clock.advance(seconds: 60)
            subject.metrics.flushExpired()
            #expect(subject.exposition[Self.expired] == 0)
            #expect(subject.exposition[Self.evicted] == 0)
        }
    }

    @Test("a call fails when either side is in ERROR status")
    func failures() {
        let subject = Subject()
        subject.record(
            Self.span("frontend", "GET", .client, trace: 1, id: 10, millis: 5, status: .error),
            Self.span("checkout", "GET /a", .server, trace: 1, id: 11, parent: 10, millis: 4),
            Self.span("frontend", "GET", .client, trace: 2, id: 10, millis: 5),
            Self.span("checkout", "GET /a", .server, trace: 2, id: 11, parent: 10, millis: 4, status: .error),
            Self.span("frontend", "GET", .client, trace: 3, id: 10, millis: 5, status: .ok),
            Self.span("checkout", "GET /a", .server, trace: 3, id: 11, parent: 10, millis: 4))
        #expect(subject.exposition[Self.edge("requests_total", "frontend", "checkout")] == 3)
        #expect(subject.exposition[Self.edge("failures_total", "frontend", "checkout")] == 2)
    }

    @Test("a CLIENT span left alone becomes, once it expires, an edge to the peer its attributes name")
    func peers() {
        let subject = Subject(.init(edgeWaitSeconds: 10))
        subject.record(
            Self.span("checkout", "SELECT orders", .client, trace: 1, id: 10, millis: 3, status: .error, attributes: [
                Attribute("db.system.name", .string("postgresql")), Attribute("server.address", .string("pg-main")),
                Attribute("server.port", .int(5432)), Attribute("db.query.text", .string("SELECT 1")),
            ]),
            Self.span("checkout", "POST", .client, trace: 2, id: 10, millis: 200, attributes: [
                Attribute("server.address", .string("api.stripe.com")), Attribute("url.full", .string("https://api.stripe.com/v1/x")),
            ]),
            Self.span("checkout", "GET", .client, trace: 3, id: 10, millis: 1),  // names no peer
            Self.span("checkout", "GET /x", .server, trace: 4, id: 11, parent: 99, millis: 1))  // its CLIENT never came
        subject.clock.advance(seconds: 9.5)
        subject.metrics.flushExpired()
        #expect(subject.exposition[Self.edge("requests_total", "checkout", "pg-main:5432", "database")] == nil)
        #expect(subject.exposition[Self.expired] == 0)

        subject.clock.advance(seconds: 0.5)
        subject.record()  // expiry also runs on the ingest path
        let exposition = subject.exposition
        #expect(exposition[Self.edge("requests_total", "checkout", "pg-main:5432", "database")] == 1)
        #expect(exposition[Self.edge("failures_total", "checkout", "pg-main:5432", "database")] == 1)
        #expect(exposition[Self.edge("duration_seconds_bucket", "checkout", "pg-main:5432", "database", le: "0.005")] == 1)
        #expect(exposition[Self.edge("requests_total", "checkout", "api.stripe.com", "virtual")] == 1)
        #expect(exposition[Self.edge("failures_total", "checkout", "api.stripe.com", "virtual")] == 0)
        #expect(exposition[Self.expired] == 2)
        #expect(exposition[Self.evicted] == 0)

        // The same peer again, from the cache of resolved peers.
        subject.record(
            Self.span("checkout", "SELECT orders", .client, trace: 5, id: 10, millis: 3, attributes: [
                Attribute("db.system.name", .string("postgresql")), Attribute("server.address", .string("pg-main")),
                Attribute("server.port", .int(5432)),
            ]))
        subject.clock.advance(seconds: 10)
        subject.metrics.flushExpired()
        #expect(subject.exposition[Self.edge("requests_total", "checkout", "pg-main:5432", "database")] == 2)
    }

    @Test("a PRODUCER span and a CONSUMER span under it or linking to it make a messaging edge; each producer counts once")
    func messaging() {
        let subject = Subject()
        subject.record(
            Self.span("orders", "publish", .producer, trace: 1, id: 20, millis: 2),
            Self.span("orders", "publish", .producer, trace: 1, id: 21, millis: 2, status: .error),
            Self.span("orders", "publish", .producer, trace: 1, id: 22, millis: 2))
        subject.record(
            // Under its producer.
            Self.span("billing", "process", .consumer, trace: 1, id: 30, parent: 20, millis: 50),
            // In another trace, linking to its producer.
            Self.span("shipping", "process", .consumer, trace: 9, id: 31, millis: 50, links: [
                SpanLink(traceID: TraceID(high: 7, low: 1), spanID: SpanID(value: 21))
            ]),
            // Under its producer and linking to it too.
            Self.span("billing", "process", .consumer, trace: 1, id: 32, parent: 22, millis: 50, links: [
                SpanLink(traceID: TraceID(high: 7, low: 1), spanID: SpanID(value: 22))
            ]))
        let exposition = subject.exposition
        #expect(exposition[Self.edge("requests_total", "orders", "billing", "messaging")] == 2)
        #expect(exposition[Self.edge("failures_total", "orders", "billing", "messaging")] == 0)
        #expect(exposition[Self.edge("requests_total", "orders", "shipping", "messaging")] == 1)
        #expect(exposition[Self.edge("failures_total", "orders", "shipping", "messaging")] == 1)
        // The producer's duration: 2 ms.
        #expect(exposition[Self.edge("duration_seconds_bucket", "orders", "billing", "messaging", le: "0.0025")] == 2)

        // A producer no consumer answers: an edge to the broker it names.
        subject.record(
            Self.span("orders", "publish", .producer, trace: 3, id: 40, millis: 2, attributes: [
                Attribute("messaging.system", .string("kafka")), Attribute("server.address", .string("kafka-1")),
            ]))
        subject.clock.advance(seconds: 10)
        subject.metrics.flushExpired()
        #expect(subject.exposition[Self.edge("requests_total", "orders", "kafka-1", "messaging")] == 1)
        #expect(subject.exposition[Self.expired] == 0)
    }

    // MARK: - Bounds

    @Test("beyond maxSeries new label sets count under operation _other, then service _other too")
    func seriesOverflow() {
        let subject = Subject(.init(maxSeries: 2))
        subject.record(
            Self.span("shop", "A", .server, id: 1),
            Self.span("shop", "B", .server, id: 2),
            Self.span("shop", "C", .server, id: 3),
            Self.span("shop", "D", .server, id: 4),
            Self.span("shop", "A", .server, id: 5),
            Self.span("cart", "E", .server, id: 6))
        let exposition = subject.exposition
        #expect(exposition[Self.calls("shop", "A", "server")] == 2)
        #expect(exposition[Self.calls("shop", "B", "server")] == 1)
        #expect(exposition[Self.calls("shop", "C", "server")] == nil)
        #expect(exposition[Self.calls("shop", "_other", "server")] == 2)
        #expect(exposition[Self.calls("cart", "_other", "server")] == nil)
        #expect(exposition[Self.calls("_other", "_other", "server")] == 1)
        #expect(exposition[Self.sample("cairn_span_metrics_overflow_total", ["limit": "series"])] == 3)
        #expect(exposition[Self.sample("cairn_span_metrics_overflow_total", ["limit": "edges"])] == 0)
        #expect(exposition.text.components(separatedBy: "\ncairn_span_calls_total{").count - 1 == 4)
    }

    @Test("beyond maxEdges new edges count under server _other, then client _other too")
    func edgeOverflow() {
        let subject = Subject(.init(maxEdges: 1))
        subject.record(
            Self.span("frontend", "GET", .client, trace: 1, id: 10),
            Self.span("checkout", "GET /a", .server, trace: 1, id: 11, parent: 10),
            Self.span("frontend", "GET", .client, trace: 2, id: 10),
            Self.span("payments", "GET /b", .server, trace: 2, id: 11, parent: 10),
            Self.span("frontend", "GET", .client, trace: 3, id: 10),
            Self.span("checkout", "GET /a", .server, trace: 3, id: 11, parent: 10),
            Self.span("inventory", "GET", .client, trace: 4, id: 10),
            Self.span("payments", "GET /b", .server, trace: 4, id: 11, parent: 10))
        let exposition = subject.exposition
        #expect(exposition[Self.edge("requests_total", "frontend", "checkout")] == 2)
        #expect(exposition[Self.edge("requests_total", "frontend", "payments")] == nil)
        #expect(exposition[Self.edge("requests_total", "frontend", "_other")] == 1)
        #expect(exposition[Self.edge("requests_total", "_other", "_other")] == 1)
        #expect(exposition[Self.sample("cairn_span_metrics_overflow_total", ["limit": "edges"])] == 2)
    }

    @Test("beyond maxPendingEdges the call that waited longest is given up, a lone CLIENT span's peer edge included")
    func eviction() {
        let subject = Subject(.init(maxPendingEdges: 2))
        subject.record(Self.span("checkout", "GET /a", .server, trace: 1, id: 11, parent: 10))
        subject.record(
            Self.span("checkout", "SELECT", .client, trace: 2, id: 10, attributes: [
                Attribute("db.system", .string("mysql")), Attribute("db.namespace", .string("shop")),
            ]))
        subject.record(Self.span("checkout", "GET /b", .server, trace: 3, id: 11, parent: 10))
        #expect(subject.exposition[Self.evicted] == 1)
        // The evicted half's CLIENT span now waits alone; 2 are waiting, so the database call goes.
        subject.record(Self.span("frontend", "GET", .client, trace: 1, id: 10))
        #expect(subject.exposition[Self.edge("requests_total", "frontend", "checkout")] == nil)
        #expect(subject.exposition[Self.edge("requests_total", "checkout", "shop", "database")] == 1)
        #expect(subject.exposition[Self.evicted] == 1)
        // Pairs still pair at the bound.
        subject.record(Self.span("frontend", "GET", .client, trace: 3, id: 10))
        #expect(subject.exposition[Self.edge("requests_total", "frontend", "checkout")] == 1)
        #expect(subject.exposition[Self.expired] == 0)
    }

    // MARK: - Exposition

    @Test("the exposition passes promtool check metrics, odd label values included")
    func promtool() throws {
        let subject = Subject(.init(maxSeries: 3, maxEdges: 2))
        subject.record(
            Self.span("front\"end", "GET \"/a\\b\"\nnext", .server, id: 1),
            Self.span("frontend", "GET", .client, trace: 1, id: 10, parent: 1, status: .error),
            Self.span("checkout", "GET /price", .server, trace: 1, id: 11, parent: 10),
            Self.span("orders", "publish", .producer, trace: 2, id: 20),
            Self.span("billing", "process", .consumer, trace: 2, id: 21, parent: 20),
            Self.span("checkout", "SELECT", .client, trace: 3, id: 10, attributes: [
                Attribute("db.system.name", .string("postgresql")),
            ]),
            Self.span("ü", "ünïcode ✓", .internal, id: 5))
        subject.clock.advance(seconds: 10)
        subject.metrics.flushExpired()
        let exposition = subject.exposition
        #expect(exposition.text.contains(#"operation="GET \"/a\\b\"\nnext""#))
        #expect(try exposition.promtoolProblems() == nil)
    }
}
