import CairnModel
import CairnOTLP
import CairnStore
import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One `findTraceIDs` search, run inside one read transaction.
///
/// Candidate blocks come newest first (by the latest start of a span that may match), from `block_operations` when
/// the query names a service or operation, from `blocks` otherwise. Each candidate's rowid range is scanned with the
/// column conditions in SQL; payloads are decoded only to check attribute conditions, and only when the span's own
/// bytes hold the attribute key (otherwise its resource decides). The scan stops once `limit` traces are found whose
/// newest matching start is later than anything the remaining blocks can hold, so the result is exact.
struct TraceSearch {
    let query: TraceQuery
    let store: SQLiteStore
    let db: Database

    /// A value bound to a statement parameter.
    private enum Argument {
        case integer(Int64)
        case text(String)
    }

    /// The span's attributes may or may not match; its resource's attributes alone decide.
    private enum AttributeVerdict {
        case no, yes, decode
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

        let keys = query.attributes.keys.map { Array($0.utf8) }
        var newest: [TraceID: UInt64] = [:]
        var threshold: UInt64?  // the limit-th newest start found, once `limit` traces are found
        var changed = false
        while try candidates.step() {
            let bound = Self.unclamped(candidates.int64(2))
            if changed {
                threshold = newest.count >= query.limit ? newest.values.sorted(by: >)[query.limit - 1] : nil
                changed = false
            }
            if let threshold, threshold > bound { break }

            scan.bind(1, candidates.int64(0))
            scan.bind(2, candidates.int64(1))
            defer { scan.reset() }
            while try scan.step() {
                let startColumn = scan.int64(1)
                let clamped = startColumn == .max || scan.int64(2) == .max
                var start = UInt64(max(0, startColumn))
                if clamped || !query.attributes.isEmpty {
                    let resource = try store.resource(scan.int64(3), db)
                    let payload = scan.blob(5)
                    let verdict = clamped ? .decode : attributeVerdict(payload, keys: keys, resource: resource)
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
        // Newest first; equal starts in trace id order, as the in-memory store breaks ties.
        return newest.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(query.limit).map(\.key)
    }

    /// The candidate blocks, newest first: first span, last span, and the latest (clamped) start of a span in the
    /// block that may match.
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
            return ("""
                SELECT b.first_span, b.last_span, MAX(o.max_start) AS newest
                FROM block_operations AS o JOIN blocks AS b ON b.id = o.block_id
                WHERE \(conditions.joined(separator: " AND "))
                GROUP BY o.block_id
                ORDER BY newest DESC
                """, arguments)
        }
        if let min = query.startTimeMin { add("max_start >= ?", .integer(Int64(clamping: min))) }
        if let max = query.startTimeMax { add("min_start <= ?", .integer(Int64(clamping: max))) }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        return ("SELECT first_span, last_span, max_start FROM blocks \(filter) ORDER BY max_start DESC", arguments)
    }

    /// The scan of one block's spans; parameters 1 and 2 are the rowid range.
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

    /// Whether the span's attribute conditions can be settled without decoding it. An attribute key that does not
    /// occur in the span's bytes is not among its attributes, so its resource's value decides.
    private func attributeVerdict(_ payload: UnsafeRawBufferPointer, keys: [[UInt8]], resource: Resource) -> AttributeVerdict {
        var verdict = AttributeVerdict.yes
        for ((key, text), bytes) in zip(query.attributes, keys) {
            if Self.contains(payload, bytes) {
                verdict = .decode
            } else if resource.attributes[key]?.searchText != text {
                return .no
            }
        }
        return verdict
    }

    private static func contains(_ haystack: UnsafeRawBufferPointer, _ needle: [UInt8]) -> Bool {
        guard let first = needle.first else { return true }
        guard let base = haystack.baseAddress, haystack.count >= needle.count else { return false }
        return needle.withUnsafeBytes { needle in
            let last = haystack.count - needle.count
            var position = 0
            while position <= last {
                // memchr finds candidates for the first byte; memcmp checks the rest.
                guard let found = memchr(base + position, Int32(first), last - position + 1) else { return false }
                position = base.distance(to: UnsafeRawPointer(found))
                if memcmp(base + position, needle.baseAddress!, needle.count) == 0 { return true }
                position += 1
            }
            return false
        }
    }

    /// A clamped bound as an upper bound on the real value: `Int64.max` may stand for anything above it.
    private static func unclamped(_ value: Int64) -> UInt64 {
        value == .max ? .max : UInt64(max(0, value))
    }
}
