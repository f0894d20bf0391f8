import Foundation

/// One of the shop's four services, chosen by the first argument of `shop`.
enum ShopService: String, CaseIterable, Sendable {
    case frontend, checkout, payments, inventory
}

/// What `shop SERVICE [options]` was asked to run: the flags, with `SHOP_*` variables as their defaults.
struct ShopOptions: Sendable {
    var service: ShopService
    var host = "127.0.0.1"
    var port = 8080
    /// Where checkout is, for frontend.
    var checkoutURL = "http://127.0.0.1:8081"
    /// Where payments and inventory are, for checkout.
    var paymentsURL = "http://127.0.0.1:8082"
    var inventoryURL = "http://127.0.0.1:8083"
    /// The SQLite file of payments or inventory.
    var databasePath: String
    /// Work each request does before answering, in milliseconds, jittered by ±50 %.
    var latencyMilliseconds = 0.0
    /// The fraction of requests (0...1) that fail with a 500 after doing their work.
    var errorRate = 0.0

    static let usage = """
        USAGE: shop <frontend|checkout|payments|inventory> [--host H] [--port N]
                    [--checkout URL] [--payments URL] [--inventory URL] [--db PATH]
                    [--latency-ms N] [--error-rate X]

        Runs one service of the shop example, traced with CairnSDK (OTEL_* variables configure the export).
        frontend:  GET /checkout?item=ITEM&qty=N   calls checkout
        checkout:  POST /checkout?item=ITEM&qty=N  calls inventory, then payments
        inventory: POST /reserve?item=ITEM&qty=N   reads the stock from SQLite
        payments:  POST /charge?item=ITEM&qty=N    records the payment in SQLite
        Defaults: --host 127.0.0.1, --port 8080 (frontend), 8081 (checkout), 8082 (payments), 8083 (inventory),
        the other services' URLs on those ports, --latency-ms $SHOP_LATENCY_MS or 0, --error-rate $SHOP_ERROR_RATE or 0,
        --db $SHOP_DB or $TMPDIR/shop-SERVICE.db.
        """

    /// Parses `arguments` (without the program's name).
    ///
    /// - Throws: ``UsageError`` with a sentence saying what is wrong.
    init(arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard let first = arguments.first, let service = ShopService(rawValue: first) else {
            throw UsageError("give the service to run first: frontend, checkout, payments or inventory")
        }
        self.service = service
        port = 8080 + ShopService.allCases.firstIndex(of: service)!
        let temporary = environment["TMPDIR"] ?? "/tmp"
        databasePath = environment["SHOP_DB"] ?? "\(temporary)/shop-\(service.rawValue).db"
        if let value = environment["SHOP_LATENCY_MS"], !value.isEmpty {
            latencyMilliseconds = try Self.number(value, "SHOP_LATENCY_MS")
        }
        if let value = environment["SHOP_ERROR_RATE"], !value.isEmpty {
            errorRate = try Self.number(value, "SHOP_ERROR_RATE")
        }
        var rest = arguments.dropFirst()
        while let flag = rest.popFirst() {
            guard let value = rest.popFirst() else { throw UsageError("\(flag) needs a value") }
            switch flag {
            case "--host": host = value
            case "--port":
                guard let port = Int(value), (0...65535).contains(port) else {
                    throw UsageError("--port must be a number from 0 to 65535, not \(value)")
                }
                self.port = port
            case "--checkout": checkoutURL = value
            case "--payments": paymentsURL = value
            case "--inventory": inventoryURL = value
            case "--db": databasePath = value
            case "--latency-ms": latencyMilliseconds = try Self.number(value, flag)
            case "--error-rate": errorRate = try Self.number(value, flag)
            default: throw UsageError("unknown option \(flag)")
            }
        }
        guard (0...1).contains(errorRate) else { throw UsageError("the error rate must be from 0 to 1") }
        guard latencyMilliseconds >= 0 else { throw UsageError("the latency must not be negative") }
    }

    private static func number(_ value: String, _ name: String) throws -> Double {
        guard let number = Double(value) else { throw UsageError("\(name) must be a number, not \(value)") }
        return number
    }
}

/// A wrong command line, said in one sentence.
struct UsageError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
