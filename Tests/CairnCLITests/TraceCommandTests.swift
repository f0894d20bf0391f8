import CairnModel
import CairnOTLP
import CairnTesting
import Foundation
import Testing

@Suite("cairn trace, run as a process")
struct TraceCommandTests {
    /// The checkout that went well: 12 spans over four services.
    static let checkout = "4bf92f3577b34da6a3ce929d0e0e4736"
    /// The checkout that failed: errors down to the card network, and a payments host whose clock runs behind.
    static let failed = "0af7651916cd43dd8448eb211c80319c"

    @Test("draws the expected waterfall", arguments: [
        ([checkout], "trace-checkout.txt"),
        ([failed], "trace-failed.txt"),
        ([failed, "--raw"], "trace-failed-raw.txt"),
        ([failed, "--attrs", "--events"], "trace-failed-details.txt"),
        ([checkout, "--depth", "1"], "trace-checkout-depth1.txt"),
        ([checkout], "trace-checkout-60.txt"),
    ])
    func waterfall(arguments: [String], expected: String) async throws {
        let columns = expected.hasSuffix("-60.txt") ? "60" : "100"
        let output = try await ExpectedOutput.run(["trace", "--file", ExpectedOutput.shop] + arguments,
                                              environment: ["COLUMNS": columns])
        #expect(output.status == 0, "\(output.stderr)")
        try ExpectedOutput.expect(output.stdout, matches: expected)
        #expect(output.stdout.split(separator: "\n").allSatisfy { $0.count <= Int(columns)! })
    }

    @Test("spans whose parent never arrived are shown as roots, each with a warning under it")
    func orphans() async throws {
        // The shop fixture without the checkout service's server span of the failed trace.
        let data = try Data(contentsOf: URL(fileURLWithPath: ExpectedOutput.shop))
        var json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var resourceSpans = try #require(json["resourceSpans"] as? [[String: Any]])
        for resource in resourceSpans.indices {
            var scopeSpans = try #require(resourceSpans[resource]["scopeSpans"] as? [[String: Any]])
            for scope in scopeSpans.indices {
                let spans = try #require(scopeSpans[scope]["spans"] as? [[String: Any]])
                scopeSpans[scope]["spans"] = spans.filter { $0["spanId"] as? String != "0718a2b3c4d5e661" }
            }
            resourceSpans[resource]["scopeSpans"] = scopeSpans
        }
        json["resourceSpans"] = resourceSpans
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-orphans-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: json).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }

        let output = try await ExpectedOutput.run(["trace", "--file", file.path, Self.failed])
        #expect(output.status == 0, "\(output.stderr)")
        try ExpectedOutput.expect(output.stdout, matches: "trace-failed-orphans.txt")
    }

    @Test("--json writes Jaeger's trace JSON, adjusted unless --raw")
    func jaegerJSON() async throws {
        let output = try await ExpectedOutput.run(["trace", "--file", ExpectedOutput.shop, Self.failed, "--json"])
        #expect(output.status == 0, "\(output.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
        let traces = try #require(json["data"] as? [[String: Any]])
        let spans = try #require(traces.first?["spans"] as? [[String: Any]])
        #expect(traces.first?["traceID"] as? String == Self.failed)
        #expect(spans.count == 7)
        // The payments host's clock runs behind: the adjusted trace says so under the moved span.
        #expect(spans.contains { ($0["warnings"] as? [String])?.first?.hasPrefix("clock skew: moved") == true })

        let raw = try await ExpectedOutput.run(["trace", "--file", ExpectedOutput.shop, Self.failed, "--json", "--raw"])
        #expect(!raw.stdout.contains("clock skew"))
    }

    @Test("--otlp writes the trace's spans as OTLP/JSON that reads back")
    func otlp() async throws {
        let output = try await ExpectedOutput.run(["trace", "--file", ExpectedOutput.shop, Self.checkout, "--otlp", "--raw"])
        #expect(output.status == 0, "\(output.stderr)")
        let spans = try OTLPJSON.decodeSpans(Array(output.stdout.utf8)).spans
        #expect(spans.count == 12)
        #expect(Set(spans.map(\.traceID.hex)) == [Self.checkout])
    }

    @Test("a trace of 10,000 spans folds itself into a bounded number of lines, and says how to see more")
    func tenThousandSpans() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-trace-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let spans = Fixtures.realisticSpans(count: 10_000, seed: 1, spansPerTrace: 10_000)
        let file = folder.appendingPathComponent("large.otlp.json")
        try Data(OTLPJSON.encodeRequest(spans)).write(to: file)
        let id = spans[0].traceID.hex

        let folded = try await ExpectedOutput.run(["trace", "--file", file.path, id])
        #expect(folded.status == 0, "\(folded.stderr)")
        let lines = folded.stdout.split(separator: "\n")
        #expect(lines.count < 400)
        #expect(lines.count > 50)
        #expect(lines.contains { $0.contains("spans folded: ") })
        #expect(lines.contains { $0.hasPrefix("Showing ") && $0.contains(" of 10,000 spans, folded below depth ") })
        #expect(lines.last == "--depth N shows N levels, --all every span.")
        #expect(lines.allSatisfy { $0.count <= 100 })

        let shallow = try await ExpectedOutput.run(["trace", "--file", file.path, id, "--depth", "1"])
        #expect(shallow.status == 0)
        #expect(shallow.stdout.split(separator: "\n").count < 60)

        let all = try await ExpectedOutput.run(["trace", "--file", file.path, id, "--all"])
        #expect(all.status == 0)
        #expect(all.stdout.split(separator: "\n").count > 10_000)
        #expect(!all.stdout.contains("spans folded"))
    }

    @Test("a trace that is not there exits 1, with one line that says what to do")
    func notFound() async throws {
        let output = try await ExpectedOutput.run(["trace", "--file", ExpectedOutput.shop, String(repeating: "ab", count: 16)])
        #expect(output.status == 1)
        #expect(output.stdout.isEmpty)
        #expect(output.stderr == "cairn: trace abababababababababababababababab is not in the file \(ExpectedOutput.shop); list the traces there with `cairn traces`\n")
    }

    @Test("what cannot be used exits 2 with one line", arguments: [
        (["xyz"], "cairn: xyz is not a trace id; give the 32 hexadecimal digits that `cairn traces` lists"),
        ([String(repeating: "0", count: 32)], "is not a trace id"),
        ([checkout, "--json", "--otlp"], "give --json or --otlp, not both"),
        ([checkout, "--depth", "2", "--all"], "give --depth or --all, not both"),
        ([checkout, "--depth=-1"], "--depth -1 is negative"),
    ])
    func usageErrors(arguments: [String], message: String) async throws {
        let output = try await ExpectedOutput.run(["trace", "--file", ExpectedOutput.shop] + arguments)
        #expect(output.status == 2)
        #expect(output.stderr.contains(message), "\(output.stderr)")
        #expect(output.stderr.split(separator: "\n").count == 1)
    }

    @Test("colour goes to a terminal only: services and bars coloured there, plain text in a pipe")
    func colour() throws {
        let arguments = ["trace", "--file", ExpectedOutput.shop, Self.failed]
        let base: [String: String?] = ["COLUMNS": "100", "TZ": "UTC", "TERM": "xterm-256color", "NO_COLOR": nil]
        let piped = try ExpectedOutput.runWith(arguments, environment: base, terminal: false)
        #expect(piped.contains("━"))
        #expect(!ExpectedOutput.hasEscapes(piped))
        let onTerminal = try ExpectedOutput.runWith(arguments, environment: base, terminal: true)
        #expect(ExpectedOutput.hasEscapes(onTerminal))
        #expect(onTerminal.contains("█"))
        #expect(onTerminal.contains("\u{1B}[31m✗"))
    }

    @Test("--help shows examples")
    func help() async throws {
        let output = try await ExpectedOutput.run(["trace", "--help"])
        #expect(output.status == 0)
        #expect(output.stdout.contains("Examples:"))
        #expect(output.stdout.contains("--depth 2"))
    }
}
