import ArgumentParser
import CairnAnalysis
import CairnModel
import CairnStore
import Foundation

/// `cairn report`: one trace as a single self-contained HTML file (waterfall, breakdowns, critical path and
/// dependency graph), for sharing in an incident review.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a trace as one self-contained HTML page to share.",
        discussion: """
            The page holds the trace's waterfall drawn as SVG with its critical path marked, its breakdowns by \
            service and operation (as cairn breakdown prints them), its critical path, and the calls between its \
            services and peers. The graph is drawn by Graphviz's dot when it is installed; without it the calls are \
            listed in a table, and the page says so. Everything is inline: the file runs no script and loads \
            nothing from the network, so it can be mailed or attached to a ticket as it is.

            Without --html the page goes to standard output, unless that is a terminal. Exits with status 1 when the \
            trace is not found, and 2 on a usage error.

            Examples:
              cairn report 4bf92f3577b34da6a3ce929d0e0e4736 --html incident-4521.html
              cairn report 4bf92f3577b34da6a3ce929d0e0e4736 --by http.route --html t.html
              cairn report 4bf92f3577b34da6a3ce929d0e0e4736 --file spans.json > t.html
            """)

    @Argument(help: ArgumentHelp("A trace id, 32 hexadecimal digits.", valueName: "trace-id"))
    var traceID: String?

    @Option(help: ArgumentHelp("The HTML file to write.", valueName: "path"))
    var html: String?

    @Option(name: .customLong("by"), help: ArgumentHelp(
        "Add a breakdown table by the value of this attribute (the span's, else its resource's). Repeatable.",
        valueName: "key"))
    var attributeKeys: [String] = []

    @Flag(help: "Show the spans as received, without the analyzer's corrections (deduplication, clock skew).")
    var raw = false

    @OptionGroup var source: SourceOptions

    /// Writes the report; any error is one line on standard error and an exit status.
    func run() async throws {
        do {
            try await writeReport()
        } catch let error as CLIError {
            error.exit()
        } catch {
            CLIError("cannot read \(source.name): \(error); check that it is readable", exitCode: 1).exit()
        }
    }

    /// Reads the trace, analyses it, draws its graph when Graphviz is there, and writes the page.
    private func writeReport() async throws {
        guard let traceID else {
            throw CLIError("give the id of the trace to report on, like cairn report 4bf92f3577b34da6a3ce929d0e0e4736 --html trace.html", exitCode: 2)
        }
        guard let id = TraceID(hex: traceID) else {
            throw CLIError("\(traceID) is not a trace id; give 32 hexadecimal digits", exitCode: 2)
        }
        if html == nil && Terminal.detect().isTerminal {
            throw CLIError("give the file to write with --html trace.html, or redirect standard output", exitCode: 2)
        }
        let reader = try await source.open()
        guard let trace = try await reader.trace(id) else {
            throw CLIError("trace \(id) is not in \(source.name); find trace ids with cairn traces", exitCode: 1)
        }
        let breakdown = TraceBreakdown(raw ? TraceTree(trace) : TraceAssembler().assemble(trace))
        var builder = DependencyGraphBuilder()
        builder.add(contentsOf: breakdown.tree.nodes.lazy.map(\.span))
        let graph = builder.build()

        var report = HTMLReport(breakdown: breakdown, graph: graph, attributeKeys: attributeKeys, raw: raw,
                                source: source.name)
        if !graph.edges.isEmpty, let graphviz = Graphviz.find() {
            do {
                report.graphSVG = String(decoding: try graphviz.render(graph.dot(), as: .svg), as: UTF8.self)
                report.graphvizVersion = graphviz.version()
            } catch let error as CLIError {
                // The report is still worth having: it lists the calls as a table instead.
                FileHandle.standardError.write(Data("cairn: \(error.message); the report lists the calls as a table instead\n".utf8))
            }
        }
        let page = Data(report.render().utf8)
        guard let html else {
            FileHandle.standardOutput.write(page)
            return
        }
        do {
            try page.write(to: URL(fileURLWithPath: html), options: .atomic)
        } catch {
            throw CLIError("cannot write \(html) (\(error.localizedDescription)); check that its folder exists and is writable", exitCode: 2)
        }
        let graphText = report.graphSVG != nil ? "dependency graph drawn by Graphviz"
            : graph.edges.isEmpty ? "no calls between services"
            : "calls listed in a table, as Graphviz is not installed"
        write("wrote the report of trace \(id) (\(BreakdownCommand.counted(breakdown.tree.nodes.count, "span")); \(graphText)) to \(html)\n")
    }
}
