import PostgresNIO

/// Why a `PostgresStore` could not be opened, written or read; each says what happened and what to do, in one sentence.
public enum PostgresStoreError: Error, Equatable, CustomStringConvertible {
    /// The store's URL is not of the form `postgres://user[:password]@host[:port]/database`.
    case invalidURL(String, reason: String)
    /// No connection could be made to the server, or it refused the user.
    case cannotConnect(url: String, reason: String)
    /// The database holds a `spans` table that Cairn did not create.
    case notACairnStore(url: String)
    /// The database was migrated by a newer version of Cairn, with migrations that this version does not know.
    case newerSchema(url: String, versions: [Int])
    /// A write cannot happen: the server is a read-only standby, or the user may not insert.
    case notWritable(url: String, reason: String)
    /// A batch refers to bytes, resources or scopes that it does not hold: a bug in the code that built it.
    case invalidBatch(String)
    /// A stored row cannot be read back: it refers to a missing resource or scope, or its payload does not decode.
    case damaged(url: String, problem: String)
    /// The server answered a statement with an error, or the connection broke while it ran.
    case failed(url: String, operation: String, reason: String)

    /// What happened and what to do, in one sentence.
    public var description: String {
        switch self {
        case let .invalidURL(url, reason):
            "\(url) is not a PostgreSQL URL (\(reason)); give one such as postgres://user@host:5432/database."
        case let .cannotConnect(url, reason):
            "cannot connect to the PostgreSQL store at \(url) (\(reason)); check that the server runs, that the host, port, user and database are right, and that the user may connect."
        case let .notACairnStore(url):
            "the database at \(url) has a spans table that Cairn did not create; give Cairn a database of its own."
        case let .newerSchema(url, versions):
            "the store at \(url) was migrated by a newer version of Cairn (schema \(versions.map(String.init).joined(separator: ", "))); upgrade Cairn to use it, or give another database."
        case let .notWritable(url, reason):
            "the PostgreSQL store at \(url) cannot be written (\(reason)); connect to the primary server as a user that may insert."
        case let .invalidBatch(reason):
            "a span batch is malformed (\(reason)); nothing of this write was stored, and the code that built the batch needs fixing."
        case let .damaged(url, problem):
            "the PostgreSQL store at \(url) is damaged (\(problem)); restore the database from a backup."
        case let .failed(url, operation, reason):
            "\(operation) failed on the PostgreSQL store at \(url) (\(reason)); check the server's log and that it is reachable, then try again."
        }
    }

    /// The server's message for a PostgresNIO error, or the error's own description.
    static func reason(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return message }
            if let underlying = error.underlying { return "\(underlying)" }
            return "\(error.code)"
        }
        return "\(error)"
    }
}
