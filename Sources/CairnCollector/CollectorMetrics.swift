public import Prometheus
import Synchronization

/// The collector's own metrics, in one Prometheus registry that `GET /metrics` writes out
/// ([exposition format](https://prometheus.io/docs/instrumenting/exposition_formats/)).
///
/// - RED of the collector's HTTP server: `cairn_http_requests_total` and `cairn_http_request_duration_seconds`
///   by route (the route's pattern, never the raw path), method and status.
/// - Ingest: spans received, accepted, rejected (`reason="invalid"`) and dropped by reason (`queue_full`,
///   `shutting_down`, `store_failed`), redactions, the queue's depth and bounds in spans and bytes, and each
///   commit's size, latency and failures.
/// - Store, process and retention gauges, set when `/metrics` is read (`CollectorMetrics+Scrape.swift`).
///
/// The RED metrics of the traced services, derived from their spans, are `SpanMetrics`, in the same registry.
public final class CollectorMetrics: Sendable {
    /// Where every metric of this collector is registered.
    public let registry: PrometheusCollectorRegistry

    private struct RequestKey: Hashable {
        var route: String
        var method: String
        var status: Int
    }

    private let requests = Mutex<[RequestKey: (count: Counter, duration: DurationHistogram)]>([:])

    private let spansReceived: Counter
    private let spansAccepted: Counter
    private let spansRejectedInvalid: Counter
    private let spansDropped: [String: Counter]
    private let requestsRefused: [String: Counter]
    private let redactions: Counter
    private let commitSpans: ValueHistogram
    private let commitDuration: DurationHistogram
    private let commitFailures: Counter
    /// The CPU seconds last added to `process_cpu_seconds_total`, a counter set from `/proc` at each scrape.
    let reportedCPUSeconds = Mutex(0.0)

    /// Buckets for request and commit latency: 1 ms to 30 s, with 2 s, which the alert rules use.
    static let latencyBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(2.5), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2),
        .seconds(5), .seconds(10), .seconds(30),
    ]

    /// Metrics in `registry`, a new one unless given.
    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        func spans(_ name: String, _ help: String, _ labels: [(String, String)] = []) -> Counter {
            registry.makeCounter(descriptor: Self.name("ingest_spans_\(name)", "total", help), labels: labels)
        }
        spansReceived = spans("received", "Spans decoded from export requests.")
        spansAccepted = spans("accepted", "Spans committed to the store.")
        spansRejectedInvalid = spans(
            "rejected", "Spans refused one by one for their content (reported as partial success).",
            [("reason", "invalid")])
        spansDropped = Dictionary(uniqueKeysWithValues: IngestError.reasons.map { reason in
            (reason, spans("dropped", "Spans of export requests refused as a whole after decoding, by reason.",
                           [("reason", reason)]))
        })
        requestsRefused = Dictionary(uniqueKeysWithValues: IngestError.reasons.map { reason in
            (reason, registry.makeCounter(
                descriptor: Self.name(
                    "ingest_requests_refused", "total",
                    "Export requests answered 429 or 503 (before or after reading their body), by reason."),
                labels: [("reason", reason)]))
        })
        redactions = registry.makeCounter(
            descriptor: Self.name("ingest_redactions", "total", "Attribute values replaced by [REDACTED] before storing."))
        commitSpans = registry.makeValueHistogram(
            descriptor: Self.name("ingest_commit_batch", "spans", "Spans per store commit (group commit)."),
            buckets: [1, 10, 100, 512, 1_000, 2_048, 4_096, 8_192, 16_384, 65_536])
        commitDuration = registry.makeDurationHistogram(
            descriptor: Self.name("ingest_commit_duration", "seconds", "Time to write one group commit to the store."),
            buckets: Self.latencyBuckets)
        commitFailures = registry.makeCounter(
            descriptor: Self.name("ingest_commit_failures", "total", "Store commits that failed; their requests got 503."))
    }

    /// `cairn_<name>_<unit>` with its help text.
    static func name(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "cairn", metricName: name, unitName: unit, helpText: help)
    }

    /// Counts one answered HTTP request.
    /// - Parameters:
    ///   - route: the matched route's pattern, such as `/api/traces/{traceID}`; bounded in number.
    func recordRequest(route: String, method: String, status: Int, duration: Duration) {
        let key = RequestKey(route: route, method: method, status: status)
        let metrics = requests.withLock { requests in
            if let metrics = requests[key] { return metrics }
            let labels = [("route", route), ("method", method), ("status", String(status))]
            let metrics = (
                count: registry.makeCounter(
                    descriptor: Self.name("http_requests", "total", "HTTP requests answered, by route, method and status."),
                    labels: labels),
                duration: registry.makeDurationHistogram(
                    descriptor: Self.name(
                        "http_request_duration", "seconds", "Time to answer an HTTP request, by route, method and status."),
                    labels: labels, buckets: Self.latencyBuckets))
            requests[key] = metrics
            return metrics
        }
        metrics.count.increment()
        metrics.duration.record(duration)
    }

    /// Counts the spans decoded from one export request: those to submit, and those rejected one by one.
    func recordDecoded(spans: Int, rejected: Int) {
        spansReceived.increment(by: Int64(spans + rejected))
        if rejected > 0 { spansRejectedInvalid.increment(by: Int64(rejected)) }
    }

    /// Counts attribute values redacted in one request.
    func recordRedactions(_ count: Int) {
        if count > 0 { redactions.increment(by: Int64(count)) }
    }

    /// Counts the spans of a request that were committed.
    func recordAccepted(spans: Int) {
        spansAccepted.increment(by: Int64(spans))
    }

    /// Counts the spans of a request refused as a whole after decoding.
    func recordDropped(_ spans: Int, because error: IngestError) {
        spansDropped[error.reason]?.increment(by: Int64(spans))
    }

    /// Counts an export request answered 429 or 503.
    func recordRefused(because error: IngestError) {
        requestsRefused[error.reason]?.increment()
    }

    /// Records one commit of the ingest queue.
    func recordCommit(spans: Int, duration: Duration, failed: Bool) {
        commitSpans.record(Double(spans))
        commitDuration.record(duration)
        if failed { commitFailures.increment() }
    }
}
