import CairnModel
import Foundation
import GRDB

extension SQLiteStore {
    /// What a backup file holds, as `backup(to:)`, `verify(path:)` and `restore(from:to:)` report it.
    public struct BackupReport: Sendable, Hashable {
        /// The file the report is about: the backup, or for a restore, the store restored.
        public var path: String
        /// The schema version of the copy (`PRAGMA user_version`).
        public var schemaVersion: Int
        /// The spans in the copy, duplicates included.
        public var spanCount: Int
        /// The latest start and the latest end of a span in the copy, in nanoseconds since the Unix epoch; nil when
        /// the copy holds no span.
        public var newestSpanStart: UInt64?
        public var newestSpanEnd: UInt64?
        /// The size of the backup file in bytes.
        public var bytes: Int
        /// When the backup was taken, in nanoseconds since the Unix epoch: when `backup(to:)` finished the copy, which
        /// is also the file's modification time, the time `verify(path:)` reports.
        public var takenAt: UInt64

        public init(
            path: String, schemaVersion: Int, spanCount: Int, newestSpanStart: UInt64?, newestSpanEnd: UInt64?,
            bytes: Int, takenAt: UInt64
        ) {
            self.path = path
            self.schemaVersion = schemaVersion
            self.spanCount = spanCount
            self.newestSpanStart = newestSpanStart
            self.newestSpanEnd = newestSpanEnd
            self.bytes = bytes
            self.takenAt = takenAt
        }
    }

    /// A successful backup as the store records it (table `backups`), for the collector's last-backup metric.
    public struct BackupRecord: Sendable, Hashable {
        /// When the backup finished, in nanoseconds since the Unix epoch.
        public var finishedAt: UInt64
        /// The absolute path of the backup file when it was written.
        public var path: String
        /// The spans in the backup.
        public var spanCount: Int
        /// The size of the backup file in bytes.
        public var bytes: Int

        public init(finishedAt: UInt64, path: String, spanCount: Int, bytes: Int) {
            self.finishedAt = finishedAt
            self.path = path
            self.spanCount = spanCount
            self.bytes = bytes
        }
    }

    /// Pages copied per step of SQLite's backup API (16 MiB of 4 KiB pages).
    static let backupPagesPerStep: CInt = 4_096

    /// Copies the store, online, into a new file at `path` with SQLite's
    /// [backup API](https://www.sqlite.org/backup.html), and records the backup in the store (`lastBackup()`).
    ///
    /// The copy is one snapshot of the store: every write that returned before this call is in it, and no part of
    /// a write that commits during it. The snapshot is a read transaction held for the whole copy, so the collector
    /// (in this process or another) goes on writing, and the copy, made in steps of `backupPagesPerStep` pages,
    /// never restarts because of those writes (SQLite restarts a backup whose source changed only when each step
    /// opens a read transaction of its own). Meanwhile checkpoints cannot pass the snapshot: the write-ahead log
    /// grows by what is written during the copy.
    ///
    /// The copy is written to `path + ".partial"` (an older one, left by an interrupted backup, is replaced), in
    /// rollback-journal mode so that it is one self-contained file, and renamed to `path` once complete: a file at
    /// `path` is always a whole backup. Throws `SQLiteStoreError.destinationExists` when `path` exists,
    /// `.backupFailed` when the copy fails (nothing is left at `path`), and `.backupNotRecorded` when the copy is
    /// complete but the store cannot record it.
    public func backup(to path: String) throws -> BackupReport {
        try backup(to: path, pagesPerStep: Self.backupPagesPerStep)
    }

    /// `backup(to:)` in steps of `pagesPerStep` pages.
    func backup(to path: String, pagesPerStep: CInt) throws -> BackupReport {
        let files = FileManager.default
        guard !files.fileExists(atPath: path) else { throw SQLiteStoreError.destinationExists(path: path) }
        let partial = path + ".partial"
        Self.removeDatabaseFiles(partial)
        var report: BackupReport
        do {
            report = try Self.copy(pool, into: partial, pagesPerStep: pagesPerStep) { db in try Self.summary(db, path: path) }
            try files.moveItem(atPath: partial, toPath: path)
        } catch {
            Self.removeDatabaseFiles(partial)
            if files.fileExists(atPath: path) { throw SQLiteStoreError.destinationExists(path: path) }
            throw SQLiteStoreError.backupFailed(path: path, reason: Self.reason(error))
        }
        report.bytes = Self.fileSize(path)
        report.takenAt = Self.modificationTime(path) ?? unixNanosNow()
        do {
            try pool.write { db in
                try db.execute(
                    sql: "INSERT INTO backups (finished_at, path, span_count, bytes) VALUES (?, ?, ?, ?)",
                    arguments: [Int64(clamping: report.takenAt), URL(fileURLWithPath: path).standardizedFileURL.path,
                                report.spanCount, report.bytes])
            }
        } catch {
            throw SQLiteStoreError.backupNotRecorded(path: path, store: self.path, reason: Self.reason(error))
        }
        return report
    }

    /// The last successful backup recorded by `backup(to:)`; nil when there was none.
    public func lastBackup() throws -> BackupRecord? {
        try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT finished_at, path, span_count, bytes FROM backups ORDER BY id DESC LIMIT 1")
                .map { row in
                    BackupRecord(finishedAt: UInt64(max(0, row[0] as Int64)), path: row[1], spanCount: row[2],
                                 bytes: row[3])
                }
        }
    }

    /// Checks a backup (or any Cairn store) without changing it: opens it read-only, checks that it is a Cairn
    /// store of a schema this version knows, runs `PRAGMA integrity_check`, and reports what it holds.
    ///
    /// Throws `SQLiteStoreError.noSuchFile`, `.notABackup`, `.newerSchema`, or `.damaged` when
    /// the integrity check finds a problem (or SQLite finds the file corrupt while reading it).
    public static func verify(path: String) throws -> BackupReport {
        guard FileManager.default.fileExists(atPath: path) else { throw SQLiteStoreError.noSuchFile(path: path) }
        var configuration = GRDB.Configuration()
        configuration.label = "Cairn verify"
        configuration.readonly = true
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            defer { try? queue.close() }
            var report = try queue.read { db in
                guard try Int32.fetchOne(db, sql: "PRAGMA application_id") == applicationID else {
                    throw SQLiteStoreError.notABackup(path: path, reason: "a SQLite database of another application")
                }
                if try migrator.hasBeenSuperseded(db) {
                    let unknown = try migrator.appliedIdentifiers(db).subtracting(migrator.migrations).sorted()
                    throw SQLiteStoreError.newerSchema(path: path, migrations: unknown)
                }
                let problems = try String.fetchAll(db, sql: "PRAGMA integrity_check")
                if problems != ["ok"] {
                    // The first problem, on one line; the others are usually its consequences.
                    let first = (problems.first ?? "no result").split(whereSeparator: \.isNewline)
                        .filter { !$0.hasPrefix("*** in database") }.joined(separator: "; ")
                    let more = problems.count > 1 ? " and \(problems.count - 1) more problems" : ""
                    throw SQLiteStoreError.damaged(path: path, problem: first + more)
                }
                return try summary(db, path: path)
            }
            report.bytes = fileSize(path)
            report.takenAt = modificationTime(path) ?? 0
            return report
        } catch let error as SQLiteStoreError {
            throw error
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CORRUPT {
            throw SQLiteStoreError.damaged(path: path, problem: error.message ?? "\(error.resultCode)")
        } catch let error as DatabaseError where error.resultCode == .SQLITE_NOTADB {
            throw SQLiteStoreError.notABackup(path: path, reason: "not a SQLite database")
        } catch {
            throw SQLiteStoreError(opening: path, error)
        }
    }

    /// Replaces the store at `path` with a copy of the backup, which is verified first (`verify(path:)`); returns
    /// the backup's report, with `path` as its path.
    ///
    /// The backup is copied (backup API) into `path + ".restoring"` beside the target, so that the final rename is
    /// atomic: the target is either the old store, whole, or the restored one. Then the target, when it exists, is
    /// locked: a connection in exclusive locking mode reads it, switches it out of WAL mode (checkpointing its
    /// log) and takes its write lock, keeping both until the rename. A process that has a Cairn store open holds a
    /// shared lock on its file for as long as it is open, in WAL mode, even when idle (a collector, or a command
    /// reading the store), so the exclusive lock is refused and so is the restore: `SQLiteStoreError.inUse`. A
    /// store's connection that is merely idle is found this way, where `BEGIN IMMEDIATE` finds only a write in
    /// progress. Holding the lock, the restore removes the target's `-wal`, `-shm` and `-journal` files (which
    /// would otherwise be applied to the new file), and renames the copy over the target.
    ///
    /// Throws the errors of `verify(path:)` for the backup; `.notADatabase` or `.notACairnStore` when the target is
    /// another kind of file (which is left alone); `.inUse`; `.restoreFailed` when the copy or the rename fails (the
    /// target is then left as it was).
    public static func restore(from backup: String, to path: String) throws -> BackupReport {
        var report = try verify(path: backup)
        report.path = path
        let temporary = path + ".restoring"
        removeDatabaseFiles(temporary)
        do {
            var configuration = GRDB.Configuration()
            configuration.readonly = true
            let source = try DatabaseQueue(path: backup, configuration: configuration)
            defer { try? source.close() }
            try copy(source, into: temporary, pagesPerStep: backupPagesPerStep) { _ in }
        } catch {
            removeDatabaseFiles(temporary)
            throw SQLiteStoreError.restoreFailed(path: path, reason: reason(error))
        }
        do {
            let lock = FileManager.default.fileExists(atPath: path) ? try lockForReplacement(path) : nil
            defer { try? lock?.close() }
            for suffix in ["-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            guard rename(temporary, path) == 0 else {
                throw SQLiteStoreError.restoreFailed(path: path, reason: String(cString: strerror(errno)))
            }
        } catch {
            removeDatabaseFiles(temporary)
            throw error
        }
        return report
    }

    /// Opens the store at `path` for replacement: exclusive locking mode, out of WAL mode, write lock taken and
    /// kept until the returned connection is closed (see `restore(from:to:)`).
    private static func lockForReplacement(_ path: String) throws -> DatabaseQueue {
        var configuration = GRDB.Configuration()
        configuration.label = "Cairn restore"
        // A command reading the store may finish soon; a collector holds the lock as long as it runs.
        configuration.busyMode = .timeout(1)
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA locking_mode = EXCLUSIVE") }
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            try queue.writeWithoutTransaction { db in
                let applicationID = try Int32.fetchOne(db, sql: "PRAGMA application_id")
                let pages = try Int.fetchOne(db, sql: "PRAGMA page_count")
                guard applicationID == Self.applicationID || pages == 0 else {
                    throw SQLiteStoreError.notACairnStore(path: path)
                }
                try db.execute(sql: "PRAGMA journal_mode = DELETE; BEGIN EXCLUSIVE; COMMIT")
            }
            return queue
        } catch let error as SQLiteStoreError {
            throw error
        } catch let error as DatabaseError where [.SQLITE_BUSY, .SQLITE_LOCKED].contains(error.resultCode) {
            throw SQLiteStoreError.inUse(path: path)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_NOTADB {
            throw SQLiteStoreError.notADatabase(path: path)
        } catch {
            throw SQLiteStoreError.restoreFailed(path: path, reason: reason(error))
        }
    }

    /// Copies `source` into a new database file at `path` with the backup API, from one read snapshot in which
    /// `inSnapshot` runs first (its result describes exactly what is copied), then leaves the copy in
    /// rollback-journal mode: one file, with no `-wal` to go with it.
    private static func copy<T>(
        _ source: some DatabaseReader, into path: String, pagesPerStep: CInt, inSnapshot: (Database) throws -> T
    ) throws -> T {
        let destination = try DatabaseQueue(path: path)
        let result = try destination.writeWithoutTransaction { destinationDB in
            try source.read { db in
                // A read opens the transaction, the snapshot, that every backup step then reads.
                _ = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sqlite_master")
                let result = try inSnapshot(db)
                try db.backup(to: destinationDB, pagesPerStep: pagesPerStep)
                return result
            }
        }
        // The copy's header says WAL mode, as the source's does.
        try destination.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = DELETE") }
        try destination.close()
        return result
    }

    /// What a store holds: schema version, spans, newest span (from `blocks`). `bytes` and `takenAt` are left 0.
    private static func summary(_ db: Database, path: String) throws -> BackupReport {
        let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
        let row = try Row.fetchOne(db, sql: "SELECT COALESCE(SUM(span_count), 0), MAX(max_start), MAX(max_end) FROM blocks")
        let start: Int64? = row?[1]
        let end: Int64? = row?[2]
        return BackupReport(
            path: path, schemaVersion: version, spanCount: row?[0] ?? 0, newestSpanStart: start.map { UInt64(max(0, $0)) },
            newestSpanEnd: end.map { UInt64(max(0, $0)) }, bytes: 0, takenAt: 0)
    }

    /// Removes a database file that was being written and its journals.
    private static func removeDatabaseFiles(_ path: String) {
        for suffix in ["", "-journal", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    /// The file's modification time in nanoseconds since the Unix epoch.
    private static func modificationTime(_ path: String) -> UInt64? {
        guard let date = try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date else {
            return nil
        }
        return UInt64(max(0, date.timeIntervalSince1970 * 1e9))
    }

    /// An error as a short reason for a message: SQLite's message, or the error's description.
    private static func reason(_ error: any Error) -> String {
        if let error = error as? DatabaseError { return error.message ?? "\(error.resultCode)" }
        if let error = error as? SQLiteStoreError { return "\(error)" }
        return (error as NSError).localizedDescription
    }
}
