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

        /// A configuration with the documented defaults.
        public init(
            synchronousFull: Bool = false, maximumReaderCount: Int = 5, busyTimeout: Duration = .seconds(10),
            cacheSizeKiB: Int = 32_768
        ) {
            self.synchronousFull = synchronousFull
            self.maximumReaderCount = maximumReaderCount
            self.busyTimeout = busyTimeout
            self.cacheSizeKiB = cacheSizeKiB
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
            }
            return configuration
        }

        /// The `synchronous` pragma of the writer connection. GRDB sets NORMAL when it opens a pool, after
        /// `prepareDatabase`, so the store sets this once the pool is open.
        var synchronousPragma: String {
            "PRAGMA synchronous = \(synchronousFull ? "FULL" : "NORMAL")"
        }
    }
}
