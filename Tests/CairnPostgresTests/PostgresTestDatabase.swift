@testable import CairnPostgres
import Foundation
import PostgresNIO
import Testing

/// A database of its own for each test, on the server that `CAIRN_TEST_POSTGRES` names (`scripts/test` starts one
/// with `scripts/postgres start`): created empty, and dropped when the test is done.
enum PostgresTestDatabase {
    /// Why a test cannot run: it says what to do.
    struct NotConfigured: Error, CustomStringConvertible {
        var description: String {
            "CAIRN_TEST_POSTGRES is not set, so the PostgreSQL tests have no server: run them through scripts/test, which starts one (or run scripts/postgres start, then source .build/postgres/env)."
        }
    }

    /// The URL of the test server's database, from `CAIRN_TEST_POSTGRES`; throws `NotConfigured`, which fails the
    /// test with what to do, when it is unset.
    static func serverURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["CAIRN_TEST_POSTGRES"], !url.isEmpty else {
            throw NotConfigured()
        }
        return url
    }

    /// Runs `body` with the URL of a new, empty database, dropped afterwards whatever happens.
    static func withDatabase<Value>(_ body: (String) async throws -> Value) async throws -> Value {
        let server = try PostgresURL(try serverURL())
        let name = "cairn_test_\(UInt64.random(in: 0...UInt64.max) & 0xFFFF_FFFF_FFFF)"
        try await admin(server, "CREATE DATABASE \(name)")
        do {
            let value = try await body(server.replacingDatabase(name))
            try await admin(server, "DROP DATABASE \(name) WITH (FORCE)")
            return value
        } catch {
            try? await admin(server, "DROP DATABASE \(name) WITH (FORCE)")
            throw error
        }
    }

    /// Runs `body` with a store on a new, empty database, shut down and dropped afterwards.
    static func withStore<Value>(
        configuration: PostgresStore.Configuration = testConfiguration, _ body: (PostgresStore) async throws -> Value
    ) async throws -> Value {
        try await withDatabase { url in
            let store = try await PostgresStore(url: url, configuration: configuration)
            do {
                let value = try await body(store)
                await store.shutdown()
                return value
            } catch {
                await store.shutdown()
                throw error
            }
        }
    }

    /// A small pool, so that tests running at once stay within the server's connections.
    static var testConfiguration: PostgresStore.Configuration {
        var configuration = PostgresStore.Configuration()
        configuration.maximumConnections = 4
        return configuration
    }

    /// Runs one statement on the server's own database.
    static func admin(_ server: PostgresURL, _ sql: String) async throws {
        var logger = Logger(label: "cairn.postgres.tests")
        logger.logLevel = .warning
        let connection = try await PostgresConnection.connect(
            on: PostgresClient.defaultEventLoopGroup.any(), configuration: try server.connectionConfiguration(), id: 1,
            logger: logger
        ).get()
        do {
            try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// A connection of its own to the database at `url`; close it when done.
    static func connect(_ url: String) async throws -> PostgresConnection {
        try await PostgresConnection.connect(
            on: PostgresClient.defaultEventLoopGroup.any(), configuration: try PostgresURL(url).connectionConfiguration(),
            id: 2, logger: quietLogger
        ).get()
    }

    /// Warnings and errors only.
    static var quietLogger: Logger {
        var logger = Logger(label: "cairn.postgres.tests")
        logger.logLevel = .warning
        return logger
    }

    /// The rows of a query on the database at `url`, each column as text.
    static func rows(_ url: String, _ sql: String) async throws -> [[String?]] {
        let logger = quietLogger
        let connection = try await connect(url)
        do {
            var result: [[String?]] = []
            for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger) {
                result.append(row.map { cell in cell.bytes.map { String(buffer: $0) } })
            }
            try await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }
}
