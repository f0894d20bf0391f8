import Instrumentation
public import Logging
public import ServiceLifecycle

/// CairnSDK set up in one call: a ``CairnTracer`` exporting through a ``BatchSpanProcessor`` and an
/// ``OTLPHTTPExporter``, run as a ServiceLifecycle `Service`.
///
/// ```swift
/// let tracing = try CairnTracingService.bootstrap(serviceName: "checkout")
/// let group = ServiceGroup(services: [tracing, server], gracefulShutdownSignals: [.sigterm], logger: logger)
/// try await group.run()
/// ```
///
/// The `OTEL_*` variables of the environment override the configuration given in code, as
/// [the SDK configuration](https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/) says:
/// see ``CairnTracer/Configuration/applyingEnvironment(_:logger:)``,
/// ``OTLPHTTPExporter/Configuration/applyingEnvironment(_:logger:)`` and
/// ``BatchSpanProcessor/Configuration/applyingEnvironment(_:logger:)``. With `OTEL_SDK_DISABLED=true` nothing is
/// made or installed and the service only waits for shutdown.
///
/// Run the service for spans to be exported. Its graceful shutdown exports every span that ended before it, then
/// shuts the exporter's HTTP client down; put it in the `ServiceGroup` before the services it traces, so that it
/// shuts down after them.
public struct CairnTracingService: Service, CustomStringConvertible {
    /// The tracer; nil when the SDK is disabled.
    public let tracer: CairnTracer?
    /// The batch processor the tracer hands spans to; nil when the SDK is disabled.
    public let processor: BatchSpanProcessor?
    /// The configuration after the environment was applied.
    public let configuration: Configuration

    /// Makes the tracer, processor and exporter without installing the tracer: for tests, or to bootstrap
    /// `InstrumentationSystem` yourself (with ``tracer``).
    ///
    /// `serviceName`, when given, replaces ``Configuration/tracer``'s; `OTEL_SERVICE_NAME` still wins over both.
    ///
    /// - Throws: ``OTLPExportError`` when the exporter's endpoint is not an `http` or `https` URL.
    public init(
        serviceName: String? = nil,
        configuration: Configuration = Configuration(),
        environment: [String: String] = CairnTracer.Configuration.processEnvironment(),
        logger: Logger = Logger(label: "cairn.sdk")
    ) throws {
        var configuration = configuration
        if let serviceName { configuration.tracer.serviceName = serviceName }
        configuration = configuration.applyingEnvironment(environment, logger: logger)
        self.configuration = configuration
        guard !configuration.isDisabled else {
            tracer = nil
            processor = nil
            return
        }
        let exporter = try OTLPHTTPExporter(configuration: configuration.exporter, logger: logger)
        let processor = BatchSpanProcessor(exporter: exporter, configuration: configuration.batch, logger: logger)
        self.processor = processor
        self.tracer = CairnTracer(configuration: configuration.tracer, processor: processor)
    }

    /// Makes the tracer, processor and exporter and installs the tracer with `InstrumentationSystem.bootstrap`,
    /// so that `withSpan` and instrumented libraries (Hummingbird, AsyncHTTPClient) use it.
    ///
    /// Call it once per process, before anything traces: `InstrumentationSystem.bootstrap` stops the process when
    /// called a second time. Tests should use ``init(serviceName:configuration:environment:logger:)`` instead.
    /// With `OTEL_SDK_DISABLED=true` it installs nothing.
    ///
    /// - Throws: ``OTLPExportError`` when the exporter's endpoint is not an `http` or `https` URL.
    public static func bootstrap(
        serviceName: String? = nil,
        configuration: Configuration = Configuration(),
        environment: [String: String] = CairnTracer.Configuration.processEnvironment(),
        logger: Logger = Logger(label: "cairn.sdk")
    ) throws -> CairnTracingService {
        let service = try CairnTracingService(
            serviceName: serviceName, configuration: configuration, environment: environment, logger: logger)
        if let tracer = service.tracer {
            InstrumentationSystem.bootstrap(tracer)
        }
        return service
    }

    /// Runs the batch processor until graceful shutdown, then exports every finished span and shuts the exporter
    /// down; when disabled, waits for graceful shutdown or cancellation.
    public func run() async throws {
        if let processor {
            try await processor.run()
        } else {
            try? await gracefulShutdown()
        }
    }

    /// Exports every finished span now and returns when done.
    public func forceFlush() async throws {
        try await processor?.forceFlush()
    }

    /// `CairnTracingService`.
    public var description: String { "CairnTracingService" }
}

extension CairnTracingService {
    /// The configuration of every CairnSDK component, each with its defaults.
    public struct Configuration: Sendable {
        /// The tracer: service name, resource, sampler, limits.
        public var tracer: CairnTracer.Configuration
        /// Where and how spans are sent.
        public var exporter: OTLPHTTPExporter.Configuration
        /// The export queue and batches.
        public var batch: BatchSpanProcessor.Configuration
        /// Whether the SDK is off: nothing is made or installed. `OTEL_SDK_DISABLED=true` sets it.
        public var isDisabled: Bool

        /// A configuration with every component's defaults unless given.
        public init(
            tracer: CairnTracer.Configuration = CairnTracer.Configuration(),
            exporter: OTLPHTTPExporter.Configuration = OTLPHTTPExporter.Configuration(),
            batch: BatchSpanProcessor.Configuration = BatchSpanProcessor.Configuration(),
            isDisabled: Bool = false
        ) {
            self.tracer = tracer
            self.exporter = exporter
            self.batch = batch
            self.isDisabled = isDisabled
        }
    }
}
