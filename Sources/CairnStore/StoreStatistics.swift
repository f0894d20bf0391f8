/// What a store tells about itself for monitoring: its size, its spans, and its last backup.
public struct StoreStatistics: Sendable, Hashable {
    /// Bytes the store takes on disk (for SQLite, the database file and its write-ahead log).
    public var bytes: Int
    /// Spans stored, duplicates included.
    public var spans: Int
    /// The start of the oldest span stored, in nanoseconds since the Unix epoch; nil when the store is empty.
    public var oldestSpanStart: UInt64?
    /// When the last successful backup finished, in nanoseconds since the Unix epoch; nil when none is recorded.
    public var lastBackupFinished: UInt64?
    /// Bytes free to the store on its file system, and the file system's size; nil when unknown.
    public var filesystemFreeBytes: Int?
    public var filesystemSizeBytes: Int?

    public init(
        bytes: Int, spans: Int, oldestSpanStart: UInt64? = nil, lastBackupFinished: UInt64? = nil,
        filesystemFreeBytes: Int? = nil, filesystemSizeBytes: Int? = nil
    ) {
        self.bytes = bytes
        self.spans = spans
        self.oldestSpanStart = oldestSpanStart
        self.lastBackupFinished = lastBackupFinished
        self.filesystemFreeBytes = filesystemFreeBytes
        self.filesystemSizeBytes = filesystemSizeBytes
    }
}

/// A store that reports `StoreStatistics`; the collector's `/metrics` reads it at each scrape, so it must be cheap
/// (no scan of the spans).
public protocol StoreStatisticsReporting: Sendable {
    /// The store's statistics now.
    func statistics() async throws -> StoreStatistics
}
