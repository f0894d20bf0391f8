import ArgumentParser
import CairnSQLite
import CairnStore
import Foundation

/// Where an analysis command reads spans: the local store (`--db`), a running collector (`--server`), or OTLP files
/// with no store at all (`--file`). Every analysis command takes these options and works the same with each.
struct SourceOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "The SQLite store, readable while a collector writes to it (env CAIRN_DB; default ./cairn.db).",
        valueName: "path"))
    var db: String?

    @Option(help: ArgumentHelp(
        "A running collector to read through its query API instead of a store, e.g. http://127.0.0.1:4318; env CAIRN_QUERY_TOKEN gives its query token.",
        valueName: "url"))
    var server: String?

    @Option(name: .customLong("file"), help: ArgumentHelp(
        "OTLP files to read instead of a store: OTLP/JSON, JSON lines (the OpenTelemetry Collector's file exporter) or protobuf. Repeatable.",
        valueName: "path"))
    var files: [String] = []

    func validate() throws {
        let given = [db != nil, server != nil, !files.isEmpty].filter { $0 }.count
        if given > 1 {
            throw ValidationError("give one of --db, --server and --file, not several.")
        }
    }

    /// The store's path when reading a local store.
    var storePath: String {
        db ?? ProcessInfo.processInfo.environment["CAIRN_DB"].flatMap { $0.isEmpty ? nil : $0 } ?? "./cairn.db"
    }

    /// What the source is, for messages: "the store at ./cairn.db".
    var name: String {
        if let server { return "the collector at \(server)" }
        if !files.isEmpty { return files.count == 1 ? "the file \(files[0])" : "the \(files.count) files given" }
        return "the store at \(storePath)"
    }

    /// Opens the source for reading; a source that cannot be read is a `CLIError` that says what to do.
    func open() async throws -> any SpanReader {
        if let server { return try RemoteReader(server: server) }
        if !files.isEmpty { return try await FileReader.load(files) }
        let path = storePath
        guard FileManager.default.fileExists(atPath: path) else {
            throw CLIError("there is no store at \(path); give the database file with --db, or read a collector with --server", exitCode: 2)
        }
        return try CLIError.wrap("cannot open the store at \(path)") { try SQLiteStore(path: path) }
    }
}
