import ArgumentParser
import CairnAnalysis
import CairnCollector
import Foundation

/// `cairn deps`: the service dependency map of a time window as DOT, JSON or Mermaid, or drawn by Graphviz as SVG
/// or PNG.
struct DepsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deps",
        abstract: "Write the map of which services call which, or draw it with Graphviz.",
        discussion: """
            Builds the dependency map of the spans that start in the window (--since, default 24h, up to --until, \
            default now), as the query API's GET /api/dependencies/graph does: services, the databases, queues and \
            other peers they call, and on every arrow the calls, errors and latency percentiles \
            (docs/dependencies.md).

            The map is written to standard output, or to --output, as DOT (the default; render it with \
            `dot -Tsvg`), JSON or a Mermaid flowchart (for Markdown on GitHub, GitLab and wikis). --render svg or png \
            runs Graphviz's dot to draw it; a PNG goes to --output, or to standard output when that is not a \
            terminal. --service keeps one service or peer, its direct neighbours and the arrows that touch it.

            Exits with status 1 when the window holds no call between services (or Graphviz is not installed for \
            --render), and 2 on a usage error.

            Examples:
              cairn deps --since 24h > deps.dot
              cairn deps --since 7d --format mermaid --output deps.mmd
              cairn deps --service checkout --format json
              cairn deps --since 1h --render svg --output deps.svg
              cairn deps --render png --output deps.png --server http://127.0.0.1:4318
            """)

    @Option(help: ArgumentHelp("What to write: dot (the default), json or mermaid.", valueName: "dot|json|mermaid"))
    var format: String?

    @Option(help: ArgumentHelp("Write to this file instead of standard output.", valueName: "path"))
    var output: String?

    @Option(help: ArgumentHelp(
        "Keep only this service (or peer), the nodes it calls or is called by, and the calls between them.",
        valueName: "name"))
    var service: String?

    @Option(help: ArgumentHelp("Draw the map with Graphviz's dot, as svg or png.", valueName: "svg|png"))
    var render: String?

    @OptionGroup var time: TimeOptions

    @OptionGroup var source: SourceOptions

    /// How far `--since` reaches back by default, as the query API's dependency graph.
    static let defaultSince = "24h"

    /// The text formats of the map.
    static let formats = ["dot", "json", "mermaid"]

    /// Writes the map; any error is one line on standard error and an exit status.
    func run() async throws {
        do {
            try await writeMap()
        } catch let error as CLIError {
            error.exit()
        } catch {
            CLIError("cannot read \(source.name): \(error); check that it is readable", exitCode: 1).exit()
        }
    }

    /// Builds the map of the window and writes it, or its drawing, where asked.
    private func writeMap() async throws {
        let format = self.format ?? "dot"
        guard Self.formats.contains(format) else {
            throw CLIError("--format \(format) is not a format; give dot, json or mermaid", exitCode: 2)
        }
        var drawing: (graphviz: Graphviz, format: Graphviz.Format)?
        if let render {
            guard let renderFormat = Graphviz.Format(rawValue: render) else {
                throw CLIError("--render \(render) is not a format Graphviz is asked for; give svg or png", exitCode: 2)
            }
            if format != "dot" {
                throw CLIError("--render draws the DOT map, so it cannot go with --format \(format); leave --format out", exitCode: 2)
            }
            if renderFormat == .png && output == nil && Terminal.detect().isTerminal {
                throw CLIError("a PNG is binary and is not written to a terminal; give --output deps.png or redirect standard output", exitCode: 2)
            }
            // Before reading any span: a missing Graphviz is known at once.
            drawing = (try Graphviz.require(), renderFormat)
        }
        let window = try time.window(defaultSince: Self.defaultSince)
        let reader = try await source.open()
        var graph = try await reader.dependencyGraph(window)
        let period = time.describe(defaultSince: Self.defaultSince)
        if let service {
            graph = graph.focused(on: service)
            guard !graph.edges.isEmpty else {
                throw CLIError("no calls to or from \(service) \(period); check the name or widen --since", exitCode: 1)
            }
        }
        guard !graph.edges.isEmpty else {
            throw CLIError("no calls between services \(period); widen --since", exitCode: 1)
        }

        let data: Data
        if let drawing {
            data = try drawing.graphviz.render(graph.dot(), as: drawing.format)
        } else {
            var text = switch format {
            case "json": graph.json()
            case "mermaid": graph.mermaid()
            default: graph.dot()
            }
            if !text.hasSuffix("\n") { text += "\n" }
            data = Data(text.utf8)
        }
        guard let output else {
            FileHandle.standardOutput.write(data)
            return
        }
        do {
            try data.write(to: URL(fileURLWithPath: output), options: .atomic)
        } catch {
            throw CLIError("cannot write \(output) (\(error.localizedDescription)); check that its folder exists and is writable", exitCode: 2)
        }
        let names = ["dot": "DOT map", "json": "JSON map", "mermaid": "Mermaid map"]
        let what = drawing.map { "\($0.format.rawValue.uppercased()) drawing" } ?? names[format] ?? format
        write("wrote the \(what) of \(BreakdownCommand.counted(graph.edges.count, "call path")) between \(BreakdownCommand.counted(graph.nodes.count, "node")) to \(output)\n")
    }
}
