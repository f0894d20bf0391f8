public import CairnModel
public import CairnStore
import CairnOTLP
import Foundation
import Logging
import PostgresNIO
import Synchronization

extension PostgresStore {
    /// Every span that starts in the window (and belongs to one of the services, if given), from one statement in one
    /// snapshot: `start_ns` in the window (from `spans_by_start`, or a scan of the partitions the window covers), and
    /// the services as a condition on the `service` column. Rows stream from the server as they are consumed, and
    /// each payload is decoded by `OTLPProtobuf.decodeSpan(payload:resource:scope:selection:)`, which decodes only
    /// the attributes, events and links the scan asks for. `update` runs on the connection's event loop, span by span, as
    /// the rows arrive (see `ScanStatement.reduce`).
    public func reduceSpans<Result: Sendable>(
        _ scan: SpanScan, into initial: Result, _ update: @escaping @Sendable (inout Result, Span) throws -> Void
    ) async throws -> Result {
        guard let statement = ScanStatement(scan) else { return initial }
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
        guard let statement = ScanStatement(scan) else { return initial }
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

/// The statement of a scan: its conditions but the window, and what to decode of each span.
private struct ScanStatement: Sendable {
    let services: [String]?
    let selection: OTLPProtobuf.SpanSelection

    /// Nil when the scan can pass no span.
    init?(_ scan: SpanScan) {
        guard !scan.window.isEmpty else { return nil }
        if let services = scan.services, services.isEmpty { return nil }
        services = scan.services?.sorted()
        selection = OTLPProtobuf.SpanSelection(attributeKeys: scan.attributeKeys, events: scan.includeEvents,
                                               links: scan.includeLinks)
    }

    /// Reduces the spans that start in `window` and match, as read on `connection` (in its transaction).
    ///
    /// The rows are decoded and reduced on the connection's event loop as they arrive, through PostgresNIO's
    /// callback API: its row sequence hands each row to another thread through a buffer, which cost more than
    /// decoding the span. (The event loop reads no further until a chunk of rows is reduced, so the server waits as
    /// it would for a slow reader.) JIT is off for the statement: the plan is an index range scan, which the
    /// planner's estimate for a long window would have compiled, at a cost of about 100 ms.
    func reduce<Result: Sendable>(
        _ window: Range<UInt64>, on connection: PostgresConnection, decoder: SpanRowDecoder, logger: Logger,
        into initial: Result, _ update: @escaping @Sendable (inout Result, Span) throws -> Void
    ) async throws -> Result {
        var binds = PostgresBindings()
        binds.append(StoredTime.key(window.lowerBound))
        binds.append(StoredTime.key(window.upperBound))
        var sql = "SELECT resource_id, scope_id, payload FROM spans WHERE start_ns >= $1 AND start_ns < $2"
        if let services {
            binds.append(services)
            sql += " AND service = ANY($3::text[])"
        }
        try await connection.query("SET LOCAL jit = off", logger: logger)
        let reduction = Reduction(initial)
        do {
            // The callback API does not see the task's cancellation: a flag does, checked row by row, and a row that
            // finds it set ends the query with `CancellationError`.
            try await withTaskCancellationHandler {
                _ = try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger) {
                    [selection] row in
                    do {
                        if reduction.cancelled.load(ordering: .relaxed) { throw CancellationError() }
                        let span = try decoder.span(row, selection: selection)
                        do {
                            try update(&reduction.result, span)
                        } catch {
                            throw UpdateError(error: error)
                        }
                    } catch {
                        reduction.error = error
                        throw error
                    }
                }.get()
            } onCancel: {
                reduction.cancelled.store(true, ordering: .relaxed)
            }
        } catch {
            // PostgresNIO cancels the query when a row's closure throws, and fails it with the cancellation rather
            // than with what was thrown.
            throw reduction.error ?? error
        }
        return reduction.result
    }

    /// `window` cut into up to `count` consecutive windows, which together cover it: the stretch from its first to
    /// its last stored start time (two probes of `spans_by_start`) cut into equal lengths. One window when the
    /// stretch is empty or shorter than `count` nanoseconds.
    func split(
        _ window: Range<UInt64>, into count: Int, on connection: PostgresConnection, logger: Logger
    ) async throws -> [Range<UInt64>] {
        let rows = try await connection.query(
            """
            SELECT min(start_ns), max(start_ns) FROM spans
            WHERE start_ns >= \(StoredTime.key(window.lowerBound)) AND start_ns < \(StoredTime.key(window.upperBound))
            """, logger: logger)
        var first: UInt64?
        var last: UInt64?
        for try await (low, high) in rows.decode((Int64?, Int64?).self) {
            first = low.map(StoredTime.nanos)
            last = high.map(StoredTime.nanos)
        }
        guard let first, let last else { return [window] }
        let step = (last - first) / UInt64(count)
        guard step > 0 else { return [window] }
        var bounds = [window.lowerBound]
        for index in 1..<count { bounds.append(first + step * UInt64(index)) }
        bounds.append(window.upperBound)
        return zip(bounds, bounds.dropFirst()).map { $0..<$1 }
    }
}

/// A result being reduced on a connection's event loop, which alone touches it until the query has ended, the error
/// that ended the reduction, if any, and whether the scan was cancelled.
private final class Reduction<Result>: @unchecked Sendable {
    var result: Result
    var error: (any Error)?
    /// Set when the task that runs the scan is cancelled.
    let cancelled = Atomic<Bool>(false)
    init(_ result: Result) { self.result = result }
}

/// An error thrown by the caller's `update`, carried out of the store's error mapping to be rethrown as it is.
struct UpdateError: Error {
    var error: any Error
}
