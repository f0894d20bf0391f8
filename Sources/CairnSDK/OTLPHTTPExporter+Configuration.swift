extension OTLPHTTPExporter {
    /// Where and how an ``OTLPHTTPExporter`` sends spans, with the OpenTelemetry defaults.
    ///
    /// See [the OTLP exporter's configuration options](https://opentelemetry.io/docs/specs/otel/protocol/exporter/);
    /// ``applyingEnvironment(_:logger:)`` reads the `OTEL_EXPORTER_OTLP_*` variables.
    public struct Configuration: Sendable, Equatable {
        /// The full URL spans are posted to, used as given (`http` or `https`). Default
        /// `http://localhost:4318/v1/traces`.
        public var endpoint: String
        /// Headers added to every export request, such as `authorization`.
        public var headers: [String: String]
        /// The compression of request bodies. Default none.
        public var compression: Compression
        /// How long one export may take in all, retries and waits between them included. Default 10 s, the
        /// specification's `OTEL_EXPORTER_OTLP_TIMEOUT`.
        public var timeout: Duration
        /// The wait before the first retry when the server does not say (`Retry-After`); it doubles on each retry,
        /// with jitter. Default 1 s.
        public var initialBackoff: Duration
        /// The longest wait between retries. Default 30 s.
        public var maxBackoff: Duration
        /// How many batches a ``BatchSpanProcessor`` may have in flight to the collector at once, each a request of
        /// its own on a keep-alive connection. Default 16: while a batch waits for the collector's answer (which
        /// `cairn serve` gives once the spans are stored, tens of milliseconds on a busy machine), the next full
        /// batches are sent instead of filling the queue; 16 batches of 512 spans keep 50,000 spans/s flowing with
        /// answers as slow as 160 ms. Only as many are used as there are full batches. Not an OpenTelemetry
        /// setting; 1 sends one batch at a time.
        public var maxConcurrentExports: Int

        /// A configuration with the specification's defaults unless given.
        public init(
            endpoint: String = "http://localhost:4318/v1/traces",
            headers: [String: String] = [:],
            compression: Compression = .none,
            timeout: Duration = .seconds(10),
            initialBackoff: Duration = .seconds(1),
            maxBackoff: Duration = .seconds(30),
            maxConcurrentExports: Int = 16
        ) {
            self.endpoint = endpoint
            self.headers = headers
            self.compression = compression
            self.timeout = timeout
            self.initialBackoff = initialBackoff
            self.maxBackoff = maxBackoff
            self.maxConcurrentExports = maxConcurrentExports
        }
    }

    /// The compression of export request bodies
    /// ([OTLP/HTTP request](https://opentelemetry.io/docs/specs/otlp/#otlphttp-request)).
    public enum Compression: String, Sendable, Equatable {
        /// Bodies are sent as they are.
        case none
        /// Bodies are gzip-compressed and sent with `Content-Encoding: gzip`.
        case gzip
    }
}
