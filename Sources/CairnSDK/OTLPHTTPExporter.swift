import AsyncHTTPClient
public import CairnModel
import CairnOTLP
public import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import Tracing

/// Exports spans to an OpenTelemetry collector (`cairn serve` or any other) as OTLP/HTTP protobuf, on
/// AsyncHTTPClient.
///
/// Implements [the OTLP/HTTP protocol](https://opentelemetry.io/docs/specs/otlp/#otlphttp) and
/// [the OTLP exporter](https://opentelemetry.io/docs/specs/otel/protocol/exporter/): each batch is one `POST` of an
/// `ExportTraceServiceRequest` with `Content-Type: application/x-protobuf`, gzip-compressed when configured, with
/// the configured headers. A response of 429, 502, 503 or 504, or a failure to connect, is retried
/// ([retryable responses](https://opentelemetry.io/docs/specs/otlp/#retryable-response-codes)) after the server's
/// `Retry-After` (seconds or an HTTP date) or else an exponential backoff with jitter (1 s, 2 s, 4 s... at most
/// ``Configuration/maxBackoff``), as long as the export stays within ``Configuration/timeout``. Any other status
/// (400, 401, 413...) is not retried: the export fails and is logged once with the server's message, read from the
/// `google.rpc.Status` in the body when there is one. A partial success is logged as a warning.
///
/// The exporter owns its `HTTPClient`, made at the first export and shut down by ``shutdown()``; the client traces
/// nothing, so exports never make spans of their own. Call ``shutdown()`` (a ``BatchSpanProcessor`` does when it
/// shuts down) before dropping an exporter that has exported.
public final class OTLPHTTPExporter: SpanExporter, ConcurrentSpanExporter {
    private struct State {
        var client: HTTPClient?
        var isShutDown = false
    }

    /// The configuration the exporter was made with.
    public let configuration: Configuration
    private let logger: Logger
    private let state = Mutex(State())

    /// An exporter with `configuration` as given (apply `OTEL_EXPORTER_OTLP_*` variables first with
    /// ``Configuration/applyingEnvironment(_:logger:)``).
    ///
    /// - Throws: ``OTLPExportError`` when the endpoint is not an `http` or `https` URL.
    public init(configuration: Configuration = Configuration(), logger: Logger = Logger(label: "cairn.sdk.exporter"))
        throws(OTLPExportError)
    {
        guard Configuration.isHTTPURL(configuration.endpoint) else {
            throw OTLPExportError(
                .invalidEndpoint,
                "The OTLP endpoint \"\(configuration.endpoint)\" is not an http or https URL; give one such as http://localhost:4318/v1/traces.")
        }
        self.configuration = configuration
        self.logger = logger
    }

    /// Posts the batch, retrying as the type's documentation says; returns when the collector accepted it.
    ///
    /// - Throws: ``OTLPExportError`` when the collector refused the batch, when retries ran out of time, or when the
    ///   exporter has shut down; `CancellationError` when the task was cancelled.
    public func export(_ batch: [CairnModel.Span]) async throws {
        guard !batch.isEmpty else { return }
        guard let client = client() else {
            throw OTLPExportError(.shutDown, "The OTLP exporter has shut down, so it exports nothing more; export before shutting down.")
        }
        var body = OTLPProtobuf.encodeRequest(batch)
        if configuration.compression == .gzip {
            body = try Gzip.compress(body)
        }
        try await send(body, spanCount: batch.count, client: client)
    }

    /// ``Configuration/maxConcurrentExports``: the client sends concurrent exports on connections of their own.
    var maxConcurrentExports: Int { max(1, configuration.maxConcurrentExports) }

    /// Shuts the HTTP client down; later exports fail. Only the first call does anything.
    public func shutdown() async {
        let client: HTTPClient? = state.withLock { state in
            defer {
                state.isShutDown = true
                state.client = nil
            }
            return state.isShutDown ? nil : state.client
        }
        try? await client?.shutdown()
    }

    private func client() -> HTTPClient? {
        state.withLock { state in
            if state.isShutDown { return nil }
            if let client = state.client { return client }
            var configuration = HTTPClient.Configuration()
            configuration.tracing.tracer = nil
            configuration.decompression = .disabled
            configuration.redirectConfiguration = .disallow
            // A failed connection comes back to `send`, which retries it with backoff within the time bound,
            // instead of the pool retrying it until the request's deadline.
            configuration.connectionPool.retryConnectionEstablishment = false
            // A connection for each export a batch processor may have in flight (the client's default is 8).
            configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(
                configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit, maxConcurrentExports)
            let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
            state.client = client
            return client
        }
    }

    private func request(body: [UInt8]) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: configuration.endpoint)
        request.method = .POST
        request.headers.add(name: "User-Agent", value: "CairnSDK/\(cairnSDKVersion)")
        for (name, value) in configuration.headers.sorted(by: { $0.key < $1.key }) {
            request.headers.replaceOrAdd(name: name, value: value)
        }
        request.headers.replaceOrAdd(name: "Content-Type", value: "application/x-protobuf")
        if configuration.compression == .gzip {
            request.headers.replaceOrAdd(name: "Content-Encoding", value: "gzip")
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        return request
    }

    /// Posts `body` until it is accepted, refused, or the time is up.
    private func send(_ body: [UInt8], spanCount: Int, client: HTTPClient) async throws {
        let clock = ContinuousClock()
        let started = clock.now
        let deadline = started + configuration.timeout
        let request = request(body: body)
        var attempt = 0
        while true {
            attempt += 1
            let remaining = clock.now.duration(to: deadline)
            let retryAfter: Duration?
            let failure: String
            do {
                let response = try await client.execute(
                    request, timeout: .nanoseconds(max(1, remaining.nanoseconds)), logger: nil)
                let responseBody = try await response.body.collect(upTo: 1 << 20)
                let bytes = Array(responseBody.readableBytesView)
                let status = Int(response.status.code)
                switch status {
                case 200..<300:
                    logPartialSuccess(bytes, contentType: response.headers.first(name: "Content-Type"), spanCount: spanCount)
                    return
                case 429, 502, 503, 504:
                    retryAfter = response.headers.first(name: "Retry-After").flatMap {
                        RetryAfter.delay($0, nowNanos: DefaultTracerClock.now.nanosecondsSinceEpoch)
                    }
                    failure = "HTTP \(status)\(Self.messageSuffix(bytes, response.headers.first(name: "Content-Type")))"
                default:
                    let message = Self.serverMessage(bytes, contentType: response.headers.first(name: "Content-Type"))
                    let error = OTLPExportError(
                        .rejected(status: status),
                        "The collector at \(configuration.endpoint) refused \(spanCount) spans with HTTP \(status)\(message.map { " (\($0))" } ?? ""), so they are dropped; \(Self.advice(status))")
                    logger.error("\(error.description)", metadata: ["status": "\(status)", "spans": "\(spanCount)"])
                    throw error
                }
            } catch let error as OTLPExportError {
                throw error
            } catch {
                if Task.isCancelled { throw CancellationError() }
                retryAfter = nil
                failure = Self.describe(error)
            }

            let delay = retryAfter ?? backoff(attempt: attempt)
            if clock.now + delay >= deadline {
                let elapsed = started.duration(to: clock.now)
                let error = OTLPExportError(
                    .retriesExhausted(attempts: attempt),
                    "Could not export \(spanCount) spans to \(configuration.endpoint) in \(attempt) \(attempt == 1 ? "attempt" : "attempts") over \(Self.seconds(elapsed)) (last: \(failure)), so they are dropped; check that the collector runs and is reachable, or raise OTEL_EXPORTER_OTLP_TIMEOUT.")
                logger.error("\(error.description)", metadata: ["attempts": "\(attempt)", "spans": "\(spanCount)"])
                throw error
            }
            logger.debug(
                "Export failed, retrying",
                metadata: ["failure": "\(failure)", "attempt": "\(attempt)", "delay": "\(Self.seconds(delay))"])
            try await Task.sleep(for: delay, clock: clock)
        }
    }

    /// Exponential backoff with jitter: half the doubled delay, plus a random part of the other half.
    private func backoff(attempt: Int) -> Duration {
        let initial = max(configuration.initialBackoff, .milliseconds(1))
        var base = initial
        for _ in 1..<attempt where base < configuration.maxBackoff { base *= 2 }
        base = min(base, configuration.maxBackoff)
        return base / 2 + base / 2 * Double.random(in: 0...1)
    }

    private func logPartialSuccess(_ body: [UInt8], contentType: String?, spanCount: Int) {
        guard contentType?.lowercased().hasPrefix("application/x-protobuf") ?? true,
            let (rejected, message) = ProtobufFields.partialSuccess(body), rejected > 0 || !message.isEmpty
        else { return }
        logger.warning(
            "The collector at \(configuration.endpoint) rejected \(rejected) of \(spanCount) spans\(message.isEmpty ? "" : " (\(message))"); the rest are stored.",
            metadata: ["rejected": "\(rejected)", "spans": "\(spanCount)"])
    }

    /// The server's message: the `google.rpc.Status` message of a protobuf body, else a short text body.
    static func serverMessage(_ body: [UInt8], contentType: String?) -> String? {
        guard !body.isEmpty else { return nil }
        let type = contentType?.lowercased() ?? ""
        if type.hasPrefix("application/x-protobuf") || type.hasPrefix("application/protobuf") {
            if let message = ProtobufFields.statusMessage(body), !message.isEmpty { return message }
        }
        let text = String(decoding: body.prefix(300), as: UTF8.self)
        guard text.unicodeScalars.allSatisfy({ $0.value >= 0x20 || $0 == "\n" || $0 == "\t" }) else { return nil }
        return text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }

    private static func messageSuffix(_ body: [UInt8], _ contentType: String?) -> String {
        serverMessage(body, contentType: contentType).map { ": \($0)" } ?? ""
    }

    private static func advice(_ status: Int) -> String {
        switch status {
        case 401, 403: "check the credentials in OTEL_EXPORTER_OTLP_HEADERS."
        case 404, 405: "check that the endpoint's path is the collector's traces path, usually /v1/traces."
        case 413: "lower OTEL_BSP_MAX_EXPORT_BATCH_SIZE or set OTEL_EXPORTER_OTLP_COMPRESSION=gzip."
        case 415: "check that the endpoint is an OTLP/HTTP receiver."
        default: "fix what the collector's message says."
        }
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            if error == .deadlineExceeded { return "the request timed out" }
            return "\(error)"
        }
        return "\(error)"
    }

    private static func seconds(_ duration: Duration) -> String {
        let millis = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        return "\(Double(millis) / 1000) s"
    }
}

extension Duration {
    /// The whole nanoseconds of the duration.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
