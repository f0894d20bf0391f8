public import CairnModel
import CairnStore
import PostgresNIO
import Synchronization

/// What the writer remembers between writes so that a known resource, scope or operation costs no SQL; entries are
/// added once their rows are committed.
struct WriterCache: Sendable {
    /// An encoded resource or scope, as its unique index identifies it.
    struct PayloadKey: Hashable, Sendable {
        var payload: [UInt8]
        var schemaURL: String
    }

    var resources: [PayloadKey: Int64] = [:]
    var scopes: [PayloadKey: Int64] = [:]
    var operations: Set<OperationKey> = []
}

/// An operation of a service as stored: service name, span name and kind.
struct OperationKey: Hashable, Sendable, Comparable {
    var service: String
    var name: String
    var kind: Int32

    static func < (a: OperationKey, b: OperationKey) -> Bool {
        (a.service, a.name, a.kind) < (b.service, b.name, b.kind)
    }
}

extension PostgresStore {
    /// Returns when the server would take a write now: it is reachable, not a read-only standby, not in read-only
    /// mode, and the user may insert into `spans`. Throws `PostgresStoreError.notWritable` or `.failed` otherwise.
    public func checkWritable() async throws {
        let (standby, readOnly, mayInsert) = try await run("checking that the store is writable") {
            var answer = (false, "off", true)
            for try await row in try await client.query("""
                SELECT pg_is_in_recovery(), current_setting('transaction_read_only'),
                       has_table_privilege('spans', 'INSERT')
                """, logger: logger).decode((Bool, String, Bool).self)
            {
                answer = row
            }
            return answer
        }
        if standby { throw PostgresStoreError.notWritable(url: url, reason: "the server is a read-only standby") }
        if readOnly == "on" { throw PostgresStoreError.notWritable(url: url, reason: "transactions are read-only") }
        if !mayInsert { throw PostgresStoreError.notWritable(url: url, reason: "the user may not insert into spans") }
    }

    /// Writes run at once, each on a connection of its own, up to 4: PostgreSQL takes more spans per second from
    /// several transactions than from one (the collector commits that many group commits concurrently).
    public var concurrentWrites: Int { min(4, max(1, configuration.maximumConnections / 2)) }

    /// Stores the spans of all the batches in one transaction of one multi-row insert (the columns as arrays,
    /// unnested by the server); when it returns, the transaction has committed. A write of no spans does nothing.
    ///
    /// Before the transaction, in statements of their own, it stores the resources and scopes that this store has
    /// not met yet (a row that a failed write leaves behind is harmless: it is stored once and found again) and
    /// creates the day partitions the spans need (`ensurePartitions(for:)`). New operations are inserted in the
    /// transaction, in sorted order, so that collectors writing the same new operations at once wait for each other
    /// rather than deadlock. Calls may run concurrently, each on a connection of its own.
    public func write(_ batches: [SpanBatch]) async throws {
        guard batches.contains(where: { !$0.records.isEmpty }) else { return }
        let count = batches.reduce(0) { $0 + $1.records.count }
        var traceIDs: [ByteBuffer] = []
        var starts: [Int64] = []
        var durations: [Int64] = []
        var services: [String] = []
        var names: [String] = []
        var kinds: [Int32] = []
        var statuses: [Int32] = []
        var resourceIDs: [Int64] = []
        var scopeIDs: [Int64] = []
        var payloads: [ByteBuffer] = []
        starts.reserveCapacity(count)
        durations.reserveCapacity(count)
        resourceIDs.reserveCapacity(count)
        scopeIDs.reserveCapacity(count)
        traceIDs.reserveCapacity(count)
        payloads.reserveCapacity(count)
        services.reserveCapacity(count)
        names.reserveCapacity(count)
        kinds.reserveCapacity(count)
        statuses.reserveCapacity(count)

        var days = Set<Int64>()
        var operations = Set<OperationKey>()
        for batch in batches where !batch.records.isEmpty {
            var batchResources = [Int64?](repeating: nil, count: batch.resources.count)
            var batchScopes = [Int64?](repeating: nil, count: batch.scopes.count)
            try batch.payloads.withUnsafeBytes { bytes in
                for record in batch.records {
                    let offset = Int(record.payloadOffset)
                    let length = Int(record.payloadLength)
                    guard offset >= 0, length >= 0, offset <= bytes.count - length else {
                        throw PostgresStoreError.invalidBatch("span \(record.spanID) lies outside the batch's payloads")
                    }
                    guard batch.resources.indices.contains(Int(record.resourceIndex)) else {
                        throw PostgresStoreError.invalidBatch(
                            "span \(record.spanID) refers to resource \(record.resourceIndex), which the batch lacks")
                    }
                    guard batch.scopes.indices.contains(Int(record.scopeIndex)) else {
                        throw PostgresStoreError.invalidBatch(
                            "span \(record.spanID) refers to scope \(record.scopeIndex), which the batch lacks")
                    }
                    let service = batch.resources[Int(record.resourceIndex)].serviceName
                    traceIDs.append(StoredTraceID.buffer(record.traceID))
                    starts.append(StoredTime.key(record.startTimeUnixNano))
                    durations.append(StoredTime.key(record.durationNanos))
                    services.append(service)
                    names.append(record.name)
                    kinds.append(record.kind.rawValue)
                    statuses.append(record.statusCode.rawValue)
                    payloads.append(ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length])))
                    days.insert(Int64(record.startTimeUnixNano / Self.nanosPerDay))
                    operations.insert(OperationKey(service: service, name: record.name, kind: record.kind.rawValue))
                }
            }
            // Ids of the resources and scopes the spans use, in the order of the records.
            for record in batch.records {
                let r = Int(record.resourceIndex)
                let s = Int(record.scopeIndex)
                if batchResources[r] == nil { batchResources[r] = try await resourceID(batch.resources[r]) }
                if batchScopes[s] == nil { batchScopes[s] = try await scopeID(batch.scopes[s]) }
                resourceIDs.append(batchResources[r]!)
                scopeIDs.append(batchScopes[s]!)
            }
        }
        try await ensurePartitions(for: days)

        let newOperations = writerCache.withLock { operations.subtracting($0.operations) }.sorted()
        try await run("writing spans") {
            try await client.withConnection { connection in
                try await connection.inTransaction(logger: logger) {
                    try await connection.query("""
                        INSERT INTO spans (trace_id, start_ns, duration_ns, service, name, kind, status, resource_id,
                                           scope_id, payload)
                        SELECT * FROM unnest(\(traceIDs)::bytea[], \(starts)::bigint[], \(durations)::bigint[],
                                             \(services)::text[], \(names)::text[], \(kinds)::integer[],
                                             \(statuses)::integer[], \(resourceIDs)::bigint[], \(scopeIDs)::bigint[],
                                             \(payloads)::bytea[])
                        """, logger: logger)
                    if !newOperations.isEmpty {
                        try await connection.query("""
                            INSERT INTO operations (service, name, kind)
                            SELECT * FROM unnest(\(newOperations.map(\.service))::text[],
                                                 \(newOperations.map(\.name))::text[],
                                                 \(newOperations.map(\.kind))::integer[]) AS o(service, name, kind)
                            ORDER BY service, name, kind
                            ON CONFLICT DO NOTHING
                            """, logger: logger)
                    }
                }
            }
        }
        if !newOperations.isEmpty {
            writerCache.withLock { $0.operations.formUnion(newOperations) }
        }
    }

    /// The id of a resource, inserting it when it is new.
    private func resourceID(_ resource: SpanBatch.EncodedResource) async throws -> Int64 {
        let key = WriterCache.PayloadKey(payload: resource.payload, schemaURL: resource.schemaURL)
        if let id = writerCache.withLock({ $0.resources[key] }) { return id }
        let payload = ByteBuffer(bytes: resource.payload)
        let id = try await payloadID("storing a resource") {
            """
            WITH added AS (
                INSERT INTO resources (payload, schema_url, service) VALUES (\(payload), \(resource.schemaURL),
                                                                             \(resource.serviceName))
                ON CONFLICT (sha256(payload), schema_url) DO NOTHING RETURNING id
            )
            SELECT id FROM added
            UNION ALL
            SELECT id FROM resources WHERE sha256(payload) = sha256(\(payload)) AND schema_url = \(resource.schemaURL)
            LIMIT 1
            """
        }
        writerCache.withLock { $0.resources[key] = id }
        return id
    }

    /// The id of a scope, inserting it when it is new.
    private func scopeID(_ scope: SpanBatch.EncodedScope) async throws -> Int64 {
        let key = WriterCache.PayloadKey(payload: scope.payload, schemaURL: scope.schemaURL)
        if let id = writerCache.withLock({ $0.scopes[key] }) { return id }
        let payload = ByteBuffer(bytes: scope.payload)
        let id = try await payloadID("storing a scope") {
            """
            WITH added AS (
                INSERT INTO scopes (payload, schema_url) VALUES (\(payload), \(scope.schemaURL))
                ON CONFLICT (sha256(payload), schema_url) DO NOTHING RETURNING id
            )
            SELECT id FROM added
            UNION ALL
            SELECT id FROM scopes WHERE sha256(payload) = sha256(\(payload)) AND schema_url = \(scope.schemaURL)
            LIMIT 1
            """
        }
        writerCache.withLock { $0.scopes[key] = id }
        return id
    }

    /// Runs an insert-or-select of one id. When another collector inserts the same row at once, the insert waits for
    /// it and does nothing, and the select's snapshot, taken before, does not see it: the next try does.
    private func payloadID(_ operation: String, _ query: () -> PostgresQuery) async throws -> Int64 {
        try await run(operation) {
            for _ in 0..<5 {
                for try await id in try await client.query(query(), logger: logger).decode(Int64.self) {
                    return id
                }
            }
            throw PostgresStoreError.failed(url: url, operation: operation, reason: "the row was neither inserted nor found")
        }
    }
}
