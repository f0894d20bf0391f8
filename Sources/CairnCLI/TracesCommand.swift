import ArgumentParser
import CairnAnalysis
import CairnModel
import CairnStore
import Foundation

/// `cairn traces`: searches traces, newest first, and lists them as a table or as JSON.
struct TracesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "traces",
        abstract: "Search traces, newest first.",
        discussion: """
            A trace matches when one of its spans meets every condition given (service, operation, tags, duration, \
            errors) and starts between --since and --until (with neither, at any time), as in Jaeger's search. The \
            table shows each trace's id, start (month, day and time in local time; set TZ to change it), duration, \
            span count, number of services (SVCS), spans with status ERROR (ERR), and root span (service: operation), \
            truncated to the terminal's width. Exits with status 1 when no trace matches, 2 when an option cannot be \
            used.

            --json writes an array of objects, newest first, with the keys traceID (32 hex digits), rootService, \
            rootOperation, start (RFC 3339, UTC, to the nanosecond), startTimeUnixNano (a string, as OTLP/JSON writes \
            64-bit integers), durationNanos, spanCount, services (names, sorted) and errorCount. Durations and counts \
            are those of the trace after clock-skew adjustment, as `cairn trace` shows it.

            Examples:
              cairn traces --since 1h
              cairn traces --service checkout --errors --limit 50
              cairn traces --operation "POST /checkout" --min-duration 500ms
              cairn traces --tag http.response.status_code=500 --tag deployment.environment.name=production
              cairn traces --since 2026-03-12T09:00:00Z --until 2026-03-12T10:00:00Z --json | jq '.[].traceID'
              cairn traces --file spans.otlp.json --max-duration 1.5s
            """)

    @OptionGroup var source: SourceOptions

    @Option(help: ArgumentHelp("Only traces with a span of this service (service.name).", valueName: "name"))
    var service: String?

    @Option(help: ArgumentHelp("Only traces with a span of this name.", valueName: "name"))
    var operation: String?

    @Option(name: .customLong("tag"), help: ArgumentHelp(
        "Only traces with a span that has this attribute (or whose resource has it), compared as text. Repeatable.",
        valueName: "key=value"))
    var tags: [String] = []

    @Option(help: ArgumentHelp("Only traces with a span that lasts at least this long (250ms, 1.5s).", valueName: "duration"))
    var minDuration: String?

    @Option(help: ArgumentHelp("Only traces with a span that lasts at most this long (250ms, 1.5s).", valueName: "duration"))
    var maxDuration: String?

    @OptionGroup var time: TimeOptions

    @Flag(help: "Only traces with a span whose status is ERROR.")
    var errors = false

    @Option(help: ArgumentHelp("The most traces to list.", valueName: "n"))
    var limit = 20

    @Flag(help: "Write the traces as a JSON array of summaries (keys above) instead of a table.")
    var json = false

    func run() async throws {
        do {
            try await search()
        } catch let error as CLIError {
            error.exit()
        } catch {
            CLIError("cannot read \(source.name): \(error)").exit()
        }
    }

    /// The query the options describe; a `CLIError` with status 2 when one cannot be read.
    func query(now: UInt64) throws -> TraceQuery {
        guard limit > 0 else { throw CLIError("--limit \(limit) lists nothing; give a positive number", exitCode: 2) }
        var query = TraceQuery(service: service, operation: operation, limit: limit)
        for tag in tags {
            guard let equals = tag.firstIndex(of: "="), equals != tag.startIndex else {
                throw CLIError("--tag \(tag) is not key=value; write it like --tag http.response.status_code=500", exitCode: 2)
            }
            query.attributes[String(tag[..<equals])] = String(tag[tag.index(after: equals)...])
        }
        query.durationMin = try minDuration.map { try TimeOptions.parseDuration($0, option: "--min-duration") }
        query.durationMax = try maxDuration.map { try TimeOptions.parseDuration($0, option: "--max-duration") }
        if let low = query.durationMin, let high = query.durationMax, low > high {
            throw CLIError("--min-duration is longer than --max-duration; give a range that holds a duration", exitCode: 2)
        }
        (query.startTimeMin, query.startTimeMax) = try time.range(now: now)
        if errors { query.statusCode = .error }
        return query
    }

    private func search() async throws {
        let query = try query(now: TimeOptions.now())
        let reader = try await source.open()
        let assembler = TraceAssembler()
        var summaries: [Summary] = []
        for id in try await reader.findTraceIDs(query) {
            guard let trace = try await reader.trace(id) else { continue }
            summaries.append(Summary(assembler.assemble(trace)))
        }
        if json {
            var writer = JSONWriter(capacity: 256 * (summaries.count + 1))
            writer.array(summaries) { writer, summary in summary.write(into: &writer) }
            write(writer.text + "\n")
        }
        guard !summaries.isEmpty else {
            throw CLIError("no trace matches in \(source.name); widen --since or drop a filter", exitCode: 1)
        }
        if !json {
            let terminal = Terminal.detect()
            write(Self.table(summaries, terminal: terminal).joined(separator: "\n") + "\n")
        }
    }

    /// The table of `summaries` for `terminal`: its width, and colour when it takes it.
    static func table(_ summaries: [Summary], terminal: Terminal, timeZone: TimeZone = .current) -> [String] {
        var table = Table(columns: [
            .init("TRACE ID"), .init("START"), .init("DURATION", alignment: .right), .init("SPANS", alignment: .right),
            .init("SVCS", alignment: .right), .init("ERR", alignment: .right),
            .init("ROOT", truncatable: true, minimumWidth: 15),
        ])
        for summary in summaries {
            table.rows.append([
                // Month, day and time to the second, so that the table fits 100 columns; --json has the exact time.
                summary.traceID.hex, String(TimeOptions.format(summary.startTimeUnixNano, timeZone: timeZone).dropFirst(5).prefix(14)),
                formatDuration(summary.durationNanos), Waterfall.grouped(summary.spanCount),
                String(summary.services.count), Waterfall.grouped(summary.errorCount),
                "\(summary.rootService): \(summary.rootOperation)",
            ])
        }
        return table.render(width: terminal.width) { row, column, text in
            guard let row else { return terminal.paint(text, .bold) }
            if column == 5, summaries[row].errorCount > 0 { return terminal.paint(text, .red) }
            if column == 6, text.hasPrefix(summaries[row].rootService) {
                return terminal.paint(summaries[row].rootService, .service(0))
                    + text.dropFirst(summaries[row].rootService.count)
            }
            return text
        }
    }

    /// What the listing says about one trace.
    struct Summary: Sendable {
        var traceID: TraceID
        var rootService: String
        var rootOperation: String
        var startTimeUnixNano: UInt64
        var durationNanos: UInt64
        var spanCount: Int
        var services: [String]
        var errorCount: Int

        /// The summary of an assembled trace; its root is the first span with no parent, else the first orphan.
        init(_ tree: TraceTree) {
            traceID = tree.traceID
            let root = tree.roots.first { !tree.nodes[$0].isOrphan } ?? tree.roots.first
            rootService = root.map { tree.nodes[$0].span.serviceName } ?? "?"
            rootOperation = root.map { tree.nodes[$0].span.name } ?? "?"
            startTimeUnixNano = tree.startTimeUnixNano
            durationNanos = tree.durationNanos
            spanCount = tree.nodes.count
            services = Set(tree.nodes.map(\.span.serviceName)).sorted()
            errorCount = tree.nodes.reduce(0) { $0 + ($1.span.status.code == .error ? 1 : 0) }
        }

        /// The summary as the JSON object that `--json` writes.
        func write(into writer: inout JSONWriter) {
            writer.object { writer in
                writer.member("traceID", traceID.hex)
                writer.member("rootService", rootService)
                writer.member("rootOperation", rootOperation)
                writer.member("start", TimeOptions.rfc3339(startTimeUnixNano))
                writer.member("startTimeUnixNano", String(startTimeUnixNano))
                writer.member("durationNanos", durationNanos)
                writer.member("spanCount", spanCount)
                writer.key("services")
                writer.array(services) { writer, service in writer.quoted(service) }
                writer.member("errorCount", errorCount)
            }
        }
    }
}
