@testable import CairnPostgres
import PostgresNIO
import CairnModel
import CairnOTLP
import CairnStore
import CairnTesting
import Testing

/// Retention on PostgreSQL (whole day partitions dropped, the default partition deleted by rows) and the statistics
/// that `/metrics` reads.
@Suite("PostgresStore retention and statistics", .serialized)
struct PostgresRetentionTests {
    static let day = PostgresStore.nanosPerDay
    static let today = unixNanosNow() / day * day
    /// The start of the old day most tests write to, and the cutoff that makes it old: 10 and 5 days ago.
    static let oldDay = today - 10 * day
    static let cutoff = today - 5 * day

    /// Spans of one trace each, starting at the given times and lasting `duration`.
    static func spans(at starts: [UInt64], duration: UInt64 = 1_000_000, seed: UInt64) -> [Span] {
        zip(Fixtures.realisticSpans(count: starts.count, seed: seed), starts.enumerated()).map { span, item in
            var span = span
            span.traceID = TraceID(high: seed, low: UInt64(item.offset) + 1)
            span.parentSpanID = nil
            let start = item.element
            span.startTimeUnixNano = start
            span.endTimeUnixNano = start + duration
            return span
        }
    }

    /// The partitions of `spans` and their span counts, by name.
    static func partitions(_ store: PostgresStore) async throws -> [String: Int] {
        var result: [String: Int] = [:]
        for row in try await PostgresTestDatabase.rows(store.url, """
            SELECT c.relname::text, (SELECT count(*) FROM spans s WHERE s.tableoid = c.oid)::text
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'spans'::regclass
            """) {
            if let name = row[0], let count = row[1].flatMap({ Int($0) }) { result[name] = count }
        }
        return result
    }

    @Test("day partitions whose spans all ended before the cutoff are dropped oldest first, one per call; newer ones stay")
    func dropsOldPartitions() async throws {
        try await PostgresTestDatabase.withStore { store in
            let old = Self.spans(at: (0..<30).map { Self.oldDay + UInt64($0) * 1_000_000_000 }, seed: 1)
            let older = Self.spans(at: (0..<20).map { Self.today - 12 * Self.day + UInt64($0) * 1_000_000_000 }, seed: 2)
            let recent = Self.spans(at: (0..<10).map { Self.today - 2 * Self.day + UInt64($0) * 1_000_000_000 }, seed: 3)
            try await store.write([SpanBatch(spans: old + older + recent)])
            let oldName = PostgresStore.partitionName(day: Int64(Self.oldDay / Self.day))
            let olderName = PostgresStore.partitionName(day: Int64((Self.today - 12 * Self.day) / Self.day))
            #expect(try await Self.partitions(store)[oldName] == 30)

            #expect(try await store.deleteSpans(endingBefore: Self.cutoff, maxSpans: 5) == 20, "the older day goes first, whole")
            #expect(try await store.deleteSpans(endingBefore: Self.cutoff, maxSpans: 5) == 30)
            #expect(try await store.deleteSpans(endingBefore: Self.cutoff, maxSpans: 5) == 0, "nothing older is left")
            let left = try await Self.partitions(store)
            #expect(left[oldName] == nil && left[olderName] == nil)
            #expect(try await store.spanCount() == 10)
            #expect(try await store.trace(recent[0].traceID) != nil)
            #expect(try await store.trace(old[0].traceID) == nil)
            // The store still writes, and a late span of a dropped day lands in the default partition.
            try await store.write([SpanBatch(spans: Self.spans(at: [Self.oldDay], seed: 4))])
            #expect(try await store.spanCount() == 11)
        }
    }

    @Test("a partition that holds a span ending at or after the cutoff stays, and so do the newer ones")
    func longSpanKeepsItsPartition() async throws {
        try await PostgresTestDatabase.withStore { store in
            let (start, cutoff) = (Self.oldDay, Self.cutoff)
            let long = Self.spans(at: [start], duration: cutoff - start, seed: 5)
            let short = Self.spans(at: [start + 1_000, Self.today - 8 * Self.day], seed: 6)
            try await store.write([SpanBatch(spans: long + short)])
            #expect(try await store.deleteSpans(endingBefore: cutoff, maxSpans: 100) == 0)
            #expect(try await store.spanCount() == 3)
            #expect(try await store.deleteSpans(endingBefore: cutoff + 1, maxSpans: 100) == 2)
            #expect(try await store.deleteSpans(endingBefore: cutoff + 1, maxSpans: 100) == 1)
            #expect(try await store.spanCount() == 0)
        }
    }

    @Test("a span written to a day while retention checks that day keeps it: the check waits for the write, then sees it")
    func lateWriteDuringTheCheck() async throws {
        try await PostgresTestDatabase.withStore { store in
            let (start, cutoff) = (Self.oldDay, Self.cutoff)
            try await store.write([SpanBatch(spans: Self.spans(at: (0..<5).map { start + UInt64($0) * 1_000_000_000 }, seed: 7))])
            // A collector in the middle of writing a late span of that day that runs past the cutoff (a stored row
            // copied, with a duration that ends after it).
            let writer = try await PostgresTestDatabase.connect(store.url)
            let logger = PostgresTestDatabase.quietLogger
            try await writer.query("BEGIN", logger: logger)
            try await writer.query(PostgresQuery(unsafeSQL: """
                INSERT INTO spans SELECT start_ns, \(StoredTime.key(cutoff - start + Self.day)), resource_id, scope_id,
                    kind, status, trace_id, service, name, payload FROM spans LIMIT 1
                """), logger: logger)
            async let retention = store.deleteSpans(endingBefore: cutoff, maxSpans: 100)
            try await Task.sleep(for: .milliseconds(200))
            try await writer.query("COMMIT", logger: logger)
            try await writer.close()
            #expect(try await retention == 0, "the day holds a span that ends after the cutoff")
            #expect(try await store.spanCount() == 6)
        }
    }

    @Test("spans of the default partition are deleted at most maxSpans a call, oldest first, and only once they ended")
    func defaultPartitionByRows() async throws {
        try await PostgresTestDatabase.withStore { store in
            // 400 days back is outside the partition window (31 days): these go to the default partition.
            let base = Self.today - 400 * Self.day
            let spans = Self.spans(at: (0..<7).map { base + UInt64($0) * 1_000_000_000 }, seed: 7)
            let ongoing = Self.spans(at: [base], duration: 399 * Self.day, seed: 8)
            try await store.write([SpanBatch(spans: spans + ongoing)])
            #expect(try await Self.partitions(store)["spans_default"] == 8)
            let cutoff = Self.today - 100 * Self.day
            #expect(try await store.deleteSpans(endingBefore: cutoff, maxSpans: 3) == 3)
            #expect(try await store.trace(spans[0].traceID) == nil, "oldest first")
            #expect(try await store.trace(spans[6].traceID) != nil)
            #expect(try await store.deleteSpans(endingBefore: cutoff, maxSpans: 3) == 3)
            #expect(try await store.deleteSpans(endingBefore: cutoff, maxSpans: 3) == 1)
            #expect(try await store.deleteSpans(endingBefore: cutoff, maxSpans: 3) == 0)
            #expect(try await store.trace(ongoing[0].traceID) != nil, "a span that ends after the cutoff stays")
        }
    }

    @Test("statistics: the database's size, the spans counted by PostgreSQL's statistics, the oldest start")
    func statistics() async throws {
        try await PostgresTestDatabase.withStore { store in
            let empty = try await store.statistics()
            #expect(empty.bytes > 0)
            #expect(empty.spans == 0)
            #expect(empty.oldestSpanStart == nil)
            let spans = Self.spans(at: (0..<40).map { Self.today - 3 * Self.day + UInt64($0) * 1_000 }, seed: 9)
            try await store.write([SpanBatch(spans: spans)])
            // The server's statistics take in a commit within about a second.
            var statistics = try await store.statistics()
            for _ in 0..<50 where statistics.spans != 40 {
                try await Task.sleep(for: .milliseconds(200))
                statistics = try await store.statistics()
            }
            #expect(statistics.spans == 40)
            #expect(statistics.oldestSpanStart == Self.today - 3 * Self.day)
            #expect(statistics.bytes >= empty.bytes)
            #expect(statistics.lastBackupFinished == nil)
        }
    }
}
