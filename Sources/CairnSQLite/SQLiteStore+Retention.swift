import CairnModel
public import CairnStore
import Foundation
import GRDB
import Synchronization

extension SQLiteStore: SpanRetention {
    /// Deletes whole blocks whose spans all ended before `cutoff`, oldest first (by their latest start), in one
    /// write transaction: as many as fit in `maxSpans` spans, and at least one. Returns the spans deleted.
    ///
    /// Nothing is scanned but the blocks deleted. The blocks come from `blocks_by_max_start`: a block that ended
    /// before the cutoff also started before it, so the old end of that index holds them all, with the few blocks
    /// that started before the cutoff and end after it. Each block's rows are found by key: its spans by rowid range;
    /// its `trace_segments` rows (keyed by trace id and first span) from its spans, which are sorted by trace id, so
    /// each change of trace id in the range starts a segment; its `block_operations` rows (keyed by operation and
    /// block) from the operations of its spans. An operation left with no block is removed from `operations`, so
    /// that the lists of services and operations follow the spans. Resources and scopes stay: they are few, and
    /// finding whether a span still refers to one would take a scan.
    public func deleteSpans(endingBefore cutoff: UInt64, maxSpans: Int) async throws -> Int {
        let bound = Int64(clamping: cutoff)
        return try await pool.writeWithoutTransaction { db in
            var deleted = 0
            var removed: Set<OperationKey> = []
            try db.inTransaction(.immediate) {
                var operations: Set<OperationKey> = []
                for block in try Self.oldBlocks(db, endingBefore: bound, maxSpans: maxSpans) {
                    try Self.delete(block, db, operations: &operations)
                    deleted += block.spanCount
                }
                removed = try Self.removeUnused(operations, db)
                return .commit
            }
            // On the writer connection, as writes are: the next write sees the cache without these.
            if !removed.isEmpty { self.writerCache.withLock { $0.operations.subtract(removed) } }
            return deleted
        }
    }

    /// Gives free pages back to the file system with `PRAGMA incremental_vacuum`, `vacuumStepPages` at a time, each
    /// step a write of its own so that commits interleave, then checkpoints the log (passively) so that the file is
    /// truncated now rather than at the next automatic checkpoint.
    ///
    /// The pages freed at the end of the file are dropped; for each free page before them, the last page of the file
    /// is moved into it. Does nothing to a store created before Cairn made stores incremental (`auto_vacuum` other
    /// than INCREMENTAL): later writes reuse its free pages, and `maintenance()` converts it.
    public func reclaimSpace() async throws {
        var freed = false
        while true {
            let step = try await pool.writeWithoutTransaction { db in
                try Self.incrementalVacuum(db, pages: Self.vacuumStepPages)
            }
            freed = freed || step.freed > 0
            if step.freed == 0 || step.left == 0 { break }
            await Task.yield()
        }
        if freed {
            try await pool.writeWithoutTransaction { db in _ = try db.checkpoint(.passive) }
        }
    }

    /// The free pages one step of `reclaimSpace()` gives back: 8 MiB of 4 KiB pages, which took 7 to 25 ms on a
    /// store of 1 million spans (about as long as deleting 5,000 spans), during which a commit waits.
    static let vacuumStepPages = 2_048

    /// Analyses the tables, gives every free page back, and reports the size of each table and index.
    ///
    /// In order: a store whose `auto_vacuum` is not INCREMENTAL (created before Cairn made stores incremental) is
    /// converted, once, by a full `VACUUM`, which rewrites the file (it needs free disk space of about twice the file,
    /// and holds the write lock until done: a collector writing to the store waits, up to its busy timeout); then
    /// `ANALYZE` (with `analysis_limit` 1,000, so that it reads a bounded number of rows of each table and index
    /// rather than all of them) and `PRAGMA optimize`; then `PRAGMA incremental_vacuum` of all the free pages; then a
    /// checkpoint that truncates the write-ahead log, when no reader holds it. Sizes come from SQLite's `dbstat`
    /// table, which reads every page of the file; `objects` is nil when this SQLite lacks it.
    public func maintenance() throws -> MaintenanceReport {
        let fileBytesBefore = fileBytes()
        let (mode, freePagesBefore) = try pool.writeWithoutTransaction { db in
            let mode = try Int.fetchOne(db, sql: "PRAGMA auto_vacuum") ?? 0
            let freePages = try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
            if mode != Self.incremental {
                // From NONE, SQLite applies the mode at the next VACUUM; from FULL, at once.
                try db.execute(sql: "PRAGMA auto_vacuum = INCREMENTAL")
                if mode == 0 { try db.execute(sql: "VACUUM") }
            }
            try db.execute(sql: "PRAGMA analysis_limit = 1000; ANALYZE; PRAGMA optimize")
            _ = try Self.incrementalVacuum(db, pages: nil)
            do {
                try db.checkpoint(.truncate)
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
                // A reader, or a collector's commit, uses the log: a later checkpoint copies and truncates it.
            }
            return (mode, freePages)
        }
        return try pool.read { db in
            let modeAfter = try Int.fetchOne(db, sql: "PRAGMA auto_vacuum") ?? 0
            return MaintenanceReport(
                autoVacuum: modeAfter == Self.incremental ? "incremental" : modeAfter == 1 ? "full" : "none",
                convertedToIncremental: mode != Self.incremental,
                pageSize: try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 0,
                fileBytesBefore: fileBytesBefore, fileBytes: fileBytes(),
                walBytes: Self.fileSize(path + "-wal"),
                freePagesBefore: freePagesBefore, freePages: try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0,
                objects: try Self.objectSizes(db))
        }
    }

    /// What `maintenance()` did, and the space the store takes.
    public struct MaintenanceReport: Sendable, Equatable {
        /// A table or an index, and the pages it takes.
        public struct Object: Sendable, Equatable {
            /// The table's or index's name (`sqlite_autoindex_…` for the index of a UNIQUE constraint).
            public var name: String
            /// The table, or the table that the index indexes.
            public var table: String
            /// Whether it is an index.
            public var isIndex: Bool
            /// Pages it takes, and their bytes.
            public var pages: Int
            public var bytes: Int
        }

        /// `PRAGMA auto_vacuum` after maintenance: "incremental", unless SQLite refused to convert the store.
        public var autoVacuum: String
        /// Whether this run converted the store to incremental auto-vacuum (a full `VACUUM` from NONE).
        public var convertedToIncremental: Bool
        /// Bytes per page.
        public var pageSize: Int
        /// The bytes the store takes on disk before and after: the database file and its write-ahead log.
        public var fileBytesBefore: Int
        public var fileBytes: Int
        /// The write-ahead log's share of `fileBytes`: 0 once truncated, more when a reader held it.
        public var walBytes: Int
        /// Free pages in the file before and after (free pages are reused by later writes; these are not yet).
        public var freePagesBefore: Int
        public var freePages: Int
        /// The tables and indexes, largest first; nil when this SQLite has no `dbstat` table to measure them.
        public var objects: [Object]?
    }

    /// `PRAGMA auto_vacuum` of INCREMENTAL.
    private static let incremental = 2

    /// A block to delete: its rowid range and spans.
    private struct Block {
        var id: Int64
        var firstSpan: Int64
        var lastSpan: Int64
        var spanCount: Int
    }

    /// The oldest blocks (by latest start) whose spans all started and ended before `bound`, as many as fit in
    /// `maxSpans` spans, and at least one when any is that old.
    private static func oldBlocks(_ db: Database, endingBefore bound: Int64, maxSpans: Int) throws -> [Block] {
        let blocks = try RawStatement(db, """
            SELECT id, first_span, last_span, span_count FROM blocks INDEXED BY blocks_by_max_start
            WHERE max_start < ?1 AND max_end < ?1 ORDER BY max_start
            """)
        defer { blocks.finish() }
        blocks.bind(1, bound)
        var result: [Block] = []
        var spans = 0
        while try blocks.step() {
            let block = Block(id: blocks.int64(0), firstSpan: blocks.int64(1), lastSpan: blocks.int64(2),
                              spanCount: Int(blocks.int64(3)))
            if !result.isEmpty && spans + block.spanCount > maxSpans { break }
            result.append(block)
            spans += block.spanCount
        }
        return result
    }

    /// Deletes a block's index rows, spans and row, and adds the operations of its spans to `operations`.
    private static func delete(_ block: Block, _ db: Database, operations: inout Set<OperationKey>) throws {
        let spans = try RawStatement(db, "SELECT id, trace_id, service, name, kind FROM spans WHERE id BETWEEN ? AND ?")
        defer { spans.finish() }
        let segment = try RawStatement(db, "DELETE FROM trace_segments WHERE trace_id = ? AND first_span = ?")
        defer { segment.finish() }
        spans.bind(1, block.firstSpan)
        spans.bind(2, block.lastSpan)
        var blockOperations: Set<OperationKey> = []
        var trace: TraceID?
        while try spans.step() {
            // The spans of a block are sorted by trace id: each trace's first span in the block starts its segment.
            if let id = TraceIDBytes.traceID(spans.blob(1)), id != trace {
                trace = id
                segment.bind(1, TraceIDBytes(id))
                segment.bind(2, spans.int64(0))
                try segment.execute()
            }
            blockOperations.insert(
                OperationKey(service: spans.text(2), name: spans.text(3), kind: Int32(truncatingIfNeeded: spans.int64(4))))
        }

        let operation = try RawStatement(db, """
            DELETE FROM block_operations WHERE service = ? AND name = ? AND kind = ? AND block_id = ?
            """)
        defer { operation.finish() }
        operation.bind(4, block.id)
        for key in blockOperations {
            operation.bind(1, key.service)
            operation.bind(2, key.name)
            operation.bind(3, Int64(key.kind))
            try operation.execute()
        }
        operations.formUnion(blockOperations)

        let rows = try RawStatement(db, "DELETE FROM spans WHERE id BETWEEN ? AND ?")
        defer { rows.finish() }
        rows.bind(1, block.firstSpan)
        rows.bind(2, block.lastSpan)
        try rows.execute()
        let row = try RawStatement(db, "DELETE FROM blocks WHERE id = ?")
        defer { row.finish() }
        row.bind(1, block.id)
        try row.execute()
    }

    /// Removes from `operations` those of `candidates` that no block has any more (a lookup by the key of
    /// `block_operations` each); returns them.
    private static func removeUnused(_ candidates: Set<OperationKey>, _ db: Database) throws -> Set<OperationKey> {
        let used = try RawStatement(db, """
            SELECT EXISTS (SELECT 1 FROM block_operations WHERE service = ?1 AND name = ?2 AND kind = ?3)
            """)
        defer { used.finish() }
        let remove = try RawStatement(db, "DELETE FROM operations WHERE service = ? AND name = ? AND kind = ?")
        defer { remove.finish() }
        var removed: Set<OperationKey> = []
        for key in candidates {
            for statement in [used, remove] {
                statement.bind(1, key.service)
                statement.bind(2, key.name)
                statement.bind(3, Int64(key.kind))
            }
            let isUsed = try used.step() && used.int64(0) != 0
            used.reset()
            if isUsed { continue }
            try remove.execute()
            removed.insert(key)
        }
        return removed
    }

    /// Gives up to `pages` free pages (nil: all) back with `PRAGMA incremental_vacuum` when the file is
    /// INCREMENTAL; returns how many it gave back and how many free pages are left (0 when not INCREMENTAL).
    private static func incrementalVacuum(_ db: Database, pages: Int?) throws -> (freed: Int, left: Int) {
        guard try Int.fetchOne(db, sql: "PRAGMA auto_vacuum") == incremental else { return (0, 0) }
        let before = try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
        guard before > 0 else { return (0, 0) }
        try db.execute(sql: "PRAGMA incremental_vacuum\(pages.map { "(\(max(1, $0)))" } ?? "")")
        let after = try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
        return (before - after, after)
    }

    /// The pages of each table and index, largest first, from `dbstat`; nil when SQLite was built without it.
    private static func objectSizes(_ db: Database) throws -> [MaintenanceReport.Object]? {
        let sql = """
            SELECT s.name, COALESCE(m.tbl_name, s.name), m.type = 'index', s.pageno, s.pgsize
            FROM dbstat AS s LEFT JOIN sqlite_schema AS m ON m.name = s.name
            WHERE s.aggregate = TRUE ORDER BY s.pgsize DESC, s.name
            """
        do {
            return try Row.fetchAll(db, sql: sql).map { row in
                MaintenanceReport.Object(name: row[0], table: row[1], isIndex: row[2] ?? false, pages: row[3], bytes: row[4])
            }
        } catch let error as DatabaseError where error.message?.contains("no such table: dbstat") == true {
            return nil
        }
    }
}
