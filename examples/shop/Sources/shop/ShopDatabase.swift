import CSQLite
import Foundation
import Tracing

/// One SQLite database of a service, queried inside a database CLIENT span as the semantic conventions for
/// databases describe it (https://opentelemetry.io/docs/specs/semconv/database/database-spans/).
actor ShopDatabase {
    /// Used only inside the actor, and by deinit once nothing else can.
    nonisolated(unsafe) private var handle: OpaquePointer?
    private let path: String

    /// Opens (creating it if needed) the database at `path` and runs `schema`.
    init(path: String, schema: String) throws {
        self.path = path
        var handle: OpaquePointer?
        guard sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nil)
            == SQLITE_OK
        else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(handle)
            throw DatabaseError(description: "cannot open \(path): \(message)")
        }
        self.handle = handle
        sqlite3_busy_timeout(handle, 5000)
        if sqlite3_exec(handle, schema, nil, nil, nil) != SQLITE_OK {
            let message = String(cString: sqlite3_errmsg(handle))
            sqlite3_close(handle)
            self.handle = nil
            throw DatabaseError(description: "cannot set up \(path): \(message)")
        }
    }

    deinit { sqlite3_close(handle) }

    /// Runs `sql` with `arguments` bound, inside a span named `"\(operation) \(table)"` of kind CLIENT, and
    /// returns the first column of every row as text.
    func query(_ sql: String, _ arguments: [String], operation: String, table: String) async throws -> [String] {
        try await withSpan("\(operation) \(table)", ofKind: .client) { span in
            span.attributes["db.system.name"] = "sqlite"
            span.attributes["db.namespace"] = path
            span.attributes["db.operation.name"] = operation
            span.attributes["db.collection.name"] = table
            span.attributes["db.query.text"] = sql
            span.attributes["server.address"] = "localhost"
            do {
                return try run(sql, arguments)
            } catch {
                span.recordError(error)
                span.setStatus(SpanStatus(code: .error, message: "\(error)"))
                throw error
            }
        }
    }

    private func run(_ sql: String, _ arguments: [String]) throws -> [String] {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK else { throw error(sql) }
        defer { sqlite3_finalize(statement) }
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        for (index, argument) in arguments.enumerated() {
            sqlite3_bind_text(statement, Int32(index + 1), argument, -1, transient)
        }
        var rows: [String] = []
        while true {
            switch sqlite3_step(statement) {
            case SQLITE_ROW:
                rows.append(sqlite3_column_text(statement, 0).map { String(cString: $0) } ?? "")
            case SQLITE_DONE:
                return rows
            default:
                throw error(sql)
            }
        }
    }

    private func error(_ sql: String) -> DatabaseError {
        DatabaseError(description: "\(String(cString: sqlite3_errmsg(handle))) in \(sql)")
    }
}

/// A failed SQLite call, with SQLite's message.
struct DatabaseError: Error, CustomStringConvertible {
    var description: String
}
