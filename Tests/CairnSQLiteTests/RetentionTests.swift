import CairnModel
import CairnOTLP
@testable import CairnSQLite
import CairnStore
import CairnTesting
import Foundation
import GRDB
import Testing

@Suite("SQLiteStore retention: deleting old blocks, reclaiming their space, maintenance")
struct RetentionTests {
    let directory: TemporaryDirectory

    init() throws {
        directory = try TemporaryDirectory()
    }

    /// The fixtures' first start (`Fixtures.realisticSpans` starts seed `s` at this plus `s` seconds).
    static let base: UInt64 = 1_700_000_000_000_000_000
    static let hour: UInt64 = 3_600_000_000_000

    /// Fixture spans moved `offset` later.
    static func spans(_ count: Int, seed: UInt64, services: [String] = Fixtures.defaultServices, later offset: UInt64 = 0) -> [Span] {
        Fixtures.realisticSpans(count: count, seed: seed, services: services).shifted(later: offset)
    }

    @Test("blocks that ended before the cutoff go with every index row of theirs; the rest reads and searches as before")
    func deletesOldBlocksExactly() async throws {
        // Old blocks (within seconds of `base`) written between new ones (10 hours later), one block per write; the
        // old ones hold a service that no new one has.
        let old = (1...3).map { Self.spans(400, seed: $0, services: ["frontend", "legacy"]) }
        let new = (4...6).map { Self.spans(400, seed: $0, later: 10 * Self.hour) }
        let store = try SQLiteStore(path: directory.path("cairn.db"))
        let expected = try SQLiteStore(path: directory.path("expected.db"))  // only the new blocks
        let reference = InMemoryStore()
        for index in 0..<3 {
            try await store.write([SpanBatch(spans: old[index])])
            try await store.write([SpanBatch(spans: new[index])])
            try await expected.write([SpanBatch(spans: new[index])])
            try await reference.write([SpanBatch(spans: new[index])])
        }

        #expect(try await store.deleteSpans(endingBefore: Self.base + Self.hour, maxSpans: .max) == 1_200)
        #expect(try await store.deleteSpans(endingBefore: Self.base + Self.hour, maxSpans: .max) == 0)

        for table in ["spans", "blocks", "trace_segments", "block_operations", "operations"] {
            #expect(try count(table, in: store) == count(table, in: expected), "\(table)")
        }
        // No index row is left that points outside the blocks.
        #expect(try count("trace_segments WHERE block_id NOT IN (SELECT id FROM blocks)", in: store) == 0)
        #expect(try count("block_operations WHERE block_id NOT IN (SELECT id FROM blocks)", in: store) == 0)
        #expect(try count("spans AS s WHERE NOT EXISTS (SELECT 1 FROM blocks AS b WHERE s.id BETWEEN b.first_span AND b.last_span)", in: store) == 0)
        #expect(try store.spanCount() == 1_200)

        for spans in old {
            for traceID in Set(spans.map(\.traceID)) { #expect(try await store.trace(traceID) == nil) }
        }
        for (traceID, spans) in Dictionary(grouping: new.flatMap { $0 }, by: \.traceID) {
            #expect(Set(try #require(try await store.trace(traceID)).spans) == Set(spans))
        }
        try await expectSameSearches(store, reference)
        #expect(try await store.operations(service: "legacy").isEmpty)

        // An operation that comes back is listed again: the writer forgot it along with its row.
        try await store.write([SpanBatch(spans: Self.spans(16, seed: 7, services: ["frontend", "legacy"], later: 11 * Self.hour))])
        #expect(try await store.services().contains("legacy"))
        #expect(try await !store.operations(service: "legacy").isEmpty)
    }

    @Test("a trace with spans in an old and a new block keeps its new spans, and searches still find it")
    func traceAcrossTheCutoff() async throws {
        let store = try SQLiteStore(path: directory.path("cairn.db"))
        let reference = InMemoryStore()
        // Half of each trace in an old block, the other half in a new one (as a long trace's spans arrive).
        let spans = Self.spans(800, seed: 8)
        let halves = Dictionary(grouping: spans, by: \.traceID).values.map { trace in
            (trace.prefix(trace.count / 2), trace.dropFirst(trace.count / 2).map { span in
                var span = span
                span.startTimeUnixNano += 10 * Self.hour
                span.endTimeUnixNano += 10 * Self.hour
                return span
            })
        }
        let newer = halves.flatMap(\.1)
        try await store.write([SpanBatch(spans: halves.flatMap(\.0))])
        try await store.write([SpanBatch(spans: newer)])
        try await reference.write([SpanBatch(spans: newer)])

        #expect(try await store.deleteSpans(endingBefore: Self.base + Self.hour, maxSpans: 5_000) == spans.count - newer.count)
        for (traceID, kept) in Dictionary(grouping: newer, by: \.traceID) {
            #expect(Set(try #require(try await store.trace(traceID)).spans) == Set(kept))
        }
        try await expectSameSearches(store, reference)
        #expect(try count("trace_segments", in: store) == Set(newer.map(\.traceID)).count)
    }

    @Test("each call deletes the oldest blocks that fit in maxSpans, and at least one")
    func batches() async throws {
        let store = try SQLiteStore(path: directory.path("cairn.db"))
        // Five old blocks of 300 spans, a minute apart, written newest first; one new block.
        let old = (0..<5).map { index in
            Self.spans(300, seed: 10 + UInt64(index), later: UInt64(index) * 60_000_000_000)
        }
        for spans in old.reversed() { try await store.write([SpanBatch(spans: spans)]) }
        try await store.write([SpanBatch(spans: Self.spans(300, seed: 20, later: 10 * Self.hour))])
        let cutoff = Self.base + Self.hour

        /// Which of the old blocks are still stored.
        func remaining() async throws -> [Int] {
            var result: [Int] = []
            for (index, spans) in old.enumerated() where try await store.trace(spans[0].traceID) != nil {
                result.append(index)
            }
            return result
        }
        #expect(try await store.deleteSpans(endingBefore: cutoff, maxSpans: 700) == 600)
        #expect(try await remaining() == [2, 3, 4])
        #expect(try await store.deleteSpans(endingBefore: cutoff, maxSpans: 100) == 300)
        #expect(try await remaining() == [3, 4])
        #expect(try await store.deleteSpans(endingBefore: cutoff, maxSpans: 1_000) == 600)
        #expect(try await store.deleteSpans(endingBefore: cutoff, maxSpans: 1_000) == 0)
        #expect(try store.spanCount() == 300)
    }

    @Test("a new store is incremental, and reclaimSpace gives every free page back and shrinks the file")
    func reclaimSpaceShrinksTheFile() async throws {
        let path = directory.path("cairn.db")
        let store = try SQLiteStore(path: path)
        #expect(try pragma("auto_vacuum", store) == 2)
        for seed: UInt64 in 1...8 { try await store.write([SpanBatch(spans: Self.spans(1_000, seed: seed))]) }
        try await store.write([SpanBatch(spans: Self.spans(1_000, seed: 9, later: 10 * Self.hour))])
        try await checkpoint(store)
        let before = try fileSize(path)

        #expect(try await store.deleteSpans(endingBefore: Self.base + Self.hour, maxSpans: .max) == 8_000)
        #expect(try pragma("freelist_count", store) > 0)
        try await store.reclaimSpace()
        #expect(try pragma("freelist_count", store) == 0)
        // Truncated by the checkpoint at the end of reclaimSpace, with no reader holding the log.
        let after = try fileSize(path)
        #expect(after == (try pragma("page_count", store)) * (try pragma("page_size", store)))
        #expect(after < before / 3, "\(before) → \(after) bytes")
        #expect(try store.spanCount() == 1_000)
    }

    @Test("maintenance converts a store made before incremental vacuum, once, and reports its tables and indexes")
    func maintenanceConvertsAnOldStore() async throws {
        // A store as Cairn made it before: WAL first, then the tables, so auto_vacuum stayed NONE.
        let path = directory.path("old.db")
        let queue = try DatabaseQueue(path: path)
        try queue.inDatabase { db in _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL") }
        try SQLiteStore.migrator.migrate(queue)
        try queue.close()

        let store = try SQLiteStore(path: path)
        #expect(try pragma("auto_vacuum", store) == 0)  // opening leaves it as it is
        let new = Self.spans(500, seed: 31, later: 10 * Self.hour)
        for seed: UInt64 in 1...4 { try await store.write([SpanBatch(spans: Self.spans(1_000, seed: seed))]) }
        try await store.write([SpanBatch(spans: new)])
        #expect(try await store.deleteSpans(endingBefore: Self.base + Self.hour, maxSpans: .max) == 4_000)
        let free = try pragma("freelist_count", store)
        #expect(free > 0)
        try await store.reclaimSpace()  // does nothing to a store that is not incremental
        #expect(try pragma("freelist_count", store) == free)

        let report = try store.maintenance()
        #expect(report.convertedToIncremental)
        #expect(report.autoVacuum == "incremental")
        #expect(try pragma("auto_vacuum", store) == 2)
        #expect(report.freePagesBefore == free)
        #expect(report.freePages == 0)
        #expect(report.fileBytes < report.fileBytesBefore)
        #expect(report.fileBytes == (try fileSize(path)))
        #expect(report.walBytes == 0)
        let objects = try #require(report.objects)
        let names = Set(objects.map(\.name))
        #expect(names.isSuperset(of: ["spans", "blocks", "trace_segments", "block_operations", "operations", "resources", "scopes"]))
        #expect(objects.contains { $0.name == "blocks_by_max_start" && $0.isIndex && $0.table == "blocks" })
        #expect(objects.first?.name == "spans")  // largest first
        #expect(objects.allSatisfy { $0.bytes == $0.pages * report.pageSize })

        for (traceID, spans) in Dictionary(grouping: new, by: \.traceID) {
            #expect(Set(try #require(try await store.trace(traceID)).spans) == Set(spans))
        }
        #expect(try store.maintenance().convertedToIncremental == false)
    }

    @Test("with retention, a store under a steady load stops growing")
    func steadySize() async throws {
        // Each round writes the same number of spans of new traces from the same hosts, an hour after the last, in
        // four writes; then deletes what ended more than `kept` rounds ago and reclaims the space, as
        // RetentionService does.
        let path = directory.path("cairn.db")
        let store = try SQLiteStore(path: path)
        let kept = 4
        let hosts = Dictionary(Self.spans(400, seed: 0).map { ($0.serviceName, $0.resource) }) { first, _ in first }
        var sizes: [Int] = []
        for round in 1...(2 * kept) {
            let spans = Self.spans(2_000, seed: UInt64(round), later: UInt64(round) * Self.hour).map { span in
                var span = span
                span.resource = hosts[span.serviceName]!
                return span
            }
            for part in 0..<4 { try await store.write([SpanBatch(spans: Array(spans[part * 500..<(part + 1) * 500]))]) }
            let cutoff = Self.base + UInt64(max(0, round - kept + 1)) * Self.hour
            while try await store.deleteSpans(endingBefore: cutoff, maxSpans: 1_000) > 0 {}
            try await store.reclaimSpace()
            #expect(try store.spanCount() == min(round, kept) * 2_000)
            try await checkpoint(store)
            sizes.append(try fileSize(path))
        }
        print("retention: file size after each round: \(sizes)")
        // From round `kept` on, the store holds the same number of spans, in as many blocks, with the same resources
        // and operations. What differs is how full the index pages are: `trace_segments` is keyed by random trace
        // ids, and each operation's rows in `block_operations` and its indexes are added at one end and deleted at
        // the other, so after the first deletions their pages are emptier than when only inserts had filled them,
        // until inserts and deletions balance. Measured: +1.4% from round 4 to round 8 (all in those indexes, about
        // 10 pages of 1,000), then within ±0.5% of that up to round 40. The 5% margin is well above that; a store
        // that kept growing would be 100% larger after 2 * `kept` rounds.
        let steady = sizes[kept - 1]
        for size in sizes[kept...] {
            #expect(abs(Double(size) / Double(steady) - 1) < 0.05, "\(sizes)")
        }
    }

    // MARK: Helpers

    /// Checks that the store answers the searches and lists of the reference, which holds the same spans.
    private func expectSameSearches(_ store: SQLiteStore, _ reference: InMemoryStore, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let services = try await reference.services()
        #expect(try await store.services() == services, sourceLocation: sourceLocation)
        var queries = [TraceQuery(limit: 1_000), TraceQuery(durationMin: 100_000_000, limit: 1_000)]
        for service in services {
            #expect(try await store.operations(service: service) == reference.operations(service: service), sourceLocation: sourceLocation)
            queries.append(TraceQuery(service: service, limit: 1_000))
            queries.append(TraceQuery(service: service, limit: 5))
        }
        for query in queries {
            #expect(try await store.findTraceIDs(query) == reference.findTraceIDs(query), "\(query)", sourceLocation: sourceLocation)
        }
    }

    /// The number of rows of a table, or of `table WHERE …`.
    private func count(_ table: String, in store: SQLiteStore) throws -> Int {
        try store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0 }
    }

    private func pragma(_ name: String, _ store: SQLiteStore) throws -> Int {
        try store.pool.read { db in try Int.fetchOne(db, sql: "PRAGMA \(name)") ?? -1 }
    }

    /// Copies the log into the file and truncates both, so that the file's size is the store's.
    private func checkpoint(_ store: SQLiteStore) async throws {
        try await store.pool.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
    }

    private func fileSize(_ path: String) throws -> Int {
        try #require((try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue)
    }
}
