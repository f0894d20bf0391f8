import ArgumentParser
import CairnStore
import Foundation

/// Where an analysis command reads spans: a store (`--db` or `--store`, readable while collectors write to it), a
/// running collector (`--server`), or OTLP files with no store at all (`--file`). Every analysis command takes these
/// options and works the same with each.
struct SourceOptions: ParsableArguments {
    @OptionGroup var store: StoreOptions

    @Option(help: ArgumentHelp(
        "A running collector to read through its query API instead of a store, e.g. http://127.0.0.1:4318; env CAIRN_QUERY_TOKEN gives its query token.",
        valueName: "url"))
    var server: String?

    @Option(name: .customLong("file"), help: ArgumentHelp(
        "OTLP files to read instead of a store: OTLP/JSON, JSON lines (the OpenTelemetry Collector's file exporter) or protobuf. Repeatable.",
        valueName: "path"))
    var files: [String] = []

    func validate() throws {
        let given = [store.isGiven, server != nil, !files.isEmpty].filter { $0 }.count
        if given > 1 {
            throw ValidationError("give one of --db (or --store), --server and --file, not several.")
        }
    }

    /// What the source is, for messages: "the store at ./cairn.db".
    var name: String {
        if let server { return "the collector at \(server)" }
        if !files.isEmpty { return files.count == 1 ? "the file \(files[0])" : "the \(files.count) files given" }
        return store.location.name
    }

    /// Opens the source for reading; a source that cannot be read is a `CLIError` that says what to do.
    func open() async throws -> any SpanReader {
        if let server { return try RemoteReader(server: server) }
        if !files.isEmpty { return try await FileReader.load(files) }
        return try await store.location.open(
            missingAdvice: "give the database file with --db (or a store's URL with --store), or read a collector with --server"
        ).store
    }
}
