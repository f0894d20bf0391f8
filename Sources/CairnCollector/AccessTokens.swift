import CairnModel
import HTTPTypes
import Hummingbird
import NIOCore

/// Optional bearer tokens: one for ingest (`/v1/...`), one for queries (`/api/...` and `/metrics`). Without a
/// token configured, that side is open. The health endpoints and `/` are always open, for load balancers.
///
/// A request to a protected path needs `Authorization: Bearer <token>`; without it, or with another token, it is
/// answered 401 with `WWW-Authenticate: Bearer` (OTLP clients treat 401 as not retryable). Tokens are compared in
/// time that does not depend on where they differ.
public struct AccessTokens: Sendable, Hashable {
    /// The token that `POST /v1/traces` requires; nil leaves ingest open.
    public var ingest: String?
    /// The token that the query API and `/metrics` require; nil leaves them open.
    public var query: String?

    public init(ingest: String? = nil, query: String? = nil) {
        self.ingest = ingest
        self.query = query
    }

    /// The token required for `path`, if any.
    func required(for path: String) -> String? {
        if path.hasPrefix("/v1/") { return ingest }
        if path.hasPrefix("/api/") || path == "/api" || path == "/metrics" { return query }
        return nil
    }

    /// Whether `given` equals `expected`; the time taken depends on their lengths only.
    static func matches(_ given: Substring, _ expected: String) -> Bool {
        let given = Array(given.utf8)
        let expected = Array(expected.utf8)
        var difference = UInt8(truncatingIfNeeded: given.count ^ expected.count)
        for index in 0..<expected.count {
            difference |= expected[index] ^ (index < given.count ? given[index] : 0)
        }
        return difference == 0 && given.count == expected.count
    }
}

/// Answers 401 to requests of protected paths that lack the right bearer token (see `AccessTokens`).
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let tokens: AccessTokens

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let path = request.uri.path
        guard let expected = tokens.required(for: path) else { return try await next(request, context) }
        if let header = request.headers[.authorization], header.count > 7,
           header.prefix(7).lowercased() == "bearer ",
           AccessTokens.matches(header.dropFirst(7), expected) {
            return try await next(request, context)
        }
        let message = "this collector requires a bearer token for \(path); send the header Authorization: Bearer <token>"
        var response: Response
        if path.hasPrefix("/v1/") {
            let format = WireFormat(contentType: request.headers[.contentType]) ?? .protobuf
            response = format.statusResponse(.unauthorized, code: .unauthenticated, message: message)
        } else {
            response = Response(
                status: .unauthorized, headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: JaegerJSON.errorEnvelope(code: 401, message: message))))
        }
        response.headers[.wwwAuthenticate] = #"Bearer realm="cairn""#
        return response
    }
}
