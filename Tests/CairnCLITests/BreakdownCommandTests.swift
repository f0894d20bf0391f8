import CairnTesting
import Foundation
import Testing

/// The shared fixture: two traces of a shop (one that fails in payments) and a queue consumer's trace, March 2026.
private let fixture = ExpectedOutput.shop
/// A window that holds every span of the fixture, written as times so that the output never depends on today.
private let window = ["--since", "2026-03-01T00:00:00Z", "--until", "2026-04-01T00:00:00Z"]
private let okTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
private let failedTraceID = "0af7651916cd43dd8448eb211c80319c"

/// Runs `cairn` on the fixture, with no colour, 100 columns and UTC.
private func cairn(_ arguments: [String], environment: [String: String] = [:]) async throws -> CairnProcess.Output {
    try await ExpectedOutput.run(arguments + ["--file", fixture], environment: environment)
}

private func expect(_ actual: String, matches name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    try ExpectedOutput.expect(actual, matches: name, sourceLocation: sourceLocation)
}

@Suite("cairn breakdown, run as a process on the shop fixture")
struct BreakdownCommandTests {
    @Test("breaks one trace down by service, by operation and by an attribute")
    func oneTrace() async throws {
        let output = try await cairn(["breakdown", okTraceID, "--by", "payment.provider"])
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stderr.isEmpty)
        try expect(output.stdout, matches: "breakdown-trace.txt")
    }

    @Test("counts the errors of a failed trace and says its spans carry warnings")
    func failedTrace() async throws {
        let output = try await cairn(["breakdown", failedTraceID])
        #expect(output.status == 0, "\(output.stderr)")
        try expect(output.stdout, matches: "breakdown-trace-errors.txt")
    }

    @Test("--json prints the analyzer's breakdown JSON as is")
    func traceJSON() async throws {
        let output = try await cairn(["breakdown", okTraceID, "--json", "--by", "payment.provider"])
        #expect(output.status == 0, "\(output.stderr)")
        try expect(output.stdout, matches: "breakdown-trace.json")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
        #expect(json["traceID"] as? String == okTraceID)
        #expect((json["attributes"] as? [String: Any])?["payment.provider"] != nil)
    }

    @Test("breaks down every trace of a service in a window, with percentiles and error rates")
    func serviceWindow() async throws {
        let output = try await cairn(["breakdown", "--service", "checkout"] + window)
        #expect(output.status == 0, "\(output.stderr)")
        try expect(output.stdout, matches: "breakdown-service.txt")
    }

    @Test("--json of a window prints the analyzer's aggregate JSON as is")
    func serviceJSON() async throws {
        let output = try await cairn(["breakdown", "--service", "checkout", "--json"] + window)
        #expect(output.status == 0, "\(output.stderr)")
        try expect(output.stdout, matches: "breakdown-service.json")
    }

    @Test("--operation and --tag keep only the traces with such a span")
    func filters() async throws {
        let output = try await cairn(["breakdown", "--service", "checkout", "--operation", "POST /orders",
                                "--tag", "http.response.status_code=500", "--json"] + window)
        #expect(output.status == 0, "\(output.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
        #expect(json["traceCount"] as? Int == 1)
    }

    @Test("--raw breaks down the spans as received")
    func raw() async throws {
        let output = try await cairn(["breakdown", okTraceID, "--raw", "--json"])
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stdout.hasPrefix("{\"traceID\":\"\(okTraceID)\""))
    }

    @Test("says in one line what is wrong, with status 1 for nothing found and 2 for a usage error", arguments: [
        ([String](), Int32(2), "give a trace id, or --service"),
        (["0af7651916cd"], 2, "is not a trace id; give 32 hexadecimal digits"),
        ([okTraceID, "--service", "checkout"], 2, "cannot go with a trace id"),
        (["--service", "checkout", "--by", "http.route"], 2, "--by works with a trace id only"),
        (["--service", "checkout", "--tag", "status"], 2, "--tag status is not key=value"),
        (["--service", "checkout", "--since", "yesterday"], 2, "--since yesterday is neither a duration nor a time"),
        (["0af7651916cd43dd8448eb211c80319d"], 1, "is not in the file"),
        (["--service", "nope", "--since", "2026-03-01T00:00:00Z", "--until", "2026-04-01T00:00:00Z"], 1,
         "no trace of service nope from 2026-03-01T00:00:00Z to 2026-04-01T00:00:00Z; widen --since"),
    ])
    func errors(arguments: [String], status: Int32, message: String) async throws {
        let output = try await cairn(["breakdown"] + arguments)
        ExpectedOutput.expectOneLineError(output, status: status, containing: message)
    }

    @Test("writes no colour to a pipe, even without NO_COLOR")
    func noColourInPipes() async throws {
        let output = try await CairnProcess.runOffPool(["breakdown", okTraceID, "--file", fixture], environment: ["TERM": "xterm-256color"])
        #expect(output.status == 0)
        #expect(!output.stdout.contains("\u{1B}["))
    }

    @Test("--help shows examples")
    func help() async throws {
        let output = try await CairnProcess.runOffPool(["breakdown", "--help"])
        #expect(output.status == 0)
        #expect(output.stdout.contains("Examples:"))
        #expect(output.stdout.contains("cairn breakdown --service checkout --since 1h"))
    }
}
