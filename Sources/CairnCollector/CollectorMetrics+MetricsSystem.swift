import CoreMetrics
import Prometheus

extension CollectorMetrics {
    /// Makes this registry the process's swift-metrics backend, so that what libraries record through swift-metrics
    /// (`Counter(label:)`, `Timer(label:)`, ...) is on `/metrics` too. Call it once per process; `cairn serve` does.
    public func bootstrapMetricsSystem() {
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    }
}
