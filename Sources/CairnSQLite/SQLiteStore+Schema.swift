import GRDB

extension SQLiteStore {
    /// `PRAGMA application_id` of a Cairn store: "Crn1" in ASCII, so that `file(1)` and the store itself can tell a
    /// Cairn store from another application's database.
    static let applicationID: Int32 = 0x4372_6E31

    /// The schema migrations, in order. Each is applied once, in one transaction, and recorded in the
    /// `grdb_migrations` table; `PRAGMA user_version` holds the number of the last one for tools that do not read
    /// that table. Never edit a migration that has shipped: add the next one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                -- One row per write (group commit): the rowid range of its spans and their time bounds.
                CREATE TABLE blocks (
                    id INTEGER PRIMARY KEY,
                    first_span INTEGER NOT NULL,
                    last_span INTEGER NOT NULL,
                    min_start INTEGER NOT NULL,
                    max_start INTEGER NOT NULL,
                    max_end INTEGER NOT NULL,
                    span_count INTEGER NOT NULL,
                    written_at INTEGER NOT NULL
                );
                -- One entry per block: time-range searches walk the blocks newest first.
                CREATE INDEX blocks_by_max_start ON blocks(max_start);

                -- Every span, appended in rowid order, with no secondary index. Within a block the spans are sorted
                -- by trace id. payload is the span as an OTLP Span message; the other columns are what searches
                -- filter on. Times are nanoseconds since the Unix epoch, clamped to Int64.max.
                CREATE TABLE spans (
                    id INTEGER PRIMARY KEY,
                    trace_id BLOB NOT NULL,
                    span_id BLOB NOT NULL,
                    parent_span_id BLOB,
                    service TEXT NOT NULL,
                    name TEXT NOT NULL,
                    kind INTEGER NOT NULL,
                    start_ns INTEGER NOT NULL,
                    duration_ns INTEGER NOT NULL,
                    status INTEGER NOT NULL,
                    resource_id INTEGER NOT NULL,
                    scope_id INTEGER NOT NULL,
                    payload BLOB NOT NULL
                );

                -- One entry per trace and block: the trace's spans in that block are rowids
                -- first_span ..< first_span + span_count.
                CREATE TABLE trace_segments (
                    trace_id BLOB NOT NULL,
                    first_span INTEGER NOT NULL,
                    span_count INTEGER NOT NULL,
                    block_id INTEGER NOT NULL,
                    min_start INTEGER NOT NULL,
                    max_end INTEGER NOT NULL,
                    PRIMARY KEY (trace_id, first_span)
                ) WITHOUT ROWID;

                -- One entry per operation (service, span name, kind) and block, with the bounds of its spans there:
                -- searches find candidate blocks here.
                CREATE TABLE block_operations (
                    service TEXT NOT NULL,
                    name TEXT NOT NULL,
                    kind INTEGER NOT NULL,
                    block_id INTEGER NOT NULL,
                    span_count INTEGER NOT NULL,
                    error_count INTEGER NOT NULL,
                    min_start INTEGER NOT NULL,
                    max_start INTEGER NOT NULL,
                    min_duration INTEGER NOT NULL,
                    max_duration INTEGER NOT NULL,
                    PRIMARY KEY (service, name, kind, block_id)
                ) WITHOUT ROWID;
                -- Searches read candidate blocks newest first from these, and stop early.
                CREATE INDEX block_operations_by_service ON block_operations(service, max_start);
                CREATE INDEX block_operations_by_name ON block_operations(name, max_start);

                -- Resources and scopes as OTLP messages, each stored once.
                CREATE TABLE resources (
                    id INTEGER PRIMARY KEY,
                    payload BLOB NOT NULL,
                    schema_url TEXT NOT NULL,
                    service TEXT NOT NULL,
                    UNIQUE (payload, schema_url)
                );
                CREATE TABLE scopes (
                    id INTEGER PRIMARY KEY,
                    payload BLOB NOT NULL,
                    schema_url TEXT NOT NULL,
                    UNIQUE (payload, schema_url)
                );

                -- Every operation ever written, for the service and operation lists.
                CREATE TABLE operations (
                    service TEXT NOT NULL,
                    name TEXT NOT NULL,
                    kind INTEGER NOT NULL,
                    PRIMARY KEY (service, name, kind)
                ) WITHOUT ROWID;

                PRAGMA application_id = \(applicationID);
                PRAGMA user_version = 1;
                """)
        }
        migrator.registerMigration("v2") { db in
            try db.execute(sql: """
                -- The rowid offsets (from the block's first_span, little-endian UInt32s, longest first) of the
                -- operation's 16 longest spans in the block, and the shortest duration among them (LongestSpans).
                -- NULL in rows written before v2: searches scan those blocks.
                ALTER TABLE block_operations ADD COLUMN longest BLOB;
                ALTER TABLE block_operations ADD COLUMN longest_min_duration INTEGER;

                PRAGMA user_version = 2;
                """)
        }
        migrator.registerMigration("v3") { db in
            try db.execute(sql: """
                -- One row per successful `cairn backup` (SQLiteStore.backup(to:)), for the last-backup metric; the
                -- copy itself does not hold its own row. finished_at is nanoseconds since the Unix epoch.
                CREATE TABLE backups (
                    id INTEGER PRIMARY KEY,
                    finished_at INTEGER NOT NULL,
                    path TEXT NOT NULL,
                    span_count INTEGER NOT NULL,
                    bytes INTEGER NOT NULL
                );

                PRAGMA user_version = 3;
                """)
        }
        return migrator
    }

    /// Refuses a file that is not a Cairn store or has a newer schema, then applies the migrations it lacks.
    static func migrate(_ pool: DatabasePool, path: String) throws {
        let migrator = Self.migrator
        try pool.read { db in
            let applicationID = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
            let hasTables = try Bool.fetchOne(
                db, sql: "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name NOT LIKE 'sqlite_%')") ?? false
            if applicationID != Self.applicationID && (applicationID != 0 || hasTables) {
                throw SQLiteStoreError.notACairnStore(path: path)
            }
            if try migrator.hasBeenSuperseded(db) {
                let unknown = try migrator.appliedIdentifiers(db).subtracting(migrator.migrations).sorted()
                throw SQLiteStoreError.newerSchema(path: path, migrations: unknown)
            }
        }
        try migrator.migrate(pool)
    }
}
