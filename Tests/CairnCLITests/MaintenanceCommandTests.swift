import CairnTesting
import Foundation
import Testing

@Suite("cairn maintenance, run as a process")
struct MaintenanceCommandTests {
    let folder: URL

    init() throws {
        folder = try temporaryFolder()
    }

    /// A store holding the shop fixtures.
    private func shopStore() async throws -> String {
        let db = folder.appendingPathComponent("shop.db").path
        let imported = try await CairnProcess.runOffPool(["import", ShopFixture.json, "--db", db])
        try #require(imported.status == 0, "\(imported.stderr)")
        return db
    }

    @Test("lists the tables and indexes of the store with their sizes, after the file's sizes")
    func text() async throws {
        let output = try await CairnProcess.runOffPool(["maintenance", "--db", try await shopStore()], environment: ["COLUMNS": "100"])
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stderr.isEmpty)
        let lines = output.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.first?.hasPrefix("maintained the store at ") == true)
        #expect(lines.first?.hasSuffix("incremental auto-vacuum") == true)
        #expect(lines.contains { $0.hasPrefix("free pages: ") })
        #expect(lines.contains { $0.hasPrefix("on disk: ") })
        let header = try #require(lines.firstIndex { $0.hasPrefix("NAME") })
        #expect(lines[header].split(separator: " ", omittingEmptySubsequences: true) == ["NAME", "TYPE", "TABLE", "PAGES", "SIZE"])
        let rows = lines[(header + 1)...].filter { !$0.isEmpty }.map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        for table in ["spans", "blocks", "trace_segments", "block_operations", "operations", "resources", "scopes"] {
            #expect(rows.contains { $0.first.map(String.init) == table && $0[1] == "table" }, "\(table)")
        }
        #expect(rows.contains { $0.first == "blocks_by_max_start" && $0[1] == "index" && $0[2] == "blocks" })
        #expect(rows.allSatisfy { ["B", "KiB", "MiB"].contains(String($0.last ?? "")) })
        #expect(!output.stdout.contains("VACUUM"))  // a new store is incremental already
    }

    @Test("--json writes the report as one object")
    func json() async throws {
        let output = try await CairnProcess.runOffPool(["maintenance", "--db", try await shopStore(), "--json"])
        #expect(output.status == 0, "\(output.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
        #expect(report["autoVacuum"] as? String == "incremental")
        #expect(report["convertedToIncremental"] as? Bool == false)
        #expect(report["freePages"] as? Int == 0)
        let objects = try #require(report["objects"] as? [[String: Any]])
        let spans = try #require(objects.first { $0["name"] as? String == "spans" })
        #expect(spans["type"] as? String == "table")
        #expect((spans["bytes"] as? Int ?? 0) > 0)
    }

    @Test("a missing store, or a file that is not one, is one line of error")
    func errors() async throws {
        let missing = folder.appendingPathComponent("missing.db").path
        ExpectedOutput.expectOneLineError(
            try await CairnProcess.runOffPool(["maintenance", "--db", missing]), status: 2, containing: "there is no store at \(missing)")
        #expect(!FileManager.default.fileExists(atPath: missing))

        let notes = folder.appendingPathComponent("notes.txt")
        try Data(String(repeating: "not a database\n", count: 100).utf8).write(to: notes)
        ExpectedOutput.expectOneLineError(
            try await CairnProcess.runOffPool(["maintenance", "--db", notes.path]), status: 1, containing: "is not a SQLite database")
    }
}
