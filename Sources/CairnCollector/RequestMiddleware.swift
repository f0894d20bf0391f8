import CairnModel
import HTTPTypes
public import Hummingbird
public import Logging
import NIOCore

/// Gives every request an id, logs it once answered, and counts it in the collector's HTTP metrics.
///
/// - The id is the request's `x-request-id` when it is a plausible id (1 to 128 characters of letters, digits and
///   `-_.:`), or a new random one; it is returned in the response's `x-request-id` and put on the request's logger
///   as `request_id`, so every record logged while answering carries it.
/// - One record per request, `"message":"request"`, with method, route (the route's pattern, not the path, so that
///   no query string or identifier is logged), status, duration in milliseconds and the client's address. Headers
///   and bodies are never logged.
public struct RequestMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The header that carries the request id, in and out.
    public static var requestIDField: HTTPField.Name { HTTPField.Name("x-request-id")! }

    let metrics: CollectorMetrics
    let logger: Logger

    /// Records requests into `metrics` and logs them with `logger`.
    public init(metrics: CollectorMetrics, logger: Logger) {
        self.metrics = metrics
        self.logger = logger
    }

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let started = ContinuousClock.now
        let id = request.headers[Self.requestIDField].flatMap(Self.validated) ?? Self.newID()
        var context = context
        context.logger[metadataKey: "request_id"] = .string(id)
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        } catch {
            // Hummingbird would answer 500 for it; answer it here so that it is logged and counted too.
            context.logger.error("a handler failed", metadata: ["error": "\(error)"])
            response = Response(status: .internalServerError)
        }
        response.headers[Self.requestIDField] = id
        let elapsed = ContinuousClock.now - started
        let route = context.endpointPath ?? "unmatched"
        metrics.recordRequest(route: route, method: request.method.rawValue, status: response.status.code, duration: elapsed)
        var record: Logger.Metadata = [
            "request_id": .string(id),
            "method": .string(request.method.rawValue),
            "route": .string(route),
            "status": .stringConvertible(response.status.code),
            "duration_ms": .string(Self.milliseconds(elapsed)),
        ]
        if let address = (context as? any RemoteAddressRequestContext)?.remoteAddress?.ipAddress {
            record["client"] = .string(address)
        }
        logger.info("request", metadata: record)
        return response
    }

    /// `text` when it is a plausible request id, else nil.
    static func validated(_ text: String) -> String? {
        guard (1...128).contains(text.utf8.count) else { return nil }
        let allowed = text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                 UInt8(ascii: ":"):
                true
            default: false
            }
        }
        return allowed ? text : nil
    }

    /// 32 random hexadecimal digits.
    static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        return Hex.encode((0..<16).map { _ in generator.next() as UInt8 })
    }

    /// A duration in milliseconds with three decimals.
    static func milliseconds(_ duration: Duration) -> String {
        let micros = duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
        let text = String(micros % 1_000)
        return "\(micros / 1_000).\(String(repeating: "0", count: 3 - text.count))\(text)"
    }
}
