public import CairnModel
public import CairnStore
import CairnOTLP
import GRDB
import Synchronization

/// Resources and scopes decoded by the readers, by row id; rows are never changed once written.
struct ReaderCache: Sendable {
    var resources: [Int64: Resource] = [:]
    var scopes: [Int64: InstrumentationScope] = [:]
}

extension SQLiteStore {
    /// Every stored span of the trace, from its segments (one rowid range per write that carried the trace).
    public func trace(_ id: TraceID) async throws -> Trace? {
        let spans: [Span] = try await pool.read { db in
            let segments = try RawStatement(db, "SELECT first_span, span_count FROM trace_segments WHERE trace_id = ?")
            defer { segments.finish() }
            segments.bind(1, TraceIDBytes(id))
            var ranges: [ClosedRange<Int64>] = []
            while try segments.step() {
                let first = segments.int64(0)
                ranges.append(first...first + segments.int64(1) - 1)
            }
            guard !ranges.isEmpty else { return [] }

            let rows = try RawStatement(db, "SELECT resource_id, scope_id, payload FROM spans WHERE id BETWEEN ? AND ?")
            defer { rows.finish() }
            var spans: [Span] = []
            for range in ranges {
                rows.bind(1, range.lowerBound)
                rows.bind(2, range.upperBound)
                while try rows.step() {
                    let resource = try self.resource(rows.int64(0), db)
                    let scope = try self.scope(rows.int64(1), db)
                    spans.append(try OTLPProtobuf.decodeSpan(payload: rows.blob(2).assumingMemoryBound(to: UInt8.self),
                                                             resource: resource, scope: scope))
                }
                rows.reset()
            }
            return spans
        }
        return spans.isEmpty ? nil : Trace(traceID: id, spans: spans)
    }

    /// The ids of the traces that match the query, newest first by the start of their newest matching span; equal
    /// starts in trace id order. See `TraceSearch` for how the blocks are searched.
    public func findTraceIDs(_ query: TraceQuery) async throws -> [TraceID] {
        guard query.limit > 0 else { return [] }
        return try await pool.read { db in try TraceSearch(query: query, store: self, db: db).run() }
    }

    /// The services that have spans in the store, sorted.
    public func services() async throws -> [String] {
        try await pool.read { db in
            try String.fetchAll(db, sql: "SELECT DISTINCT service FROM operations")
        }.sorted()
    }

    /// The operations of a service, sorted by name, then kind.
    public func operations(service: String) async throws -> [CairnStore.Operation] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT name, kind FROM operations WHERE service = ?", arguments: [service]).map {
                CairnStore.Operation(name: $0[0], kind: SpanKind(rawValue: $0[1]))
            }
        }.sorted()
    }

    /// The resource of a row id, decoded once and then cached.
    func resource(_ id: Int64, _ db: Database) throws -> Resource {
        try cached(id, \.resources, table: "resources", db) { payload, schemaURL in
            try OTLPProtobuf.decodeResource(payload: payload, schemaURL: schemaURL)
        }
    }

    /// The scope of a row id, decoded once and then cached.
    func scope(_ id: Int64, _ db: Database) throws -> InstrumentationScope {
        try cached(id, \.scopes, table: "scopes", db) { payload, schemaURL in
            try OTLPProtobuf.decodeScope(payload: payload, schemaURL: schemaURL)
        }
    }

    /// The resource of a row id, decoded anew: a copy that shares no storage with the cache's, for a reader thread
    /// that should not contend for reference counts with the others.
    func privateResource(_ id: Int64, _ db: Database) throws -> Resource {
        try decodeRow(id, db, table: "resources") { try OTLPProtobuf.decodeResource(payload: $0, schemaURL: $1) }
    }

    /// The scope of a row id, decoded anew (see `privateResource`).
    func privateScope(_ id: Int64, _ db: Database) throws -> InstrumentationScope {
        try decodeRow(id, db, table: "scopes") { try OTLPProtobuf.decodeScope(payload: $0, schemaURL: $1) }
    }

    /// The value of a `resources` or `scopes` row from the reader cache, or decoded from the row and cached.
    private func cached<Value: Sendable>(
        _ id: Int64, _ entries: WritableKeyPath<ReaderCache, [Int64: Value]>, table: String, _ db: Database,
        _ decode: (UnsafeBufferPointer<UInt8>, String) throws -> Value
    ) throws -> Value {
        if let value = readerCache.withLock({ $0[keyPath: entries][id] }) { return value }
        let value = try decodeRow(id, db, table: table, decode)
        readerCache.withLock { $0[keyPath: entries][id] = value }
        return value
    }

    private func decodeRow<Value>(
        _ id: Int64, _ db: Database, table: String,
        _ decode: (UnsafeBufferPointer<UInt8>, String) throws -> Value
    ) throws -> Value {
        let row = try RawStatement(db, "SELECT payload, schema_url FROM \(table) WHERE id = ?")
        defer { row.finish() }
        row.bind(1, id)
        guard try row.step() else {
            throw DatabaseError(message: "the store at \(path) refers to \(table) row \(id), which is missing; the store is damaged")
        }
        let schemaURL = row.text(1)
        return try decode(row.blob(0).assumingMemoryBound(to: UInt8.self), schemaURL)
    }
}
