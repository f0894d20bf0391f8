import CairnTesting
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

/// The shared fixture: two traces of a shop (one that fails in payments) and a queue consumer's trace, March 2026.
private let fixture = ExpectedOutput.shop
/// The fixture's path as the expected file shows it, relative to the package.
private let fixtureAsShown = "Tests/CairnCLITests/Fixtures/shop.otlp.json"
private let okTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
private let failedTraceID = "0af7651916cd43dd8448eb211c80319c"
private let dotInstalled = FileManager.default.isExecutableFile(atPath: "/usr/bin/dot")

/// Runs `cairn` on the fixture, with no colour, 100 columns and UTC.
private func cairn(_ arguments: [String], environment: [String: String] = [:]) async throws -> CairnProcess.Output {
    try await ExpectedOutput.run(arguments + ["--file", fixture], environment: environment)
}

private func expect(_ actual: String, matches name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    try ExpectedOutput.expect(actual, matches: name, sourceLocation: sourceLocation)
}

/// The `<svg>…</svg>` elements of a page, outermost only.
private func svgElements(of page: String) -> [Substring] {
    var elements: [Substring] = []
    var rest = page[...]
    while let start = rest.range(of: "<svg"), let end = rest.range(of: "</svg>", range: start.upperBound..<rest.endIndex) {
        elements.append(rest[start.lowerBound..<end.upperBound])
        rest = rest[end.upperBound...]
    }
    return elements
}

/// Whether `text` is well-formed XML.
private func isWellFormedXML(_ text: some StringProtocol) -> Bool {
    XMLParser(data: Data(text.utf8)).parse()
}

@Suite("cairn report, run as a process on the shop fixture")
struct ReportCommandTests {
    /// Removed with everything in it when the test ends.
    let directory: TemporaryDirectory
    var scratch: URL { directory.url }

    init() throws {
        directory = try TemporaryDirectory()
    }

    /// Writes the report of `traceID` and returns the page and what the command printed.
    private func report(_ traceID: String, environment: [String: String] = [:]) async throws -> (page: String, output: CairnProcess.Output) {
        let path = scratch.appendingPathComponent("\(traceID).html").path
        let output = try await cairn(["report", traceID, "--html", path], environment: environment)
        #expect(output.status == 0, "\(output.stderr)")
        return (try String(contentsOfFile: path, encoding: .utf8), output)
    }

    @Test("without Graphviz, writes the page of the expected file, listing the calls in a table")
    func withoutGraphviz() async throws {
        let (page, output) = try await report(failedTraceID, environment: ["PATH": "/nonexistent"])
        #expect(output.stdout.hasPrefix("wrote the report of trace \(failedTraceID) (7 spans; calls listed in a table, as Graphviz is not installed) to "))
        try expect(page.replacingOccurrences(of: fixture, with: fixtureAsShown), matches: "report-errors.html")
        #expect(page.contains("Graphviz's dot was not installed where this report was written"))
        #expect(svgElements(of: page).count == 1)
    }

    @Test("the page is self-contained: no script, no stylesheet or image from the network")
    func selfContained() async throws {
        for traceID in [okTraceID, failedTraceID] {
            let (page, _) = try await report(traceID)
            for reference in ["src=\"http", "href=\"http", "src='http", "href='http", "<script", "<link", "url(", "@import"] {
                #expect(!page.contains(reference), "\(reference)")
            }
        }
    }

    @Test("the page names the trace, every service and the critical path")
    func content() async throws {
        let (page, _) = try await report(okTraceID)
        #expect(page.contains("<title>Trace \(okTraceID): frontend POST /checkout</title>"))
        for service in ["frontend", "checkout", "payments", "inventory"] {
            #expect(page.contains(">\(service)<"), "\(service)")
        }
        #expect(page.contains("critical path"))
        #expect(page.contains("<rect class=\"cp\""))
        #expect(page.contains("<section id=\"critical-path\">"))
        #expect(page.contains("<caption>By operation</caption>"))
    }

    @Test("the failed spans are marked and their status messages shown")
    func failures() async throws {
        let (page, _) = try await report(failedTraceID)
        #expect(page.contains("<g class=\"span error critical\">"))
        #expect(page.contains("status ERROR: card network timed out"))
    }

    @Test("the page and every SVG in it are well-formed XML")
    func wellFormed() async throws {
        for traceID in [okTraceID, failedTraceID] {
            for environment in [[:], ["PATH": "/nonexistent"]] {
                let (page, _) = try await report(traceID, environment: environment)
                #expect(isWellFormedXML(page))
                let svgs = svgElements(of: page)
                #expect(!svgs.isEmpty)
                for svg in svgs { #expect(isWellFormedXML(svg)) }
            }
        }
    }

    @Test("with Graphviz, embeds the dependency graph that dot drew", .enabled(if: dotInstalled, "Graphviz is not installed"))
    func withGraphviz() async throws {
        let (page, output) = try await report(okTraceID)
        #expect(output.stdout.contains("(12 spans; dependency graph drawn by Graphviz)"))
        #expect(page.contains("drawn by Graphviz"))
        let svgs = svgElements(of: page)
        #expect(svgs.count == 2)
        #expect(svgs.last?.contains("class=\"graph\"") == true)  // dot's SVG: <g id="graph0" class="graph">
        #expect(svgs.last?.contains("payments") == true)
        #expect(!page.contains("<!DOCTYPE svg"))
    }

    @Test("without --html, writes the page to standard output when that is not a terminal")
    func standardOutput() async throws {
        let output = try await cairn(["report", okTraceID], environment: ["PATH": "/nonexistent"])
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stdout.hasPrefix("<!DOCTYPE html>"))
        #expect(output.stdout.hasSuffix("</html>\n"))
    }

    @Test("says in one line what is wrong, with status 1 for nothing found and 2 for a usage error", arguments: [
        ([String](), Int32(2), "give the id of the trace to report on"),
        (["0af7651916cd"], 2, "is not a trace id; give 32 hexadecimal digits"),
        (["0af7651916cd43dd8448eb211c80319d", "--html", "/tmp/never.html"], 1, "is not in the file"),
        ([okTraceID, "--html", "/nonexistent/report.html"], 2, "cannot write /nonexistent/report.html"),
    ])
    func errors(arguments: [String], status: Int32, message: String) async throws {
        let output = try await cairn(["report"] + arguments)
        ExpectedOutput.expectOneLineError(output, status: status, containing: message)
    }

    @Test("--help shows examples")
    func help() async throws {
        let output = try await CairnProcess.runOffPool(["report", "--help"])
        #expect(output.status == 0)
        #expect(output.stdout.contains("Examples:"))
        #expect(output.stdout.contains("cairn report 4bf92f3577b34da6a3ce929d0e0e4736 --html incident-4521.html"))
    }
}
