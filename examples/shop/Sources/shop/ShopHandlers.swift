import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Tracing

/// The routes of one shop service. Every call to another service goes through `client`, whose tracing makes a
/// CLIENT span and injects its `traceparent`; every route runs inside the SERVER span of `TracingMiddleware`.
struct ShopHandlers: Sendable {
    let options: ShopOptions
    let client: HTTPClient
    let logger: Logger
    let database: ShopDatabase?

    init(options: ShopOptions, client: HTTPClient, logger: Logger) throws {
        self.options = options
        self.client = client
        self.logger = logger
        switch options.service {
        case .inventory:
            database = try ShopDatabase(
                path: options.databasePath,
                schema: """
                    PRAGMA journal_mode=WAL;
                    CREATE TABLE IF NOT EXISTS stock (item TEXT PRIMARY KEY, quantity INTEGER NOT NULL);
                    INSERT OR IGNORE INTO stock VALUES ('book', 1000000), ('lamp', 1000000), ('mug', 1000000);
                    """)
        case .payments:
            database = try ShopDatabase(
                path: options.databasePath,
                schema: """
                    PRAGMA journal_mode=WAL;
                    CREATE TABLE IF NOT EXISTS payments (
                        id INTEGER PRIMARY KEY, item TEXT NOT NULL, quantity INTEGER NOT NULL, at TEXT NOT NULL);
                    """)
        case .frontend, .checkout:
            database = nil
        }
    }

    func register(on router: Router<BasicRequestContext>) {
        switch options.service {
        case .frontend:
            router.get("/checkout") { request, _ in try await frontend(request) }
        case .checkout:
            router.post("/checkout") { request, _ in try await checkout(request) }
        case .inventory:
            router.post("/reserve") { request, _ in try await reserve(request) }
        case .payments:
            router.post("/charge") { request, _ in try await charge(request) }
        }
        router.get("/health") { _, _ in "ok" }
    }

    // MARK: the four services

    private func frontend(_ request: Request) async throws -> String {
        let (item, quantity) = try order(request)
        try await work()
        let answer = try await call(.POST, options.checkoutURL, "/checkout", item, quantity)
        try failSometimes()
        logger.info("order placed", metadata: ["item": "\(item)", "quantity": "\(quantity)"])
        return answer
    }

    private func checkout(_ request: Request) async throws -> String {
        let (item, quantity) = try order(request)
        try await work()
        _ = try await call(.POST, options.inventoryURL, "/reserve", item, quantity)
        let payment = try await call(.POST, options.paymentsURL, "/charge", item, quantity)
        try failSometimes()
        return payment
    }

    private func reserve(_ request: Request) async throws -> String {
        let (item, quantity) = try order(request)
        try await work()
        let rows = try await database!.query(
            "SELECT quantity FROM stock WHERE item = ?", [item], operation: "SELECT", table: "stock")
        guard let stock = rows.first.flatMap({ Int($0) }) else {
            throw HTTPError(.notFound, message: "no item \(item)\n")
        }
        guard stock >= quantity else { throw HTTPError(.conflict, message: "only \(stock) \(item) left\n") }
        try failSometimes()
        return "reserved \(quantity) \(item)\n"
    }

    private func charge(_ request: Request) async throws -> String {
        let (item, quantity) = try order(request)
        try await work()
        _ = try await database!.query(
            "INSERT INTO payments (item, quantity, at) VALUES (?, ?, ?) RETURNING id",
            [item, String(quantity), Date.now.ISO8601Format()], operation: "INSERT", table: "payments")
        try failSometimes()
        return "paid for \(quantity) \(item)\n"
    }

    // MARK: helpers

    private func order(_ request: Request) throws -> (item: String, quantity: Int) {
        let item = request.uri.queryParameters.get("item") ?? "book"
        let quantity = request.uri.queryParameters.get("qty", as: Int.self) ?? 1
        guard quantity > 0 else { throw HTTPError(.badRequest, message: "qty must be positive\n") }
        return (item, quantity)
    }

    /// Sleeps for the configured latency, ±50 %.
    private func work() async throws {
        guard options.latencyMilliseconds > 0 else { return }
        let milliseconds = options.latencyMilliseconds * Double.random(in: 0.5...1.5)
        try await Task.sleep(for: .microseconds(Int(milliseconds * 1000)))
    }

    /// Fails with a 500 at the configured rate; TracingMiddleware marks the SERVER span as an error.
    private func failSometimes() throws {
        if options.errorRate > 0, Double.random(in: 0..<1) < options.errorRate {
            logger.warning("injected failure")
            throw HTTPError(.internalServerError, message: "\(options.service.rawValue) failed (injected)\n")
        }
    }

    /// Calls another service; a 5xx there becomes a 502 here, so errors propagate to the frontend.
    private func call(
        _ method: HTTPMethod, _ base: String, _ path: String, _ item: String, _ quantity: Int
    ) async throws -> String {
        let encoded = item.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? item
        var request = HTTPClientRequest(url: "\(base)\(path)?item=\(encoded)&qty=\(quantity)")
        request.method = method
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .seconds(10))
        } catch {
            throw HTTPError(.badGateway, message: "\(base) did not answer: \(error)\n")
        }
        let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
        switch response.status.code {
        case 200..<300: return body
        case 500...: throw HTTPError(.badGateway, message: "\(base)\(path) answered \(response.status.code): \(body)")
        default: throw HTTPError(HTTPResponse.Status(code: Int(response.status.code)), message: body)
        }
    }
}
