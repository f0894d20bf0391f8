extension DependencyGraph {
    /// The graph in Graphviz's DOT language (`dot -Tsvg` renders it), byte-identical for equal graphs.
    ///
    /// - Nodes: `box` for a service, `cylinder` for a database, `cds` for messaging, a dashed `ellipse` for any other
    ///   virtual node; labelled with the name, calls, error rate and p95.
    /// - Edges: labelled `120 calls\n2.5% errors\np95 35.2 ms`; `penwidth` 1 + 4 × ln(calls) / ln(most calls on an
    ///   edge), two decimals (1.00 when no edge has more than one call); colour and label colour `black` under 1 %
    ///   errors, `orange` under 5 %, `red` from 5 %. Nodes are coloured by their own error rate the same way.
    /// - Names are quoted node ids: `"` becomes `\"`, `\` becomes `\\`, a line feed `\n`, a carriage return `\r`,
    ///   any other control character `\xHH`; distinct names stay distinct ids. Labels escape the same way, except
    ///   that a line feed breaks the line, other control characters show as U+FFFD and `&` is written `&amp;`
    ///   (Graphviz decodes entities in labels).
    /// - Durations are written by `formatDuration` (three significant digits), error rates to a tenth of a percent;
    ///   both round with integer arithmetic (see `json()` for the exact values), so no locale or platform changes
    ///   the text.
    ///
    /// See [the DOT language](https://graphviz.org/doc/info/lang.html) and
    /// [node shapes](https://graphviz.org/doc/info/shapes.html).
    public func dot() -> String {
        var out = "digraph dependencies {\n"
        out += "    rankdir=LR;\n"
        out += "    node [fontsize=11];\n"
        out += "    edge [fontsize=9];\n"
        for node in nodes {
            let shape =
                switch node.kind {
                case .service: "shape=box"
                case .database: "shape=cylinder"
                case .messaging: "shape=cds"
                case .virtual: "shape=ellipse, style=dashed"
                }
            var label = Self.dotLabelText(node.name) + "\\n"
            if node.calls == 0 {
                label += "0 calls"
            } else {
                label += "\(Self.counted(node.calls, "call")), \(Self.percent(node.errors, of: node.calls)) errors\\n"
                label += "p95 \(formatDuration(node.p95Nanos))"
            }
            let color = Self.dotColor(errors: node.errors, calls: node.calls)
            out += "    \(Self.dotID(node.name)) [\(shape), label=\"\(label)\", color=\"\(color)\"];\n"
        }
        let maxCalls = edges.map(\.calls).max() ?? 0
        for edge in edges {
            var label = Self.counted(edge.calls, "call") + "\\n"
            label += "\(Self.percent(edge.errors, of: edge.calls)) errors\\n"
            label += "p95 \(formatDuration(edge.p95Nanos))"
            let width =
                maxCalls > 1 && edge.calls > 1
                ? 1 + 4 * Self.naturalLog(Double(edge.calls)) / Self.naturalLog(Double(maxCalls)) : 1
            let color = Self.dotColor(errors: edge.errors, calls: edge.calls)
            out += "    \(Self.dotID(edge.parent)) -> \(Self.dotID(edge.child)) [label=\"\(label)\", "
            out += "penwidth=\(formatFixed(width, digits: 2)), color=\"\(color)\", fontcolor=\"\(color)\"];\n"
        }
        out += "}\n"
        return out
    }

    /// `black` under 1 % errors, `orange` under 5 %, `red` from 5 %.
    static func dotColor(errors: Int, calls: Int) -> String {
        if errors.multipliedReportingOverflow(by: 100).partialValue < calls { return "black" }
        if errors.multipliedReportingOverflow(by: 20).partialValue < calls { return "orange" }
        return "red"
    }

    /// A quoted DOT id that maps distinct names to distinct ids.
    static func dotID(_ name: String) -> String {
        var out = "\""
        for scalar in name.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                out += "\\x" + hexByte(UInt8(scalar.value))
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// A name as the text of a DOT label (without the quotes).
    static func dotLabelText(_ name: String) -> String {
        var out = ""
        for scalar in name.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "&": out += "&amp;"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: out += "\u{FFFD}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func hexByte(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
    }
}
