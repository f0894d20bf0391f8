import ArgumentParser
import CairnAnalysis
import CairnCollector
import CairnModel
import CairnStore
import Foundation

/// `cairn breakdown`: where the time of one trace went, or of every trace of a service in a time window, as aligned
/// tables (self time, critical-path share, percentiles, errors) or as the analyzer's JSON.
struct BreakdownCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "breakdown",
        abstract: "Show where the time of a trace, or of a service's traces, went.",
        discussion: """
            With a trace id: the trace's self time and critical path by service and by operation (and by the value \
            of each --by attribute). Self time is a span's duration less the time its children cover; SELF % is of \
            the trace's duration, CP % of its critical path (the spans the trace's end waited on).

            With --service (or --since) instead: every trace of the window that has a span of the service (and \
            operation, and tags) is broken down, and the tables show calls, errors, duration percentiles p50, p95 and \
            p99, the maximum, self-time percentiles, and the share of all the critical paths. The window is \
            --since (default 1h) up to --until (default now), as the query API's GET /api/breakdown computes it.

            --json prints the analyzer's JSON unchanged (docs/analysis.md). Exits with status 1 when the trace, or \
            any trace in the window, is not found, and 2 on a usage error.

            Examples:
              cairn breakdown 4bf92f3577b34da6a3ce929d0e0e4736
              cairn breakdown 4bf92f3577b34da6a3ce929d0e0e4736 --by http.route --json
              cairn breakdown --service checkout --since 1h
              cairn breakdown --service checkout --operation "POST /orders" --since 24h
              cairn breakdown --service checkout --tag http.response.status_code=500
              cairn breakdown --since 2h --until 1h --server http://127.0.0.1:4318
            """)

    @Argument(help: ArgumentHelp("A trace id, 32 hexadecimal digits.", valueName: "trace-id"))
    var traceID: String?

    @Option(help: ArgumentHelp("Break down the traces with a span of this service.", valueName: "name"))
    var service: String?

    @Option(help: ArgumentHelp("Only the traces with a span of this name (with --service, of that service).", valueName: "name"))
    var operation: String?

    @Option(name: .customLong("tag"), help: ArgumentHelp(
        "Only the traces with a span that has this attribute value, as key=value. Repeatable.", valueName: "key=value"))
    var tags: [String] = []

    @OptionGroup var time: TimeOptions

    @Option(name: .customLong("by"), help: ArgumentHelp(
        "With a trace id: add a table by the value of this attribute (the span's, else its resource's). Repeatable.",
        valueName: "key"))
    var attributeKeys: [String] = []

    @Flag(help: "Break down the spans as received, without the analyzer's corrections (deduplication, clock skew).")
    var raw = false

    @Flag(help: "Print the analyzer's JSON instead of tables.")
    var json = false

    @OptionGroup var source: SourceOptions

    /// Prints the breakdown; any error is one line on standard error and an exit status.
    func run() async throws {
        do {
            if let traceID {
                try checkTraceUsage()
                try await breakDownTrace(traceID)
            } else {
                try await breakDownWindow()
            }
        } catch let error as CLIError {
            error.exit()
        } catch {
            CLIError("cannot read \(source.name): \(error); check that it is readable", exitCode: 1).exit()
        }
    }

    // MARK: - One trace

    /// Refuses the options that select a window, which make no sense with a trace id.
    private func checkTraceUsage() throws {
        var extra: [String] = []
        if service != nil { extra.append("--service") }
        if operation != nil { extra.append("--operation") }
        if !tags.isEmpty { extra.append("--tag") }
        if time.since != nil { extra.append("--since") }
        if time.until != nil { extra.append("--until") }
        if !extra.isEmpty {
            throw CLIError(
                "\(extra.joined(separator: ", ")) select traces in a window and cannot go with a trace id; give one or the other",
                exitCode: 2)
        }
    }

    /// Prints the breakdown of the trace with the id `text`.
    private func breakDownTrace(_ text: String) async throws {
        guard let id = TraceID(hex: text) else {
            throw CLIError("\(text) is not a trace id; give 32 hexadecimal digits", exitCode: 2)
        }
        let reader = try await source.open()
        guard let trace = try await reader.trace(id) else {
            throw CLIError("trace \(id) is not in \(source.name); find trace ids with cairn traces", exitCode: 1)
        }
        let breakdown = TraceBreakdown(raw ? TraceTree(trace) : TraceAssembler().assemble(trace))
        if json {
            write(breakdown.json(attributeKeys: attributeKeys) + "\n")
            return
        }
        let terminal = Terminal.detect()
        var out = Self.traceHeader(breakdown, terminal: terminal)
        var groupings: [(String, BreakdownGrouping)] = [("By service", .service), ("By operation", .operation)]
        groupings += attributeKeys.map { ("By \($0)", .attribute($0)) }
        for (title, grouping) in groupings {
            let table = Self.traceTable(breakdown.rows(by: grouping), by: grouping)
            out += "\n" + terminal.paint(title, .bold) + "\n"
            out += Self.render(table, terminal: terminal)
        }
        write(out)
    }

    /// The header of a trace's breakdown: its id, root, start, duration, spans and warnings, one per line.
    static func traceHeader(_ breakdown: TraceBreakdown, terminal: Terminal) -> String {
        let tree = breakdown.tree
        let services = Set(tree.nodes.map(\.span.serviceName)).count
        let errors = tree.nodes.filter { $0.span.status.code == .error }.count
        var lines: [(String, String)] = [("trace", tree.traceID.hex)]
        if let root = tree.roots.first {
            lines.append(("root", "\(tree.nodes[root].span.serviceName) \(tree.nodes[root].span.name)"))
        }
        lines.append(("start", TimeOptions.format(tree.startTimeUnixNano)))
        lines.append(("duration", "\(formatDuration(tree.durationNanos)), critical path \(formatDuration(breakdown.criticalPath.durationNanos))"))
        lines.append(("spans", "\(tree.nodes.count) in \(counted(services, "service")), \(counted(errors, "error"))"))
        var warnings = tree.warnings
        let spanWarnings = tree.nodes.reduce(0) { $0 + $1.warnings.count }
        if spanWarnings > 0 { warnings.append("\(counted(spanWarnings, "warning")) on spans; cairn trace shows them") }
        if warnings.isEmpty { warnings = ["none"] }
        for warning in warnings { lines.append(("warnings", warning)) }
        var out = ""
        var previous = ""
        for (name, value) in lines {
            let label = name == previous ? "" : name
            previous = name
            let padded = label.padding(toLength: 10, withPad: " ", startingAt: 0)
            let text = name == "warnings" && value != "none" ? terminal.paint(value, .yellow) : value
            out += terminal.paint(padded, .dim) + text + "\n"
        }
        return out
    }

    // MARK: - A window of traces

    /// Prints the breakdown of every trace of the window that has a span meeting the conditions.
    private func breakDownWindow() async throws {
        if !attributeKeys.isEmpty {
            throw CLIError("--by works with a trace id only; give a trace id, or leave --by out", exitCode: 2)
        }
        if service == nil && time.since == nil {
            throw CLIError(
                "give a trace id, or --service (and --since) for the traces of a window; see cairn breakdown --help",
                exitCode: 2)
        }
        var conditions = TraceQuery(service: service, operation: operation)
        for tag in tags {
            guard let equals = tag.firstIndex(of: "="), equals != tag.startIndex else {
                throw CLIError("--tag \(tag) is not key=value; write it like --tag http.response.status_code=500", exitCode: 2)
            }
            conditions.attributes[String(tag[..<equals])] = String(tag[tag.index(after: equals)...])
        }
        let window = try time.window(defaultSince: Self.defaultSince)
        let reader = try await source.open()
        let assembler = raw ? TraceAssembler(adjusters: []) : TraceAssembler()
        let breakdown = try await reader.aggregateBreakdown(window, conditions: conditions, assembler: assembler)
        let period = time.describe(defaultSince: Self.defaultSince)
        guard breakdown.traceCount > 0 else {
            let what = service.map { "no trace of service \($0)" } ?? "no trace"
            let filtered = operation != nil || !tags.isEmpty ? " with that --operation and --tag" : ""
            throw CLIError("\(what)\(filtered) \(period); widen --since", exitCode: 1)
        }
        if json {
            write(breakdown.json() + "\n")
            return
        }
        let terminal = Terminal.detect()
        var selection: [String] = []
        if let service { selection.append("service \(service)") }
        if let operation { selection.append("operation \(operation)") }
        selection += conditions.attributes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        var lines: [(String, String)] = [
            ("traces", "\(breakdown.traceCount) \(period)" + (selection.isEmpty ? "" : ", with a span of \(selection.joined(separator: ", "))")),
            ("spans", String(breakdown.spanCount)),
        ]
        if raw { lines.append(("spans", "as received, without corrections")) }
        var out = ""
        var previous = ""
        for (name, value) in lines {
            out += terminal.paint((name == previous ? "" : name).padding(toLength: 10, withPad: " ", startingAt: 0), .dim)
            out += value + "\n"
            previous = name
        }
        for (title, rows, grouping) in [("By service", breakdown.byService, BreakdownGrouping.service),
                                        ("By operation", breakdown.byOperation, .operation)] {
            out += "\n" + terminal.paint(title, .bold) + "\n"
            out += Self.render(Self.aggregateTable(rows, by: grouping), terminal: terminal)
        }
        write(out)
    }

    /// How far `--since` reaches back by default, as the query API's breakdown.
    static let defaultSince = "1h"

    // MARK: - Tables, shared with the HTML report

    /// A table's text: headings, rows of cells, and where the right-aligned (numeric) columns begin.
    struct TextTable {
        /// The column headings, in capitals.
        var headings: [String]
        /// The cells, one array per row.
        var rows: [[String]]
        /// Columns from this one on hold numbers.
        var numericFrom: Int
        /// The column that counts errors, painted red when not zero.
        var errorsColumn: Int
    }

    /// The columns that name a row's group.
    static func groupHeadings(_ grouping: BreakdownGrouping) -> [String] {
        switch grouping {
        case .service: ["SERVICE"]
        case .operation: ["SERVICE", "OPERATION"]
        case .attribute(let key): [key]
        }
    }

    /// The cells that name a row's group; spans without the attribute show as `(none)`.
    static func groupCells(_ group: BreakdownGroup) -> [String] {
        switch group {
        case .service(let service): [service]
        case .operation(let service, let name): [service, name]
        case .attribute(_, let value): [value ?? "(none)"]
        }
    }

    /// The table of a trace's breakdown rows.
    static func traceTable(_ rows: [BreakdownRow], by grouping: BreakdownGrouping) -> TextTable {
        let names = groupHeadings(grouping)
        return TextTable(
            headings: names + ["SPANS", "ERRORS", "TOTAL", "SELF", "SELF %", "CRITICAL PATH", "CP %"],
            rows: rows.map { row in
                groupCells(row.group) + [
                    String(row.count), String(row.errors), formatDuration(row.totalNanos), formatDuration(row.selfNanos),
                    percent(row.selfShare), formatDuration(row.criticalPathNanos), percent(row.criticalPathShare),
                ]
            },
            numericFrom: names.count, errorsColumn: names.count + 1)
    }

    /// The table of a breakdown over many traces.
    static func aggregateTable(_ rows: [AggregateBreakdown.Row], by grouping: BreakdownGrouping) -> TextTable {
        let names = groupHeadings(grouping)
        return TextTable(
            headings: names + ["CALLS", "ERRORS", "P50", "P95", "P99", "MAX", "SELF P50", "SELF P95", "CP %"],
            rows: rows.map { row in
                groupCells(row.group) + [
                    String(row.calls), errorsText(row.errors, rate: row.errorRate), formatDuration(row.p50Nanos),
                    formatDuration(row.p95Nanos), formatDuration(row.p99Nanos), formatDuration(row.maxNanos),
                    formatDuration(row.selfP50Nanos), formatDuration(row.selfP95Nanos), percent(row.criticalPathShare),
                ]
            },
            numericFrom: names.count, errorsColumn: names.count + 1)
    }

    /// The table as aligned text for the terminal, as wide as the terminal: the last name column (the operation,
    /// or the service) gives up width first. Headers are bold and error counts other than 0 red, in colour only.
    static func render(_ table: TextTable, terminal: Terminal) -> String {
        let columns = table.headings.enumerated().map { index, heading in
            Table.Column(heading, alignment: index >= table.numericFrom ? .right : .left,
                         truncatable: index == table.numericFrom - 1)
        }
        let lines = Table(columns: columns, rows: table.rows).render(width: terminal.width) { row, column, text in
            if row == nil { return terminal.paint(text, .bold) }
            if column == table.errorsColumn && text != "0" { return terminal.paint(text, .red) }
            return text
        }
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: - Text

    /// A share from 0 to 1 as a percentage with one decimal: `32.5%`.
    static func percent(_ share: Double) -> String {
        let tenths = share.isFinite && share > 0 ? Int((share * 1_000).rounded()) : 0
        return "\(tenths / 10).\(tenths % 10)%"
    }

    /// Errors and their rate, `3 (12.5%)`, or `0`.
    static func errorsText(_ errors: Int, rate: Double) -> String {
        errors == 0 ? "0" : "\(errors) (\(percent(rate)))"
    }

    /// `count` and the noun, singular for 1: `1 service`, `3 services`.
    static func counted(_ count: Int, _ noun: String) -> String {
        count == 1 ? "1 \(noun)" : "\(count) \(noun)s"
    }
}
