import CairnModel
public import CairnStore
import CairnOTLP
import Logging
import PostgresNIO
import Synchronization

/// A store in a PostgreSQL database, which several collectors can write at once.
///
/// Layout (see `PostgresStore+Schema.swift` and docs/store.md, "PostgreSQL"): one row per span in `spans`,
/// partitioned by day on its start time, with the span as the OTLP `Span` message it arrived in (`payload`) beside
/// the columns that searches filter on; resources, scopes and the list of operations in tables of their own, each
/// stored once. Each `write` is one transaction of one multi-row insert.
///
/// Durability: `write` returns once PostgreSQL has committed, which with the server's defaults
/// (`synchronous_commit=on`, `fsync=on`) means the spans are on disk and survive a crash of the server or of the
/// machine; how much a server configured otherwise may lose is the server's to say.
///
/// Lifecycle: `init(url:configuration:)` connects, applies the schema migrations the database lacks, creates the
/// day partitions ahead of time, and starts PostgresNIO's pooled client in a task of its own. Call `shutdown()` when
/// done: it closes the connections and returns when the task has ended. A store that is released without
/// `shutdown()` cancels that task, and its connections close in the background.
///
/// Times are `UInt64` nanoseconds since the Unix epoch; the columns `start_ns` and `duration_ns` hold them as
/// `bigint` minus 2^63 (`StoredTime`), which keeps every value exact and in order.
public final class PostgresStore: SpanWriter, SpanReader {
    /// The store's URL, without its password.
    public let url: String

    let client: PostgresClient
    let logger: Logger
    let configuration: Configuration
    private let runTask: Task<Void, Never>
    let writerCache = Mutex(WriterCache())
    let readerCache = Mutex(ReaderCache())
    /// The days (since the Unix epoch) whose partition this store created or found, or failed to create.
    let partitionDays = Mutex(Set<Int64>())
    /// Whether a scan split over several connections is running (see `reduceSpans(_:into:_:merge:)`).
    let splitScanRunning = Atomic<Bool>(false)

    /// Connects to the database at `url` (`postgres://user[:password]@host[:port]/database`), creates the schema or
    /// migrates an older one, and creates the day partitions of today and the next `partitionDaysAhead` days.
    ///
    /// Several collectors may open the same database at once: migrations take an advisory lock. Throws
    /// `PostgresStoreError` when the URL is malformed, the server cannot be reached or refuses the user, the database
    /// holds another application's `spans` table, or it was migrated by a newer version of Cairn.
    public init(url: String, configuration: Configuration = .init()) async throws {
        let target = try PostgresURL(url)
        self.url = target.redacted
        var configuration = configuration
        if let count = target.poolMaxConnections { configuration.maximumConnections = count }
        self.configuration = configuration
        logger = configuration.logger
        let client = PostgresClient(
            configuration: target.clientConfiguration(maximumConnections: max(1, configuration.maximumConnections)),
            backgroundLogger: configuration.logger)
        self.client = client
        runTask = Task { await client.run() }
        do {
            try await Self.migrate(target, logger: configuration.logger)
            try await ensurePartitions(for: [])
        } catch {
            await shutdown()
            throw error
        }
    }

    /// Closes the connections to the server and returns when they are closed; the store cannot be used after.
    public func shutdown() async {
        runTask.cancel()
        await runTask.value
    }

    deinit {
        runTask.cancel()
    }

    /// The number of spans stored, duplicates included (a count of the whole table).
    public func spanCount() async throws -> Int {
        try await run("counting spans") {
            let rows = try await client.query("SELECT count(*) FROM spans", logger: logger)
            var count = 0
            for try await value in rows.decode(Int64.self) { count = Int(value) }
            return count
        }
    }

    /// Runs `body`, turning PostgresNIO's errors into `PostgresStoreError.failed` for `operation`.
    func run<Value>(_ operation: String, _ body: () async throws -> Value) async throws -> Value {
        do {
            return try await body()
        } catch let error as PostgresStoreError {
            throw error
        } catch let error as CancellationError {
            throw error
        } catch let error as UpdateError {
            throw error
        } catch {
            throw PostgresStoreError.failed(url: url, operation: operation, reason: PostgresStoreError.reason(error))
        }
    }
}

extension PostgresConnection {
    /// Runs `body` in a transaction begun with `begin` (`BEGIN` and its modes), commits what it returns, or rolls back
    /// and rethrows what it throws, as it was thrown. (PostgresNIO's `withTransaction` wraps errors in a type of its
    /// own, and begins no other mode.)
    func inTransaction<Value>(
        _ begin: PostgresQuery = "BEGIN", logger: Logger, isolation: isolated (any Actor)? = #isolation,
        _ body: () async throws -> Value
    ) async throws -> Value {
        try await query(begin, logger: logger)
        do {
            let value = try await body()
            try await query("COMMIT", logger: logger)
            return value
        } catch {
            _ = try? await query("ROLLBACK", logger: logger)
            throw error
        }
    }
}

/// A time as the `bigint` columns hold it: nanoseconds since the Unix epoch minus 2^63, so that every `UInt64`
/// fits and compares as it does unsigned (0 is `Int64.min`, 2^63 is 0, `UInt64.max` is `Int64.max`).
enum StoredTime {
    static func key(_ nanos: UInt64) -> Int64 { Int64(bitPattern: nanos ^ (1 << 63)) }
    static func nanos(_ key: Int64) -> UInt64 { UInt64(bitPattern: key) ^ (1 << 63) }
}

/// Trace ids as the `bytea` column holds them: 16 bytes, big-endian, so that byte order is `TraceID` order.
enum StoredTraceID {
    static func buffer(_ id: TraceID) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(16)
        buffer.writeInteger(id.high, endianness: .big)
        buffer.writeInteger(id.low, endianness: .big)
        return buffer
    }

    static func traceID(_ buffer: ByteBuffer) -> TraceID? {
        guard buffer.readableBytes == 16,
            let high = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: UInt64.self),
            let low = buffer.getInteger(at: buffer.readerIndex + 8, endianness: .big, as: UInt64.self)
        else { return nil }
        return TraceID(high: high, low: low)
    }
}
