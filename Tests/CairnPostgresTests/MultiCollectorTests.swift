@testable import CairnPostgres
import CairnModel
import CairnOTLP
import CairnTesting
import Foundation
import Testing

/// Several `cairn serve` processes on one PostgreSQL store, as users run them behind a load balancer.
@Suite("Collectors sharing a PostgreSQL store")
struct MultiCollectorTests {
    @Test("two collectors write one database at once; every trace, its spans spread over both, reads whole through either collector and the CLI")
    func twoCollectorsOneStore() async throws {
        try await PostgresTestDatabase.withDatabase { url in
            let collectors = [
                try await CairnProcess.Server(arguments: ["--store", url]),
                try await CairnProcess.Server(arguments: ["--store", url]),
            ]
            defer { for collector in collectors { _ = collector.signal(SIGTERM) } }

            // 40 traces of 8 spans across 4 services, starting now, so that they land in today's partition.
            let base = Fixtures.realisticSpans(count: 320, seed: 21)
            let sent = base.shifted(later: unixNanosNow() - (base.map(\.startTimeUnixNano).min() ?? 0))
            // Each trace's spans go alternately to one collector and the other, in requests sent at the same time.
            let parts = (0..<4).map { part in sent.enumerated().filter { $0.offset % 4 == part }.map(\.element) }
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for (index, part) in parts.enumerated() {
                    let body = String(decoding: OTLPJSON.encodeRequest(part), as: UTF8.self)
                    group.addTask { try await collectors[index % 2].post(json: body) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses == [200, 200, 200, 200])
            #expect(Set(sent.map(\.traceID)).count == 40)

            // Accepted spans are committed in the background; through the store, wait until every one is there.
            var stored: [Span] = []
            for _ in 0..<300 {
                stored = try await Self.export(["--store", url])
                if stored.count >= sent.count { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(Set(stored) == Set(sent))
            #expect(stored.count == sent.count, "no span is stored twice")

            // The same traces, whole and unchanged, through either collector's query API.
            for collector in collectors {
                let read = try await Self.export(["--server", "http://127.0.0.1:\(collector.port)"])
                #expect(Set(read) == Set(sent), "through the collector on port \(collector.port)")
            }
            // And one trace assembled as a tree by the CLI, from the store: its root first, every span under it.
            let id = try #require(sent.first { $0.parentSpanID == nil }).traceID
            let tree = try await CairnProcess.runOffPool(["trace", id.hex, "--store", url])
            #expect(tree.status == 0, "\(tree.stderr)")
            #expect(tree.stdout.contains("\(sent.filter { $0.traceID == id }.count) spans"), "\(tree.stdout)")
        }
    }

    @Test("the CLI takes --store: import into PostgreSQL and read it back; SQLite-only commands refuse it, saying what to use")
    func cliCommands() async throws {
        try await PostgresTestDatabase.withDatabase { url in
            let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("CairnCLITests/Fixtures/shop.pb").path
            let imported = try await CairnProcess.runOffPool(["import", "--store", url, fixture])
            #expect(imported.status == 0, "\(imported.stderr)")
            #expect(imported.stdout == "imported 21 spans in 3 traces from 1 file\n")
            // CAIRN_STORE does what --store does.
            let listed = try await CairnProcess.runOffPool(["traces", "--since", "100000d", "--json"], environment: ["CAIRN_STORE": url])
            #expect(listed.status == 0, "\(listed.stderr)")
            #expect(listed.stdout.components(separatedBy: "4bf92f3577b34da6a3ce929d0e0e4736").count == 2)

            let shown = try PostgresURL(url).redacted
            for command in [["backup", "--to", "/tmp/never.db"], ["restore", "/tmp/never.db"], ["maintenance"]] {
                let refused = try await CairnProcess.runOffPool(command + ["--store", url])
                #expect(refused.status == 2)
                #expect(refused.stderr.hasPrefix("cairn: cairn \(command[0]) works on SQLite stores only; for the PostgreSQL store at \(shown), "),
                        "\(refused.stderr)")
            }
            let both = try await CairnProcess.runOffPool(["traces", "--db", "x.db", "--store", url])
            #expect(both.status == 2)
            #expect(both.stderr.contains("give one of --db and --store, not both"), "\(both.stderr)")
        }
    }

    @Test("a collector whose PostgreSQL server cannot be reached exits 1 at once, saying what to check")
    func unreachableStore() async throws {
        let output = try await CairnProcess.runOffPool(["serve", "--port", "0", "--store", "postgres://cairn:secret@127.0.0.1:1/cairn"])
        #expect(output.status == 1)
        #expect(output.stderr.contains("cannot connect to the PostgreSQL store at postgres://cairn@127.0.0.1:1/cairn"),
                "\(output.stderr)")
        #expect(!output.stderr.contains("secret"))
    }

    /// Every span of every trace, as `cairn export --all` reads them from a source.
    static func export(_ source: [String]) async throws -> [Span] {
        let output = try await CairnProcess.runOffPool(["export", "--all"] + source)
        guard output.status == 0 else {
            if output.stderr.contains("there are no traces") { return [] }
            Issue.record("cairn export --all \(source.joined(separator: " ")) failed: \(output.stderr)")
            return []
        }
        return try OTLPJSON.decodeSpans(Array(output.stdout.utf8)).spans
    }
}
