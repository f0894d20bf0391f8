import CairnModel
import CairnStore
import Prometheus
import Synchronization

extension CollectorMetrics {
    /// Sets the gauges that are read rather than counted: the ingest queue, the store and the process.
    func update(queue: IngestQueue.Status, configuration: CollectorConfiguration, store: StoreStatistics?) {
        func gauge(_ name: String, _ unit: String, _ help: String, _ value: Double) {
            registry.makeGauge(descriptor: Self.name(name, unit, help)).set(value)
        }
        gauge("ingest_queue", "spans", "Spans accepted and not yet committed.", Double(queue.queuedSpans))
        gauge("ingest_queue", "bytes", "Bytes of spans accepted and not yet committed.", Double(queue.queuedBytes))
        gauge("ingest_queue_capacity", "spans", "The ingest queue's bound in spans; beyond it requests get 429.",
              Double(configuration.maxQueuedSpans))
        gauge("ingest_queue_capacity", "bytes", "The ingest queue's bound in bytes; beyond it requests get 429.",
              Double(configuration.maxQueuedBytes))
        gauge("ingest_accepting", "", "1 while the collector accepts spans, 0 once shutdown has begun.",
              queue.accepting ? 1 : 0)

        if let store {
            gauge("store_size", "bytes", "Bytes the store takes on disk.", Double(store.bytes))
            gauge("store", "spans", "Spans stored.", Double(store.spans))
            let now = Double(unixNanosNow()) / 1e9
            gauge("store_oldest_span_age", "seconds", "Age of the oldest span stored; 0 when the store is empty.",
                  store.oldestSpanStart.map { max(0, now - Double($0) / 1e9) } ?? 0)
            gauge("backup_last_success_timestamp", "seconds",
                  "When the last successful backup finished, in seconds since the Unix epoch; 0 when there was none.",
                  store.lastBackupFinished.map { Double($0) / 1e9 } ?? 0)
            if let free = store.filesystemFreeBytes, let size = store.filesystemSizeBytes {
                gauge("store_filesystem_free", "bytes", "Bytes free on the store's file system.", Double(free))
                gauge("store_filesystem_size", "bytes", "Size of the store's file system.", Double(size))
            }
        }

        if let process = ProcessStatistics.current() {
            func processGauge(_ name: String, _ help: String, _ value: Double) {
                registry.makeGauge(descriptor: MetricNameDescriptor(
                    namespace: "process", metricName: name, unitName: "", helpText: help)).set(value)
            }
            processGauge("resident_memory_bytes", "Resident memory size in bytes.", Double(process.residentMemoryBytes))
            processGauge("virtual_memory_bytes", "Virtual memory size in bytes.", Double(process.virtualMemoryBytes))
            processGauge("open_fds", "Open file descriptors.", Double(process.openFileDescriptors))
            processGauge("max_fds", "The most file descriptors the process may open.", Double(process.maxFileDescriptors))
            processGauge("start_time_seconds", "Start of the process in seconds since the Unix epoch.",
                         process.startTimeSeconds)
            let added = reportedCPUSeconds.withLock { reported in
                defer { reported = max(reported, process.cpuSeconds) }
                return max(0, process.cpuSeconds - reported)
            }
            registry.makeCounter(descriptor: MetricNameDescriptor(
                namespace: "process", metricName: "cpu_seconds_total", unitName: "",
                helpText: "User and system CPU time spent, in seconds.")).increment(by: added)
        }
    }
}
