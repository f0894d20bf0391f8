import CairnModel
import CairnOTLP
import HTTPTypes
public import Hummingbird
import Logging

/// The OTLP/HTTP trace receiver: `POST /v1/traces` with a protobuf or JSON `ExportTraceServiceRequest`, plain or
/// gzip, redacted (`Redactor`), answered once its spans are committed.
///
/// Implements [OTLP/HTTP](https://opentelemetry.io/docs/specs/otlp/#otlphttp):
/// - `Content-Type` `application/x-protobuf` or `application/json` (parameters allowed), answered in the same type;
///   another type is answered with 415.
/// - `Content-Encoding` `gzip` or `identity`; another encoding is answered with 415.
/// - 200 with an `ExportTraceServiceResponse`, with `partial_success` when spans were rejected (even all of them);
///   400 with a `google.rpc.Status` for a body that does not decode; 413 for a body over
///   `CollectorConfiguration.maxBodyBytes` as received or inflated; 405 with `Allow: POST` for another method;
///   429 (queue full) or 503 (shutting down, store failed) with `Retry-After`
///   ([throttling](https://opentelemetry.io/docs/specs/otlp/#otlphttp-throttling)).
public struct OTLPReceiver: Sendable {
    /// The path of the trace signal.
    public static let path = "/v1/traces"

    private let queue: IngestQueue
    private let configuration: CollectorConfiguration
    private let metrics: CollectorMetrics
    private let spanMetrics: SpanMetrics?
    private let redactor: Redactor

    /// A receiver that redacts what it decodes with `configuration.redactionRules`, submits it to `queue` with the
    /// limits of `configuration`, counts spans in `metrics`, and records the committed spans in `spanMetrics`.
    public init(
        queue: IngestQueue, configuration: CollectorConfiguration, metrics: CollectorMetrics, spanMetrics: SpanMetrics?
    ) {
        self.queue = queue
        self.configuration = configuration
        self.metrics = metrics
        self.spanMetrics = spanMetrics
        self.redactor = Redactor(rules: configuration.redactionRules)
    }

    /// Adds `POST /v1/traces`, and 405 for the other methods on that path, to the router.
    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.post(RouterPath(Self.path)) { request, context in
            await self.receive(request, logger: context.logger)
        }
        let otherMethods: [HTTPRequest.Method] = [.get, .head, .put, .delete, .patch, .options, .trace]
        for method in otherMethods {
            router.on(RouterPath(Self.path), method: method) { request, _ in
                let format = WireFormat(contentType: request.headers[.contentType]) ?? .protobuf
                var response = format.statusResponse(
                    .methodNotAllowed, code: .unimplemented,
                    message: "\(Self.path) accepts POST only; send the export request with POST")
                response.headers[.allow] = "POST"
                return response
            }
        }
    }

    /// Answers one export request; never throws, every failure is a response.
    func receive(_ request: Request, logger: Logger) async -> Response {
        guard let format = WireFormat(contentType: request.headers[.contentType]) else {
            let given = request.headers[.contentType] ?? "none"
            return WireFormat.protobuf.statusResponse(
                .unsupportedMediaType, code: .invalidArgument,
                message: "Content-Type \(given) is not supported; send application/x-protobuf or application/json")
        }
        let gzip: Bool
        switch request.headers[.contentEncoding].map(WireFormat.normalized) {
        case nil, "", "identity": gzip = false
        case "gzip": gzip = true
        case let other?:
            return format.statusResponse(
                .unsupportedMediaType, code: .invalidArgument,
                message: "Content-Encoding \(other) is not supported; send the body gzip-compressed or uncompressed")
        }
        let contentLength = request.headers[.contentLength].flatMap { Int($0) }
        if let contentLength, contentLength > configuration.maxBodyBytes {
            return tooLarge(format)
        }
        // Reserve room for the body before reading it (all of the limit when its length is not given), so that an
        // overloaded collector neither buffers what it would refuse nor reads more bodies at once than it can queue.
        // What the client still sends of a refused body is dropped as it arrives (`UnreadBodyDiscarder`).
        let reserved = contentLength ?? configuration.maxBodyBytes
        guard queue.reserve(bytes: reserved) else {
            return refused(queue.isAccepting ? .full : .shuttingDown, format: format)
        }
        let read = await self.read(request, format: format, gzip: gzip, logger: logger)
        queue.release(bytes: reserved)
        let exported: DecodedRequest
        switch read {
        case .decoded(let value): exported = value
        case .answered(let response): return response
        }

        let spans = exported.batch.count
        metrics.recordDecoded(spans: spans, rejected: exported.rejectedSpans)
        let (batch, redactions) = redactor.redact(exported.batch)
        metrics.recordRedactions(redactions)
        do {
            try await queue.submit(batch)
        } catch {
            metrics.recordDropped(spans, because: error)
            return refused(error, format: format)
        }
        metrics.recordAccepted(spans: spans)
        spanMetrics?.record(batch)
        return format.response(
            .ok, body: format.encodeResponse(rejectedSpans: exported.rejectedSpans, errorMessage: exported.errorMessage))
    }

    /// What reading a request gives: its decoded spans, or the answer to a body that could not be read or decoded.
    private enum Read {
        case decoded(DecodedRequest)
        case answered(Response)
    }

    /// Reads the body, up to the limit, and decodes it.
    private func read(_ request: Request, format: WireFormat, gzip: Bool, logger: Logger) async -> Read {
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: configuration.maxBodyBytes)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            return .answered(tooLarge(format))
        } catch {
            logger.debug("reading a request body failed", metadata: ["error": "\(error)"])
            return .answered(format.statusResponse(
                .badRequest, code: .invalidArgument,
                message: "the request body could not be read (\(error)); send the whole body again"))
        }
        let limit = configuration.maxBodyBytes
        switch body.withUnsafeReadableBytes({ raw in Self.decode(raw, format: format, gzip: gzip, limit: limit) }) {
        case .success(let value): return .decoded(value)
        case .failure(.tooLarge): return .answered(tooLarge(format))
        case .failure(.undecodable(let error)):
            logger.debug("an export request did not decode", metadata: ["error": "\(error.message)"])
            return .answered(format.statusResponse(.badRequest, code: .invalidArgument, message: error.message))
        }
    }

    /// Inflates the body when it is gzip, then decodes it.
    private static func decode(
        _ body: UnsafeRawBufferPointer, format: WireFormat, gzip: Bool, limit: Int
    ) -> Result<DecodedRequest, ReceiveFailure> {
        guard gzip else { return format.decode(body).mapError(ReceiveFailure.undecodable) }
        let inflated = Result { () throws(GzipInflater.Failure) in try GzipInflater.inflate(body, limit: limit) }
        switch inflated {
        case .success(let bytes):
            return bytes.withUnsafeBytes { format.decode($0) }.mapError(ReceiveFailure.undecodable)
        case .failure(.tooLarge):
            return .failure(.tooLarge)
        case .failure(.invalid(let message)):
            return .failure(.undecodable(OTLPDecodingError(message)))
        }
    }

    private enum ReceiveFailure: Error {
        case tooLarge
        case undecodable(OTLPDecodingError)
    }

    private func tooLarge(_ format: WireFormat) -> Response {
        format.statusResponse(
            .contentTooLarge, code: .resourceExhausted,
            message: "the request body is larger than \(configuration.maxBodyBytes) bytes (after decompression too); send fewer spans per request")
    }

    /// 429 or 503 with `Retry-After`, which OTLP clients honour before retrying.
    private func refused(_ error: IngestError, format: WireFormat) -> Response {
        metrics.recordRefused(because: error)
        let status: HTTPResponse.Status
        let code: RPCCode
        switch error {
        case .full: (status, code) = (.tooManyRequests, .resourceExhausted)
        case .shuttingDown, .storeFailed: (status, code) = (.serviceUnavailable, .unavailable)
        }
        var response = format.statusResponse(status, code: code, message: error.description)
        response.headers[.retryAfter] = String(configuration.retryAfterSeconds)
        return response
    }
}

/// The `google.rpc.Code` values the receiver answers with.
///
/// See [google.rpc.Code](https://github.com/googleapis/googleapis/blob/master/google/rpc/code.proto).
enum RPCCode: Int32 {
    case invalidArgument = 3
    case resourceExhausted = 8
    case unimplemented = 12
    case unavailable = 14
    case unauthenticated = 16
}
