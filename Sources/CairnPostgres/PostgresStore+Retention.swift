public import CairnStore
import Logging
import PostgresNIO

/// Retention on PostgreSQL: whole day partitions are dropped, which frees their space at once and leaves nothing for
/// VACUUM; spans in the default partition (days outside the partition window) are deleted row by row.
extension PostgresStore: SpanRetention {
    /// Drops the oldest day partition once every span in it ended before `cutoff`, and returns its span count; when no
    /// day partition is that old, deletes up to `maxSpans` spans of the default partition that ended before `cutoff`.
    /// Returns 0 when nothing older is left, or when the oldest partition still holds a span that ends at or after the
    /// cutoff (partitions go oldest first, so the next ones wait for it).
    ///
    /// The check and the drop are one transaction, which holds the partition in `SHARE` mode from before the check:
    /// reads go on, and a late write to that day waits: the check then sees it, or the write fails once the partition
    /// is gone (and is retried, into the default partition), rather than being dropped unseen. Dropping a partition
    /// locks `spans` for a moment. While the drop waits for queries that hold the table, writes queue behind it, so
    /// each lock is waited for at most 500 ms (`lock_timeout`) before giving up, returning 0, to be tried at the next
    /// round. Several collectors may run retention on one database: the one that drops a partition first wins.
    public func deleteSpans(endingBefore cutoff: UInt64, maxSpans: Int) async throws -> Int {
        let latestKey = StoredTime.key(cutoff)
        // The end of a span is start + duration, each stored minus 2^63: it ends before the cutoff when
        // start_ns + duration_ns < cutoff - 2^64, computed in numeric so that nothing overflows.
        let endsBefore = "start_ns::numeric + duration_ns::numeric < \(cutoff)::numeric - 18446744073709551616"
        return try await run("deleting old spans") {
            if let (name, upper) = try await oldestDayPartition(), StoredTime.nanos(upper) <= cutoff {
                return try await client.withConnection { connection in
                    do {
                        return try await connection.inTransaction(logger: logger) {
                            try await connection.query("SET LOCAL lock_timeout = '500ms'", logger: logger)
                            try await connection.query(PostgresQuery(unsafeSQL: "LOCK TABLE \(name) IN SHARE MODE"), logger: logger)
                            var spans = 0
                            var allEnded = true
                            for try await (count, ended) in try await connection.query(PostgresQuery(unsafeSQL: """
                                SELECT count(*), coalesce(bool_and(\(endsBefore)), true) FROM \(name)
                                """), logger: logger).decode((Int64, Bool).self) {
                                (spans, allEnded) = (Int(count), ended)
                            }
                            guard allEnded else { return 0 }
                            try await connection.query(PostgresQuery(unsafeSQL: "DROP TABLE \(name)"), logger: logger)
                            return spans
                        }
                    } catch let error as PSQLError where ["55P03", "42P01", "40P01"].contains(error.serverInfo?[.sqlState]) {
                        // lock_not_available: queries or writes held the table, and the next round tries again;
                        // undefined_table: another collector dropped it first; deadlock_detected: another collector
                        // checked it at the same time, and one of the two drops it.
                        logger.info("retention: \(name) stays until the next round (\(PostgresStoreError.reason(error)))")
                        return 0
                    }
                }
            }
            var deleted = 0
            for try await count in try await client.query(PostgresQuery(unsafeSQL: """
                WITH gone AS (
                    DELETE FROM spans_default WHERE ctid = ANY(ARRAY(
                        SELECT ctid FROM spans_default WHERE start_ns < \(latestKey) AND \(endsBefore)
                        ORDER BY start_ns LIMIT \(max(1, maxSpans))))
                    RETURNING 1
                )
                SELECT count(*) FROM gone
                """), logger: logger).decode(Int64.self) {
                deleted = Int(count)
            }
            return deleted
        }
    }

    /// Dropped partitions give their files back at once, and autovacuum reclaims the default partition's deleted
    /// rows for reuse: nothing to do here.
    public func reclaimSpace() async throws {}

    /// The oldest partition of `spans` other than the default one: its name, and the upper bound of its range (a
    /// `start_ns` key; every span in it starts before).
    private func oldestDayPartition() async throws -> (name: String, upper: Int64)? {
        for try await (name, upper) in try await client.query("""
            SELECT c.relname::text,
                   (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''?(-?[0-9]+)'))[1]::bigint AS upper
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'spans'::regclass AND c.relname <> 'spans_default'
            ORDER BY upper LIMIT 1
            """, logger: logger).decode((String, Int64).self) {
            return (name, upper)
        }
        return nil
    }
}
