import GRDB

extension SQLiteStore {
    /// How a `SQLiteStore` opens its file.
    public struct Configuration: Sendable {
        /// Whether every commit waits for an `fsync` of the write-ahead log (`synchronous=FULL`), so that a power loss
        /// loses no write that returned. Default false (`synchronous=NORMAL`): a process crash still loses nothing,
        /// a power loss may lose the last commits.
        public var synchronousFull: Bool

        /// The most read-only connections open at once, which bounds the reads that run concurrently. Default 5.
        public var maximumReaderCount: Int

        /// How long a statement waits for a lock that another process holds before failing. Default 10 seconds.
        public var busyTimeout: Duration

        /// The page cache of each connection, in kibibytes. Default 32,768 (32 MiB), which keeps the per-block
        /// indexes being written in memory.
        public var cacheSizeKiB: Int

        /// The fewest spans a window scan reads on a thread of its own, when its caller can merge partial results
        /// (`reduceSpans(_:into:_:merge:)`). Default 100,000: below that, a thread costs more than it saves.
        public var minimumSpansPerScanPart: Int

        /// The most pages the database file may hold (`PRAGMA max_page_count`; a page is 4 KiB); nil, the default,
        /// leaves the disk as the only limit. A commit that would exceed it fails as on a full disk, changing
        /// nothing, and the collector answers its requests with 503.
        public var maximumPageCount: Int?

        /// A configuration with the documented defaults.
        public init(
            synchronousFull: Bool = false, maximumReaderCount: Int = 5, busyTimeout: Duration = .seconds(10),
            cacheSizeKiB: Int = 32_768, minimumSpansPerScanPart: Int = 100_000, maximumPageCount: Int? = nil
        ) {
            self.maximumPageCount = maximumPageCount
            self.synchronousFull = synchronousFull
            self.maximumReaderCount = maximumReaderCount
            self.busyTimeout = busyTimeout
            self.cacheSizeKiB = cacheSizeKiB
            self.minimumSpansPerScanPart = minimumSpansPerScanPart
        }

        var grdbConfiguration: GRDB.Configuration {
            var configuration = GRDB.Configuration()
            configuration.label = "Cairn"
            configuration.maximumReaderCount = max(1, maximumReaderCount)
            let seconds = Double(busyTimeout.components.seconds) + Double(busyTimeout.components.attoseconds) / 1e18
            configuration.busyMode = .timeout(seconds)
            // Nothing in the schema refers to another table by foreign key; checking would only cost time.
            configuration.foreignKeysEnabled = false
            let cacheSize = -max(1_024, cacheSizeKiB)
            configuration.prepareDatabase { db in
                try db.execute(sql: "PRAGMA cache_size = \(cacheSize)")
                // A new file gets incremental auto-vacuum, so that retention can give deleted pages back
                // (`reclaimSpace`). SQLite applies it only before the first table is created, and before the pool
                // switches the file to WAL, which it does after this; an older file is converted by `maintenance()`.
                if !db.configuration.readonly, try Int.fetchOne(db, sql: "PRAGMA page_count") == 0 {
                    try db.execute(sql: "PRAGMA auto_vacuum = INCREMENTAL")
                }
            }
            return configuration
        }

        /// The pragmas of the writer connection, set once the pool is open (GRDB sets `synchronous=NORMAL` when it
        /// opens a pool, after `prepareDatabase`).
        ///
        /// `wal_autocheckpoint`: a checkpoint every 16,384 pages (64 MiB of log) rather than SQLite's 1,000. A commit
        /// of a few thousand spans dirties about 1,000 pages (its rows, and a `trace_segments` leaf per trace), so
        /// the default checkpointed after nearly every commit, writing each page twice and syncing twice per commit;
        /// with the larger log, a page that several commits touch is copied to the database once. Measured with
        /// `cairn-loadgen`, 16 connections, 40 s: 123,000 spans/s with the default, 139,000 with this.
        var writerPragmas: String {
            "PRAGMA synchronous = \(synchronousFull ? "FULL" : "NORMAL"); PRAGMA wal_autocheckpoint = 16384"
                + (maximumPageCount.map { "; PRAGMA max_page_count = \($0)" } ?? "")
        }
    }
}
