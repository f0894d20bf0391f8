public import CairnModel
public import CairnStore
import CairnOTLP
import PostgresNIO
import Synchronization

/// Resources and scopes decoded by the readers, by row id; rows are never changed once written.
struct ReaderCache: Sendable {
    var resources: [Int64: Resource] = [:]
    var scopes: [Int64: InstrumentationScope] = [:]
}

extension PostgresStore {
    /// Every stored span of the trace: one probe of `spans_by_trace` in each partition.
    public func trace(_ id: TraceID) async throws -> Trace? {
        let spans: [Span] = try await readSnapshot("reading a trace") { connection in
            var spans: [Span] = []
            let rows = try await connection.query(
                "SELECT resource_id, scope_id, payload FROM spans WHERE trace_id = \(StoredTraceID.buffer(id))",
                logger: logger)
            for try await (resourceID, scopeID, payload) in rows.decode((Int64, Int64, ByteBuffer).self) {
                let (resource, scope) = try resourceAndScope(resourceID, scopeID)
                spans.append(try decode(payload) { try OTLPProtobuf.decodeSpan(payload: $0, resource: resource, scope: scope) })
            }
            return spans
        }
        return spans.isEmpty ? nil : Trace(traceID: id, spans: spans)
    }

    /// The services that have spans in the store, sorted.
    public func services() async throws -> [String] {
        try await run("listing services") {
            var services: [String] = []
            for try await service in try await client.query("SELECT DISTINCT service FROM operations", logger: logger)
                .decode(String.self)
            {
                services.append(service)
            }
            return services.sorted()
        }
    }

    /// The operations of a service, sorted by name, then kind.
    public func operations(service: String) async throws -> [CairnStore.Operation] {
        try await run("listing operations") {
            var operations: [CairnStore.Operation] = []
            for try await (name, kind) in try await client.query(
                "SELECT name, kind FROM operations WHERE service = \(service)", logger: logger
            ).decode((String, Int32).self) {
                operations.append(CairnStore.Operation(name: name, kind: SpanKind(rawValue: kind)))
            }
            return operations.sorted()
        }
    }

    /// Runs `body` in a read-only transaction at `REPEATABLE READ`, so that everything it reads is one snapshot,
    /// after bringing the reader cache up to that snapshot: every resource and scope that a span visible there can
    /// refer to is then in the cache.
    func readSnapshot<Value: Sendable>(
        _ operation: String, _ body: (PostgresConnection) async throws -> Value
    ) async throws -> Value {
        try await run(operation) {
            try await client.withConnection { connection in
                try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
                do {
                    try await refreshReaderCache(connection)
                    let value = try await body(connection)
                    try await connection.query("COMMIT", logger: logger)
                    return value
                } catch {
                    _ = try? await connection.query("ROLLBACK", logger: logger)
                    throw error
                }
            }
        }
    }

    /// Decodes the resources and scopes that the cache lacks.
    private func refreshReaderCache(_ connection: PostgresConnection) async throws {
        let (knownResources, knownScopes) = readerCache.withLock { (Array($0.resources.keys), Array($0.scopes.keys)) }
        var resources: [Int64: Resource] = [:]
        for try await (id, payload, schemaURL) in try await connection.query(
            "SELECT id, payload, schema_url FROM resources WHERE id <> ALL(\(knownResources)::bigint[])", logger: logger
        ).decode((Int64, ByteBuffer, String).self) {
            resources[id] = try decode(payload) { try OTLPProtobuf.decodeResource(payload: $0, schemaURL: schemaURL) }
        }
        var scopes: [Int64: InstrumentationScope] = [:]
        for try await (id, payload, schemaURL) in try await connection.query(
            "SELECT id, payload, schema_url FROM scopes WHERE id <> ALL(\(knownScopes)::bigint[])", logger: logger
        ).decode((Int64, ByteBuffer, String).self) {
            scopes[id] = try decode(payload) { try OTLPProtobuf.decodeScope(payload: $0, schemaURL: schemaURL) }
        }
        guard !resources.isEmpty || !scopes.isEmpty else { return }
        readerCache.withLock { cache in
            cache.resources.merge(resources) { old, _ in old }
            cache.scopes.merge(scopes) { old, _ in old }
        }
    }

    /// The resource and scope of a span row, from the reader cache (which `readSnapshot` filled).
    func resourceAndScope(_ resourceID: Int64, _ scopeID: Int64) throws -> (Resource, InstrumentationScope) {
        let (resource, scope) = readerCache.withLock { ($0.resources[resourceID], $0.scopes[scopeID]) }
        guard let resource else {
            throw PostgresStoreError.damaged(url: url, problem: "a span refers to resource \(resourceID), which is missing")
        }
        guard let scope else {
            throw PostgresStoreError.damaged(url: url, problem: "a span refers to scope \(scopeID), which is missing")
        }
        return (resource, scope)
    }

    /// Decodes a stored message, turning a decoding error into `PostgresStoreError.damaged`.
    func decode<Value>(_ payload: ByteBuffer, _ body: (UnsafeBufferPointer<UInt8>) throws -> Value) throws -> Value {
        do {
            return try payload.withUnsafeReadableBytes { try body($0.assumingMemoryBound(to: UInt8.self)) }
        } catch {
            throw PostgresStoreError.damaged(url: url, problem: "a stored message does not decode: \(error)")
        }
    }
}
