import CairnModel
import CairnOTLP
@testable import CairnSQLite
import CairnStore
import CairnTesting
import Foundation
import GRDB
import Testing

@Suite("SQLiteStore: the file, its schema, and its layout")
struct SQLiteStoreTests {
    let directory: TemporaryDirectory

    init() throws {
        directory = try TemporaryDirectory()
    }

    @Test("data survives closing and reopening the store")
    func reopen() async throws {
        let path = directory.path("cairn.db")
        let spans = Fixtures.realisticSpans(count: 200, seed: 1)
        do {
            let store = try SQLiteStore(path: path)
            try await store.write([SpanBatch(spans: Array(spans.prefix(120))), SpanBatch(spans: Array(spans.dropFirst(120)))])
        }
        let store = try SQLiteStore(path: path)
        #expect(try store.spanCount() == spans.count)
        for (traceID, expected) in Dictionary(grouping: spans, by: \.traceID) {
            let trace = try #require(try await store.trace(traceID))
            #expect(Set(trace.spans) == Set(expected))
        }
        #expect(try await store.services() == ["checkout", "frontend", "inventory", "payments"])
        // The writer's caches start empty after reopening: known resources and operations are found, not duplicated.
        let operations = try count("operations", in: store)
        try await store.write([SpanBatch(spans: Array(spans.prefix(40)))])
        #expect(try count("resources", in: store) == 4)
        #expect(try count("scopes", in: store) == 1)
        #expect(try count("operations", in: store) == operations)
        #expect(try store.spanCount() == spans.count + 40)
    }

    @Test("the schema version is recorded, and a file with a newer one is refused with a clear error")
    func schemaVersion() throws {
        let path = directory.path("cairn.db")
        do {
            let store = try SQLiteStore(path: path)
            let (migrations, userVersion, applicationID) = try store.pool.read { db in
                (try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations"),
                 try Int.fetchOne(db, sql: "PRAGMA user_version"),
                 try Int32.fetchOne(db, sql: "PRAGMA application_id"))
            }
            #expect(migrations == ["v1", "v2", "v3"])
            #expect(userVersion == 3)
            #expect(applicationID == SQLiteStore.applicationID)
        }
        // Opening again applies nothing and keeps the data.
        _ = try SQLiteStore(path: path)

        let queue = try DatabaseQueue(path: path)
        try queue.write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99')") }
        try queue.close()
        #expect(throws: SQLiteStoreError.newerSchema(path: path, migrations: ["v99"])) { try SQLiteStore(path: path) }
        let message = SQLiteStoreError.newerSchema(path: path, migrations: ["v99"]).description
        #expect(message.contains("newer version of Cairn") && message.contains("upgrade Cairn"))
    }

    @Test("a v1 store is migrated when opened, and its blocks, which list no longest spans, are still searched exactly")
    func migrateFromV1() async throws {
        let spans = Fixtures.realisticSpans(count: 4_000, seed: 21)
        let batches = stride(from: 0, to: spans.count, by: 500).map { SpanBatch(spans: Array(spans[$0..<$0 + 500])) }
        // The v1 store: the v1 schema alone, filled with what the writer writes into its columns.
        let source = directory.path("source.db")
        do {
            let store = try SQLiteStore(path: source)
            for batch in batches.prefix(6) { try await store.write([batch]) }
        }
        let path = directory.path("v1.db")
        let queue = try DatabaseQueue(path: path)
        try SQLiteStore.migrator.migrate(queue, upTo: "v1")
        try await queue.writeWithoutTransaction { db in
            try db.execute(sql: "ATTACH DATABASE ? AS source", arguments: [source])
            for table in ["blocks", "spans", "trace_segments", "block_operations", "resources", "scopes", "operations"] {
                let columns = try db.columns(in: table, in: "main").map(\.name).joined(separator: ", ")
                try db.execute(sql: "INSERT INTO main.\(table) (\(columns)) SELECT \(columns) FROM source.\(table)")
            }
            try db.execute(sql: "DETACH DATABASE source")
        }
        try queue.close()

        let store = try SQLiteStore(path: path)
        let (migrations, userVersion) = try await store.pool.read { db in
            (try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations"),
             try Int.fetchOne(db, sql: "PRAGMA user_version"))
        }
        #expect(migrations == ["v1", "v2", "v3"])
        #expect(userVersion == 3)
        let listed = "SELECT COUNT(longest) FROM block_operations"
        #expect(try await store.pool.read { db in try Int.fetchOne(db, sql: listed) } == 0)
        // Blocks written after the migration list their longest spans; searches over both kinds of block agree with
        // the reference store.
        for batch in batches.dropFirst(6) { try await store.write([batch]) }
        #expect(try await store.pool.read { db in try Int.fetchOne(db, sql: listed) } ?? 0 > 0)
        let reference = InMemoryStore()
        try await reference.write(batches)
        var searched = 0
        for service in try await reference.services() {
            for durationMin: UInt64 in [1, 20_000_000, 50_000_000, 100_000_000, 200_000_000] {
                for limit in [3, 1_000] {
                    let query = TraceQuery(service: service, durationMin: durationMin, limit: limit)
                    let expected = try await reference.findTraceIDs(query)
                    #expect(try await store.findTraceIDs(query) == expected, "\(query)")
                    if !expected.isEmpty { searched += 1 }
                }
            }
        }
        #expect(searched > 10, "most searches should find something, or the comparison proves little")
    }

    @Test("the writer commits with synchronous=NORMAL, or FULL when configured, and checkpoints every 64 MiB of log")
    func synchronousMode() throws {
        let normal = try SQLiteStore(path: directory.path("normal.db"))
        let full = try SQLiteStore(path: directory.path("full.db"), configuration: .init(synchronousFull: true))
        let pragma = "PRAGMA synchronous"
        #expect(try normal.pool.write { db in try Int.fetchOne(db, sql: pragma) } == 1)
        #expect(try full.pool.write { db in try Int.fetchOne(db, sql: pragma) } == 2)
        #expect(try normal.pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") } == "wal")
        #expect(try normal.pool.write { db in try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint") } == 16_384)
    }

    @Test("a file that is not a database is refused with a clear error, and left as it was")
    func notADatabase() throws {
        let path = directory.path("notes.txt")
        let text = String(repeating: "These are my notes, not a database.\n", count: 200)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: SQLiteStoreError.notADatabase(path: path)) { try SQLiteStore(path: path) }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == text)
        #expect(SQLiteStoreError.notADatabase(path: path).description.contains("is not a SQLite database"))
    }

    @Test("another application's SQLite database is refused with a clear error")
    func otherApplication() throws {
        let path = directory.path("other.db")
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in try db.execute(sql: "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)") }
        try queue.close()
        #expect(throws: SQLiteStoreError.notACairnStore(path: path)) { try SQLiteStore(path: path) }
    }

    @Test("a file in a missing directory cannot be created, and the error says to check the directory")
    func missingDirectory() throws {
        let path = directory.path("missing/cairn.db")
        let error = try #require(throws: SQLiteStoreError.self) { try SQLiteStore(path: path) }
        guard case .cannotOpen(let reportedPath, _) = error else {
            Issue.record("unexpected error \(error)")
            return
        }
        #expect(reportedPath == path)
        #expect(error.description.contains("check that its directory exists and is writable"))
    }

    @Test("a write that fails stores none of its spans, and the next write succeeds")
    func failedWriteRollsBack() async throws {
        let store = try SQLiteStore(path: directory.path("cairn.db"))
        let spans = Fixtures.realisticSpans(count: 64, seed: 3)
        let good = SpanBatch(spans: spans)
        // A span that points past its batch's payloads, sorted after every other span so that the rest is inserted
        // before the write fails.
        var bad = SpanBatch(spans: Fixtures.realisticSpans(count: 8, seed: 4))
        bad.records[0].traceID = TraceID(high: .max, low: .max)
        bad.records[0].payloadOffset = Int32(bad.payloads.count)
        await #expect(throws: SQLiteStoreError.self) { try await store.write([good, bad]) }
        #expect(try store.spanCount() == 0)
        #expect(try await store.trace(spans[0].traceID) == nil)
        #expect(try await store.services() == [])
        #expect(try count("resources", in: store) == 0)

        // The resources and operations of the failed write were not cached: the next write stores them.
        try await store.write([good])
        #expect(try store.spanCount() == spans.count)
        let trace = try #require(try await store.trace(spans[0].traceID))
        #expect(Set(trace.spans) == Set(spans.filter { $0.traceID == spans[0].traceID }))
        #expect(try await store.services().count == 4)
    }

    @Test("readers on another connection see whole writes, never part of one")
    func readWhileWriting() async throws {
        let path = directory.path("cairn.db")
        let writer = try SQLiteStore(path: path)
        let reader = try SQLiteStore(path: path)
        let writes = 30
        let spansPerWrite = 64  // 8 traces of 8 spans
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for number in 0..<writes {
                    let spans = Fixtures.realisticSpans(count: spansPerWrite, seed: 1_000 + UInt64(number))
                    try await writer.write([SpanBatch(spans: Array(spans.prefix(30))), SpanBatch(spans: Array(spans.dropFirst(30)))])
                }
            }
            group.addTask {
                var lastCount = 0
                var reads = 0
                while lastCount < writes * spansPerWrite {
                    let count = try reader.spanCount()
                    #expect(count % spansPerWrite == 0 && count >= lastCount)
                    lastCount = count
                    for id in try await reader.findTraceIDs(TraceQuery(limit: 10)) {
                        let trace = try #require(try await reader.trace(id))
                        #expect(trace.spans.count == 8)
                    }
                    reads += 1
                    await Task.yield()
                }
                #expect(reads > 1)
            }
            try await group.waitForAll()
        }
        #expect(try reader.spanCount() == writes * spansPerWrite)
    }

    @Test("index entries are per trace and block, far fewer than spans")
    func indexEntriesPerSpan() async throws {
        let store = try SQLiteStore(path: directory.path("cairn.db"))
        // Four writes of ten batches of 512, as the collector's group commit passes them, each with whole traces (as
        // when the services of a trace export within the same group commit).
        var traces = 0
        for write in 0..<4 {
            let spans = Fixtures.realisticSpans(count: 5_120, seed: 5 + UInt64(write))
            traces += Set(spans.map(\.traceID)).count
            try await store.write(stride(from: 0, to: spans.count, by: 512).map { SpanBatch(spans: Array(spans[$0..<$0 + 512])) })
        }
        let spanRows = try count("spans", in: store)
        let segments = try count("trace_segments", in: store)
        let operations = try count("block_operations", in: store)
        let blocks = try count("blocks", in: store)
        #expect(spanRows == 4 * 5_120)
        #expect(blocks == 4)
        let perSpan = Double(segments + operations + blocks) / Double(spanRows)
        print("index entries: \(segments) trace segments, \(operations) block operations, \(blocks) blocks for \(spanRows) spans (\(perSpan) per span)")
        // Traces of 8 spans, each written whole in one write: one segment per trace.
        #expect(segments == traces)
        #expect(perSpan < 0.2)
        // spans has no index besides its rowid.
        let indexes = try await store.pool.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'spans'")
        }
        #expect(indexes == [])
    }

    @Test("timestamps above Int64.max are kept exactly and searched exactly")
    func hugeTimestamps() async throws {
        let store = try SQLiteStore(path: directory.path("cairn.db"))
        let resource = Resource(attributes: [Attribute("service.name", .string("future"))])
        let late = UInt64(Int64.max) + 10
        let spans = [
            Span(traceID: TraceID(high: 1, low: 1), spanID: SpanID(value: 1), name: "late", startTimeUnixNano: late,
                 endTimeUnixNano: late + 5, resource: resource),
            Span(traceID: TraceID(high: 2, low: 2), spanID: SpanID(value: 2), name: "later", startTimeUnixNano: late + 20,
                 endTimeUnixNano: .max, resource: resource),
            Span(traceID: TraceID(high: 3, low: 3), spanID: SpanID(value: 3), name: "now", startTimeUnixNano: 1_000,
                 endTimeUnixNano: 2_000, resource: resource),
        ]
        try await store.write([SpanBatch(spans: spans)])
        #expect(try await store.trace(TraceID(high: 2, low: 2))?.spans == [spans[1]])
        #expect(try await store.findTraceIDs(TraceQuery(service: "future")) == [spans[1].traceID, spans[0].traceID, spans[2].traceID])
        #expect(try await store.findTraceIDs(TraceQuery(startTimeMin: late + 1)) == [spans[1].traceID])
        #expect(try await store.findTraceIDs(TraceQuery(startTimeMax: late + 19)) == [spans[0].traceID, spans[2].traceID])
        #expect(try await store.findTraceIDs(TraceQuery(service: "future", durationMin: 6)) == [spans[1].traceID, spans[2].traceID])
    }

    @Test("attribute searches, which look at the encoded bytes first, agree with the in-memory store for every kind of value")
    func attributeSearchesAgreeWithReference() async throws {
        let store = try SQLiteStore(path: directory.path("cairn.db"))
        let reference = InMemoryStore()
        let spans = Fixtures.everyFieldSpans() + Fixtures.realisticSpans(count: 400, seed: 8)
        // A span whose own attributes hide its resource's, with values of other types.
        let shadowing = Span(
            traceID: TraceID(high: 77, low: 77), spanID: SpanID(value: 77), name: "shadow", startTimeUnixNano: 5,
            endTimeUnixNano: 6, attributes: [Attribute("tier", .int(2)), Attribute("zone", .string("b"))],
            resource: Resource(attributes: [
                Attribute("service.name", .string("shadow")), Attribute("tier", .string("2")), Attribute("zone", .string("a")),
                Attribute("weight", .double(0.5)),
            ]))
        let batches = [SpanBatch(spans: spans), SpanBatch(spans: [shadowing])]
        try await store.write(batches)
        try await reference.write(batches)

        var queries: [[String: String]] = [
            ["tier": "2"], ["zone": "a"], ["zone": "b"], ["weight": "0.5"], ["weight": "0.50"],
            ["int.min": "-9223372036854775808"], ["int.negative": "-42"], ["int.negative": "-042"], ["int.zero": "-0"],
            ["double.nan": "nan"], ["double.negative-zero": "-0.0"], ["double.zero": "0.0"], ["double.zero": "0"],
            ["double.infinity": "inf"], ["bool.false": "false"], ["bool.true": "true"], ["bool.true": "1"],
            ["duplicate": "first"], ["duplicate": "second"], ["": "attribute with an empty key"], ["string.empty": ""],
            ["http.response.status_code": "200", "service.name": "frontend"], ["server.port": "8080"],
        ]
        for span in spans.prefix(30) {
            for attribute in span.attributes + span.resource.attributes {
                guard let text = attribute.value.searchText else { continue }
                queries.append([attribute.key: text])
                queries.append([attribute.key: text + "0"])
            }
        }
        var matched = 0
        for attributes in queries {
            let query = TraceQuery(attributes: attributes, limit: 1_000)
            let found = try await store.findTraceIDs(query)
            let expected = try await reference.findTraceIDs(query)
            #expect(found == expected, "\(attributes)")
            if !expected.isEmpty { matched += 1 }
        }
        #expect(matched > queries.count / 3, "most queries should find something, or the comparison proves little")
    }

    @Test(
        "throughput sanity check (debug build; set CAIRN_SQLITE_THROUGHPUT=1 to run)",
        .enabled(if: ProcessInfo.processInfo.environment["CAIRN_SQLITE_THROUGHPUT"] != nil))
    func throughput() async throws {
        let store = try SQLiteStore(path: directory.path("cairn.db"))
        let total = 204_800
        let spans = Fixtures.realisticSpans(count: total, seed: 6)
        let batches = stride(from: 0, to: total, by: 512).map { SpanBatch(spans: Array(spans[$0..<min(total, $0 + 512)])) }
        let writes = stride(from: 0, to: batches.count, by: 10).map { Array(batches[$0..<min(batches.count, $0 + 10)]) }
        let clock = ContinuousClock()
        let elapsed = try await clock.measure {
            for write in writes { try await store.write(write) }
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("throughput: \(total) spans in \(writes.count) writes of 10 x 512 in \(seconds) s: \(Int(Double(total) / seconds)) spans/s")
        #expect(try store.spanCount() == total)

        // And how long a few reads take on that store.
        let queries = [
            ("trace by id", TraceQuery()),
            ("service", TraceQuery(service: "payments")),
            ("service and operation", TraceQuery(service: "frontend", operation: "GET /api/orders/{id}")),
            ("errors of a service", TraceQuery(service: "checkout", statusCode: .error)),
            ("span attribute", TraceQuery(attributes: ["http.response.status_code": "404"])),
            ("resource attribute", TraceQuery(service: "inventory", attributes: ["telemetry.sdk.language": "swift"])),
            ("slow spans", TraceQuery(durationMin: 200_000_000)),
        ]
        for (name, query) in queries {
            var found: [TraceID] = []
            let elapsed = try await clock.measure {
                if name == "trace by id" {
                    for span in spans.prefix(20) { _ = try await store.trace(span.traceID) }
                } else {
                    found = try await store.findTraceIDs(query)
                }
            }
            print("read: \(name): \(name == "trace by id" ? "20 traces read" : "\(found.count) traces found") in \(elapsed)")
        }
    }

    /// The number of rows of a table.
    private func count(_ table: String, in store: SQLiteStore) throws -> Int {
        try store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0 }
    }
}
