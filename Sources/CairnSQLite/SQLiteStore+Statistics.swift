public import CairnStore
import Foundation
import GRDB

extension SQLiteStore: StoreStatisticsReporting {
    /// The size of the database file and its write-ahead log, the spans stored and the oldest span's start (both
    /// from the `blocks` table, one row per commit), the last backup recorded (`lastBackup()`), and the file
    /// system's free space.
    public func statistics() async throws -> StoreStatistics {
        let (spans, oldest): (Int, UInt64?) = try await pool.read { db in
            let row = try Row.fetchOne(db, sql: "SELECT COALESCE(SUM(span_count), 0), MIN(min_start) FROM blocks")
            let spans: Int = row?[0] ?? 0
            let oldest: Int64? = row?[1]
            return (spans, oldest.map { UInt64(max(0, $0)) })
        }
        var statistics = StoreStatistics(
            bytes: fileBytes(), spans: spans, oldestSpanStart: oldest, lastBackupFinished: try lastBackup()?.finishedAt)
        let folder = (path as NSString).deletingLastPathComponent
        if let system = try? FileManager.default.attributesOfFileSystem(forPath: folder.isEmpty ? "." : folder),
           let free = (system[.systemFreeSize] as? NSNumber)?.intValue,
           let size = (system[.systemSize] as? NSNumber)?.intValue {
            statistics.filesystemFreeBytes = free
            statistics.filesystemSizeBytes = size
        }
        return statistics
    }

    /// Bytes of the database file and its write-ahead log.
    func fileBytes() -> Int {
        Self.fileSize(path) + Self.fileSize(path + "-wal")
    }

    /// The size of a file in bytes; 0 when it does not exist.
    static func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? NSNumber)?.intValue ?? 0
    }
}
