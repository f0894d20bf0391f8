/// How the collector listens, what it accepts, and how it bounds and commits the spans it has accepted.
///
/// Implements the limits that the [OTLP/HTTP](https://opentelemetry.io/docs/specs/otlp/#otlphttp) specification
/// leaves to the server: the largest request body, and when to ask clients to retry later
/// ([throttling](https://opentelemetry.io/docs/specs/otlp/#otlphttp-throttling)).
public struct CollectorConfiguration: Sendable, Hashable {
    /// The address to listen on. Default `127.0.0.1`, reachable from this machine only.
    public var host: String
    /// The TCP port to listen on. Default `4318`, the OTLP/HTTP port; `0` asks the system for a free port.
    public var port: Int
    /// The largest request body accepted, in bytes, both as received and after gzip decompression.
    /// Default 20 MiB. A larger body is answered with 413.
    public var maxBodyBytes: Int
    /// The most spans accepted and not yet committed. Default 65,536. A request that would exceed it is answered
    /// with 429 and `Retry-After`. A single request is always accepted into an empty queue, whatever its size.
    public var maxQueuedSpans: Int
    /// The most bytes of spans (`SpanBatch.byteCount`) accepted and not yet committed. Default 64 MiB.
    public var maxQueuedBytes: Int
    /// The most requests committed in one store transaction (group commit). Default 256.
    public var maxBatchesPerCommit: Int
    /// The most spans committed in one store transaction; a single larger request is still committed whole.
    /// Default 16,384.
    public var maxSpansPerCommit: Int
    /// The seconds a client is asked to wait (`Retry-After`) when the collector answers 429 or 503. Default 1.
    public var retryAfterSeconds: Int
    /// The largest `limit` a trace search of the query API accepts (`GET /api/traces`). Default 1,500, the largest
    /// the Jaeger UI asks for.
    public var maxTracesPerSearch: Int
    /// The most spans `GET /api/spans` answers at once (what `cairn --server` reads for a window); a window that
    /// holds more is refused with 413 and asked to be shorter, so that no request makes the collector hold more.
    /// Default 1,000,000.
    public var maxSpansPerScan: Int
    /// Bearer tokens for ingest and for queries; none by default, so both are open (bind to 127.0.0.1, the
    /// default `host`, or set them).
    public var accessTokens: AccessTokens
    /// The PEM certificate chain and private key to serve HTTPS with; nil (the default) serves plain HTTP.
    public var tls: TLSFiles?
    /// How long spans are kept after they end; nil (the default) keeps them all. Needs a store that implements
    /// `SpanRetention`; `RetentionService` deletes older spans in the background.
    public var retention: Duration?
    /// How long a connection may stay without traffic before the collector closes it. Default 15 seconds: longer
    /// than an SDK's batch delay (5 s by default), so exporters keep their connections between exports, and short
    /// enough that clients that never close their side do not pile up sockets and buffers.
    public var idleTimeout: Duration
    /// What is redacted from spans before they are stored (`Redactor`). Default `Redactor.defaultRules`:
    /// credentials by attribute key, and payment card numbers in string values.
    public var redactionRules: [RedactionRule]

    /// The files of a TLS server identity.
    public struct TLSFiles: Sendable, Hashable {
        /// A PEM file with the server's certificate, followed by its intermediates.
        public var certificatePath: String
        /// A PEM file with the certificate's private key.
        public var privateKeyPath: String

        public init(certificatePath: String, privateKeyPath: String) {
            self.certificatePath = certificatePath
            self.privateKeyPath = privateKeyPath
        }
    }

    /// A configuration with the documented defaults, changed where arguments are given.
    public init(
        host: String = "127.0.0.1",
        port: Int = 4318,
        maxBodyBytes: Int = 20 * 1024 * 1024,
        maxQueuedSpans: Int = 65_536,
        maxQueuedBytes: Int = 64 * 1024 * 1024,
        maxBatchesPerCommit: Int = 256,
        maxSpansPerCommit: Int = 16_384,
        retryAfterSeconds: Int = 1,
        maxTracesPerSearch: Int = 1_500,
        maxSpansPerScan: Int = 1_000_000,
        accessTokens: AccessTokens = AccessTokens(),
        tls: TLSFiles? = nil,
        retention: Duration? = nil,
        redactionRules: [RedactionRule] = Redactor.defaultRules,
        idleTimeout: Duration = .seconds(15)
    ) {
        self.idleTimeout = idleTimeout
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
        self.maxQueuedSpans = maxQueuedSpans
        self.maxQueuedBytes = maxQueuedBytes
        self.maxBatchesPerCommit = maxBatchesPerCommit
        self.maxSpansPerCommit = maxSpansPerCommit
        self.retryAfterSeconds = retryAfterSeconds
        self.maxTracesPerSearch = maxTracesPerSearch
        self.maxSpansPerScan = maxSpansPerScan
        self.accessTokens = accessTokens
        self.tls = tls
        self.retention = retention
        self.redactionRules = redactionRules
    }
}
