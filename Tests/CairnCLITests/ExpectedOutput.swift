import CairnTesting
import Foundation
import Testing

/// The files that the CLI tests read and compare with, and how they run `cairn`.
enum ExpectedOutput {
    /// This folder of tests.
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

    /// The shared fixture: three traces of a shop (checkout, a failed checkout with clock skew, a queue consumer).
    static let shop = folder.appendingPathComponent("Fixtures/shop.otlp.json").path

    /// What every run sets: no colour, a known width and time zone.
    static let environment = ["NO_COLOR": "1", "COLUMNS": "100", "TZ": "UTC"]

    /// Runs `cairn` with `environment`.
    static func run(_ arguments: [String], environment extra: [String: String] = [:]) async throws -> CairnProcess.Output {
        try await CairnProcess.runOffPool(arguments, environment: environment.merging(extra) { $1 })
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

    /// Checks that a run failed as a user-facing error should: with `status`, nothing on standard output, and one
    /// line on standard error that starts with `cairn: ` and holds `message`.
    static func expectOneLineError(
        _ output: CairnProcess.Output, status: Int32, containing message: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(output.status == status, "\(output.stderr)", sourceLocation: sourceLocation)
        #expect(output.stdout.isEmpty, sourceLocation: sourceLocation)
        #expect(output.stderr.hasPrefix("cairn: "), "\(output.stderr)", sourceLocation: sourceLocation)
        #expect(output.stderr.contains(message), "\(output.stderr)", sourceLocation: sourceLocation)
        #expect(output.stderr.split(separator: "\n").count == 1, "\(output.stderr)", sourceLocation: sourceLocation)
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
