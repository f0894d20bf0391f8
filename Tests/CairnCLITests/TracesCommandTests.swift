import CairnTesting
import Foundation
import Testing


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
    func table(arguments: [String], expected: String) async throws {
        let output = try await ExpectedOutput.run(["traces", "--file", ExpectedOutput.shop] + arguments)
        #expect(output.status == 0, "\(output.stderr)")
        try ExpectedOutput.expect(output.stdout, matches: expected)
    }

    @Test("--json writes an array of summaries with the documented keys")
    func json() async throws {
        let output = try await ExpectedOutput.run(["traces", "--file", ExpectedOutput.shop, "--json"])
        #expect(output.status == 0, "\(output.stderr)")
        try ExpectedOutput.expect(output.stdout, matches: "traces-json.txt")
        let array = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [[String: Any]])
        #expect(array.count == 3)
        #expect(Set(array[0].keys) == ["traceID", "rootService", "rootOperation", "start", "startTimeUnixNano",
                                      "durationNanos", "spanCount", "services", "errorCount"])
    }

    @Test("a table never reaches past the terminal's width when the root can be cut to fit")
    func width() async throws {
        let output = try await ExpectedOutput.run(["traces", "--file", ExpectedOutput.shop], environment: ["COLUMNS": "95"])
        let lines = output.stdout.split(separator: "\n")
        #expect(lines.allSatisfy { $0.count <= 95 })
        #expect(lines.contains { $0.hasSuffix("…") })
    }

    @Test("nothing found exits 1 with one line that says what to do")
    func nothingFound() async throws {
        let output = try await ExpectedOutput.run(["traces", "--file", ExpectedOutput.shop, "--service", "nobody"])
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
    func usageErrors(arguments: [String], message: String) async throws {
        let output = try await ExpectedOutput.run(["traces", "--file", ExpectedOutput.shop] + arguments)
        #expect(output.status == 2)
        #expect(output.stderr.hasPrefix("cairn: " + message), "\(output.stderr)")
        #expect(output.stderr.split(separator: "\n").count == 1)
    }

    @Test("colour goes to a terminal only, never to a pipe, and never with NO_COLOR")
    func colour() throws {
        let arguments = ["traces", "--file", ExpectedOutput.shop]
        let base: [String: String?] = ["COLUMNS": "100", "TZ": "UTC", "TERM": "xterm-256color", "NO_COLOR": nil]
        let piped = try ExpectedOutput.runWith(arguments, environment: base, terminal: false)
        #expect(piped.contains("4bf92f3577b34da6a3ce929d0e0e4736"))
        #expect(!ExpectedOutput.hasEscapes(piped))
        let onTerminal = try ExpectedOutput.runWith(arguments, environment: base, terminal: true)
        #expect(onTerminal.contains("4bf92f3577b34da6a3ce929d0e0e4736"))
        #expect(ExpectedOutput.hasEscapes(onTerminal))
        let noColor = try ExpectedOutput.runWith(arguments, environment: base.merging(["NO_COLOR": "1"]) { $1 },
                                                   terminal: true)
        #expect(noColor.contains("4bf92f3577b34da6a3ce929d0e0e4736"))
        #expect(!ExpectedOutput.hasEscapes(noColor))
    }

    @Test("--help shows examples")
    func help() async throws {
        let output = try await ExpectedOutput.run(["traces", "--help"])
        #expect(output.status == 0)
        #expect(output.stdout.contains("Examples:"))
        #expect(output.stdout.contains("cairn traces --service checkout --errors"))
    }
}
