import CairnModel
public import CairnStore
public import Hummingbird
import HummingbirdCore
import HummingbirdTLS
public import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals

/// The collector: an HTTP server with the OTLP/HTTP trace receiver in front of an ingest queue that commits to a
/// store, and the query API (`QueryAPI`) that reads the store, on the same port, with health checks
/// (`HealthCheck`), Prometheus metrics (`MetricsEndpoint`), a request log (`RequestMiddleware`) and optional bearer
/// tokens (`AccessTokens`) and TLS.
///
/// Receives [OTLP/HTTP](https://opentelemetry.io/docs/specs/otlp/#otlphttp) from any OpenTelemetry SDK. `run()`
/// serves until SIGTERM or SIGINT, then shuts down in order: the HTTP server stops intake and answers the requests
/// in flight, then the ingest queue commits everything it accepted, then `run()` returns.
public struct Collector: Sendable {
    /// How the collector listens and bounds its work.
    public let configuration: CollectorConfiguration
    /// The queue between the receiver and the store; one per collector.
    public let queue: IngestQueue
    /// The collector's metrics, written out on `/metrics`.
    public let metrics: CollectorMetrics
    /// The RED metrics of the traced services, derived from their spans, in the same registry.
    public let spanMetrics: SpanMetrics
    private let store: any SpanWriter & SpanReader
    private let logger: Logger

    /// A collector that stores into `store`.
    public init(
        store: any SpanWriter & SpanReader, configuration: CollectorConfiguration = CollectorConfiguration(),
        logger: Logger = Logger(label: "cairn.collector")
    ) {
        self.store = store
        self.configuration = configuration
        self.logger = logger
        let metrics = CollectorMetrics()
        self.metrics = metrics
        self.spanMetrics = SpanMetrics(registry: metrics.registry)
        self.queue = IngestQueue(writer: store, configuration: configuration, logger: logger) { batches, duration, error in
            metrics.recordCommit(spans: batches.reduce(0) { $0 + $1.count }, duration: duration, failed: error != nil)
        }
    }

    /// The Hummingbird application, with the ingest queue among its services.
    ///
    /// The application runs its services in a `ServiceGroup` that shuts down in reverse order: the HTTP server
    /// first, then the queue, so that requests in flight are answered and their spans committed. Tests run it with
    /// HummingbirdTesting's `test(.router)` or `test(.live)`.
    /// - Parameter onServerRunning: called with the bound port once the server listens (useful with port 0).
    /// - Throws: when the TLS certificate or key cannot be read.
    public func application(
        onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let router = Router(context: CollectorRequestContext.self)
        router.add(middleware: RequestMiddleware(metrics: metrics, logger: Logger(label: "cairn.http")))
        router.add(middleware: BearerTokenMiddleware(tokens: configuration.accessTokens))
        router.get("/") { _, _ in
            "Cairn collector: send OpenTelemetry traces with OTLP/HTTP to POST /v1/traces (application/x-protobuf or application/json); read them with Jaeger's HTTP API under /api (GET /api/services, /api/traces?service=...).\n"
        }
        OTLPReceiver(queue: queue, configuration: configuration, metrics: metrics, spanMetrics: spanMetrics)
            .addRoutes(to: router)
        QueryAPI(
            reader: store, maxTracesPerSearch: configuration.maxTracesPerSearch,
            maxSpansPerScan: configuration.maxSpansPerScan
        ).addRoutes(to: router)
        HealthCheck(writer: store, queue: queue, configuration: configuration).addRoutes(to: router)
        MetricsEndpoint(
            metrics: metrics, spanMetrics: spanMetrics, queue: queue, configuration: configuration,
            store: store as? any StoreStatisticsReporting
        ).addRoutes(to: router)
        var services: [any Service] = [queue]
        if let retention = configuration.retention {
            guard let store = store as? any SpanRetention else {
                throw CollectorError("this store cannot delete old spans; run without a retention period")
            }
            services.append(RetentionService(store: store, retention: retention, logger: Logger(label: "cairn.retention")))
        }
        return Application(
            router: router,
            server: try serverBuilder(),
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: "cairn"),
            services: services,
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
    }

    /// HTTP/1.1, over TLS when `configuration.tls` names a certificate and key.
    ///
    /// A connection with no traffic for `configuration.idleTimeout` is closed, so that clients that never finish
    /// closing a connection (after a refused request, say) cannot make the collector hold their sockets and buffers.
    /// The rest of a body answered without being read (a refusal) is dropped as it arrives (`UnreadBodyDiscarder`).
    private func serverBuilder() throws -> HTTPServerBuilder {
        let idle = configuration.idleTimeout.components
        let http1 = HTTPServerBuilder.http1(configuration: .init(
            additionalChannelHandlers: [UnreadBodyDiscarder()],
            idleTimeout: .nanoseconds(idle.seconds * 1_000_000_000 + idle.attoseconds / 1_000_000_000)))
        guard let files = configuration.tls else { return http1 }
        let certificates: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(files.certificatePath)
        } catch {
            throw CollectorError("cannot read the TLS certificate \(files.certificatePath) (\(error)); give a PEM file with the server's certificate chain")
        }
        do {
            key = try NIOSSLPrivateKey(file: files.privateKeyPath, format: .pem)
        } catch {
            throw CollectorError("cannot read the TLS private key \(files.privateKeyPath) (\(error)); give the PEM file of the certificate's key, unencrypted")
        }
        let tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: certificates.map { .certificate($0) }, privateKey: .privateKey(key))
        return try .tls(http1, tlsConfiguration: tls)
    }

    /// Serves until SIGTERM or SIGINT, then stops intake, commits what was accepted and returns.
    /// - Parameter onServerRunning: called with the bound port once the server listens.
    public func run(onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }) async throws {
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [try application(onServerRunning: onServerRunning)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}

/// A collector that cannot start, with what to do about it.
public struct CollectorError: Error, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
