import CairnStore
public import Hummingbird
import Logging
import NIOCore
import Prometheus

/// `GET /metrics`: the collector's metrics in Prometheus's text format 0.0.4, for Prometheus to scrape.
///
/// Counters and histograms are counted as things happen; the gauges of the queue, the store and the process are
/// read at each scrape (the store's statistics through `StoreStatisticsReporting`, when the store reports them), and
/// the span metrics' waiting calls that expired are settled then.
public struct MetricsEndpoint: Sendable {
    /// The path Prometheus scrapes by default.
    public static let path = "/metrics"

    let metrics: CollectorMetrics
    let spanMetrics: SpanMetrics?
    let queue: IngestQueue
    let configuration: CollectorConfiguration
    let store: (any StoreStatisticsReporting)?

    public init(
        metrics: CollectorMetrics, spanMetrics: SpanMetrics?, queue: IngestQueue, configuration: CollectorConfiguration,
        store: (any StoreStatisticsReporting)?
    ) {
        self.metrics = metrics
        self.spanMetrics = spanMetrics
        self.queue = queue
        self.configuration = configuration
        self.store = store
    }

    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.get(RouterPath(Self.path)) { _, context in
            await exposition(logger: context.logger)
        }
    }

    func exposition(logger: Logger) async -> Response {
        var statistics: StoreStatistics?
        do {
            statistics = try await store?.statistics()
        } catch {
            logger.warning("the store's statistics could not be read", metadata: ["error": "\(error)"])
        }
        metrics.update(queue: queue.status, configuration: configuration, store: statistics)
        // Calls whose other half never came are turned into edges to their peers, or dropped, by now at the latest.
        spanMetrics?.flushExpired()
        return Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.registry.emitToBuffer())))
    }
}
