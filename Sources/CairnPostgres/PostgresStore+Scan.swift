public import CairnModel
public import CairnStore
import CairnOTLP
import Foundation
import Logging
import PostgresNIO
import Synchronization

extension PostgresStore {
    /// Every span that starts in the window (and belongs to one of the services, if given), in one snapshot:
    /// `start_ns` in the window (from `spans_by_start`, or a scan of the partitions the window covers), and the
    /// services as a condition on the `service` column. The server sends the spans in buckets of about a thousand,
    /// one row each (see `ScanStatement.reduce`), and each payload is decoded by
    /// `OTLPProtobuf.decodeSpan(payload:resource:scope:selection:)`, which decodes only the attributes, events and
    /// links the scan asks for. `update` runs on the connection's event loop, span by span, as the rows arrive.
    public func reduceSpans<Result: Sendable>(
        _ scan: SpanScan, into initial: Result, _ update: @escaping @Sendable (inout Result, Span) throws -> Void
    ) async throws -> Result {
        guard let statement = ScanStatement(scan, grouping: configuration.scanGrouping) else { return initial }
        return try await readScan {
            try await readSnapshot("scanning spans") { connection, decoder in
                try await statement.reduce(scan.window, on: connection, decoder: decoder, logger: logger,
                                           into: initial, update)
            }
        }
    }

    /// The window cut into up to `scanParts` parts of equal length (between the first and last start time it holds),
    /// each read at once on a connection of its own into a partial result, all in one snapshot: the first connection
    /// exports its snapshot (`pg_export_snapshot()`), and the others take it (`SET TRANSACTION SNAPSHOT`) before
    /// they read. Both the server's work and the decoding are then spread over the cores.
    ///
    /// The first connection stays leased until every part has ended, while the others wait for connections of
    /// their own, so that two such scans at once, each holding one connection and waiting for more, could leave
    /// none free: one split scan runs at a time, and a scan that starts meanwhile reads on one connection.
    public func reduceSpans<Result: Sendable>(
        _ scan: SpanScan, into initial: Result, _ update: @escaping @Sendable (inout Result, Span) throws -> Void,
        merge: @Sendable (inout Result, Result) throws -> Void
    ) async throws -> Result {
        guard let statement = ScanStatement(scan, grouping: configuration.scanGrouping) else { return initial }
        let parts = min(scanParts, configuration.maximumConnections)
        guard parts > 1, splitScanRunning.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
        else {
            return try await reduceSpans(scan, into: initial, update)
        }
        defer { splitScanRunning.store(false, ordering: .releasing) }
        return try await readScan {
            try await readSnapshot("scanning spans") { connection, decoder in
                let snapshot = try await exportSnapshot(connection)
                let windows = try await statement.split(scan.window, into: parts, on: connection, logger: logger)
                return try await withThrowingTaskGroup(of: (Int, Result).self) { group in
                    for (index, window) in windows.enumerated().dropFirst() {
                        group.addTask {
                            try await self.run("scanning spans") {
                                try await self.client.withConnection { other in
                                    try await other.inTransaction(Self.readOnlySnapshot, logger: self.logger) {
                                        try await other.query("SET TRANSACTION SNAPSHOT '\(unescaped: snapshot)'", logger: self.logger)
                                        let result = try await statement.reduce(window, on: other, decoder: decoder,
                                                                                logger: self.logger, into: initial, update)
                                        return (index, result)
                                    }
                                }
                            }
                        }
                    }
                    var partial = [Result?](repeating: nil, count: windows.count)
                    partial[0] = try await statement.reduce(windows[0], on: connection, decoder: decoder, logger: logger,
                                                            into: initial, update)
                    for try await (index, result) in group { partial[index] = result }
                    var result = partial[0]!
                    for part in partial[1...] { try merge(&result, part!) }
                    return result
                }
            }
        }
    }

    /// The id of the snapshot of `connection`'s transaction, for other connections to take while it lasts.
    private func exportSnapshot(_ connection: PostgresConnection) async throws -> String {
        var snapshot = ""
        for try await id in try await connection.query("SELECT pg_export_snapshot()", logger: logger).decode(String.self) {
            snapshot = id
        }
        // An id is hexadecimal digits and dashes ("00000003-0000001B-1"); it is written into a statement below.
        guard !snapshot.isEmpty, snapshot.allSatisfy({ $0 == "-" || ($0.isASCII && $0.isHexDigit) }) else {
            throw PostgresStoreError.failed(url: url, operation: "scanning spans",
                                            reason: "the server exported a snapshot id of an unknown form: \(snapshot)")
        }
        return snapshot
    }

    /// How many parts a split scan reads at once: 2 to 4, one per core, whether the server shares the cores or not.
    var scanParts: Int { min(4, max(2, ProcessInfo.processInfo.activeProcessorCount)) }

    /// Runs a scan, rethrowing an error of the caller's `update` as it was thrown.
    private func readScan<Value>(_ body: () async throws -> Value) async throws -> Value {
        do {
            return try await body()
        } catch let error as UpdateError {
            throw error.error
        }
    }
}

/// The statement of a scan: its conditions but the window, what to decode of each span, and how rows are grouped.
struct ScanStatement: Sendable {
    let services: [String]?
    let selection: OTLPProtobuf.SpanSelection
    let grouping: PostgresStore.ScanGrouping

    /// Nil when the scan can pass no span.
    init?(_ scan: SpanScan, grouping: PostgresStore.ScanGrouping) {
        guard !scan.window.isEmpty else { return nil }
        if let services = scan.services, services.isEmpty { return nil }
        services = scan.services?.sorted()
        selection = OTLPProtobuf.SpanSelection(attributeKeys: scan.attributeKeys, events: scan.includeEvents,
                                               links: scan.includeLinks)
        self.grouping = grouping
    }

    /// Reduces the spans that start in `window` and match, as read on `connection` (in its transaction).
    ///
    /// The server sends the spans grouped (see `PostgresStore.ScanGrouping`): the window is cut into buckets of
    /// about `grouping.bucketSpans` spans by the planner's estimate, and each bucket comes as one row whose
    /// `payloads` are its spans back to back. A bucket that holds more than `grouping.bucketLimit` spans, and the
    /// spans larger than `grouping.largePayload` bytes, are read afterwards one row per span.
    ///
    /// Rows are decoded and reduced on the connection's event loop as they arrive, through PostgresNIO's callback
    /// API (its row sequence hands each row to another thread through a buffer). JIT is off for the statements:
    /// the planner's estimate for a long window would compile them, at a cost of about 100 ms.
    func reduce<Result: Sendable>(
        _ window: Range<UInt64>, on connection: PostgresConnection, decoder: SpanRowDecoder, logger: Logger,
        into initial: Result, _ update: @escaping @Sendable (inout Result, Span) throws -> Void
    ) async throws -> Result {
        try await connection.query("SET LOCAL jit = off", logger: logger)
        let reduction = Reduction(initial)
        let keys = StoredTime.key(window.lowerBound)..<StoredTime.key(window.upperBound)
        let bounds = try await buckets(keys, on: connection, logger: logger)
        if bounds.count > 1 {
            let query = bucketQuery(bounds)
            try await stream(query, on: connection, reduction, logger: logger) { [selection, grouping] row in
                var cells = row.makeIterator()
                guard let low = cells.next().flatMap(SpanRowDecoder.int64),
                    let high = cells.next().flatMap(SpanRowDecoder.int64),
                    let count = cells.next().flatMap(SpanRowDecoder.int64),
                    let large = cells.next().flatMap(SpanRowDecoder.int64), let payloads = cells.next()
                else {
                    throw PostgresStoreError.damaged(url: decoder.url, problem: "a bucket of spans lacks a column")
                }
                if count > grouping.bucketLimit {
                    reduction.rowReads.append((low..<high, largeOnly: false))
                    return
                }
                if large > 0 { reduction.rowReads.append((low..<high, largeOnly: true)) }
                guard let bytes = payloads.bytes else { return }
                try decoder.spans(in: bytes, selection: selection) { span in
                    if reduction.cancelled.load(ordering: .relaxed) { throw CancellationError() }
                    try reduction.update(span, update)
                }
            }
        }
        for (keys, largeOnly) in reduction.rowReads {
            try await stream(rowQuery(keys, largeOnly: largeOnly), on: connection, reduction, logger: logger) {
                [selection] row in
                let span = try decoder.span(row, selection: selection)
                try reduction.update(span, update)
            }
        }
        return reduction.result
    }

    /// Runs `query`, passing each row to `body` on the connection's event loop.
    ///
    /// The callback API does not see the task's cancellation: a flag does, checked row by row, and a row that finds
    /// it set ends the query with `CancellationError`. PostgresNIO cancels the query when `body` throws, and fails
    /// it with the cancellation rather than with what was thrown, so the reduction keeps the error.
    private func stream<Result>(
        _ query: PostgresQuery, on connection: PostgresConnection, _ reduction: Reduction<Result>, logger: Logger,
        _ body: @escaping @Sendable (PostgresRow) throws -> Void
    ) async throws {
        do {
            try await withTaskCancellationHandler {
                _ = try await connection.query(query, logger: logger) { row in
                    do {
                        if reduction.cancelled.load(ordering: .relaxed) { throw CancellationError() }
                        try body(row)
                    } catch {
                        reduction.error = error
                        throw error
                    }
                }.get()
            } onCancel: {
                reduction.cancelled.store(true, ordering: .relaxed)
            }
        } catch {
            throw reduction.error ?? error
        }
    }

    /// The bounds of the buckets that cover the spans of `keys` (start times as stored): from the first start time
    /// to just after the last, cut into equal lengths, as many as the planner's estimate of the spans divided by
    /// `grouping.bucketSpans` (at least 1, at most `grouping.maximumBuckets`). Empty when the window holds no span.
    private func buckets(_ keys: Range<Int64>, on connection: PostgresConnection, logger: Logger) async throws -> [Int64] {
        guard let (first, last) = try await stretch(keys, on: connection, logger: logger) else { return [] }
        var binds = PostgresBindings()
        let conditions = self.conditions(keys, &binds)
        var estimate = 0.0
        for try await plan in try await connection.query(
            PostgresQuery(unsafeSQL: "EXPLAIN (FORMAT JSON) SELECT 1 FROM spans WHERE \(conditions)", binds: binds),
            logger: logger
        ).decode(String.self) {
            estimate = Self.estimatedRows(plan) ?? 0
        }
        // last < Int64.max: a window's upper bound is exclusive.
        let width = UInt64(bitPattern: last &- first) + 1
        let wanted = min(Double(grouping.maximumBuckets), (estimate / Double(grouping.bucketSpans)).rounded(.up))
        let count = UInt64(max(1, min(Double(width), wanted)))
        return (0...count).map { index in
            let offset = count.dividingFullWidth(width.multipliedFullWidth(by: index)).quotient
            return Int64(bitPattern: UInt64(bitPattern: first) &+ offset)
        }
    }

    /// The first and last start times (as stored) of the spans of `keys` that the scan passes: two probes of an
    /// index. Nil when there is none.
    private func stretch(
        _ keys: Range<Int64>, on connection: PostgresConnection, logger: Logger
    ) async throws -> (first: Int64, last: Int64)? {
        var binds = PostgresBindings()
        let sql = "SELECT min(start_ns), max(start_ns) FROM spans WHERE " + conditions(keys, &binds)
        var stretch: (Int64, Int64)?
        for try await (first, last) in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
            .decode((Int64?, Int64?).self)
        {
            if let first, let last { stretch = (first, last) }
        }
        return stretch
    }

    /// The rows that the top of a plan in `EXPLAIN (FORMAT JSON)` is estimated to return.
    static func estimatedRows(_ plan: String) -> Double? {
        guard let json = try? JSONSerialization.jsonObject(with: Data(plan.utf8)) as? [[String: Any]],
            let top = json.first?["Plan"] as? [String: Any]
        else { return nil }
        return (top["Plan Rows"] as? NSNumber)?.doubleValue
    }

    /// One row per bucket of `bounds` that holds spans: its bounds, its number of spans (counted up to
    /// `bucketLimit + 1`), how many of them are larger than `largePayload` bytes, and the others, each as
    /// `resource_id`, `scope_id` (8 bytes each), the payload's length (4 bytes), all big-endian, then the payload.
    private func bucketQuery(_ bounds: [Int64]) -> PostgresQuery {
        var binds = PostgresBindings()
        binds.append(Array(bounds.dropLast()))
        binds.append(Array(bounds.dropFirst()))
        binds.append(Int32(grouping.largePayload))
        binds.append(Int64(grouping.bucketLimit + 1))
        var conditions = "start_ns >= b.low AND start_ns < b.high"
        if let services {
            binds.append(services)
            conditions += " AND service = ANY($5::text[])"
        }
        return PostgresQuery(unsafeSQL: """
            SELECT b.low, b.high, s.count, s.large, s.payloads
            FROM unnest($1::bigint[], $2::bigint[]) AS b(low, high),
            LATERAL (
                SELECT count(*) AS count, count(*) FILTER (WHERE length(payload) > $3) AS large,
                    string_agg(int8send(resource_id) || int8send(scope_id) || int4send(length(payload)) || payload, ''::bytea)
                        FILTER (WHERE length(payload) <= $3) AS payloads
                FROM (SELECT resource_id, scope_id, payload FROM spans WHERE \(conditions) LIMIT $4) AS t
            ) AS s
            WHERE s.count > 0
            """, binds: binds)
    }

    /// One row per span of `keys` (larger than `largePayload` bytes only, if `largeOnly`): `resource_id, scope_id,
    /// payload`.
    private func rowQuery(_ keys: Range<Int64>, largeOnly: Bool) -> PostgresQuery {
        var binds = PostgresBindings()
        var sql = "SELECT resource_id, scope_id, payload FROM spans WHERE " + conditions(keys, &binds)
        if largeOnly {
            binds.append(Int32(grouping.largePayload))
            sql += " AND length(payload) > $\(binds.count)"
        }
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }

    /// The conditions of the scan on the spans of `keys`, with their values appended to `binds`.
    private func conditions(_ keys: Range<Int64>, _ binds: inout PostgresBindings) -> String {
        binds.append(keys.lowerBound)
        binds.append(keys.upperBound)
        var sql = "start_ns >= $\(binds.count - 1) AND start_ns < $\(binds.count)"
        if let services {
            binds.append(services)
            sql += " AND service = ANY($\(binds.count)::text[])"
        }
        return sql
    }

    /// `window` cut into up to `count` consecutive windows, which together cover it: the stretch from its first to
    /// its last stored start time cut into equal lengths. One window when the stretch is empty or shorter than
    /// `count` nanoseconds.
    func split(
        _ window: Range<UInt64>, into count: Int, on connection: PostgresConnection, logger: Logger
    ) async throws -> [Range<UInt64>] {
        let keys = StoredTime.key(window.lowerBound)..<StoredTime.key(window.upperBound)
        guard let stretch = try await stretch(keys, on: connection, logger: logger) else { return [window] }
        let (first, last) = (StoredTime.nanos(stretch.first), StoredTime.nanos(stretch.last))
        let step = (last - first) / UInt64(count)
        guard step > 0 else { return [window] }
        var bounds = [window.lowerBound]
        for index in 1..<count { bounds.append(first + step * UInt64(index)) }
        bounds.append(window.upperBound)
        return zip(bounds, bounds.dropFirst()).map { $0..<$1 }
    }
}

/// A result being reduced on a connection's event loop, which alone touches it until the query has ended, the error
/// that ended the reduction, if any, whether the scan was cancelled, and the buckets to read one row per span.
private final class Reduction<Result>: @unchecked Sendable {
    var result: Result
    var error: (any Error)?
    /// Set when the task that runs the scan is cancelled.
    let cancelled = Atomic<Bool>(false)
    /// Buckets (start times as stored) whose spans, or whose large spans only, are read one row per span.
    var rowReads: [(keys: Range<Int64>, largeOnly: Bool)] = []
    init(_ result: Result) { self.result = result }

    /// Reduces `span` into the result; an error thrown by `update` is marked as the caller's.
    func update(_ span: Span, _ update: (inout Result, Span) throws -> Void) throws {
        do {
            try update(&result, span)
        } catch {
            throw UpdateError(error: error)
        }
    }
}

/// An error thrown by the caller's `update`, carried out of the store's error mapping to be rethrown as it is.
struct UpdateError: Error {
    var error: any Error
}
