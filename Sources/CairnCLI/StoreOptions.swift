import ArgumentParser
import CairnPostgres
import CairnSQLite
import CairnStore
import Foundation

/// The store a command uses: a SQLite file (`--db`) or a PostgreSQL database (`--store postgres://…`), which several
/// collectors can share. Every command that uses a store takes these options.
struct StoreOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "The SQLite store, a file (env CAIRN_DB; default ./cairn.db).", valueName: "path"))
    var db: String?

    @Option(help: ArgumentHelp(
        "The store as a URL: postgres://user[:password]@host[:port]/database for PostgreSQL, or a SQLite file's path (env CAIRN_STORE).",
        valueName: "url"))
    var store: String?

    func validate() throws {
        if db != nil && store != nil { throw ValidationError("give one of --db and --store, not both.") }
    }

    /// Whether the command line names a store.
    var isGiven: Bool { db != nil || store != nil }

    /// The store named by `--store` or `--db`, else by `CAIRN_STORE` or `CAIRN_DB`, else `./cairn.db`.
    var location: StoreLocation {
        let environment = ProcessInfo.processInfo.environment
        func variable(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        return StoreLocation(store ?? db ?? variable("CAIRN_STORE") ?? variable("CAIRN_DB") ?? "./cairn.db")
    }
}

/// Where a store is: a SQLite file, or a PostgreSQL database.
enum StoreLocation: Equatable {
    case sqlite(path: String)
    case postgres(url: String)

    /// A PostgreSQL URL (`postgres://`, `postgresql://`) names a PostgreSQL store; anything else is a SQLite file.
    init(_ text: String) {
        self = PostgresStore.isStoreURL(text) ? .postgres(url: text) : .sqlite(path: text)
    }

    /// The file's path, or the URL without its password.
    var address: String {
        switch self {
        case .sqlite(let path): path
        case .postgres(let url): PostgresStore.redacted(url)
        }
    }

    /// What the store is, for messages: "the store at ./cairn.db".
    var name: String {
        switch self {
        case .sqlite: "the store at \(address)"
        case .postgres: "the PostgreSQL store at \(address)"
        }
    }

    /// Opens the store, creating it (or its schema) when missing; but with `missingAdvice`, a SQLite file must
    /// exist already, and a missing one is a `CLIError` (status 2) that ends with that advice. A store that cannot be
    /// opened is a `CLIError` that says what to do.
    func open(missingAdvice: String? = nil) async throws -> OpenStore {
        switch self {
        case .sqlite(let path):
            if let missingAdvice, !FileManager.default.fileExists(atPath: path) {
                throw CLIError("there is no store at \(path); \(missingAdvice)", exitCode: 2)
            }
            let store = try CLIError.wrap("cannot open the store at \(path)") { try SQLiteStore(path: path) }
            return OpenStore(store: store, close: {})
        case .postgres(let url):
            do {
                let store = try await PostgresStore(url: url)
                return OpenStore(store: store, close: { await store.shutdown() })
            } catch {
                // The store's errors say what happened and what to do.
                throw CLIError("\(error)", exitCode: 2)
            }
        }
    }

    /// The path of a SQLite store, or a `CLIError` for `command`, which works on SQLite files only, saying what to
    /// do instead for PostgreSQL; with `mustExist`, also a `CLIError` when the file is missing.
    func sqlitePath(for command: String, instead: String, mustExist: Bool = true) throws -> String {
        switch self {
        case .sqlite(let path):
            if mustExist && !FileManager.default.fileExists(atPath: path) {
                throw CLIError("there is no store at \(path); give the database file with --db", exitCode: 2)
            }
            return path
        case .postgres: throw CLIError("cairn \(command) works on SQLite stores only; for \(name), \(instead)", exitCode: 2)
        }
    }
}

/// A store that a command opened, and how to close it when done.
struct OpenStore: Sendable {
    let store: any SpanWriter & SpanReader
    let close: @Sendable () async -> Void
}
