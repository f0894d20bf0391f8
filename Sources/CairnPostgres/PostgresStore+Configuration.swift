public import Logging

extension PostgresStore {
    /// How a `PostgresStore` connects and lays out its partitions; every default suits a collector.
    public struct Configuration: Sendable {
        /// The most connections the store opens to the server (PostgresNIO's pooled client); each write, trace read,
        /// search or scan leases one while it runs. Default 16; at least 1. A store URL's `pool_max_conns` replaces it.
        public var maximumConnections: Int = 16

        /// Day partitions are created for today and this many days after it, when the store opens and again at
        /// the first write of each day, so that a day's partition exists before its spans arrive. Default 2.
        public var partitionDaysAhead: Int = 2

        /// A write creates the missing partition of a day up to this many days before today; spans that start
        /// earlier, or later than `partitionDaysAhead` days after today, go to the default partition (nothing is
        /// refused). Default 31.
        public var partitionDaysBack: Int = 31

        /// Where the connection pool logs its background events (connections lost, retried). By default only
        /// warnings and errors, to standard error.
        public var logger: Logger = {
            var logger = Logger(label: "cairn.postgres")
            logger.logLevel = .warning
            return logger
        }()

        /// How window scans group spans into rows; tests make the limits small.
        var scanGrouping = ScanGrouping()

        /// The defaults.
        public init() {}
    }

    /// How a window scan groups spans into rows (see `reduceSpans(_:into:_:)`).
    ///
    /// PostgreSQL sends a row per span in about the time it takes to read the span, and PostgresNIO takes as long
    /// again to receive each row; a row that carries a bucket of spans costs that once per bucket. The limits keep a
    /// bucket's row within about 64 MiB (`bucketLimit` spans of at most `largePayload` bytes), far below PostgreSQL's
    /// limit of 1 GiB for a value, whatever the planner's estimate was.
    struct ScanGrouping: Sendable {
        /// The spans per bucket aimed at, by the planner's estimate of the window's spans.
        var bucketSpans = 1_024
        /// A bucket that holds more spans is read one row per span.
        var bucketLimit = 4_096
        /// Spans whose stored message is larger, in bytes, are read one row per span.
        var largePayload = 16_384
        /// The most buckets a scan cuts its window into: each costs the server about a microsecond even when empty.
        var maximumBuckets = 65_536
    }
}
