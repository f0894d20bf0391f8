import ArgumentParser
import CairnModel
import CairnOTLP
import CairnSQLite
import CairnStore
import Foundation

/// `cairn export`: writes traces from the store as one OTLP/JSON `ExportTraceServiceRequest`.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write traces from the store as OTLP/JSON.",
        discussion: """
            Writes one ExportTraceServiceRequest in OTLP/JSON (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding) \
            holding every span of the traces asked for, as they were received. Exits with status 1 when a trace is not found.

            Examples:
              cairn export 4bf92f3577b34da6a3ce929d0e0e4736
              cairn export --all --db /var/lib/cairn/cairn.db > everything.json
            """)

    @Argument(help: ArgumentHelp("Trace ids, 32 hexadecimal digits each.", valueName: "trace-id"))
    var traceIDs: [String] = []

    @Flag(help: "Export every trace in the store.")
    var all = false

    @Option(help: ArgumentHelp("The SQLite database file (env CAIRN_DB; default ./cairn.db).", valueName: "path"))
    var db: String?

    func validate() throws {
        if all == !traceIDs.isEmpty {
            throw ValidationError("give trace ids or --all, not both or neither.")
        }
        for text in traceIDs where TraceID(hex: text) == nil {
            throw ValidationError("\(text) is not a trace id; give 32 hexadecimal digits.")
        }
    }

    func run() async throws {
        do { try await export() } catch let error as CLIError { error.exit() }
    }

    private func export() async throws {
        let path = db ?? ProcessInfo.processInfo.environment["CAIRN_DB"].flatMap { $0.isEmpty ? nil : $0 } ?? "./cairn.db"
        guard FileManager.default.fileExists(atPath: path) else {
            throw CLIError("there is no store at \(path); give the database file with --db", exitCode: 2)
        }
        let store = try CLIError.wrap("cannot open the store at \(path)") { try SQLiteStore(path: path) }
        let ids = all
            ? try await store.findTraceIDs(TraceQuery(limit: .max))
            : traceIDs.compactMap { TraceID(hex: $0) }
        var spans: [Span] = []
        for id in ids {
            guard let trace = try await store.trace(id) else {
                throw CLIError("trace \(id) is not in the store at \(path)", exitCode: 1)
            }
            spans += trace.spans
        }
        FileHandle.standardOutput.write(Data(OTLPJSON.encodeRequest(spans)))
        FileHandle.standardOutput.write(Data("\n".utf8))
    }
}

/// An error a user can meet: one line on standard error and an exit status, with no stack trace.
struct CLIError: Error, CustomStringConvertible {
    var message: String
    var exitCode: Int32

    init(_ message: String, exitCode: Int32 = 1) {
        self.message = message
        self.exitCode = exitCode
    }

    var description: String { message }

    /// Writes the message as one line on standard error and exits with the status.
    func exit() -> Never {
        FileHandle.standardError.write(Data("cairn: \(message)\n".utf8))
        Foundation.exit(exitCode)
    }

    /// Runs `body`, turning any error into a CLIError that starts with `context`.
    static func wrap<T>(_ context: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch { throw CLIError("\(context): \(error)") }
    }
}
