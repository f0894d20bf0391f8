import CairnModel
import Foundation
import GRDB

/// What the writer remembers between writes so that a known resource, scope or operation costs no SQL.
///
/// Entries are only added once the transaction that inserted their rows has committed.
struct WriterCache: Sendable {
    /// An encoded resource or scope, as the `UNIQUE (payload, schema_url)` constraint identifies it.
    struct PayloadKey: Hashable, Sendable {
        var payload: [UInt8]
        var schemaURL: String
    }

    var resources: [PayloadKey: Int64] = [:]
    var scopes: [PayloadKey: Int64] = [:]
    var operations: Set<OperationKey> = []

    mutating func merge(_ other: WriterCache) {
        resources.merge(other.resources) { _, new in new }
        scopes.merge(other.scopes) { _, new in new }
        operations.formUnion(other.operations)
    }
}

/// An operation of a service as stored: service name, span name and kind.
struct OperationKey: Hashable, Sendable {
    var service: String
    var name: String
    var kind: Int32
}

/// Appends one block (the spans of one `write`) inside the caller's transaction.
///
/// The spans of all batches are sorted by trace id and appended to `spans`, so that each trace's spans form one
/// rowid range; then the block row, one `trace_segments` row per trace and one `block_operations` row per operation
/// (with its `LongestSpans`) are written. Resources, scopes and operations go through the cache.
struct BlockWriter {
    private let db: Database
    private let known: WriterCache
    /// Entries this write added; the caller merges them into the cache after the commit.
    private(set) var added = WriterCache()

    init(db: Database, known: WriterCache) {
        self.db = db
        self.known = known
    }

    /// A span's place in the batches, sorted by trace id, then by arrival.
    private struct Entry: Comparable {
        var high: UInt64
        var low: UInt64
        var batch: Int32
        var record: Int32

        static func < (a: Entry, b: Entry) -> Bool {
            // Spelled out rather than as a tuple comparison, which is several times slower in debug builds.
            if a.high != b.high { return a.high < b.high }
            if a.low != b.low { return a.low < b.low }
            if a.batch != b.batch { return a.batch < b.batch }
            return a.record < b.record
        }
    }

    /// The spans of one trace in this block.
    private struct Segment {
        var traceID: TraceID
        var firstSpan: Int64
        var spanCount: Int64
        var minStart: Int64
        var maxEnd: Int64
    }

    /// The bounds of one operation's spans in this block, and its longest spans.
    private struct OperationStats {
        var spanCount: Int64 = 0
        var errorCount: Int64 = 0
        var minStart = Int64.max
        var maxStart = Int64.min
        var minDuration = Int64.max
        var maxDuration = Int64.min
        var longest = LongestSpans()

        mutating func add(start: Int64, duration: Int64, isError: Bool, offset: UInt32) {
            spanCount += 1
            longest.add(duration: duration, offset: offset)
            if isError { errorCount += 1 }
            minStart = min(minStart, start)
            maxStart = max(maxStart, start)
            minDuration = min(minDuration, duration)
            maxDuration = max(maxDuration, duration)
        }
    }

    /// Writes the spans of the batches as one block; throws `SQLiteStoreError.invalidBatch` or a `DatabaseError`,
    /// after which the caller rolls the transaction back.
    mutating func write(_ batches: [SpanBatch]) throws {
        var order: [Entry] = []
        order.reserveCapacity(batches.reduce(0) { $0 + $1.records.count })
        for (batchIndex, batch) in batches.enumerated() {
            for (recordIndex, record) in batch.records.enumerated() {
                order.append(Entry(high: record.traceID.high, low: record.traceID.low, batch: Int32(batchIndex),
                                   record: Int32(recordIndex)))
            }
        }
        guard !order.isEmpty else { return }
        order.sort()

        // Resource and scope ids per batch, resolved when a span first refers to them.
        var resourceIDs = batches.map { [Int64](repeating: -1, count: $0.resources.count) }
        var scopeIDs = batches.map { [Int64](repeating: -1, count: $0.scopes.count) }

        var segments: [Segment] = []
        var operations: [OperationKey: OperationStats] = [:]
        var minStart = Int64.max
        var maxStart = Int64.min
        var maxEnd = Int64.min
        var firstSpan: Int64 = 0
        var nextSpan: Int64 = 0

        let insert = try RawStatement(db, """
            INSERT INTO spans (trace_id, span_id, parent_span_id, service, name, kind, start_ns, duration_ns, status,
                               resource_id, scope_id, payload)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        defer { insert.finish() }

        for entry in order {
            let batchIndex = Int(entry.batch)
            let record = batches[batchIndex].records[Int(entry.record)]
            let offset = Int(record.payloadOffset)
            let length = Int(record.payloadLength)
            guard offset >= 0, length >= 0, offset <= batches[batchIndex].payloads.count - length else {
                throw SQLiteStoreError.invalidBatch("span \(record.spanID) lies outside the batch's payloads")
            }
            let resourceIndex = Int(record.resourceIndex)
            let scopeIndex = Int(record.scopeIndex)
            guard resourceIDs[batchIndex].indices.contains(resourceIndex) else {
                throw SQLiteStoreError.invalidBatch("span \(record.spanID) refers to resource \(resourceIndex), which the batch lacks")
            }
            guard scopeIDs[batchIndex].indices.contains(scopeIndex) else {
                throw SQLiteStoreError.invalidBatch("span \(record.spanID) refers to scope \(scopeIndex), which the batch lacks")
            }
            let resource = batches[batchIndex].resources[resourceIndex]
            if resourceIDs[batchIndex][resourceIndex] < 0 {
                resourceIDs[batchIndex][resourceIndex] = try resourceID(resource)
            }
            if scopeIDs[batchIndex][scopeIndex] < 0 {
                scopeIDs[batchIndex][scopeIndex] = try scopeID(batches[batchIndex].scopes[scopeIndex])
            }

            // Clamped to Int64.max; see SQLiteStore's documentation.
            let start = Int64(clamping: record.startTimeUnixNano)
            let duration = Int64(clamping: record.durationNanos)
            let end = Int64(clamping: record.endTimeUnixNano)
            insert.bind(1, TraceIDBytes(record.traceID))
            insert.bind(2, record.spanID)
            if let parent = record.parentSpanID { insert.bind(3, parent) } else { insert.bindNull(3) }
            insert.bind(6, Int64(record.kind.rawValue))
            insert.bind(7, start)
            insert.bind(8, duration)
            insert.bind(9, Int64(record.statusCode.rawValue))
            insert.bind(10, resourceIDs[batchIndex][resourceIndex])
            insert.bind(11, scopeIDs[batchIndex][scopeIndex])
            var service = resource.serviceName
            var name = record.name
            try service.withUTF8 { service in
                try name.withUTF8 { name in
                    try batches[batchIndex].payloads.withUnsafeBytes { payloads in
                        insert.bindStatic(4, text: service)
                        insert.bindStatic(5, text: name)
                        insert.bindStatic(12, UnsafeRawBufferPointer(rebasing: payloads[offset..<offset + length]))
                        try insert.execute()
                    }
                }
            }

            let rowID = db.lastInsertedRowID
            if nextSpan == 0 {
                firstSpan = rowID
            } else if rowID != nextSpan {
                // Cannot happen while rowids stay below Int64.max: SQLite appends max(rowid) + 1.
                throw DatabaseError(message: "span rowids of one write are not contiguous (\(nextSpan - 1), \(rowID))")
            }
            nextSpan = rowID + 1

            if let last = segments.last, last.traceID == record.traceID {
                segments[segments.count - 1].spanCount += 1
                segments[segments.count - 1].minStart = min(last.minStart, start)
                segments[segments.count - 1].maxEnd = max(last.maxEnd, end)
            } else {
                segments.append(Segment(traceID: record.traceID, firstSpan: rowID, spanCount: 1, minStart: start, maxEnd: end))
            }

            let key = OperationKey(service: resource.serviceName, name: record.name, kind: record.kind.rawValue)
            operations[key, default: OperationStats()].add(start: start, duration: duration,
                                                           isError: record.statusCode == .error,
                                                           offset: UInt32(rowID - firstSpan))
            minStart = min(minStart, start)
            maxStart = max(maxStart, start)
            maxEnd = max(maxEnd, end)
        }

        let block = try RawStatement(db, """
            INSERT INTO blocks (first_span, last_span, min_start, max_start, max_end, span_count, written_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """)
        block.bind(1, firstSpan)
        block.bind(2, nextSpan - 1)
        block.bind(3, minStart)
        block.bind(4, maxStart)
        block.bind(5, maxEnd)
        block.bind(6, Int64(order.count))
        block.bind(7, Int64(clamping: unixNanosNow()))
        try block.execute()
        let blockID = db.lastInsertedRowID

        let segment = try RawStatement(db, """
            INSERT INTO trace_segments (trace_id, first_span, span_count, block_id, min_start, max_end)
            VALUES (?, ?, ?, ?, ?, ?)
            """)
        defer { segment.finish() }
        segment.bind(4, blockID)
        for entry in segments {
            segment.bind(1, TraceIDBytes(entry.traceID))
            segment.bind(2, entry.firstSpan)
            segment.bind(3, entry.spanCount)
            segment.bind(5, entry.minStart)
            segment.bind(6, entry.maxEnd)
            try segment.execute()
        }

        let blockOperation = try RawStatement(db, """
            INSERT INTO block_operations (service, name, kind, block_id, span_count, error_count, min_start, max_start,
                                          min_duration, max_duration, longest, longest_min_duration)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        defer { blockOperation.finish() }
        blockOperation.bind(4, blockID)
        for (key, stats) in operations {
            blockOperation.bind(1, key.service)
            blockOperation.bind(2, key.name)
            blockOperation.bind(3, Int64(key.kind))
            blockOperation.bind(5, stats.spanCount)
            blockOperation.bind(6, stats.errorCount)
            blockOperation.bind(7, stats.minStart)
            blockOperation.bind(8, stats.maxStart)
            blockOperation.bind(9, stats.minDuration)
            blockOperation.bind(10, stats.maxDuration)
            blockOperation.bindCopy(11, stats.longest.encoded)
            blockOperation.bind(12, stats.longest.minDuration)
            try blockOperation.execute()
            try operation(key)
        }
    }

    /// The id of a resource, inserting it when it is new.
    private mutating func resourceID(_ resource: SpanBatch.EncodedResource) throws -> Int64 {
        let key = WriterCache.PayloadKey(payload: resource.payload, schemaURL: resource.schemaURL)
        if let id = known.resources[key] ?? added.resources[key] { return id }
        let id = try payloadID(key, select: "SELECT id FROM resources WHERE payload = ? AND schema_url = ?",
                               insert: "INSERT INTO resources (payload, schema_url, service) VALUES (?, ?, ?)",
                               service: resource.serviceName)
        added.resources[key] = id
        return id
    }

    /// The id of a scope, inserting it when it is new.
    private mutating func scopeID(_ scope: SpanBatch.EncodedScope) throws -> Int64 {
        let key = WriterCache.PayloadKey(payload: scope.payload, schemaURL: scope.schemaURL)
        if let id = known.scopes[key] ?? added.scopes[key] { return id }
        let id = try payloadID(key, select: "SELECT id FROM scopes WHERE payload = ? AND schema_url = ?",
                               insert: "INSERT INTO scopes (payload, schema_url) VALUES (?, ?)", service: nil)
        added.scopes[key] = id
        return id
    }

    private func payloadID(_ key: WriterCache.PayloadKey, select: String, insert: String, service: String?) throws -> Int64 {
        let find = try RawStatement(db, select)
        defer { find.finish() }
        find.bindCopy(1, key.payload)
        find.bind(2, key.schemaURL)
        if try find.step() { return find.int64(0) }
        let add = try RawStatement(db, insert)
        defer { add.finish() }
        add.bindCopy(1, key.payload)
        add.bind(2, key.schemaURL)
        if let service { add.bind(3, service) }
        try add.execute()
        return db.lastInsertedRowID
    }

    /// Records an operation in the `operations` list unless it is known.
    private mutating func operation(_ key: OperationKey) throws {
        guard !known.operations.contains(key), !added.operations.contains(key) else { return }
        let add = try RawStatement(db, "INSERT OR IGNORE INTO operations (service, name, kind) VALUES (?, ?, ?)")
        defer { add.finish() }
        add.bind(1, key.service)
        add.bind(2, key.name)
        add.bind(3, Int64(key.kind))
        try add.execute()
        added.operations.insert(key)
    }
}
