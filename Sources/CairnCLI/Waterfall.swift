import CairnAnalysis
import CairnModel
import Foundation

/// A trace drawn for the terminal: a header, then one line per span with the tree indented, the service in its
/// colour, the operation, the duration, and a bar placed on the trace's time axis.
///
/// Pure: a tree and options in, lines out (no I/O), so that tests can read what it draws.
///
/// - Spans on the critical path (`CriticalPath`) are marked `●`, spans with status ERROR `✗`.
/// - What the analyzer changed or noticed (clock-skew moves, orphans) is written under the span.
/// - Subtrees below `Options.depth` are folded into one line that says how many spans, services and errors they
///   hold, with a dashed bar over the time they cover. A trace of more than `Options.autoFoldThreshold` spans folds
///   itself, unless `Options.all`, to the levels that fit in about `Options.autoFoldLines` lines, keeping the
///   critical path unfolded, and says how to see more.
/// - Bars have half-character precision. Without colour they read as `━` (`╺`, `╸` for halves) on blank; with
///   colour they are `█` (`▐`, `▌`) in the service's colour.
struct Waterfall {
    /// What to draw and how.
    struct Options: Sendable {
        /// Show the spans down to this depth (roots are at depth 0) and fold the rest; nil: no limit.
        var depth: Int?
        /// Never fold by itself, however large the trace.
        var all = false
        /// Write each span's id, kind, status and attributes under it.
        var attributes = false
        /// Write each span's events under it.
        var events = false
        /// Whether the tree is the raw one, with no adjustment, which the header then says.
        var raw = false
        /// The time zone of the start time in the header.
        var timeZone = TimeZone.current
        /// Traces with more spans than this fold by themselves (unless `all` or `depth`).
        var autoFoldThreshold = 500
        /// About how many span lines a trace that folds by itself shows.
        var autoFoldLines = 150

        /// The default options.
        init() {}
    }

    /// The tree drawn.
    let tree: TraceTree
    /// Where the lines go: their width, and whether to colour them.
    let terminal: Terminal
    /// What to draw.
    let options: Options
    /// The start of the trace's time axis, in Unix nanoseconds (the tree computes it anew on every call).
    private let origin: UInt64
    /// The length of the trace's time axis, in nanoseconds.
    private let duration: UInt64

    /// A waterfall of `tree` for `terminal`.
    init(tree: TraceTree, terminal: Terminal, options: Options = Options()) {
        self.tree = tree
        self.terminal = terminal
        self.options = options
        origin = tree.startTimeUnixNano
        duration = tree.durationNanos
    }

    // MARK: Layout

    /// One line of the body before it is laid out.
    private enum Row {
        /// A span: its node, the guides drawn before it, and the guides for the lines under it.
        case span(node: Int, guides: String, under: String)
        /// Folded spans under a shown span.
        case fold(Fold, guides: String)
        /// Spans not shown at all, past the line budget.
        case more(count: Int)
    }

    /// What a fold line sums up.
    private struct Fold {
        var count = 0
        var services: Set<String> = []
        var errors = 0
        var start = UInt64.max
        var end: UInt64 = 0
        var criticalNanos: UInt64 = 0

        var text: String {
            var text = "… \(Waterfall.grouped(count)) span\(count == 1 ? "" : "s") folded: "
                + "\(services.count) service\(services.count == 1 ? "" : "s")"
            if errors > 0 { text += ", \(Waterfall.grouped(errors)) error\(errors == 1 ? "" : "s")" }
            return text
        }
    }

    /// Which spans are shown, and why the others are not.
    private struct Selection {
        var shown: [Bool]
        /// The depth below which spans are folded, if any.
        var foldDepth: Int?
        /// Whether the trace folded itself.
        var automatic = false
        /// The most span lines before the rest is cut, if any.
        var lineBudget: Int?
    }

    /// Every line, without line feeds.
    func lines() -> [String] {
        guard !tree.nodes.isEmpty else { return ["Trace \(tree.traceID) has no spans."] }
        let order = tree.depthFirst()
        let services = tree.services
        let serviceColor = Dictionary(uniqueKeysWithValues: services.enumerated().map { ($1, $0) })
        let critical = CriticalPath(tree)
        let criticalNanos = critical.nanosByNode(count: tree.nodes.count)
        let selection = select(order, criticalNanos: criticalNanos)
        let (rows, shownCount) = layOut(order, selection: selection, criticalNanos: criticalNanos)

        var lines = header(services: services, serviceColor: serviceColor, critical: critical,
                           criticalNanos: criticalNanos)
        lines.append("")
        lines += body(rows, serviceColor: serviceColor, criticalNanos: criticalNanos)
        if shownCount < tree.nodes.count {
            lines.append("")
            var note = "Showing \(Self.grouped(shownCount)) of \(Self.grouped(tree.nodes.count)) spans"
            if let depth = selection.foldDepth {
                note += ", folded below depth \(depth)"
                if selection.automatic { note += ", with the critical path in full" }
            }
            note += "."
            lines.append(paint(Self.fit(note, terminal.width), .dim))
            note = selection.automatic ? "--depth N shows N levels, --all every span." : "--all shows every span."
            lines.append(paint(Self.fit(note, terminal.width), .dim))
        }
        return lines
    }

    /// The spans to show: all, those down to the depth asked for, or, for a large trace, the levels that fit the
    /// line budget plus the critical path.
    private func select(_ order: [(index: Int, depth: Int)], criticalNanos: [UInt64]) -> Selection {
        let count = tree.nodes.count
        if options.all || (options.depth == nil && count <= options.autoFoldThreshold) {
            return Selection(shown: [Bool](repeating: true, count: count))
        }
        var depthOf = [Int](repeating: 0, count: count)
        for (index, depth) in order { depthOf[index] = depth }
        if let depth = options.depth {
            return Selection(shown: depthOf.map { $0 <= depth }, foldDepth: depth)
        }
        // Lines at depth D: every span down to D, plus a fold line under each span at D that has children.
        let deepest = depthOf.max() ?? 0
        var spansAt = [Int](repeating: 0, count: deepest + 1)
        var parentsAt = [Int](repeating: 0, count: deepest + 1)
        for index in 0..<count {
            spansAt[depthOf[index]] += 1
            if !tree.nodes[index].children.isEmpty { parentsAt[depthOf[index]] += 1 }
        }
        var depth = 0
        var spansDown = spansAt[0]
        while depth < deepest, spansDown + spansAt[depth + 1] + parentsAt[depth + 1] <= options.autoFoldLines {
            depth += 1
            spansDown += spansAt[depth]
        }
        var shown = depthOf.map { $0 <= depth }
        for index in 0..<count where criticalNanos[index] > 0 {
            var cursor: Int? = index
            while let node = cursor, !shown[node] {
                shown[node] = true
                cursor = tree.nodes[node].parent
            }
        }
        return Selection(shown: shown, foldDepth: depth < deepest ? depth : nil, automatic: true,
                         lineBudget: options.autoFoldLines * 2)
    }

    /// The rows of the body in order, with the tree's guides, and how many spans they show.
    private func layOut(
        _ order: [(index: Int, depth: Int)], selection: Selection, criticalNanos: [UInt64]
    ) -> (rows: [Row], shown: Int) {
        enum Item {
            case span(node: Int, guides: String, connector: String, childGuides: String)
            case fold(parent: Int, hidden: [Int], guides: String)
        }
        var rows: [Row] = []
        var shownCount = 0
        var stack: [Item] = tree.roots.reversed().filter { selection.shown[$0] }.map {
            .span(node: $0, guides: "", connector: "", childGuides: "")
        }
        while let item = stack.popLast() {
            if let budget = selection.lineBudget, rows.count >= budget {
                rows.append(.more(count: tree.nodes.count - shownCount))
                break
            }
            switch item {
            case .span(let node, let guides, let connector, let childGuides):
                shownCount += 1
                let children = tree.nodes[node].children
                let shownChildren = children.filter { selection.shown[$0] }
                let hidden = children.filter { !selection.shown[$0] }
                var items: [Item] = []
                let itemCount = shownChildren.count + (hidden.isEmpty ? 0 : 1)
                for (position, child) in shownChildren.enumerated() {
                    let last = position == itemCount - 1
                    // Only the end of the guides is ever drawn: keeping all of them would cost a chain of n spans
                    // n² characters.
                    var grandchildGuides = childGuides + (last ? "  " : "│ ")
                    if grandchildGuides.utf16.count > 512 { grandchildGuides = String(grandchildGuides.suffix(256)) }
                    items.append(.span(node: child, guides: childGuides, connector: last ? "└╴" : "├╴",
                                       childGuides: grandchildGuides))
                }
                if !hidden.isEmpty { items.append(.fold(parent: node, hidden: hidden, guides: childGuides)) }
                rows.append(.span(node: node, guides: guides + connector,
                                  under: childGuides + (itemCount > 0 ? "│ " : "  ")))
                stack += items.reversed()
            case .fold(_, let hidden, let guides):
                var fold = Fold()
                var pending = hidden
                while let index = pending.popLast() {
                    let span = tree.nodes[index].span
                    fold.count += 1
                    fold.services.insert(span.serviceName)
                    if span.status.code == .error { fold.errors += 1 }
                    fold.start = min(fold.start, span.startTimeUnixNano)
                    fold.end = max(fold.end, span.endTimeUnixNano)
                    fold.criticalNanos += criticalNanos[index]
                    pending += tree.nodes[index].children
                }
                rows.append(.fold(fold, guides: guides + "└╴"))
            }
        }
        return (rows, shownCount)
    }

    // MARK: Drawing

    /// The lines above the spans: the trace and its root, its time, size and services, warnings, and the legend,
    /// each after a label.
    private func header(
        services: [String], serviceColor: [String: Int], critical: CriticalPath, criticalNanos: [UInt64]
    ) -> [String] {
        let width = terminal.width
        func label(_ name: String) -> String { Self.pad(name, 10) }
        let root = tree.roots.first { !tree.nodes[$0].isOrphan } ?? tree.roots.first ?? 0
        let rootSpan = tree.nodes[root].span
        var lines: [String] = []
        let title = "\(tree.traceID)  \(Table.printable(rootSpan.serviceName)): \(Table.printable(rootSpan.name))"
        lines.append(label("Trace") + paint(Self.fit(title, width - 10), .bold))

        let errors = tree.nodes.reduce(0) { $0 + ($1.span.status.code == .error ? 1 : 0) }
        let errorText = errors == 0 ? "no errors" : "\(Self.grouped(errors)) error\(errors == 1 ? "" : "s")"
        let summary = label("Started") + TimeOptions.format(origin, timeZone: options.timeZone)
            + "  ·  \(formatDuration(duration))"
            + "  ·  \(Self.grouped(tree.nodes.count)) span\(tree.nodes.count == 1 ? "" : "s")"
            + "  ·  \(services.count) service\(services.count == 1 ? "" : "s")  ·  "
        let fitted = Self.fit(summary + errorText, width)
        lines.append(fitted.hasSuffix(errorText) && errors > 0
            ? String(fitted.dropLast(errorText.count)) + paint(errorText, .red) : fitted)

        // The services in their colours, as many as fit.
        var line = label("Services")
        var used = 10
        for (position, service) in services.enumerated() {
            let name = Table.printable(service)
            let separator = position == 0 ? "" : "  "
            let remaining = services.count - position - 1
            let more = remaining > 0 ? "  +\(remaining) more" : ""
            if position > 0, used + 2 + Table.displayWidth(name) + Table.displayWidth(more) > width {
                line += "  +\(services.count - position) more"
                break
            }
            line += separator + paint(name, .service(serviceColor[service] ?? 0))
            used += Table.displayWidth(separator + name)
        }
        lines.append(line)

        if options.raw {
            lines.append(label("Raw") + paint(Self.fit("the spans as received: no deduplication, no clock-skew adjustment", width - 10), .dim))
        }
        var warnings: [String] = []
        let moved = tree.nodes.reduce(0) { $0 + $1.warnings.filter { $0.hasPrefix("clock skew: moved") }.count }
        if moved > 0 {
            warnings.append("\(Self.grouped(moved)) span\(moved == 1 ? " was" : "s were") moved to undo clock skew; "
                + "--raw shows the spans as received")
        }
        warnings += tree.warnings.map(Table.printable)
        for (position, warning) in warnings.enumerated() {
            lines.append(label(position == 0 ? "Warnings" : "") + paint(Self.fit(warning, width - 10), .yellow))
        }

        let onPath = criticalNanos.reduce(0) { $0 + ($1 > 0 ? 1 : 0) }
        let roots = tree.roots.count > 1 ? " over \(Self.grouped(tree.roots.count)) roots" : ""
        let bar = terminal.colors ? "█" : "━"
        let fold = terminal.colors ? "░" : "┄"
        func legend(_ paint: (String, Terminal.Style) -> String) -> String {
            label("Legend") + "\(paint("●", .bold)) critical path (\(formatDuration(critical.durationNanos))\(roots), "
                + "\(Self.grouped(onPath)) span\(onPath == 1 ? "" : "s"))  \(paint("✗", .red)) error  "
                + "\(bar) span  \(fold) folded spans"
        }
        let plain = legend { text, _ in text }
        lines.append(Table.displayWidth(plain) > width ? Self.fit(plain, width) : legend(self.paint))
        return lines.map(Self.trimmed)
    }

    /// The column header, then one line per row, with the detail asked for under each span.
    private func body(_ rows: [Row], serviceColor: [String: Int], criticalNanos: [UInt64]) -> [String] {
        let width = terminal.width
        // Columns: marks (2) and a space, the name, a space, the duration, a space, the bar.
        func nameText(_ row: Row) -> String {
            switch row {
            case .span(let node, let guides, _):
                let span = tree.nodes[node].span
                return guides + Table.printable(span.serviceName) + " " + Table.printable(span.name)
            case .fold(let fold, let guides): return guides + fold.text
            case .more: return ""
            }
        }
        func durationText(_ row: Row) -> String {
            switch row {
            case .span(let node, _, _): formatDuration(tree.nodes[node].span.durationNanos)
            case .fold(let fold, _): formatDuration(fold.end > fold.start ? fold.end - fold.start : 0)
            case .more: ""
            }
        }
        let durationWidth = rows.reduce(Table.displayWidth("DURATION")) { max($0, Table.displayWidth(durationText($1))) }
        let minimumBar = max(10, width * 2 / 5)
        let nameLimit = max(16, width - 5 - durationWidth - minimumBar)
        let nameWidth = min(nameLimit, rows.reduce(Table.displayWidth("SPAN")) { max($0, Table.displayWidth(nameText($1))) })
        let barWidth = max(10, width - 5 - durationWidth - nameWidth)
        // Guides deeper than half the name column are cut from the left, so that deep spans keep their names.
        let guideLimit = max(4, nameWidth / 2)
        func cutGuides(_ guides: String) -> String {
            guard guides.count > guideLimit else { return guides }
            return "…" + String(guides.suffix((guideLimit - 1) / 2 * 2))
        }

        var lines: [String] = []
        let head = "   " + Self.pad("SPAN", nameWidth) + " " + Self.padLeft("DURATION", durationWidth) + " "
            + ruler(barWidth)
        lines.append(paint(Self.trimmed(head), .dim))

        for row in rows {
            switch row {
            case .span(let node, let guides, let under):
                let span = tree.nodes[node].span
                let failed = span.status.code == .error
                let marks = (failed ? paint("✗", .red) : " ") + (criticalNanos[node] > 0 ? paint("●", .bold) : " ")
                let shownGuides = cutGuides(guides)
                let service = Table.printable(span.serviceName)
                let name = Self.fit(shownGuides + service + " " + Table.printable(span.name), nameWidth)
                // Colour the service within the name, as far as the name kept it.
                let painted: String
                if terminal.colors, name.hasPrefix(shownGuides + service) {
                    painted = shownGuides + paint(service, .service(serviceColor[span.serviceName] ?? 0))
                        + String(name.dropFirst(shownGuides.count + service.count))
                } else {
                    painted = name
                }
                let gap = String(repeating: " ", count: nameWidth - Table.displayWidth(name))
                let bar = self.bar(from: span.startTimeUnixNano, to: span.endTimeUnixNano,
                                   width: barWidth, folded: false)
                let line = marks + " " + painted + gap + " " + Self.padLeft(durationText(row), durationWidth) + " "
                lines.append(line + paint(bar, .service(serviceColor[span.serviceName] ?? 0)))
                lines += details(of: node, indent: "   " + cutGuides(under), width: width)
            case .fold(let fold, let guides):
                let marks = (fold.errors > 0 ? paint("✗", .red) : " ") + (fold.criticalNanos > 0 ? paint("●", .bold) : " ")
                let name = Self.pad(Self.fit(cutGuides(guides) + fold.text, nameWidth), nameWidth)
                let bar = self.bar(from: fold.start, to: fold.end, width: barWidth, folded: true)
                lines.append(marks + " " + paint(name + " " + Self.padLeft(durationText(row), durationWidth) + " " + bar, .dim))
            case .more(let count):
                let text = "   … \(Self.grouped(count)) more spans not shown; --all shows every span"
                lines.append(paint(Self.fit(text, width), .dim))
            }
        }
        return lines.map(Self.trimmed)
    }

    /// The time axis above the bars: 0 at the left, the trace's duration at the right, the middle between.
    private func ruler(_ width: Int) -> String {
        var cells = [Character](repeating: " ", count: width)
        func place(_ text: String, at column: Int) {
            let characters = Array(text)
            guard column >= 0, column + characters.count <= width else { return }
            for (offset, character) in characters.enumerated() { cells[column + offset] = character }
        }
        let total = duration
        let end = formatDuration(total)
        place("0", at: 0)
        place(end, at: width - end.count)
        let middle = formatDuration(total / 2)
        let middleColumn = width / 2 - middle.count / 2
        if middleColumn > 2, middleColumn + middle.count < width - end.count - 2 { place(middle, at: middleColumn) }
        return String(cells)
    }

    /// A bar for `from...to` on the trace's time axis, `width` characters wide, drawn in
    /// half characters; a span shorter than half a character still gets half a character.
    private func bar(from: UInt64, to: UInt64, width: Int, folded: Bool) -> String {
        let total = Double(max(duration, 1))
        let halves = width * 2
        let startOffset = Double(from > origin ? from - origin : 0)
        let endOffset = Double(to > origin ? to - origin : 0)
        let first = min(halves - 1, max(0, Int((startOffset / total * Double(halves)).rounded(.down))))
        let last = min(halves, max(first + 1, Int((endOffset / total * Double(halves)).rounded(.up))))
        let (full, left, right): (Character, Character, Character) = switch (folded, terminal.colors) {
        case (false, false): ("━", "╸", "╺")
        case (false, true): ("█", "▌", "▐")
        case (true, false): ("┄", "╴", "╶")
        case (true, true): ("░", "░", "░")
        }
        var text = ""
        for cell in 0..<width {
            let leftHalf = (first..<last).contains(cell * 2)
            let rightHalf = (first..<last).contains(cell * 2 + 1)
            text.append(leftHalf && rightHalf ? full : leftHalf ? left : rightHalf ? right : " ")
        }
        return Self.trimmed(text)
    }

    /// The lines under a span: its warnings, then, when asked, its id, kind, status and attributes, and its events.
    private func details(of node: Int, indent: String, width: Int) -> [String] {
        let span = tree.nodes[node].span
        var lines: [String] = []
        func add(_ text: String, _ style: Terminal.Style) {
            lines.append(paint(Self.fit(indent + Table.printable(text), width), style))
        }
        for warning in tree.nodes[node].warnings { add("⚠ " + warning, .yellow) }
        if options.attributes {
            var status = span.status.code == .error ? "ERROR" : span.status.code == .ok ? "OK" : "UNSET"
            if !span.status.message.isEmpty { status += " (\(span.status.message))" }
            add("span \(span.spanID)  kind \(span.kind)  status \(status)", .dim)
            for attribute in span.attributes { add("\(attribute.key) = \(Self.text(of: attribute.value))", .dim) }
        }
        if options.events {
            for event in span.events {
                let at = formatDuration(event.timeUnixNano > origin ? event.timeUnixNano - origin : 0)
                add("◆ at \(at): \(event.name)", .dim)
                for attribute in event.attributes { add("    \(attribute.key) = \(Self.text(of: attribute.value))", .dim) }
            }
        }
        return lines
    }

    // MARK: Text

    private func paint(_ text: String, _ style: Terminal.Style) -> String {
        text.isEmpty ? text : terminal.paint(text, style)
    }

    /// An attribute's value as people read it: text as it is, numbers and booleans as in JSON, arrays and maps in
    /// brackets and braces, bytes as their count.
    static func text(of value: AttributeValue) -> String {
        switch value {
        case .empty: "(empty)"
        case .bytes(let bytes): "(\(bytes.count) bytes)"
        case .array(let values): "[" + values.map { text(of: $0) }.joined(separator: ", ") + "]"
        case .keyValueList(let attributes):
            "{" + attributes.map { "\($0.key): \(text(of: $0.value))" }.joined(separator: ", ") + "}"
        default: value.searchText ?? ""
        }
    }

    /// `text` cut to `width` columns with `…`.
    static func fit(_ text: String, _ width: Int) -> String { Table.truncate(text, to: width) }

    /// `text` padded with spaces on the right to `width` columns.
    static func pad(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(0, width - Table.displayWidth(text)))
    }

    /// `text` padded with spaces on the left to `width` columns.
    static func padLeft(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - Table.displayWidth(text))) + text
    }

    /// `text` without trailing spaces.
    static func trimmed(_ text: String) -> String {
        var text = text
        while text.last == " " { text.removeLast() }
        return text
    }

    /// A count with thousands separators: `10,000`.
    static func grouped(_ count: Int) -> String {
        let digits = String(count)
        var result = ""
        for (position, digit) in digits.enumerated() {
            if position > 0, (digits.count - position) % 3 == 0 { result.append(",") }
            result.append(digit)
        }
        return result
    }
}
