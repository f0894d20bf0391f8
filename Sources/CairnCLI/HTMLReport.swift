import CairnAnalysis
import CairnModel
import Foundation

/// One trace as a single self-contained HTML page, for sharing in an incident review: its waterfall drawn as SVG
/// with the critical path marked, its breakdown tables, its critical path, and the dependency graph of its spans.
///
/// Rendering is pure: a breakdown and a graph in, a string out; the same input gives the same bytes. The page loads
/// nothing: CSS and SVG are inline, there is no script, and no URL is fetched. It is also well-formed XML (void
/// elements are closed, text is escaped), so XML tools can read it.
struct HTMLReport {
    /// The trace's breakdown, which holds its tree.
    var breakdown: TraceBreakdown
    /// The dependency graph of the trace's spans.
    var graph: DependencyGraph
    /// The graph as drawn by Graphviz's `dot -Tsvg`, or nil when Graphviz is not installed: the report then lists
    /// the calls in a table only, and says so.
    var graphSVG: String?
    /// The version line of the `dot` that drew `graphSVG`, named in the report.
    var graphvizVersion: String?
    /// Attribute keys to add a breakdown table for, as `cairn breakdown --by` does.
    var attributeKeys: [String] = []
    /// Whether the spans are shown as received, without the analyzer's adjustments.
    var raw = false
    /// Where the spans were read, for the footer: "the store at ./cairn.db".
    var source: String
    /// The most spans drawn in the waterfall; the rest are counted in a note.
    var maxWaterfallRows = 2_000

    /// The page.
    func render() -> String {
        let tree = breakdown.tree
        var html = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8"/>
            <meta name="viewport" content="width=device-width, initial-scale=1"/>
            <meta name="generator" content="cairn report"/>
            <title>\(Self.escape(title))</title>
            <style>\(Self.css)</style>
            </head>
            <body>

            """
        let services = breakdown.tree.services
        html += header(services)
        html += "<section id=\"waterfall\">\n<h2>Waterfall</h2>\n"
        html += legend(services)
        html += waterfall(services)
        if tree.nodes.count > maxWaterfallRows {
            html += "<p class=\"note\">The first \(maxWaterfallRows) spans of \(tree.nodes.count) are drawn.</p>\n"
        }
        html += "</section>\n"
        html += breakdownSection()
        html += criticalPathSection()
        html += dependencySection()
        html += footer()
        html += "</body>\n</html>\n"
        return html
    }

    // MARK: - Header

    /// The page's title: the trace id, and the first root's service and operation.
    private var title: String {
        let tree = breakdown.tree
        guard let root = tree.roots.first else { return "Trace \(tree.traceID)" }
        return "Trace \(tree.traceID): \(tree.nodes[root].span.serviceName) \(tree.nodes[root].span.name)"
    }

    /// The trace's id, root, facts and warnings.
    private func header(_ services: [String]) -> String {
        let tree = breakdown.tree
        let errors = tree.nodes.filter { $0.span.status.code == .error }.count
        var html = "<header>\n<h1>Trace <code>\(tree.traceID)</code></h1>\n"
        if let root = tree.roots.first {
            let span = tree.nodes[root].span
            html += "<p class=\"root\">\(serviceChip(span.serviceName, services)) \(Self.escape(span.name))</p>\n"
        }
        let facts: [(String, String)] = [
            ("Start", TimeOptions.format(tree.startTimeUnixNano, timeZone: TimeZone(identifier: "UTC")!) + " UTC"),
            ("Duration", formatDuration(tree.durationNanos)),
            ("Spans", String(tree.nodes.count)),
            ("Services", String(services.count)),
            ("Errors", String(errors)),
            ("Critical path", formatDuration(breakdown.criticalPath.durationNanos)),
        ]
        html += "<dl class=\"facts\">\n"
        for (name, value) in facts {
            html += "<div><dt>\(name)</dt><dd>\(Self.escape(value))</dd></div>\n"
        }
        html += "</dl>\n"
        let spanWarnings = tree.nodes.filter { !$0.warnings.isEmpty }.count
        if !tree.warnings.isEmpty || spanWarnings > 0 {
            html += "<ul class=\"warnings\">\n"
            for warning in tree.warnings { html += "<li>\(Self.escape(warning))</li>\n" }
            if spanWarnings > 0 {
                html += "<li>\(spanWarnings) span\(spanWarnings == 1 ? " has" : "s have") warnings; hover over a bar to read them.</li>\n"
            }
            html += "</ul>\n"
        }
        return html + "</header>\n"
    }

    // MARK: - Waterfall

    /// The colours of services, the same hues as the terminal's palette (`Terminal.Style.service`).
    static let palette = ["#0087ff", "#ff8700", "#00af5f", "#d75fd7", "#d7af00", "#00afaf", "#875fff", "#d75f00"]

    /// The colour of `service`, by its place in `services`.
    private func color(of service: String, in services: [String]) -> String {
        Self.palette[(services.firstIndex(of: service) ?? 0) % Self.palette.count]
    }

    /// A service's name after a square of its colour.
    private func serviceChip(_ service: String, _ services: [String]) -> String {
        let color = color(of: service, in: services)
        return "<span class=\"service\"><span class=\"swatch\" style=\"background:\(color)\"></span>\(Self.escape(service))</span>"
    }

    /// What the waterfall's colours and marks mean.
    private func legend(_ services: [String]) -> String {
        var html = "<p class=\"legend\">"
        html += services.map { serviceChip($0, services) }.joined(separator: " ")
        html += " <span class=\"key\"><span class=\"cp-key\"></span>critical path</span>"
        html += " <span class=\"key\"><span class=\"error-key\"></span>error</span>"
        html += "</p>\n"
        return html
    }

    /// The waterfall: one row per span, depth first, each a bar from its start to its end on a common time axis,
    /// with the critical path's segments drawn as a dark band under the bars.
    private func waterfall(_ services: [String]) -> String {
        let tree = breakdown.tree
        let rows = Array(tree.depthFirst().prefix(maxWaterfallRows))
        let start = tree.startTimeUnixNano  // computed from every span: once
        let total = max(tree.durationNanos, 1)
        let width = 1_100.0
        let labelWidth = 330.0
        let barLeft = labelWidth + 10
        let barWidth = width - barLeft - 70
        let rowHeight = 22.0
        let top = 30.0
        let height = top + Double(rows.count) * rowHeight + 6

        func x(_ unixNano: UInt64) -> Double {
            let offset = unixNano > start ? min(unixNano - start, total) : 0
            return barLeft + barWidth * Double(offset) / Double(total)
        }

        var segmentsByNode: [Int: [CriticalPath.Segment]] = [:]
        for segment in breakdown.criticalPath.segments { segmentsByNode[segment.node, default: []].append(segment) }

        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" class="waterfall" font-family="monospace" font-size="11" viewBox="0 0 \(Self.number(width)) \(Self.number(height))" \
            width="100%" role="img" aria-label="Waterfall of trace \(tree.traceID)">

            """
        // The time axis: five ticks from the trace's start to its end.
        for tick in 0...4 {
            let offset = UInt64((Double(total) * Double(tick) / 4).rounded())
            let tickX = barLeft + barWidth * Double(tick) / 4
            let anchor = tick == 0 ? "start" : tick == 4 ? "end" : "middle"
            svg += "<line class=\"grid\" stroke=\"#d2d2d7\" x1=\"\(Self.number(tickX))\" y1=\"\(Self.number(top - 8))\" x2=\"\(Self.number(tickX))\" y2=\"\(Self.number(height))\"/>\n"
            svg += "<text class=\"axis\" x=\"\(Self.number(tickX))\" y=\"\(Self.number(top - 12))\" text-anchor=\"\(anchor)\">\(tick == 0 ? "0" : Self.escape(formatDuration(offset)))</text>\n"
        }
        for (row, entry) in rows.enumerated() {
            let node = tree.nodes[entry.index]
            let span = node.span
            let y = top + Double(row) * rowHeight
            let color = color(of: span.serviceName, in: services)
            let failed = span.status.code == .error
            let onPath = breakdown.criticalPathNanos[entry.index] > 0
            var classes = "span"
            if failed { classes += " error" }
            if onPath { classes += " critical" }
            if node.isOrphan { classes += " orphan" }
            svg += "<g class=\"\(classes)\">\n"
            svg += "<title>\(Self.escape(tooltip(entry.index, traceStart: start)))</title>\n"
            // The row's background, striped on odd rows and invisible on even ones, catches the pointer over the
            // whole row, so that hovering anywhere on it shows the span's details.
            let background = row % 2 == 1 ? "class=\"row stripe\" fill=\"#f5f5f7\"" : "class=\"row\" fill=\"#ffffff\" fill-opacity=\"0\""
            svg += "<rect \(background) x=\"0\" y=\"\(Self.number(y))\" width=\"\(Self.number(width))\" height=\"\(Self.number(rowHeight))\"/>\n"
            // The label: the service and the operation, indented by depth, cut to fit the label column.
            let indent = 4 + Double(min(entry.depth, 16)) * 10
            let room = max(Int((labelWidth - indent) / 6.4), 8)
            let (service, operation) = Self.fit(span.serviceName, span.name, into: room)
            svg += "<text class=\"label\" x=\"\(Self.number(indent))\" y=\"\(Self.number(y + 15))\">"
            svg += "<tspan class=\"svc\" fill=\"\(color)\">\(Self.escape(service))</tspan>"
            svg += " \(Self.escape(operation))</text>\n"
            // The bar, at least a pixel wide so that instant spans show.
            let left = x(span.startTimeUnixNano)
            let barLength = max(x(span.endTimeUnixNano) - left, 1)
            let outline = failed ? " stroke=\"#d70015\" stroke-width=\"2\"" : node.isOrphan ? " stroke=\"#1d1d1f\" stroke-dasharray=\"3 2\"" : ""
            svg += "<rect class=\"bar\" x=\"\(Self.number(left))\" y=\"\(Self.number(y + 4))\" width=\"\(Self.number(barLength))\" height=\"12\" rx=\"2\" fill=\"\(color)\"\(outline)/>\n"
            for segment in segmentsByNode[entry.index] ?? [] {
                let segmentLeft = x(segment.startTimeUnixNano)
                let segmentLength = max(x(segment.endTimeUnixNano) - segmentLeft, 1)
                svg += "<rect class=\"cp\" fill=\"#1d1d1f\" x=\"\(Self.number(segmentLeft))\" y=\"\(Self.number(y + 17))\" width=\"\(Self.number(segmentLength))\" height=\"3\"/>\n"
            }
            let end = left + barLength
            let text = (failed ? "! " : "") + formatDuration(span.durationNanos)
            if end + 64 <= width {
                svg += "<text class=\"duration\" x=\"\(Self.number(end + 4))\" y=\"\(Self.number(y + 15))\">\(Self.escape(text))</text>\n"
            } else {
                svg += "<text class=\"duration\" x=\"\(Self.number(left - 4))\" y=\"\(Self.number(y + 15))\" text-anchor=\"end\">\(Self.escape(text))</text>\n"
            }
            svg += "</g>\n"
        }
        return svg + "</svg>\n"
    }

    /// What hovering over a span's row shows.
    private func tooltip(_ index: Int, traceStart: UInt64) -> String {
        let node = breakdown.tree.nodes[index]
        let span = node.span
        var lines = ["\(span.serviceName) \(span.name)"]
        lines.append("\(span.kind) span \(span.spanID), starts at +\(formatDuration(span.startTimeUnixNano - traceStart))")
        lines.append("duration \(formatDuration(span.durationNanos)), self \(formatDuration(breakdown.selfNanos[index])), critical path \(formatDuration(breakdown.criticalPathNanos[index]))")
        if span.status.code == .error {
            lines.append(span.status.message.isEmpty ? "status ERROR" : "status ERROR: \(span.status.message)")
        }
        if node.isOrphan { lines.append("orphan: its parent span is not in the trace") }
        lines += node.warnings.map { "warning: \($0)" }
        return lines.joined(separator: "\n")
    }

    /// The service and operation cut so that together they take at most `room` characters.
    private static func fit(_ service: String, _ operation: String, into room: Int) -> (String, String) {
        func cut(_ text: String, _ count: Int) -> String {
            text.count <= count ? text : String(text.prefix(max(count - 1, 0))) + "…"
        }
        if service.count + 1 + operation.count <= room { return (service, operation) }
        let serviceRoom = min(service.count, max(room / 2, room - 1 - operation.count))
        let service = cut(service, serviceRoom)
        return (service, cut(operation, room - 1 - service.count))
    }

    // MARK: - Tables

    /// The breakdown tables, as `cairn breakdown` prints them.
    private func breakdownSection() -> String {
        var html = "<section id=\"breakdown\">\n<h2>Where the time went</h2>\n"
        html += "<p class=\"note\">Self time is a span's duration less the time its children cover; its share is of the trace's duration. CP is the critical path: the spans the trace's end waited on.</p>\n"
        var groupings: [(String, BreakdownGrouping)] = [("By service", .service), ("By operation", .operation)]
        groupings += attributeKeys.map { ("By \($0)", .attribute($0)) }
        for (caption, grouping) in groupings {
            let table = BreakdownCommand.traceTable(breakdown.rows(by: grouping), by: grouping)
            html += Self.table(caption: caption, headings: table.headings, rows: table.rows, numericFrom: table.numericFrom)
        }
        return html + "</section>\n"
    }

    /// The critical path's segments in time order.
    private func criticalPathSection() -> String {
        let tree = breakdown.tree
        let start = tree.startTimeUnixNano  // computed from every span: once
        var html = "<section id=\"critical-path\">\n<h2>Critical path</h2>\n"
        html += "<p class=\"note\">\(breakdown.criticalPath.segments.count) segments, \(Self.escape(formatDuration(breakdown.criticalPath.durationNanos))) in all, in time order: shorten any of them and the trace ends sooner.</p>\n"
        let rows = breakdown.criticalPath.segments.map { segment -> [String] in
            let span = tree.nodes[segment.node].span
            return [
                "+" + formatDuration(segment.startTimeUnixNano - start), span.serviceName, span.name,
                formatDuration(segment.durationNanos),
                BreakdownCommand.percent(Double(segment.durationNanos) / Double(max(breakdown.criticalPath.durationNanos, 1))),
            ]
        }
        html += Self.table(caption: nil, headings: ["AT", "SERVICE", "OPERATION", "TIME", "SHARE"], rows: rows,
                           numericFrom: 3, firstNumeric: true)
        return html + "</section>\n"
    }

    /// The calls between the trace's services and peers: Graphviz's drawing when there is one, and a table.
    private func dependencySection() -> String {
        var html = "<section id=\"dependencies\">\n<h2>Dependencies</h2>\n"
        if graph.edges.isEmpty {
            html += "<p class=\"note\">The spans of this trace make no call from one service to another service or peer.</p>\n"
            return html + "</section>\n"
        }
        if let graphSVG, let start = graphSVG.range(of: "<svg") {
            html += "<p class=\"note\">The calls between the services and peers of this trace, drawn by \(Self.escape(graphvizName)).</p>\n"
            html += "<div class=\"dependency-graph\">\n" + graphSVG[start.lowerBound...].trimmingCharacters(in: .whitespacesAndNewlines) + "\n</div>\n"
        } else {
            html += "<p class=\"note\">Graphviz's dot was not installed where this report was written, so the calls are listed as a table only; install Graphviz and run cairn report again for a drawing.</p>\n"
        }
        let rows = graph.edges.map { edge -> [String] in
            [
                edge.parent, edge.child, edge.kind.rawValue, String(edge.calls),
                BreakdownCommand.errorsText(edge.errors, rate: edge.errorRate),
                formatDuration(edge.p50Nanos), formatDuration(edge.p95Nanos), formatDuration(edge.p99Nanos),
            ]
        }
        html += Self.table(caption: "Calls", headings: ["CALLER", "CALLEE", "KIND", "CALLS", "ERRORS", "P50", "P95", "P99"],
                           rows: rows, numericFrom: 3)
        return html + "</section>\n"
    }

    /// `Graphviz 2.43.0`, from the version line of `dot -V`; `Graphviz` when it is not known.
    private var graphvizName: String {
        guard let line = graphvizVersion, let range = line.range(of: "version ") else { return "Graphviz" }
        let number = line[range.upperBound...].prefix { !$0.isWhitespace }
        return number.isEmpty ? "Graphviz" : "Graphviz \(number)"
    }

    /// Where the spans came from, and what was done to them.
    private func footer() -> String {
        let adjusted = raw
            ? "Spans are shown as received, without the analyzer's corrections."
            : "Spans are shown as the analyzer corrected them (duplicates removed, clock skew adjusted); cairn report --raw shows them as received."
        return """
            <footer>
            <p>Written by cairn report from the spans in \(Self.escape(source)). Times are UTC. \(adjusted)</p>
            <p>This page is self-contained: it runs no script and loads nothing from the network.</p>
            </footer>

            """
    }

    /// An HTML table; columns from `numericFrom` on are right-aligned (and column 0 too when `firstNumeric`).
    private static func table(
        caption: String?, headings: [String], rows: [[String]], numericFrom: Int, firstNumeric: Bool = false
    ) -> String {
        func cell(_ tag: String, _ column: Int, _ text: String) -> String {
            let numeric = column >= numericFrom || (firstNumeric && column == 0)
            return "<\(tag)\(numeric ? " class=\"num\"" : "")>\(escape(text))</\(tag)>"
        }
        var html = "<table>\n"
        if let caption { html += "<caption>\(escape(caption))</caption>\n" }
        html += "<thead><tr>" + headings.enumerated().map { cell("th", $0.offset, $0.element) }.joined() + "</tr></thead>\n<tbody>\n"
        for row in rows {
            html += "<tr>" + row.enumerated().map { cell("td", $0.offset, $0.element) }.joined() + "</tr>\n"
        }
        return html + "</tbody>\n</table>\n"
    }

    // MARK: - Text

    /// Text for HTML and XML, in element content and double-quoted attributes alike.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "\n", "\t": out.unicodeScalars.append(scalar)
            // Control characters are not allowed in XML 1.0; show them as U+FFFD.
            case _ where scalar.value < 0x20 || (0x7F..<0xA0).contains(scalar.value): out += "\u{FFFD}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// A coordinate with at most one decimal, the same on every platform and locale.
    static func number(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        let sign = tenths < 0 ? "-" : ""
        let magnitude = abs(tenths)
        return magnitude % 10 == 0 ? "\(sign)\(magnitude / 10)" : "\(sign)\(magnitude / 10).\(magnitude % 10)"
    }

    /// The page's style: light and dark, no web font.
    private static let css = """

        :root { color-scheme: light dark; --fg: #1d1d1f; --bg: #ffffff; --muted: #6e6e73; --line: #d2d2d7; --stripe: #f5f5f7; --cp: #1d1d1f; --error: #d70015; }
        @media (prefers-color-scheme: dark) { :root { --fg: #f5f5f7; --bg: #1d1d1f; --muted: #a1a1a6; --line: #424245; --stripe: #2c2c2e; --cp: #f5f5f7; --error: #ff453a; } }
        body { font: 14px/1.45 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); background: var(--bg); margin: 0 auto; padding: 24px; max-width: 1200px; }
        h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 32px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
        code { font: 13px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
        .root { margin: 0 0 12px; font-size: 15px; }
        .facts { display: flex; flex-wrap: wrap; gap: 8px 28px; margin: 0 0 12px; } .facts dt { color: var(--muted); font-size: 12px; } .facts dd { margin: 0; font-weight: 600; }
        .warnings { color: var(--error); margin: 0; padding-left: 20px; }
        .note { color: var(--muted); margin: 4px 0 8px; }
        .legend { display: flex; flex-wrap: wrap; gap: 6px 16px; margin: 4px 0 8px; }
        .service, .key { white-space: nowrap; } .swatch, .cp-key, .error-key { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 5px; vertical-align: -1px; }
        .cp-key { background: var(--cp); height: 3px; width: 16px; vertical-align: 3px; } .error-key { border: 2px solid var(--error); width: 7px; height: 7px; }
        svg.waterfall { display: block; font: 11px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
        svg.waterfall text { fill: var(--fg); } svg.waterfall text.axis, svg.waterfall text.duration { fill: var(--muted); }
        svg.waterfall .grid { stroke: var(--line); stroke-width: 1; } svg.waterfall .row.stripe { fill: var(--stripe); }
        svg.waterfall .cp { fill: var(--cp); } svg.waterfall .error .bar { stroke: var(--error); stroke-width: 2; }
        svg.waterfall .orphan .bar { stroke-dasharray: 3 2; stroke: var(--fg); } svg.waterfall .critical .label { font-weight: 700; }
        svg.waterfall .span:hover .row { fill: var(--line); fill-opacity: 0.5; }
        table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; } caption { text-align: left; font-weight: 600; padding: 4px 0; }
        th, td { padding: 3px 10px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; } th { font-size: 11px; color: var(--muted); }
        .num { text-align: right; font-variant-numeric: tabular-nums; }
        .dependency-graph { overflow-x: auto; } .dependency-graph svg { max-width: 100%; height: auto; }
        @media (prefers-color-scheme: dark) { .dependency-graph svg { background: #ffffff; border-radius: 4px; } }
        footer { margin-top: 32px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); }

        """
}
