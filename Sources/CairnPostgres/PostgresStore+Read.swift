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

/// Decodes span rows into spans, with the resources and scopes of a copy of the reader cache (so that no row takes
/// the cache's lock).
///
/// A row's columns are read from its cells directly: PostgresNIO's generic `decode` of a tuple of columns costs
/// more per row than decoding the span (type metadata looked up for every row), which matters in a scan of millions.
struct SpanRowDecoder: Sendable {
    let url: String
    let cache: ReaderCache

    /// The span of a row whose first columns are `resource_id, scope_id, payload`, with what `selection` asks for.
    func span(_ row: PostgresRow, selection: OTLPProtobuf.SpanSelection) throws -> Span {
        var cells = row.makeIterator()
        guard let resourceID = cells.next().flatMap(Self.int64), let scopeID = cells.next().flatMap(Self.int64),
            let payload = cells.next()?.bytes
        else {
            throw PostgresStoreError.damaged(url: url, problem: "a span row lacks its resource, scope or payload")
        }
        return try span(resourceID: resourceID, scopeID: scopeID, payload: payload, selection: selection)
    }

    /// The span stored as `payload`, of the resource and scope with these row ids.
    func span(
        resourceID: Int64, scopeID: Int64, payload: ByteBuffer, selection: OTLPProtobuf.SpanSelection
    ) throws -> Span {
        try payload.withUnsafeReadableBytes {
            try span(resourceID: resourceID, scopeID: scopeID, payload: $0, selection: selection)
        }
    }

    /// The span stored as `payload`, of the resource and scope with these row ids.
    func span(
        resourceID: Int64, scopeID: Int64, payload: UnsafeRawBufferPointer, selection: OTLPProtobuf.SpanSelection
    ) throws -> Span {
        guard let resource = cache.resources[resourceID] else {
            throw PostgresStoreError.damaged(url: url, problem: "a span refers to resource \(resourceID), which is missing")
        }
        guard let scope = cache.scopes[scopeID] else {
            throw PostgresStoreError.damaged(url: url, problem: "a span refers to scope \(scopeID), which is missing")
        }
        return try PostgresStore.decoding(url: url) {
            try OTLPProtobuf.decodeSpan(payload: payload, resource: resource, scope: scope, selection: selection)
        }
    }

    /// Passes to `body` each span of a scan's bucket: `payloads` holds them back to back, each as its resource id,
    /// its scope id (8 bytes each), the length of its payload (4 bytes), all big-endian, then its payload.
    func spans(
        in payloads: ByteBuffer, selection: OTLPProtobuf.SpanSelection, _ body: (Span) throws -> Void
    ) throws {
        try payloads.withUnsafeReadableBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                guard bytes.count - offset >= 20 else { throw truncatedBucket }
                let resourceID = Int64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int64.self))
                let scopeID = Int64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset + 8, as: Int64.self))
                let length = Int(UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset + 16, as: UInt32.self)))
                offset += 20
                guard bytes.count - offset >= length else { throw truncatedBucket }
                let payload = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length])
                try body(try span(resourceID: resourceID, scopeID: scopeID, payload: payload, selection: selection))
                offset += length
            }
        }
    }

    private var truncatedBucket: PostgresStoreError {
        .damaged(url: url, problem: "a bucket of spans ends inside a span")
    }

    /// A `bigint` cell in the binary format PostgresNIO asks for: 8 bytes, big-endian.
    static func int64(_ cell: PostgresCell) -> Int64? {
        guard cell.dataType == .int8, cell.format == .binary, let bytes = cell.bytes, bytes.readableBytes == 8 else {
            return nil
        }
        return bytes.getInteger(at: bytes.readerIndex, as: Int64.self)
    }
}

extension PostgresStore {
    /// Every stored span of the trace: one probe of `spans_by_trace` in each partition.
    public func trace(_ id: TraceID) async throws -> Trace? {
        let spans: [Span] = try await readSnapshot("reading a trace") { connection, decoder in
            var spans: [Span] = []
            let rows = try await connection.query(
                "SELECT resource_id, scope_id, payload FROM spans WHERE trace_id = \(StoredTraceID.buffer(id))",
                logger: logger)
            for try await row in rows { spans.append(try decoder.span(row, selection: .everything)) }
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
    /// refer to is then in the cache, and in the decoder that `body` gets.
    func readSnapshot<Value: Sendable>(
        _ operation: String, _ body: (PostgresConnection, SpanRowDecoder) async throws -> Value
    ) async throws -> Value {
        try await run(operation) {
            try await client.withConnection { connection in
                try await connection.inTransaction(Self.readOnlySnapshot, logger: logger) {
                    try await body(connection, try await refreshReaderCache(connection))
                }
            }
        }
    }

    /// How readers begin their transactions: one snapshot for everything they read.
    static let readOnlySnapshot: PostgresQuery = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"

    /// Decodes the resources and scopes that the cache lacks, and returns a decoder of span rows with the cache as it
    /// then is.
    private func refreshReaderCache(_ connection: PostgresConnection) async throws -> SpanRowDecoder {
        let (knownResources, knownScopes) = readerCache.withLock { (Array($0.resources.keys), Array($0.scopes.keys)) }
        var resources: [Int64: Resource] = [:]
        for try await (id, payload, schemaURL) in try await connection.query(
            "SELECT id, payload, schema_url FROM resources WHERE id <> ALL(\(knownResources)::bigint[])", logger: logger
        ).decode((Int64, ByteBuffer, String).self) {
            resources[id] = try Self.decode(payload, url: url) { try OTLPProtobuf.decodeResource(payload: $0, schemaURL: schemaURL) }
        }
        var scopes: [Int64: InstrumentationScope] = [:]
        for try await (id, payload, schemaURL) in try await connection.query(
            "SELECT id, payload, schema_url FROM scopes WHERE id <> ALL(\(knownScopes)::bigint[])", logger: logger
        ).decode((Int64, ByteBuffer, String).self) {
            scopes[id] = try Self.decode(payload, url: url) { try OTLPProtobuf.decodeScope(payload: $0, schemaURL: schemaURL) }
        }
        let cache = readerCache.withLock { cache in
            cache.resources.merge(resources) { old, _ in old }
            cache.scopes.merge(scopes) { old, _ in old }
            return cache
        }
        return SpanRowDecoder(url: url, cache: cache)
    }

    /// Decodes a stored message, turning a decoding error into `PostgresStoreError.damaged`.
    static func decode<Value>(
        _ payload: ByteBuffer, url: String, _ body: (UnsafeBufferPointer<UInt8>) throws -> Value
    ) throws -> Value {
        try decoding(url: url) {
            try payload.withUnsafeReadableBytes { try body($0.assumingMemoryBound(to: UInt8.self)) }
        }
    }

    /// Runs `body`, which decodes a stored message, turning its error into `PostgresStoreError.damaged`.
    static func decoding<Value>(url: String, _ body: () throws -> Value) throws -> Value {
        do {
            return try body()
        } catch {
            throw PostgresStoreError.damaged(url: url, problem: "a stored message does not decode: \(error)")
        }
    }
}
