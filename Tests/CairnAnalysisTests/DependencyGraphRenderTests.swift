import CairnAnalysis
import CairnModel
import Foundation
import Testing

@Suite("Dependency graph exports")
struct DependencyGraphRenderTests {
    typealias T = ShopTraces

    static let dotPath = "/usr/bin/dot"
    static let hasDot = FileManager.default.isExecutableFile(atPath: dotPath)

    /// Names that break naive quoting: quotes, backslashes (a trailing one too), line breaks, a backslash followed by
    /// `n` beside a real line break, control characters, markup, entity starts and unicode.
    static let awkwardNames = [
        "quote \"in\" name", "back\\slash\\", "new\nline", "new\\nline", "tab\tand bell\u{7}", "ünï©ødé 🚀 名前",
        "a&b <c>", "#hash;", "`tick`", "semi; colon", "x\r\ny", "",
    ]

    /// A gateway calling one service for each awkward name.
    static func awkwardGraph() -> DependencyGraph {
        var spans: [Span] = []
        let trace = TraceID(high: 0xC0, low: 1)
        spans.append(T.span(trace, 1, "gateway", .server, start: 0, duration: T.ms(100)))
        for (index, name) in awkwardNames.enumerated() {
            let client = UInt64(100 + 2 * index)
            spans.append(T.span(trace, client, parent: 1, "gateway", .client, start: 0, duration: T.ms(UInt64(index + 1)),
                                attributes: [Attribute("http.request.method", .string("GET"))]))
            spans.append(T.span(trace, client + 1, parent: client, name, .server, start: 0, duration: T.ms(1),
                                error: index % 3 == 0))
        }
        return T.build(spans)
    }

    /// Runs Graphviz's `dot -Tsvg` with the text on standard input.
    static func svg(of dot: String) throws -> (status: Int32, svg: String, errors: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: dotPath)
        process.arguments = ["-Tsvg"]
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(Data(dot.utf8))
        try input.fileHandleForWriting.close()
        let svg = output.fileHandleForReading.readDataToEndOfFile()
        let messages = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: svg, as: UTF8.self), String(decoding: messages, as: UTF8.self))
    }

    static func occurrences(of needle: String, in text: String) -> Int {
        text.components(separatedBy: needle).count - 1
    }

    // MARK: DOT

    @Test("DOT of the shop: shapes by kind, labels with calls, error rate and p95, widths and colours")
    func dotText() {
        let expected = #"""
            digraph dependencies {
                rankdir=LR;
                node [fontsize=11];
                edge [fontsize=9];
                "checkout" [shape=box, label="checkout\n20 calls, 10.0% errors\np95 109 ms", color="red"];
                "db1:5432" [shape=cylinder, label="db1:5432\n20 calls, 0.0% errors\np95 19.0 ms", color="black"];
                "frontend" [shape=box, label="frontend\n20 calls, 0.0% errors\np95 219 ms", color="black"];
                "kafka" [shape=cds, label="kafka\n1 call, 0.0% errors\np95 2.00 ms", color="black"];
                "shipping" [shape=box, label="shipping\n4 calls, 25.0% errors\np95 40.0 ms", color="red"];
                "stripe" [shape=ellipse, style=dashed, label="stripe\n10 calls, 10.0% errors\np95 49.0 ms", color="red"];
                "checkout" -> "db1:5432" [label="20 calls\n0.0% errors\np95 19.0 ms", penwidth=5.00, color="black", fontcolor="black"];
                "checkout" -> "kafka" [label="1 call\n0.0% errors\np95 2.00 ms", penwidth=1.00, color="black", fontcolor="black"];
                "checkout" -> "shipping" [label="4 calls\n25.0% errors\np95 400 ms", penwidth=2.85, color="red", fontcolor="red"];
                "checkout" -> "stripe" [label="10 calls\n10.0% errors\np95 49.0 ms", penwidth=4.07, color="red", fontcolor="red"];
                "frontend" -> "checkout" [label="20 calls\n10.0% errors\np95 119 ms", penwidth=5.00, color="red", fontcolor="red"];
            }

            """#
        #expect(T.graph().dot() == expected)
    }

    @Test("DOT is byte-identical for two builds from differently shuffled input")
    func dotDeterministic() {
        var random = SeededShuffle(state: 3)
        var first = T.spans()
        var second = T.spans() + T.spans()
        first.shuffle(using: &random)
        second.shuffle(using: &random)
        let a = T.build(first).dot()
        let b = T.build(second).dot()
        #expect(Array(a.utf8) == Array(b.utf8))
        #expect(Array(Self.awkwardGraph().dot().utf8) == Array(Self.awkwardGraph().dot().utf8))
    }

    @Test("DOT colours by error rate: black under 1 %, orange under 5 %, red from 5 %")
    func dotColours() {
        func colour(errors: Int, calls: Int) -> String {
            let graph = DependencyGraph(
                nodes: [.init(name: "a", kind: .service, calls: 0, errors: 0, p95Nanos: 0),
                        .init(name: "b", kind: .service, calls: calls, errors: errors, p95Nanos: 0)],
                edges: [.init(parent: "a", child: "b", kind: .http, calls: calls, errors: errors,
                              p50Nanos: 0, p95Nanos: 0, p99Nanos: 0)])
            let line = graph.dot().split(separator: "\n").first { $0.contains("->") } ?? ""
            return line.contains("color=\"red\"") ? "red" : line.contains("color=\"orange\"") ? "orange" : "black"
        }
        #expect(colour(errors: 0, calls: 100) == "black")
        #expect(colour(errors: 99, calls: 10_000) == "black")
        #expect(colour(errors: 1, calls: 100) == "orange")
        #expect(colour(errors: 49, calls: 1_000) == "orange")
        #expect(colour(errors: 5, calls: 100) == "red")
        #expect(colour(errors: 3, calls: 3) == "red")
    }

    @Test("DOT labels round half up with integers: durations in ns, µs, ms and s; rates to a tenth of a percent")
    func dotNumbers() {
        func label(p95: UInt64, errors: Int = 0, calls: Int = 3) -> String {
            let graph = DependencyGraph(
                nodes: [.init(name: "a", kind: .service, calls: 0, errors: 0, p95Nanos: 0),
                        .init(name: "b", kind: .service, calls: 0, errors: 0, p95Nanos: 0)],
                edges: [.init(parent: "a", child: "b", kind: .http, calls: calls, errors: errors,
                              p50Nanos: 0, p95Nanos: p95, p99Nanos: 0)])
            let line = graph.dot().split(separator: "\n").first { $0.contains("->") } ?? ""
            return String(line.split(separator: "\"")[5])
        }
        #expect(label(p95: 850) == #"3 calls\n0.0% errors\np95 850 ns"#)
        #expect(label(p95: 35_249) == #"3 calls\n0.0% errors\np95 35.2 µs"#)
        #expect(label(p95: 35_250_000) == #"3 calls\n0.0% errors\np95 35.3 ms"#)
        #expect(label(p95: 999_960) == #"3 calls\n0.0% errors\np95 1.00 ms"#)
        #expect(label(p95: 1_500_000_000) == #"3 calls\n0.0% errors\np95 1.50 s"#)
        #expect(label(p95: 0, errors: 1) == #"3 calls\n33.3% errors\np95 0 ns"#)
        #expect(label(p95: 0, errors: 2) == #"3 calls\n66.7% errors\np95 0 ns"#)
        #expect(label(p95: 0, errors: 1, calls: 40) == #"40 calls\n2.5% errors\np95 0 ns"#)
    }

    @Test("Graphviz renders the shop's DOT to SVG", .enabled(if: hasDot, "Graphviz's dot is not installed at /usr/bin/dot"))
    func dotRenders() throws {
        let result = try Self.svg(of: T.graph().dot())
        #expect(result.status == 0, "dot said: \(result.errors)")
        #expect(result.svg.contains("<svg"))
        #expect(result.errors.isEmpty, "dot said: \(result.errors)")
        #expect(Self.occurrences(of: "class=\"node\"", in: result.svg) == 6)
        #expect(Self.occurrences(of: "class=\"edge\"", in: result.svg) == 5)
    }

    @Test("Graphviz renders names with quotes, backslashes, line breaks, control characters and unicode, each its own node",
          .enabled(if: hasDot, "Graphviz's dot is not installed at /usr/bin/dot"))
    func dotRendersAwkwardNames() throws {
        let graph = Self.awkwardGraph()
        #expect(graph.nodes.count == Self.awkwardNames.count + 1)
        let result = try Self.svg(of: graph.dot())
        #expect(result.status == 0, "dot said: \(result.errors)")
        #expect(result.svg.contains("<svg"))
        #expect(Self.occurrences(of: "class=\"node\"", in: result.svg) == graph.nodes.count)
        #expect(Self.occurrences(of: "class=\"edge\"", in: result.svg) == graph.edges.count)
        #expect(result.svg.contains("ünï©ødé 🚀 名前"))
        #expect(result.svg.contains("a&amp;b &lt;c&gt;"), "an ampersand shows as itself")
    }

    // MARK: Mermaid

    @Test("Mermaid of the shop: numbered nodes with quoted names, shapes by kind, labelled edges")
    func mermaidText() {
        let expected = """
            flowchart LR
                n0["checkout"]
                n1[("db1:5432")]
                n2["frontend"]
                n3>"kafka"]
                n4["shipping"]
                n5(("stripe"))
                n0 -->|"20 calls, 0.0% err, p95 19.0 ms"| n1
                n0 -->|"1 call, 0.0% err, p95 2.00 ms"| n3
                n0 -->|"4 calls, 25.0% err, p95 400 ms"| n4
                n0 -->|"10 calls, 10.0% err, p95 49.0 ms"| n5
                n2 -->|"20 calls, 10.0% err, p95 119 ms"| n0
                classDef virtual stroke-dasharray: 5 5
                class n5 virtual
                linkStyle 2,3,4 stroke:red,color:red

            """
        #expect(T.graph().mermaid() == expected)
    }

    @Test("Mermaid escapes quotes as #quot; and markup characters as entity codes")
    func mermaidEscapes() {
        let graph = DependencyGraph(
            nodes: [.init(name: "say \"hi\" #1 <b>&`x`\nz\u{1}", kind: .service, calls: 1, errors: 0, p95Nanos: 0),
                    .init(name: "q", kind: .database, calls: 50, errors: 1, p95Nanos: 0)],
            edges: [.init(parent: "say \"hi\" #1 <b>&`x`\nz\u{1}", child: "q", kind: .database, calls: 50, errors: 1,
                          p50Nanos: 0, p95Nanos: 1_000, p99Nanos: 0)])
        #expect(graph.mermaid() == """
            flowchart LR
                n0[("q")]
                n1["say #quot;hi#quot; #35;1 #lt;b#gt;#amp;#96;x#96;<br>z\u{FFFD}"]
                n1 -->|"50 calls, 2.0% err, p95 1.00 µs"| n0
                linkStyle 0 stroke:orange,color:orange

            """)
    }

    // MARK: JSON

    @Test("JSON of the shop, exactly, compact as the other analysis JSON")
    func jsonText() {
        let expected = #"{"version":1,"nodes":["#
            + #"{"name":"checkout","kind":"service","calls":20,"errors":2,"errorRate":0.1,"p95Ns":109000000},"#
            + #"{"name":"db1:5432","kind":"database","calls":20,"errors":0,"errorRate":0.0,"p95Ns":19000000},"#
            + #"{"name":"frontend","kind":"service","calls":20,"errors":0,"errorRate":0.0,"p95Ns":219000000},"#
            + #"{"name":"kafka","kind":"messaging","calls":1,"errors":0,"errorRate":0.0,"p95Ns":2000000},"#
            + #"{"name":"shipping","kind":"service","calls":4,"errors":1,"errorRate":0.25,"p95Ns":40000000},"#
            + #"{"name":"stripe","kind":"virtual","calls":10,"errors":1,"errorRate":0.1,"p95Ns":49000000}"#
            + #"],"edges":["#
            + #"{"parent":"checkout","child":"db1:5432","kind":"database","calls":20,"errors":0,"errorRate":0.0,"#
            + #""p50Ns":10000000,"p95Ns":19000000,"p99Ns":20000000},"#
            + #"{"parent":"checkout","child":"kafka","kind":"messaging","calls":1,"errors":0,"errorRate":0.0,"#
            + #""p50Ns":2000000,"p95Ns":2000000,"p99Ns":2000000},"#
            + #"{"parent":"checkout","child":"shipping","kind":"messaging","calls":4,"errors":1,"errorRate":0.25,"#
            + #""p50Ns":200000000,"p95Ns":400000000,"p99Ns":400000000},"#
            + #"{"parent":"checkout","child":"stripe","kind":"http","calls":10,"errors":1,"errorRate":0.1,"#
            + #""p50Ns":39000000,"p95Ns":49000000,"p99Ns":49000000},"#
            + #"{"parent":"frontend","child":"checkout","kind":"http","calls":20,"errors":2,"errorRate":0.1,"#
            + #""p50Ns":110000000,"p95Ns":119000000,"p99Ns":120000000}"#
            + #"]}"#
        #expect(T.graph().json() == expected)
        #expect(DependencyGraph().json() == #"{"version":1,"nodes":[],"edges":[]}"#)
    }

    @Test("JSON parses, and awkward names and rates come back as they were")
    func jsonParses() throws {
        let graph = Self.awkwardGraph()
        let object = try JSONSerialization.jsonObject(with: Data(graph.json().utf8)) as? [String: Any]
        let nodes = try #require(object?["nodes"] as? [[String: Any]])
        let edges = try #require(object?["edges"] as? [[String: Any]])
        #expect(nodes.compactMap { $0["name"] as? String } == graph.nodes.map(\.name))
        #expect(edges.compactMap { $0["child"] as? String } == graph.edges.map(\.child))
        #expect(edges.compactMap { ($0["calls"] as? NSNumber)?.intValue } == graph.edges.map(\.calls))
        #expect(graph.json().contains(#""name":"tab\tand bell\u0007""#))

        let thirds = DependencyGraph(
            nodes: [.init(name: "a", kind: .service, calls: 3, errors: 1, p95Nanos: 0),
                    .init(name: "b", kind: .virtual, calls: 3, errors: 2, p95Nanos: UInt64.max)])
        #expect(thirds.json().contains(#""errorRate":0.3333333333333333,"p95Ns":0}"#))
        #expect(thirds.json().contains(#""errorRate":0.6666666666666666,"p95Ns":18446744073709551615}"#))
    }
}
