import CairnModel
import CairnOTLP
import CairnStore
import GRDB

/// One `findTraceIDs` search, run inside one read transaction.
///
/// Candidate blocks come newest first (by the latest start of a span that may match), from `block_operations` when
/// the query names a service or operation, from `blocks` otherwise. Each candidate's rowid range is scanned with the
/// column conditions in SQL; when the query has a minimum duration that only an operation's listed longest spans can
/// meet (`LongestSpans`), just those rows are read, by rowid, with the same conditions. Payloads are decoded only to
/// check attribute conditions, and only when their bytes cannot settle them (see `AttributeCondition`). The search
/// stops once `limit` traces are found whose newest matching start is later than anything the remaining candidates
/// can hold, so the result is exact.
struct TraceSearch {
    let query: TraceQuery
    let store: SQLiteStore
    let db: Database

    /// A value bound to a statement parameter.
    private enum Argument {
        case integer(Int64)
        case text(String)
    }

    func run() throws -> [TraceID] {
        guard query.limit > 0 else { return [] }
        let (candidatesSQL, candidatesArguments) = candidateBlocks()
        let candidates = try RawStatement(db, candidatesSQL)
        defer { candidates.finish() }
        bind(candidates, candidatesArguments, from: 1)

        let (scanSQL, scanArguments) = spanScan()
        let scan = try RawStatement(db, scanSQL)
        defer { scan.finish() }
        bind(scan, scanArguments, from: 3)

        let conditions = query.attributes.map { AttributeCondition(key: $0.key, text: $0.value) }
        var newest: [TraceID: UInt64] = [:]
        var threshold: UInt64?  // the limit-th newest start found, once `limit` traces are found
        var changed = false
        var scanned = Set<Int64>()  // blocks scanned whole

        /// Passes the spans of rowids `first...last` that meet the query, as the statement `scan` selects them.
        func read(_ first: Int64, _ last: Int64) throws {
            scan.bind(1, first)
            scan.bind(2, last)
            defer { scan.reset() }
            while try scan.step() {
                let startColumn = scan.int64(1)
                let clamped = startColumn == .max || scan.int64(2) == .max
                var start = UInt64(max(0, startColumn))
                if clamped || !query.attributes.isEmpty {
                    let resource = try store.resource(scan.int64(3), db)
                    let payload = scan.blob(5)
                    let verdict = clamped ? .decode : AttributeCondition.verdict(conditions, payload, resource: resource)
                    if verdict == .no { continue }
                    if verdict == .decode {
                        let span = try OTLPProtobuf.decodeSpan(
                            payload: payload.assumingMemoryBound(to: UInt8.self), resource: resource,
                            scope: try store.scope(scan.int64(4), db))
                        guard query.matches(span) else { continue }
                        start = span.startTimeUnixNano
                    }
                }
                guard let traceID = TraceIDBytes.traceID(scan.blob(0)) else { continue }
                if let known = newest[traceID], known >= start { continue }
                newest[traceID] = start
                changed = true
            }
        }

        while try candidates.step() {
            // A block comes once per matching operation, first with its latest start; once scanned whole, the rows
            // of its other operations have nothing left to give. Spans read through a list and found again by a
            // later scan of their block change nothing.
            let block = candidates.int64(0)
            guard !scanned.contains(block) else { continue }
            let bound = min(Self.unclamped(candidates.int64(3)), query.startTimeMax ?? .max)
            if changed {
                threshold = newest.count >= query.limit ? newest.values.sorted(by: >)[query.limit - 1] : nil
                changed = false
            }
            if let threshold, threshold > bound { break }

            let firstSpan = candidates.int64(1)
            if let offsets = listedSpans(candidates) {
                for offset in offsets {
                    try read(firstSpan + Int64(offset), firstSpan + Int64(offset))
                }
            } else {
                scanned.insert(block)
                try read(firstSpan, candidates.int64(2))
            }
        }
        // Newest first; equal starts in trace id order, as the in-memory store breaks ties.
        return newest.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(query.limit).map(\.key)
    }

    /// The rowid offsets (from the block's first span) of the candidate row's longest spans, when they hold every
    /// span of its operation in the block that can match: the query has a minimum duration, and the list holds all
    /// the operation's spans or the minimum exceeds the shortest listed (see `LongestSpans`). Nil when the block has
    /// to be scanned: no minimum duration, a row written before schema v2, or a row from `blocks`.
    private func listedSpans(_ row: RawStatement) -> [UInt32]? {
        guard let durationMin = query.durationMin, !row.isNull(4), let offsets = LongestSpans.offsets(row.blob(4)) else {
            return nil
        }
        let complete = Int64(offsets.count) == row.int64(6)
        return complete || durationMin > Self.unclamped(row.int64(5)) ? offsets : nil
    }

    /// The candidate blocks, newest first: block id, first span, last span, the latest (clamped) start of a span
    /// in the block that may match, and from `block_operations` the operation's `longest`, `longest_min_duration`
    /// and `span_count` (NULL from `blocks`). Rows stream in that order from an index, so that the search reads only
    /// as many as it searches blocks; from `block_operations` a block comes once per matching operation.
    private func candidateBlocks() -> (String, [Argument]) {
        var conditions: [String] = []
        var arguments: [Argument] = []
        func add(_ condition: String, _ argument: Argument?) {
            conditions.append(condition)
            if let argument { arguments.append(argument) }
        }
        if query.service != nil || query.operation != nil {
            if let service = query.service { add("o.service = ?", .text(service)) }
            if let operation = query.operation { add("o.name = ?", .text(operation)) }
            if let min = query.startTimeMin { add("o.max_start >= ?", .integer(Int64(clamping: min))) }
            if let max = query.startTimeMax { add("o.min_start <= ?", .integer(Int64(clamping: max))) }
            if let min = query.durationMin { add("o.max_duration >= ?", .integer(Int64(clamping: min))) }
            if let max = query.durationMax { add("o.min_duration <= ?", .integer(Int64(clamping: max))) }
            if let status = query.statusCode {
                add(status == .error ? "o.error_count > 0" : "o.span_count > o.error_count", nil)
            }
            let index = query.service != nil ? "block_operations_by_service" : "block_operations_by_name"
            return ("""
                SELECT o.block_id, b.first_span, b.last_span, o.max_start, o.longest, o.longest_min_duration,
                       o.span_count
                FROM block_operations AS o INDEXED BY \(index) JOIN blocks AS b ON b.id = o.block_id
                WHERE \(conditions.joined(separator: " AND "))
                ORDER BY o.max_start DESC
                """, arguments)
        }
        if let min = query.startTimeMin { add("max_start >= ?", .integer(Int64(clamping: min))) }
        if let max = query.startTimeMax { add("min_start <= ?", .integer(Int64(clamping: max))) }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        return ("""
            SELECT id, first_span, last_span, max_start, NULL, NULL, NULL
            FROM blocks INDEXED BY blocks_by_max_start \(filter)
            ORDER BY max_start DESC
            """, arguments)
    }

    /// The scan of a rowid range of a block (parameters 1 and 2), the whole block or one listed span.
    private func spanScan() -> (String, [Argument]) {
        var conditions = ["id BETWEEN ? AND ?"]
        var arguments: [Argument] = []
        func add(_ condition: String, _ argument: Argument) {
            conditions.append(condition)
            arguments.append(argument)
        }
        if let service = query.service { add("service = ?", .text(service)) }
        if let operation = query.operation { add("name = ?", .text(operation)) }
        if let min = query.startTimeMin { add("start_ns >= ?", .integer(Int64(clamping: min))) }
        if let max = query.startTimeMax { add("start_ns <= ?", .integer(Int64(clamping: max))) }
        if let min = query.durationMin { add("duration_ns >= ?", .integer(Int64(clamping: min))) }
        if let max = query.durationMax { add("duration_ns <= ?", .integer(Int64(clamping: max))) }
        if let status = query.statusCode { add("status = ?", .integer(Int64(status.rawValue))) }
        return ("""
            SELECT trace_id, start_ns, duration_ns, resource_id, scope_id, payload FROM spans
            WHERE \(conditions.joined(separator: " AND "))
            """, arguments)
    }

    private func bind(_ statement: RawStatement, _ arguments: [Argument], from first: Int32) {
        for (offset, argument) in arguments.enumerated() {
            let index = first + Int32(offset)
            switch argument {
            case .integer(let value): statement.bind(index, value)
            case .text(let value): statement.bind(index, value)
            }
        }
    }

    /// A clamped bound as an upper bound on the real value: `Int64.max` may stand for anything above it.
    private static func unclamped(_ value: Int64) -> UInt64 {
        value == .max ? .max : UInt64(max(0, value))
    }
}
