public import CairnModel
import GRDB
import Synchronization

extension SQLiteStore {
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
