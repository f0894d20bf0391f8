import CairnModel
import Logging
import PostgresNIO
import Synchronization

extension PostgresStore {
    /// The schema migrations, in order; migration `n` (from 1) is the `n`th list. Each is applied once, in the
    /// transaction that records it in `cairn_migrations`. Never edit a migration that has shipped: add the next one.
    ///
    /// Why these indexes, and no more (docs/store.md, "PostgreSQL"): every per-span index entry costs ingest, so
    /// there are four, each serving one kind of read.
    /// - `spans_by_trace (trace_id)`: `trace(_:)`, one probe per partition. Its keys are random, the costly kind;
    ///   partitions by day keep each index to one day's spans, which is what stays in memory while it is written.
    /// - `spans_by_service (service, start_ns)`: searches by service (the usual search, and Jaeger's UI always names
    ///   one) read the service's spans newest first from it and stop once the answer is settled; operation, duration,
    ///   status and attribute conditions are checked on those rows.
    /// - `spans_by_start (start_ns)`: searches without a service, newest first, and scans of a time window
    ///   (`reduceSpans`). Its keys arrive nearly in order, so inserting into it touches few pages.
    /// - `spans_by_service_duration (service, duration_ns) INCLUDE (start_ns, trace_id)` (migration 2): searches by
    ///   service with a minimum duration that few spans reach. Read newest first, such a search went through most of
    ///   the service's spans: 3.6 s at p99 over 10 million spans; from this index it reads only the long spans, and
    ///   only the index, then sorts them.
    /// A per-block summary like SQLite's `block_operations` would make searches for rare operations cheaper; it is
    /// left for when a measurement asks for it.
    static let migrations: [[String]] = [
        [
            """
            CREATE TABLE resources (
                id bigserial PRIMARY KEY,
                payload bytea NOT NULL,
                schema_url text NOT NULL,
                service text NOT NULL
            )
            """,
            // Payloads may exceed what a B-tree entry holds; their digest does not.
            "CREATE UNIQUE INDEX resources_by_payload ON resources (sha256(payload), schema_url)",
            """
            CREATE TABLE scopes (
                id bigserial PRIMARY KEY,
                payload bytea NOT NULL,
                schema_url text NOT NULL
            )
            """,
            "CREATE UNIQUE INDEX scopes_by_payload ON scopes (sha256(payload), schema_url)",
            """
            CREATE TABLE operations (
                service text NOT NULL,
                name text NOT NULL,
                kind integer NOT NULL,
                PRIMARY KEY (service, name, kind)
            )
            """,
            // start_ns and duration_ns are nanoseconds minus 2^63 (StoredTime); trace_id is 16 bytes, big-endian;
            // payload is the OTLP Span message as it arrived.
            """
            CREATE TABLE spans (
                start_ns bigint NOT NULL,
                duration_ns bigint NOT NULL,
                resource_id bigint NOT NULL,
                scope_id bigint NOT NULL,
                kind integer NOT NULL,
                status integer NOT NULL,
                trace_id bytea NOT NULL,
                service text NOT NULL,
                name text NOT NULL,
                payload bytea NOT NULL
            ) PARTITION BY RANGE (start_ns)
            """,
            // Spans of days without a partition of their own: nothing is ever refused.
            "CREATE TABLE spans_default PARTITION OF spans DEFAULT",
            "CREATE INDEX spans_by_trace ON spans (trace_id)",
            "CREATE INDEX spans_by_service ON spans (service, start_ns)",
            "CREATE INDEX spans_by_start ON spans (start_ns)",
        ],
        [
            // With the start and the trace id in its entries, the search that uses it reads the index only.
            "CREATE INDEX spans_by_service_duration ON spans (service, duration_ns) INCLUDE (start_ns, trace_id)",
        ],
    ]

    /// An arbitrary key for `pg_advisory_xact_lock`, so that collectors opening one database at once migrate it in turn.
    static let migrationLock: Int64 = 0x4372_6E31_5067

    /// Refuses a database whose `spans` table is not Cairn's, or that a newer Cairn migrated, then applies the
    /// migrations it lacks; on a connection of its own, so that connection errors come at once and say why.
    static func migrate(_ target: PostgresURL, logger: Logger) async throws {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(
                on: PostgresClient.defaultEventLoopGroup.any(), configuration: try target.connectionConfiguration(),
                id: 0, logger: logger
            ).get()
        } catch {
            throw PostgresStoreError.cannotConnect(url: target.redacted, reason: PostgresStoreError.reason(error))
        }
        do {
            try await migrate(connection, url: target.redacted, logger: logger)
            _ = try? await connection.close()
        } catch {
            _ = try? await connection.close()
            if error is PostgresStoreError { throw error }
            throw PostgresStoreError.failed(url: target.redacted, operation: "migrating the schema",
                                            reason: PostgresStoreError.reason(error))
        }
    }

    private static func migrate(_ connection: PostgresConnection, url: String, logger: Logger) async throws {
        try await connection.inTransaction(logger: logger) {
            try await connection.query("SELECT pg_advisory_xact_lock(\(migrationLock))", logger: logger)
            var hasMigrations = false
            var hasSpans = false
            for try await (migrations, spans) in try await connection.query(
                "SELECT to_regclass('cairn_migrations') IS NOT NULL, to_regclass('spans') IS NOT NULL", logger: logger
            ).decode((Bool, Bool).self) {
                (hasMigrations, hasSpans) = (migrations, spans)
            }
            if !hasMigrations {
                if hasSpans { throw PostgresStoreError.notACairnStore(url: url) }
                try await connection.query("""
                    CREATE TABLE cairn_migrations (
                        version integer PRIMARY KEY,
                        applied_at timestamptz NOT NULL DEFAULT now()
                    )
                    """, logger: logger)
            }
            var applied = Set<Int>()
            for try await version in try await connection.query("SELECT version FROM cairn_migrations", logger: logger)
                .decode(Int32.self)
            {
                applied.insert(Int(version))
            }
            let unknown = applied.filter { $0 > migrations.count }.sorted()
            if !unknown.isEmpty { throw PostgresStoreError.newerSchema(url: url, versions: unknown) }
            for (index, statements) in migrations.enumerated() where !applied.contains(index + 1) {
                for statement in statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("INSERT INTO cairn_migrations (version) VALUES (\(Int32(index + 1)))", logger: logger)
            }
        }
    }

    static let nanosPerDay: UInt64 = 86_400 * 1_000_000_000

    /// The partition name of a day since the Unix epoch: `spans_YYYYMMDD` (UTC).
    static func partitionName(day: Int64) -> String {
        let date = formatRFC3339(unixNanos: UInt64(day) * nanosPerDay, fractionDigits: 0)
        return "spans_" + date.prefix(10).filter { $0 != "-" }
    }

    /// Creates the partitions that are missing among today's, the next `partitionDaysAhead` days', and those of
    /// `spanDays` (days of span starts) that lie between `partitionDaysBack` days before today and the last of
    /// those. Days outside stay in the default partition.
    ///
    /// Each partition is created in a statement of its own, before the write's transaction. A day that cannot get
    /// one (another collector creates it at the same time, or the default partition already holds spans of that day,
    /// which PostgreSQL then refuses) is not tried again by this store: its spans go where PostgreSQL puts them.
    func ensurePartitions(for spanDays: Set<Int64>) async throws {
        let today = Int64(unixNanosNow() / Self.nanosPerDay)
        let ahead = Int64(max(0, configuration.partitionDaysAhead))
        let earliest = today - Int64(max(0, configuration.partitionDaysBack))
        var wanted = Set((today...today + ahead))
        wanted.formUnion(spanDays.filter { $0 >= max(0, earliest) && $0 <= today + ahead })
        let missing = partitionDays.withLock { known in wanted.subtracting(known) }
        guard !missing.isEmpty else { return }
        for day in missing.sorted() {
            let from = StoredTime.key(UInt64(day) * Self.nanosPerDay)
            let to = StoredTime.key(UInt64(day + 1) * Self.nanosPerDay)
            do {
                try await client.query(PostgresQuery(unsafeSQL: """
                    CREATE TABLE IF NOT EXISTS \(Self.partitionName(day: day)) PARTITION OF spans
                    FOR VALUES FROM (\(from)) TO (\(to))
                    """), logger: logger)
            } catch let error as PSQLError where error.serverInfo != nil {
                // The server refused (see above); the connection is fine.
                logger.debug("no partition for day \(day): \(PostgresStoreError.reason(error))")
            } catch {
                throw PostgresStoreError.failed(url: url, operation: "creating the partition of a day",
                                                reason: PostgresStoreError.reason(error))
            }
            partitionDays.withLock { _ = $0.insert(day) }
        }
    }
}
