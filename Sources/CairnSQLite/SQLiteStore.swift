import CairnModel
public import CairnStore
import CairnOTLP
import GRDB
import Synchronization

/// A store in one SQLite file, laid out for the write rate of a collector.
///
/// Layout (see `SQLiteStore+Schema.swift`): each call of `write` appends one *block*, a group commit. Its spans are
/// appended to `spans` in rowid order, sorted by trace id so that each trace's spans in the block are contiguous
/// rowids, and `spans` has no secondary index. The indexes are per trace or operation and block, not per span: one
/// `trace_segments` entry per trace and block (a rowid range), and one `block_operations` entry per operation and
/// block, with the bounds of its spans' start times and durations there: for realistic traffic, a few index entries
/// per trace rather than several per span. A trace is read from its segments; a search reads candidate blocks newest first
/// from `block_operations` (or `blocks`), scans their rowid ranges (or, for a selective minimum duration, reads only
/// the rows of an operation's 16 longest spans that `block_operations` lists), and stops once no older block can
/// change the answer.
///
/// Durability: the file is in WAL mode with `synchronous=NORMAL`. A crash of the process after `write` returns loses
/// nothing; a power loss or an operating system crash may lose the last commits (never corrupting the file). Set
/// `Configuration.synchronousFull` to lose nothing on power loss too, at the cost of an `fsync` per commit.
///
/// Writes are serialised on one connection; reads run concurrently on a pool of read-only connections, each in a
/// snapshot that sees every write that returned before it began and never part of a write.
///
/// Timestamps are `UInt64` nanoseconds. The indexed columns (`start_ns`, `duration_ns` and the block bounds) hold
/// them as `Int64`, clamped to `Int64.max` (the year 2262); the span's payload keeps the exact value, and a search
/// checks a span whose indexed value is clamped against its payload, so that search results are exact too.
public final class SQLiteStore: SpanWriter, SpanReader {
    /// The path of the database file.
    public let path: String

    let pool: DatabasePool
    /// The fewest spans a window scan reads on a thread of its own (see `Configuration`).
    let minimumSpansPerScanPart: Int
    let writerCache = Mutex(WriterCache())
    let readerCache = Mutex(ReaderCache())

    /// Opens the store at `path`, creating the file and its schema when it does not exist and migrating an older
    /// schema.
    ///
    /// Throws `SQLiteStoreError` when the file cannot be opened or created, is not a SQLite database, belongs to
    /// another application, or was written by a newer version of Cairn.
    public init(path: String, configuration: Configuration = .init()) throws {
        self.path = path
        minimumSpansPerScanPart = max(1, configuration.minimumSpansPerScanPart)
        do {
            pool = try DatabasePool(path: path, configuration: configuration.grdbConfiguration)
            try pool.writeWithoutTransaction { db in try db.execute(sql: configuration.writerPragmas) }
        } catch {
            throw SQLiteStoreError(opening: path, error)
        }
        do {
            try Self.migrate(pool, path: path)
        } catch let error as SQLiteStoreError {
            throw error
        } catch {
            throw SQLiteStoreError(opening: path, error)
        }
    }

    /// The number of spans stored, duplicates included.
    public func spanCount() throws -> Int {
        try pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COALESCE(SUM(span_count), 0) FROM blocks") ?? 0
        }
    }
}
