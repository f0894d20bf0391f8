public import CairnStore
import PostgresNIO

/// What `/metrics` reports of a PostgreSQL store, from the server's catalog and statistics, without reading spans.
extension PostgresStore: StoreStatisticsReporting {
    /// - `bytes`: the database's size on the server (`pg_database_size`), indexes and the other tables included.
    /// - `spans`: live rows of the span partitions as PostgreSQL's statistics count them (`n_live_tup`): updated at
    ///   each commit, within a second or so, and an estimate once rows were deleted and not yet vacuumed.
    /// - `oldestSpanStart`: the smallest start time, read from the start index of each partition.
    /// The file system and backups are the server's to report, and stay nil.
    public func statistics() async throws -> StoreStatistics {
        try await run("reading the store's statistics") {
            var statistics = StoreStatistics(bytes: 0, spans: 0)
            for try await (bytes, spans, oldest) in try await client.query("""
                SELECT pg_database_size(current_database()),
                       (SELECT coalesce(sum(s.n_live_tup), 0)::bigint FROM pg_stat_user_tables s
                        JOIN pg_inherits i ON i.inhrelid = s.relid WHERE i.inhparent = 'spans'::regclass),
                       (SELECT min(start_ns) FROM spans)
                """, logger: logger).decode((Int64, Int64, Int64?).self) {
                statistics.bytes = Int(bytes)
                statistics.spans = Int(spans)
                statistics.oldestSpanStart = oldest.map(StoredTime.nanos)
            }
            return statistics
        }
    }
}
