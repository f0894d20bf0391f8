extension BatchSpanProcessor {
    /// The queue, batch and timing settings of a ``BatchSpanProcessor``, with the OpenTelemetry defaults.
    ///
    /// See [the batching processor's configurable parameters](https://opentelemetry.io/docs/specs/otel/trace/sdk/#batching-processor);
    /// ``applyingEnvironment(_:logger:)`` reads the `OTEL_BSP_*` variables.
    public struct Configuration: Sendable, Equatable {
        /// The most spans the queue holds; spans that end while it is full are dropped and counted. Default 2048.
        public var maxQueueSize: Int
        /// The most spans in one export; at most ``maxQueueSize``. Default 512.
        public var maxExportBatchSize: Int
        /// How long queued spans wait for a batch to fill before they are exported anyway. Default 5 s.
        public var scheduleDelay: Duration
        /// How long one export may take before it is cancelled and its spans counted as failed. Default 30 s.
        public var exportTimeout: Duration
        /// How often, at most, dropped and failed spans are logged (with their count). Default 10 s.
        public var droppedSpansLogInterval: Duration

        /// A configuration with the specification's defaults unless given.
        public init(
            maxQueueSize: Int = 2048,
            maxExportBatchSize: Int = 512,
            scheduleDelay: Duration = .seconds(5),
            exportTimeout: Duration = .seconds(30),
            droppedSpansLogInterval: Duration = .seconds(10)
        ) {
            self.maxQueueSize = maxQueueSize
            self.maxExportBatchSize = maxExportBatchSize
            self.scheduleDelay = scheduleDelay
            self.exportTimeout = exportTimeout
            self.droppedSpansLogInterval = droppedSpansLogInterval
        }
    }
}
