import Foundation
import Testing

/// The files that `cairn traces` and `cairn trace` tests read and compare with.
enum TraceOutputFiles {
    /// This folder of tests.
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

    /// The shared fixture: three traces of a shop (checkout, a failed checkout with clock skew, a queue consumer).
    static let shop = folder.appendingPathComponent("Fixtures/shop.otlp.json").path

    /// What every run sets: no colour, a known width and time zone.
    static let environment = ["NO_COLOR": "1", "COLUMNS": "100", "TZ": "UTC"]

    /// Runs `cairn` with `environment`.
    static func run(_ arguments: [String], environment extra: [String: String] = [:]) throws -> CairnProcess.Output {
        try CairnProcess.run(arguments, environment: environment.merging(extra) { $1 })
    }

    /// Checks that `output` is the content of `Expected/name`, byte for byte. With `CAIRN_UPDATE_EXPECTED=1` in the
    /// environment it writes the file instead (review the difference: the expected files are the specification).
    static func expect(_ output: String, matches name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let url = folder.appendingPathComponent("Expected/\(name)")
        if ProcessInfo.processInfo.environment["CAIRN_UPDATE_EXPECTED"] == "1" {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(output.utf8).write(to: url)
            return
        }
        let expected = try String(contentsOf: url, encoding: .utf8)
        if output != expected {
            let got = output.split(separator: "\n", omittingEmptySubsequences: false)
            let want = expected.split(separator: "\n", omittingEmptySubsequences: false)
            let line = zip(got, want).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(got.count, want.count)
            let gotLine = line < got.count ? String(got[line]) : "(end)"
            let wantLine = line < want.count ? String(want[line]) : "(end)"
            Issue.record("output differs from Expected/\(name) at line \(line + 1):\n  got:  \(gotLine)\n  want: \(wantLine)\n(run with CAIRN_UPDATE_EXPECTED=1 to rewrite it, then review the difference)",
                         sourceLocation: sourceLocation)
        }
    }

    /// Whether `text` holds an ANSI escape sequence.
    static func hasEscapes(_ text: String) -> Bool { text.contains("\u{1B}[") }

    /// Runs `cairn` with exactly the environment of this process changed by `extra` (nil removes a variable), on
    /// a pseudo-terminal through `script` when `terminal` is true, as a user at a terminal runs it, else into a pipe;
    /// returns what it wrote to standard output.
    static func runWith(_ arguments: [String], environment extra: [String: String?], terminal: Bool) throws -> String {
        let process = Process()
        var environment = ProcessInfo.processInfo.environment
        for (key, value) in extra { environment[key] = value }
        process.environment = environment
        if terminal {
            let quoted = ([CairnProcess.executable.path] + arguments).map {
                "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'"
            }
            process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
            process.arguments = ["-qec", quoted.joined(separator: " "), "/dev/null"]
        } else {
            process.executableURL = CairnProcess.executable
            process.arguments = arguments
        }
        let out = Pipe()
        process.standardOutput = out
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}

@Suite("cairn traces, run as a process on the shop fixture")
struct TracesCommandTests {
    @Test("lists the traces that match, newest first, as the expected table", arguments: [
        ([], "traces-all.txt"),
        (["--errors"], "traces-errors.txt"),
        (["--service", "inventory"], "traces-service.txt"),
        (["--operation", "authorize card", "--min-duration", "1s"], "traces-operation-duration.txt"),
        (["--tag", "http.route=/checkout", "--max-duration", "1.2s", "--limit", "1"], "traces-tag-limit.txt"),
        (["--since", "2026-03-12T09:14:30Z", "--until", "2026-03-12T09:16:00Z"], "traces-since-until.txt"),
    ])
    func table(arguments: [String], expected: String) throws {
        let output = try TraceOutputFiles.run(["traces", "--file", TraceOutputFiles.shop] + arguments)
        #expect(output.status == 0, "\(output.stderr)")
        try TraceOutputFiles.expect(output.stdout, matches: expected)
    }

    @Test("--json writes an array of summaries with the documented keys")
    func json() throws {
        let output = try TraceOutputFiles.run(["traces", "--file", TraceOutputFiles.shop, "--json"])
        #expect(output.status == 0, "\(output.stderr)")
        try TraceOutputFiles.expect(output.stdout, matches: "traces-json.txt")
        let array = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [[String: Any]])
        #expect(array.count == 3)
        #expect(Set(array[0].keys) == ["traceID", "rootService", "rootOperation", "start", "startTimeUnixNano",
                                      "durationNanos", "spanCount", "services", "errorCount"])
    }

    @Test("a table never reaches past the terminal's width when the root can be cut to fit")
    func width() throws {
        let output = try TraceOutputFiles.run(["traces", "--file", TraceOutputFiles.shop], environment: ["COLUMNS": "118"])
        let lines = output.stdout.split(separator: "\n")
        #expect(lines.allSatisfy { $0.count <= 118 })
        #expect(lines.contains { $0.hasSuffix("…") })
    }

    @Test("nothing found exits 1 with one line that says what to do")
    func nothingFound() throws {
        let output = try TraceOutputFiles.run(["traces", "--file", TraceOutputFiles.shop, "--service", "nobody"])
        #expect(output.status == 1)
        #expect(output.stdout.isEmpty)
        #expect(output.stderr.hasSuffix("; widen --since or drop a filter\n"))
        #expect(output.stderr.split(separator: "\n").count == 1)
    }

    @Test("an option that cannot be read exits 2 with one line that shows how to write it", arguments: [
        (["--since", "yesterday"], "--since yesterday is neither a duration nor a time; write it like 15m, 2h, 7d"),
        (["--until", "2026-13-01T00:00:00Z"], "--until 2026-13-01T00:00:00Z is neither a duration nor a time"),
        (["--min-duration", "fast"], "--min-duration fast is not a duration; write it like 250ms, 1.5s or 2m"),
        (["--tag", "error"], "--tag error is not key=value"),
        (["--limit", "0"], "--limit 0 lists nothing"),
        (["--since", "1h", "--until", "2h"], "--since 1h is after --until 2h"),
    ])
    func usageErrors(arguments: [String], message: String) throws {
        let output = try TraceOutputFiles.run(["traces", "--file", TraceOutputFiles.shop] + arguments)
        #expect(output.status == 2)
        #expect(output.stderr.hasPrefix("cairn: " + message), "\(output.stderr)")
        #expect(output.stderr.split(separator: "\n").count == 1)
    }

    @Test("colour goes to a terminal only, never to a pipe, and never with NO_COLOR")
    func colour() throws {
        let arguments = ["traces", "--file", TraceOutputFiles.shop]
        let base: [String: String?] = ["COLUMNS": "100", "TZ": "UTC", "TERM": "xterm-256color", "NO_COLOR": nil]
        let piped = try TraceOutputFiles.runWith(arguments, environment: base, terminal: false)
        #expect(piped.contains("4bf92f3577b34da6a3ce929d0e0e4736"))
        #expect(!TraceOutputFiles.hasEscapes(piped))
        let onTerminal = try TraceOutputFiles.runWith(arguments, environment: base, terminal: true)
        #expect(onTerminal.contains("4bf92f3577b34da6a3ce929d0e0e4736"))
        #expect(TraceOutputFiles.hasEscapes(onTerminal))
        let noColor = try TraceOutputFiles.runWith(arguments, environment: base.merging(["NO_COLOR": "1"]) { $1 },
                                                   terminal: true)
        #expect(noColor.contains("4bf92f3577b34da6a3ce929d0e0e4736"))
        #expect(!TraceOutputFiles.hasEscapes(noColor))
    }

    @Test("--help shows examples")
    func help() throws {
        let output = try TraceOutputFiles.run(["traces", "--help"])
        #expect(output.status == 0)
        #expect(output.stdout.contains("Examples:"))
        #expect(output.stdout.contains("cairn traces --service checkout --errors"))
    }
}
