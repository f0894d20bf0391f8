extension DependencyGraph {
    /// The graph as a Mermaid flowchart, left to right, byte-identical for equal graphs.
    ///
    /// Node ids are `n0`, `n1`, ... in the order of `nodes` (by name), with the name as a quoted label: a service
    /// `n0["name"]`, a database `n1[("name")]`, messaging `n2>"name"]`, any other virtual node `n3(("name"))`, dashed
    /// through the `virtual` class. Edges read `n0 -->|"120 calls, 2.5% err, p95 35.2 ms"| n1`; `linkStyle` colours
    /// edges orange under 5 % errors and red from 5 %, as `dot()` does. In labels `"` is written `#quot;`, and `#`,
    /// `&`, `<`, `>` and `` ` `` as entity codes (`#35;`, `#amp;`, `#lt;`, `#gt;`, `#96;`), so that no name ends a
    /// label or starts markup; a line feed becomes `<br>` and other control characters U+FFFD.
    ///
    /// See [Mermaid flowcharts](https://mermaid.js.org/syntax/flowchart.html).
    public func mermaid() -> String {
        var out = "flowchart LR\n"
        var ids: [String: String] = [:]
        var virtual: [String] = []
        for (index, node) in nodes.enumerated() {
            let id = "n\(index)"
            ids[node.name] = id
            let label = "\"" + Self.mermaidText(node.name) + "\""
            switch node.kind {
            case .service: out += "    \(id)[\(label)]\n"
            case .database: out += "    \(id)[(\(label))]\n"
            case .messaging: out += "    \(id)>\(label)]\n"
            case .virtual:
                out += "    \(id)((\(label)))\n"
                virtual.append(id)
            }
        }
        var orange: [String] = []
        var red: [String] = []
        var index = 0  // Mermaid numbers links in the order they are written
        for edge in edges {
            guard let parent = ids[edge.parent], let child = ids[edge.child] else { continue }
            defer { index += 1 }
            let label =
                "\(Self.counted(edge.calls, "call")), \(Self.percent(edge.errors, of: edge.calls)) err, "
                + "p95 \(formatDuration(edge.p95Nanos))"
            out += "    \(parent) -->|\"\(label)\"| \(child)\n"
            switch Self.dotColor(errors: edge.errors, calls: edge.calls) {
            case "orange": orange.append(String(index))
            case "red": red.append(String(index))
            default: break
            }
        }
        if !virtual.isEmpty {
            out += "    classDef virtual stroke-dasharray: 5 5\n"
            out += "    class \(virtual.joined(separator: ",")) virtual\n"
        }
        if !orange.isEmpty { out += "    linkStyle \(orange.joined(separator: ",")) stroke:orange,color:orange\n" }
        if !red.isEmpty { out += "    linkStyle \(red.joined(separator: ",")) stroke:red,color:red\n" }
        return out
    }

    /// A name as the text of a quoted Mermaid label.
    static func mermaidText(_ name: String) -> String {
        var out = ""
        for scalar in name.unicodeScalars {
            switch scalar {
            case "\"": out += "#quot;"
            case "#": out += "#35;"
            case "&": out += "#amp;"
            case "<": out += "#lt;"
            case ">": out += "#gt;"
            case "`": out += "#96;"
            case "\n": out += "<br>"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: out += "\u{FFFD}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
