public import Logging

extension CairnTracingService.Configuration {
    /// The configuration with the `OTEL_*` variables of `environment` applied over each component's, and
    /// `OTEL_SDK_DISABLED`.
    ///
    /// `OTEL_SDK_DISABLED` is `true` or `false`, without regard to case, as
    /// [the general SDK configuration](https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/#general-sdk-configuration)
    /// says; another value is logged and counts as `false`.
    public func applyingEnvironment(
        _ environment: [String: String] = CairnTracer.Configuration.processEnvironment(),
        logger: Logger = Logger(label: "cairn.sdk")
    ) -> Self {
        var configuration = self
        if let raw = environment["OTEL_SDK_DISABLED"] {
            let text = raw.trimmingOWS().lowercased()
            switch text {
            case "true": configuration.isDisabled = true
            case "false", "": break
            default:
                logger.warning(
                    "OTEL_SDK_DISABLED=\(raw) is neither true nor false, so the SDK stays enabled; set true or false.")
            }
        }
        guard !configuration.isDisabled else { return configuration }
        configuration.tracer = configuration.tracer.applyingEnvironment(environment, logger: logger)
        configuration.exporter = configuration.exporter.applyingEnvironment(environment, logger: logger)
        configuration.batch = configuration.batch.applyingEnvironment(environment, logger: logger)
        return configuration
    }
}
