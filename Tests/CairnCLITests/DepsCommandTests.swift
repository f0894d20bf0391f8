import CairnTesting
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

/// The shared fixture: two traces of a shop (one that fails in payments) and a queue consumer's trace, March 2026.
private let fixture = ExpectedOutput.shop
/// A window that holds every span of the fixture, written as times so that the output never depends on today.
private let window = ["--since", "2026-03-01T00:00:00Z", "--until", "2026-04-01T00:00:00Z"]
/// Graphviz's dot, where Debian installs it.
private let dot = "/usr/bin/dot"
private let dotInstalled = FileManager.default.isExecutableFile(atPath: dot)

/// Runs `cairn` on the fixture, with no colour, 100 columns and UTC.
private func cairn(_ arguments: [String], environment: [String: String] = [:]) async throws -> CairnProcess.Output {
    try await ExpectedOutput.run(arguments + ["--file", fixture], environment: environment)
}

private func expect(_ actual: String, matches name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    try ExpectedOutput.expect(actual, matches: name, sourceLocation: sourceLocation)
}

/// Runs `dot -Tsvg` on `source`; its status and output.
private func renderWithDot(_ source: String) throws -> (status: Int32, svg: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: dot)
    process.arguments = ["-Tsvg"]
    let input = Pipe()
    let output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    input.fileHandleForWriting.write(Data(source.utf8))  // small: fits the pipe's buffer
    try input.fileHandleForWriting.close()
    let svg = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: svg, as: UTF8.self))
}

/// Whether `data` is well-formed XML.
private func isWellFormedXML(_ data: Data) -> Bool {
    XMLParser(data: data).parse()
}

@Suite("cairn deps, run as a process on the shop fixture")
struct DepsCommandTests {
    /// Removed with everything in it when the test ends.
    let directory: TemporaryDirectory
    var scratch: URL { directory.url }

    init() throws {
        directory = try TemporaryDirectory()
    }

    @Test("writes the map as DOT by default")
    func dotByDefault() async throws {
        let output = try await cairn(["deps"] + window)
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stderr.isEmpty)
        try expect(output.stdout, matches: "deps.dot")
    }

    @Test("writes DOT that Graphviz's dot renders as SVG", .enabled(if: dotInstalled, "Graphviz is not installed"))
    func dotRenders() async throws {
        let output = try await cairn(["deps", "--format", "dot"] + window)
        #expect(output.status == 0, "\(output.stderr)")
        let rendered = try renderWithDot(output.stdout)
        #expect(rendered.status == 0)
        #expect(rendered.svg.contains("<svg"))
    }

    @Test("writes the map as JSON and as Mermaid", arguments: [("json", "deps.json"), ("mermaid", "deps.mmd")])
    func formats(format: String, expected: String) async throws {
        let output = try await cairn(["deps", "--format", format] + window)
        #expect(output.status == 0, "\(output.stderr)")
        try expect(output.stdout, matches: expected)
    }

    @Test("--service keeps the service, its neighbours and the calls that touch it")
    func focus() async throws {
        let output = try await cairn(["deps", "--service", "checkout"] + window)
        #expect(output.status == 0, "\(output.stderr)")
        try expect(output.stdout, matches: "deps-checkout.dot")
        #expect(!output.stdout.contains("\"inventory\" -> \"inventory-db.internal:5432\""))
    }

    @Test("--output writes the map to the file and says what it wrote")
    func outputFile() async throws {
        let path = scratch.appendingPathComponent("deps.json").path
        let output = try await cairn(["deps", "--format", "json", "--output", path] + window)
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stdout == "wrote the JSON map of 6 call paths between 6 nodes to \(path)\n")
        let printed = try await cairn(["deps", "--format", "json"] + window)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == printed.stdout)
    }

    @Test("--render svg --output draws the map into an SVG file", .enabled(if: dotInstalled, "Graphviz is not installed"))
    func renderSVG() async throws {
        let path = scratch.appendingPathComponent("deps.svg").path
        let output = try await cairn(["deps", "--render", "svg", "--output", path] + window)
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stdout == "wrote the SVG drawing of 6 call paths between 6 nodes to \(path)\n")
        let svg = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(String(decoding: svg, as: UTF8.self).contains("<svg"))
        #expect(String(decoding: svg, as: UTF8.self).contains("payments"))
        #expect(isWellFormedXML(svg))
    }

    @Test("--render png writes a PNG file", .enabled(if: dotInstalled, "Graphviz is not installed"))
    func renderPNG() async throws {
        let path = scratch.appendingPathComponent("deps.png").path
        let output = try await cairn(["deps", "--render", "png", "--output", path] + window)
        #expect(output.status == 0, "\(output.stderr)")
        let png = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
    }

    @Test("--render without Graphviz says how to install it, with status 1")
    func graphvizMissing() async throws {
        let path = scratch.appendingPathComponent("missing.svg").path
        let output = try await cairn(["deps", "--render", "svg", "--output", path] + window, environment: ["PATH": "/nonexistent"])
        #expect(output.status == 1)
        #expect(output.stderr == "cairn: Graphviz's dot is not installed; install it with: sudo apt-get install graphviz\n")
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test("says in one line what is wrong, with status 1 for nothing found and 2 for a usage error", arguments: [
        (["--since", "2020-01-01T00:00:00Z", "--until", "2020-01-02T00:00:00Z"], Int32(1),
         "no calls between services from 2020-01-01T00:00:00Z to 2020-01-02T00:00:00Z; widen --since"),
        (["--service", "nope"] + window, 1, "no calls to or from nope from 2026-03-01T00:00:00Z to 2026-04-01T00:00:00Z; check the name or widen --since"),
        (["--format", "xml"] + window, 2, "--format xml is not a format; give dot, json or mermaid"),
        (["--render", "gif"] + window, 2, "--render gif is not a format Graphviz is asked for; give svg or png"),
        (["--render", "svg", "--format", "json"] + window, 2, "cannot go with --format json"),
        (["--since", "2026-04-01T00:00:00Z", "--until", "2026-03-01T00:00:00Z"], 2, "give a --since earlier than --until"),
        (["--output", "/nonexistent/deps.dot"] + window, 2, "cannot write /nonexistent/deps.dot"),
    ])
    func errors(arguments: [String], status: Int32, message: String) async throws {
        let output = try await cairn(["deps"] + arguments)
        ExpectedOutput.expectOneLineError(output, status: status, containing: message)
    }

    @Test("--help shows examples")
    func help() async throws {
        let output = try await CairnProcess.runOffPool(["deps", "--help"])
        #expect(output.status == 0)
        #expect(output.stdout.contains("Examples:"))
        #expect(output.stdout.contains("cairn deps --since 1h --render svg --output deps.svg"))
    }
}
