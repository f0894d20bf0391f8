public import CairnModel
public import CairnStore
import CairnOTLP
import PostgresNIO
import Synchronization

extension PostgresStore {
    /// Every span that starts in the window (and belongs to one of the services, if given), from one statement in one
    /// snapshot: `start_ns` in the window (from `spans_by_start`, or a scan of the partitions the window covers), and
    /// the services as a condition on the `service` column. Rows stream from the server as they are consumed, and
    /// each payload is decoded by `OTLPProtobuf.decodeSpan(payload:resource:scope:selection:)`, which decodes only
    /// the attributes, events and links the scan asks for. `update` runs on the task that called, span by span.
    public func reduceSpans<Result: Sendable>(
        _ scan: SpanScan, into initial: Result, _ update: @Sendable (inout Result, Span) throws -> Void
    ) async throws -> Result {
        guard !scan.window.isEmpty else { return initial }
        if let services = scan.services, services.isEmpty { return initial }
        let selection = OTLPProtobuf.SpanSelection(attributeKeys: scan.attributeKeys, events: scan.includeEvents,
                                                   links: scan.includeLinks)
        var binds = PostgresBindings()
        binds.append(StoredTime.key(scan.window.lowerBound))
        binds.append(StoredTime.key(scan.window.upperBound))
        var sql = "SELECT resource_id, scope_id, payload FROM spans WHERE start_ns >= $1 AND start_ns < $2"
        if let services = scan.services {
            binds.append(services.sorted())
            sql += " AND service = ANY($3::text[])"
        }
        let query = PostgresQuery(unsafeSQL: sql, binds: binds)
        do {
            return try await readSnapshot("scanning spans") { connection in
                var result = initial
                let rows = try await connection.query(query, logger: logger)
                for try await (resourceID, scopeID, payload) in rows.decode((Int64, Int64, ByteBuffer).self) {
                    let (resource, scope) = try resourceAndScope(resourceID, scopeID)
                    let span = try payload.withUnsafeReadableBytes { bytes in
                        do {
                            return try OTLPProtobuf.decodeSpan(payload: bytes, resource: resource, scope: scope,
                                                               selection: selection)
                        } catch {
                            throw PostgresStoreError.damaged(url: url, problem: "a stored span does not decode: \(error)")
                        }
                    }
                    do {
                        try update(&result, span)
                    } catch {
                        throw UpdateError(error: error)
                    }
                }
                return result
            }
        } catch let error as UpdateError {
            throw error.error
        }
    }
}

/// An error thrown by the caller's `update`, carried out of the store's error mapping to be rethrown as it is.
struct UpdateError: Error {
    var error: any Error
}
