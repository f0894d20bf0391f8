import ArgumentParser
import CairnAnalysis
import CairnCollector
import CairnModel
import CairnOTLP
import CairnStore
import Foundation

/// `cairn trace ID`: shows one trace as a waterfall, or writes it as Jaeger JSON or OTLP/JSON.
struct TraceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Show a trace as a waterfall.",
        discussion: """
            One line per span: the tree indented, the service in its colour, the operation, the duration, and a bar \
            on the trace's time axis, scaled to the terminal's width. ● marks the critical path (the spans the trace's \
            duration waited on), ✗ the spans whose status is ERROR. Under a span, ⚠ lines say what the analyzer \
            changed or noticed: a span moved to undo clock skew, a parent that never arrived.

            The trace is shown as the analyzer assembles it: duplicate spans removed, spans moved to undo clock skew \
            between hosts. --raw shows the spans as received. A trace of more than 500 spans folds itself to the \
            levels that fit in about 150 lines, keeping the critical path unfolded; each fold line says how many \
            spans, services and errors it hides. --depth N and --all choose what to show instead.

            --json writes the trace as Jaeger's query API returns it ({"data": [trace]}, which the Jaeger UI opens); \
            --otlp writes its spans as one OTLP/JSON ExportTraceServiceRequest. Both are adjusted unless --raw is \
            given. Exits with status 1 when the trace is not found, 2 when an option cannot be used.

            Examples:
              cairn trace 4bf92f3577b34da6a3ce929d0e0e4736
              cairn trace 4bf92f3577b34da6a3ce929d0e0e4736 --attrs --events
              cairn trace 4bf92f3577b34da6a3ce929d0e0e4736 --depth 2
              cairn trace 4bf92f3577b34da6a3ce929d0e0e4736 --raw
              cairn trace 4bf92f3577b34da6a3ce929d0e0e4736 --json > trace.json
              cairn trace 4bf92f3577b34da6a3ce929d0e0e4736 --otlp --server http://127.0.0.1:4318
            """)

    @Argument(help: ArgumentHelp("The trace's id: 32 hexadecimal digits (or 16, for a 64-bit id).", valueName: "trace-id"))
    var traceID: String

    @OptionGroup var source: SourceOptions

    @Option(help: ArgumentHelp("Show the spans down to depth N (roots are at depth 0) and fold the deeper ones.", valueName: "n"))
    var depth: Int?

    @Flag(help: "Show every span, however large the trace.")
    var all = false

    @Flag(name: .customLong("attrs"), help: "Show each span's id, kind, status and attributes under it.")
    var attributes = false

    @Flag(help: "Show each span's events under it, with their time on the trace's axis.")
    var events = false

    @Flag(help: "Show the spans as received: no deduplication, no clock-skew adjustment.")
    var raw = false

    @Flag(help: "Write the trace as Jaeger's JSON instead of a waterfall.")
    var json = false

    @Flag(help: "Write the trace's spans as OTLP/JSON instead of a waterfall.")
    var otlp = false

    func run() async throws {
        do {
            try await show()
        } catch let error as CLIError {
            error.exit()
        } catch {
            CLIError("cannot read \(source.name): \(error)").exit()
        }
    }

    /// The trace id given; a `CLIError` with status 2 when it is not one. A 16-digit id is a 64-bit id, which
    /// Zipkin and Jaeger clients wrote, padded with zeros.
    static func parseTraceID(_ text: String) throws -> TraceID {
        let hex = text.count == 16 ? String(repeating: "0", count: 16) + text : text
        guard let id = TraceID(hex: hex), id.isValid else {
            throw CLIError("\(text) is not a trace id; give the 32 hexadecimal digits that `cairn traces` lists", exitCode: 2)
        }
        return id
    }

    private func show() async throws {
        let id = try Self.parseTraceID(traceID)
        if json && otlp { throw CLIError("give --json or --otlp, not both", exitCode: 2) }
        if all && depth != nil { throw CLIError("give --depth or --all, not both", exitCode: 2) }
        if let depth, depth < 0 { throw CLIError("--depth \(depth) is negative; give 0 to show only the root, or more", exitCode: 2) }

        let reader = try await source.open()
        guard let trace = try await reader.trace(id) else {
            throw CLIError("trace \(id) is not in \(source.name); list the traces there with `cairn traces`", exitCode: 1)
        }
        let tree = raw ? TraceTree(trace) : TraceAssembler().assemble(trace)
        if json {
            write(String(decoding: JaegerJSON.traces([tree]), as: UTF8.self) + "\n")
        } else if otlp {
            write(String(decoding: OTLPJSON.encodeRequest(tree.nodes.map(\.span)), as: UTF8.self) + "\n")
        } else {
            var options = Waterfall.Options()
            options.depth = depth
            options.all = all
            options.attributes = attributes
            options.events = events
            options.raw = raw
            let lines = Waterfall(tree: tree, terminal: Terminal.detect(), options: options).lines()
            write(lines.joined(separator: "\n") + "\n")
        }
    }
}
