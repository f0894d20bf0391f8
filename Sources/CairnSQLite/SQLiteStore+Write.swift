public import CairnModel
import GRDB
import Synchronization

extension SQLiteStore {
    /// Takes the write lock and lets it go at once (`BEGIN IMMEDIATE`, then `ROLLBACK`) on the writer connection, so
    /// it waits for a commit in progress, and for another process's lock up to the busy timeout.
    public func checkWritable() async throws {
        do {
            try await pool.writeWithoutTransaction { db in
                try db.execute(sql: "BEGIN IMMEDIATE")
                try db.execute(sql: "ROLLBACK")
            }
        } catch let error as DatabaseError {
            if error.resultCode == .SQLITE_READONLY { throw SQLiteStoreError.notWritable(path: path) }
            throw SQLiteStoreError.writeBlocked(path: path, reason: error.message ?? "\(error.resultCode)")
        }
    }

    /// Stores the spans of all the batches as one block, in one transaction; when it returns, the spans are
    /// committed and visible to every reader.
    ///
    /// Calls are serialised on the store's one writer connection; pass many batches at once (group commit) rather
    /// than calling once per batch. A write of no spans does nothing.
    public func write(_ batches: [SpanBatch]) async throws {
        guard batches.contains(where: { !$0.records.isEmpty }) else { return }
        try await pool.writeWithoutTransaction { db in
            // The writer connection serialises this closure, so the cache read here is not changed under it.
            var writer = BlockWriter(db: db, known: self.writerCache.withLock { $0 })
            try db.inTransaction(.immediate) {
                try writer.write(batches)
                return .commit
            }
            let added = writer.added
            self.writerCache.withLock { $0.merge(added) }
        }
    }
}
