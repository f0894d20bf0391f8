import ArgumentParser
import CairnModel
import CairnOTLP
import CairnStore
import Foundation

/// `cairn export`: writes traces as one OTLP `ExportTraceServiceRequest`, in JSON by default.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write traces as OTLP/JSON.",
        discussion: """
            Writes one ExportTraceServiceRequest in OTLP/JSON (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding) \
            holding every span of the traces asked for, as they were received, read from the store (--db), a running \
            collector (--server) or OTLP files (--file). With --protobuf it writes the request's protobuf encoding, \
            as an OTLP/HTTP exporter sends it. Exits with status 1 when a trace is not found.

            Examples:
              cairn export 4bf92f3577b34da6a3ce929d0e0e4736
              cairn export --all --db /var/lib/cairn/cairn.db > everything.json
              cairn export 4bf92f3577b34da6a3ce929d0e0e4736 --server http://127.0.0.1:4318
              cairn export --all --file otel-collector-output.jsonl --protobuf > traces.pb
            """)

    @Argument(help: ArgumentHelp("Trace ids, 32 hexadecimal digits each.", valueName: "trace-id"))
    var traceIDs: [String] = []

    @Flag(help: "Export every trace of the source.")
    var all = false

    @Flag(help: "Write OTLP protobuf instead of OTLP/JSON.")
    var protobuf = false

    @OptionGroup var source: SourceOptions

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
        let reader = try await source.open()
        let ids = all
            ? try await reader.findTraceIDs(TraceQuery(limit: .max))
            : traceIDs.compactMap { TraceID(hex: $0) }
        if all && ids.isEmpty {
            throw CLIError("there are no traces in \(source.name)", exitCode: 1)
        }
        var spans: [Span] = []
        for id in ids {
            guard let trace = try await reader.trace(id) else {
                throw CLIError("trace \(id) is not in \(source.name); list the traces there with `cairn traces`",
                               exitCode: 1)
            }
            spans += trace.spans
        }
        if protobuf {
            FileHandle.standardOutput.write(Data(OTLPProtobuf.encodeRequest(spans)))
        } else {
            FileHandle.standardOutput.write(Data(OTLPJSON.encodeRequest(spans)))
            FileHandle.standardOutput.write(Data("\n".utf8))
        }
    }
}
