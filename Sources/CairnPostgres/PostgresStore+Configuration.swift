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

        /// The defaults.
        public init() {}
    }
}
