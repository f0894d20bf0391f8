@testable import CairnPostgres
import CairnModel
import CairnOTLP
import CairnStore
import CairnTesting
import Testing

/// What the conformance suite does not cover: schema, partitions, migrations, connection errors.
@Suite("PostgresStore", .serialized)
struct PostgresStoreTests {
    static let day: UInt64 = 86_400 * 1_000_000_000

    /// Spans of one trace that start at the given times.
    static func spans(at starts: [UInt64]) -> [Span] {
        let base = Fixtures.realisticSpans(count: starts.count, seed: 3)
        return zip(base, starts).map { span, start in
            var span = span
            span.startTimeUnixNano = start
            span.endTimeUnixNano = start == .max ? start : start + 1_000_000
            return span
        }
    }

    @Test("opening creates the schema, records its migration, and creates today's and the next two days' partitions")
    func openingCreatesSchemaAndPartitions() async throws {
        try await PostgresTestDatabase.withDatabase { url in
            let store = try await PostgresStore(url: url, configuration: PostgresTestDatabase.testConfiguration)
            await store.shutdown()
            let versions = try await PostgresTestDatabase.rows(url, "SELECT version::text FROM cairn_migrations ORDER BY 1")
            #expect(versions == [["1"], ["2"]])
            let today = unixNanosNow() / Self.day
            let partitions = try await PostgresTestDatabase.rows(url, """
                SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = 'spans'::regclass AND c.relkind IN ('r', 'p') ORDER BY 1
                """).compactMap { $0.first ?? nil }
            let expected = (0...2).map { PostgresStore.partitionName(day: Int64(today) + $0) } + ["spans_default"]
            #expect(partitions == expected.sorted())
        }
    }

    @Test("a write creates the partition of a day it meets within the window; spans outside go to the default partition")
    func writesCreatePartitions() async throws {
        try await PostgresTestDatabase.withStore { store in
            let now = unixNanosNow()
            let starts = [now - 5 * Self.day, now, now - 400 * Self.day, now + 40 * Self.day, 0, UInt64.max]
            let spans = Self.spans(at: starts)
            try await store.write([SpanBatch(spans: spans)])
            let rows = try await PostgresTestDatabase.rows(store.url, """
                SELECT tableoid::regclass::text, count(*)::text FROM spans GROUP BY 1 ORDER BY 1
                """)
            let today = now / Self.day
            #expect(rows == [
                ["spans_default", "4"],
                [PostgresStore.partitionName(day: Int64(today - 5)), "1"],
                [PostgresStore.partitionName(day: Int64(today)), "1"],
            ].sorted { ($0[0] ?? "") < ($1[0] ?? "") })
            // Every span reads back, wherever it lies.
            let trace = try #require(try await store.trace(spans[0].traceID))
            #expect(trace.spans.count == spans.filter { $0.traceID == spans[0].traceID }.count)
            let scanned = try await store.reduceSpans(SpanScan(window: 0..<UInt64.max), into: 0) { count, _ in count += 1 }
            #expect(scanned == 5)  // a span that starts at UInt64.max is in no window
        }
    }

    @Test("a store reopened on its database keeps its spans and applies no migration twice")
    func reopening() async throws {
        try await PostgresTestDatabase.withDatabase { url in
            let spans = Fixtures.realisticSpans(count: 50, seed: 4)
            let first = try await PostgresStore(url: url, configuration: PostgresTestDatabase.testConfiguration)
            try await first.write([SpanBatch(spans: spans)])
            await first.shutdown()
            let second = try await PostgresStore(url: url, configuration: PostgresTestDatabase.testConfiguration)
            #expect(try await second.spanCount() == 50)
            try await second.write([SpanBatch(spans: spans)])
            #expect(try await second.spanCount() == 100)
            await second.shutdown()
            let resources = try await PostgresTestDatabase.rows(url, "SELECT count(*)::text FROM resources")
            #expect(resources == [[String(Set(spans.map(\.resource)).count)]], "resources are stored once")
        }
    }

    @Test("a database at schema 1 gets migration 2, the duration index, when a store opens it, and keeps its spans")
    func migratesFromSchemaOne() async throws {
        try await PostgresTestDatabase.withDatabase { url in
            let spans = Fixtures.realisticSpans(count: 20, seed: 5)
            let first = try await PostgresStore(url: url, configuration: PostgresTestDatabase.testConfiguration)
            try await first.write([SpanBatch(spans: spans)])
            await first.shutdown()
            // Back to what version 1 made.
            _ = try await PostgresTestDatabase.rows(url, "DROP INDEX spans_by_service_duration")
            _ = try await PostgresTestDatabase.rows(url, "DELETE FROM cairn_migrations WHERE version = 2")
            let second = try await PostgresStore(url: url, configuration: PostgresTestDatabase.testConfiguration)
            #expect(try await second.spanCount() == 20)
            await second.shutdown()
            let index = try await PostgresTestDatabase.rows(url, "SELECT (to_regclass('spans_by_service_duration') IS NOT NULL)::text")
            #expect(index == [["true"]])
            let versions = try await PostgresTestDatabase.rows(url, "SELECT version::text FROM cairn_migrations ORDER BY 1")
            #expect(versions == [["1"], ["2"]])
        }
    }

    @Test("a database with another application's spans table is refused")
    func foreignDatabaseRefused() async throws {
        try await PostgresTestDatabase.withDatabase { url in
            _ = try await PostgresTestDatabase.rows(url, "CREATE TABLE spans (id integer)")
            await #expect(throws: PostgresStoreError.notACairnStore(url: try PostgresURL(url).redacted)) {
                _ = try await PostgresStore(url: url, configuration: PostgresTestDatabase.testConfiguration)
            }
        }
    }

    @Test("a database migrated by a newer Cairn is refused")
    func newerSchemaRefused() async throws {
        try await PostgresTestDatabase.withDatabase { url in
            let store = try await PostgresStore(url: url, configuration: PostgresTestDatabase.testConfiguration)
            await store.shutdown()
            _ = try await PostgresTestDatabase.rows(url, "INSERT INTO cairn_migrations (version) VALUES (99)")
            await #expect(throws: PostgresStoreError.newerSchema(url: try PostgresURL(url).redacted, versions: [99])) {
                _ = try await PostgresStore(url: url, configuration: PostgresTestDatabase.testConfiguration)
            }
        }
    }

    @Test("a store is writable, and says so")
    func writable() async throws {
        try await PostgresTestDatabase.withStore { store in
            try await store.checkWritable()
        }
    }

    @Test("a server that does not answer fails the open at once, saying what to check")
    func unreachableServer() async {
        // Port 1 on the loopback address, where nothing listens.
        let url = "postgres://cairn@127.0.0.1:1/cairn"
        let error = await #expect(throws: PostgresStoreError.self) {
            _ = try await PostgresStore(url: url)
        }
        guard case .cannotConnect(let shown, _) = error else {
            Issue.record("expected cannotConnect, got \(String(describing: error))")
            return
        }
        #expect(shown == "postgres://cairn@127.0.0.1:1/cairn")
        #expect(error?.description.contains("check that the server runs") == true)
    }

    @Test("malformed URLs are refused with what is wrong, and passwords never show")
    func urls() throws {
        #expect(throws: PostgresStoreError.self) { try PostgresURL("mysql://u@h/db") }
        #expect(throws: PostgresStoreError.self) { try PostgresURL("postgres:///db") }
        #expect(throws: PostgresStoreError.self) { try PostgresURL("postgres://host/db") }
        #expect(throws: PostgresStoreError.self) { try PostgresURL("postgres://u@h/db?sslmode=verify-full") }
        let url = try PostgresURL("postgresql://me:s%40cret@db.example:6543/traces?sslmode=require")
        #expect(url.user == "me")
        #expect(url.password == "s@cret")
        #expect(url.port == 6543)
        #expect(url.database == "traces")
        #expect(url.redacted == "postgres://me@db.example:6543/traces?sslmode=require")
        #expect(try PostgresURL("postgres://me@h").database == "me")
        // pool_max_conns, as pgx names it: a whole number of 1 or more, kept in the shown URL.
        let pooled = try PostgresURL("postgres://me:pw@h/db?pool_max_conns=6&sslmode=disable")
        #expect(pooled.poolMaxConnections == 6)
        #expect(pooled.redacted == "postgres://me@h:5432/db?sslmode=disable&pool_max_conns=6")
        #expect(try PostgresURL("postgres://me@h/db").poolMaxConnections == nil)
        for bad in ["0", "-2", "many", ""] {
            #expect(throws: PostgresStoreError.self) { try PostgresURL("postgres://me@h/db?pool_max_conns=\(bad)") }
        }
    }

    @Test("a store URL's pool_max_conns caps the store's connections, and with them its concurrent writes")
    func poolSizeFromURL() async throws {
        try await PostgresTestDatabase.withDatabase { url in
            let store = try await PostgresStore(url: url + (url.contains("?") ? "&" : "?") + "pool_max_conns=2",
                                              configuration: PostgresTestDatabase.testConfiguration)
            #expect(store.configuration.maximumConnections == 2)
            #expect(store.concurrentWrites == 1)
            #expect(store.url.hasSuffix("?pool_max_conns=2"))
            try await store.write([SpanBatch(spans: Fixtures.realisticSpans(count: 10, seed: 8))])
            #expect(try await store.spanCount() == 10)
            await store.shutdown()
        }
    }

    @Test("times are stored as bigint minus 2^63, exactly and in order")
    func storedTimes() {
        let values: [UInt64] = [0, 1, UInt64(Int64.max) - 1, UInt64(Int64.max), UInt64(Int64.max) + 1, .max - 1, .max]
        #expect(values.map { StoredTime.nanos(StoredTime.key($0)) } == values)
        let keys = values.map(StoredTime.key)
        #expect(keys == keys.sorted())
        #expect(StoredTime.key(0) == .min && StoredTime.key(.max) == .max)
    }
}
