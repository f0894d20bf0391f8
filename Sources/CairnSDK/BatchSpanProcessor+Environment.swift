public import Logging

extension BatchSpanProcessor.Configuration {
    /// The configuration with the `OTEL_BSP_*` variables of `environment` applied over it.
    ///
    /// Implements [the batch span processor variables](https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/#batch-span-processor):
    /// `OTEL_BSP_MAX_QUEUE_SIZE`, `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, `OTEL_BSP_SCHEDULE_DELAY` (milliseconds) and
    /// `OTEL_BSP_EXPORT_TIMEOUT` (milliseconds). An empty variable counts as unset; an invalid one (not a whole
    /// number, or zero for a size) is logged once, here, and ignored. A batch size above the queue size is lowered
    /// to it, as the specification requires.
    public func applyingEnvironment(
        _ environment: [String: String] = CairnTracer.Configuration.processEnvironment(),
        logger: Logger = Logger(label: "cairn.sdk")
    ) -> Self {
        var configuration = self
        let variables = EnvironmentVariables(values: environment, logger: logger)
        func number(_ name: String, minimum: Int) -> Int? {
            variables.number(name, minimum: minimum, example: minimum == 0 ? 5000 : 512)
        }
        if let size = number("OTEL_BSP_MAX_QUEUE_SIZE", minimum: 1) { configuration.maxQueueSize = size }
        if let size = number("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", minimum: 1) { configuration.maxExportBatchSize = size }
        if let millis = number("OTEL_BSP_SCHEDULE_DELAY", minimum: 0) { configuration.scheduleDelay = .milliseconds(millis) }
        if let millis = number("OTEL_BSP_EXPORT_TIMEOUT", minimum: 0) { configuration.exportTimeout = .milliseconds(millis) }
        configuration.maxExportBatchSize = min(configuration.maxExportBatchSize, configuration.maxQueueSize)
        return configuration
    }
}
