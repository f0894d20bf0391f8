public import CairnModel
public import CairnStore
import CairnOTLP
import GRDB
import Foundation

extension SQLiteStore {
    /// Every span that starts in the window (and belongs to one of the services, if given), read block by block in
    /// rowid order inside one read transaction, so that it sees one snapshot while a collector writes.
    ///
    /// The blocks come from `blocks` (those whose start times overlap the window); their spans are read by rowid
    /// range with the window checked on `start_ns` (but in blocks that lie inside the window), and each span is
    /// decoded from its payload by `OTLPProtobuf.decodeSpan(payload:resource:scope:selection:)`, which decodes only
    /// the attributes, events and links the scan asks for and steps over the rest. The services are checked on the
    /// span's resource before its payload is decoded. Resources and scopes are decoded once (the reader cache).
    ///
    /// `update` runs on the reader connection's thread, span by span as they are decoded. (Handing chunks of spans
    /// to the calling task instead, to decode and reduce on two cores, measured slower: every span shares its
    /// resource and scope, whose reference counts then bounce between the cores, and memory allocated by one
    /// thread is freed by the other.)
    public func reduceSpans<Result: Sendable>(
        _ scan: SpanScan, into initial: Result, _ update: @escaping @Sendable (inout Result, Span) throws -> Void
    ) async throws -> Result {
        guard !scan.window.isEmpty else { return initial }
        return try await pool.read { db in
            let scanner = SpanScanner(scan: scan, store: self, db: db, privateCopies: false)
            var reduction = initial
            try scanner.run(try scanner.blocks()) { span in try update(&reduction, span) }
            return reduction
        }
    }

    /// The window's blocks split into up to one part per processor core (at most 8), each part of at least
    /// `Configuration.minimumSpansPerScanPart` spans, read at once on reader connections of their own, one partial result each.
    ///
    /// The list of blocks comes from one read transaction; each part then reads its blocks in a transaction of its
    /// own. Blocks are never changed once written, so the parts see the spans that one snapshot holds. Each part
    /// decodes resources and scopes anew rather than from the shared cache, so that the threads do not contend for
    /// the same reference counts.
    public func reduceSpans<Result: Sendable>(
        _ scan: SpanScan, into initial: Result, _ update: @escaping @Sendable (inout Result, Span) throws -> Void,
        merge: @Sendable (inout Result, Result) throws -> Void
    ) async throws -> Result {
        guard !scan.window.isEmpty else { return initial }
        let blocks = try await pool.read { db in
            try SpanScanner(scan: scan, store: self, db: db, privateCopies: false).blocks()
        }
        let parts = Self.split(blocks, into: min(ProcessInfo.processInfo.activeProcessorCount, 8),
                               minimumSpans: minimumSpansPerScanPart)
        guard parts.count > 1 else { return try await reduceSpans(scan, into: initial, update) }
        return try await withThrowingTaskGroup(of: (Int, Result).self) { group in
            for (index, part) in parts.enumerated() {
                group.addTask {
                    let reduction = try await self.pool.read { db in
                        var reduction = initial
                        try SpanScanner(scan: scan, store: self, db: db, privateCopies: true).run(part) { span in
                            try update(&reduction, span)
                        }
                        return reduction
                    }
                    return (index, reduction)
                }
            }
            var partial = [Result?](repeating: nil, count: parts.count)
            for try await (index, reduction) in group { partial[index] = reduction }
            var result = partial[0]!
            for reduction in partial[1...] { try merge(&result, reduction!) }
            return result
        }
    }

    /// `blocks` cut into at most `count` runs of consecutive blocks holding about as many spans each, each of at least
    /// `minimumSpans` spans.
    static func split(_ blocks: [SpanScanner.Block], into count: Int, minimumSpans: Int) -> [[SpanScanner.Block]] {
        let total = blocks.reduce(0) { $0 + $1.rows.count }
        let parts = max(1, min(count, total / minimumSpans))
        guard parts > 1 else { return [blocks] }
        let target = (total + parts - 1) / parts
        var result: [[SpanScanner.Block]] = [[]]
        var filled = 0
        for block in blocks {
            if filled >= target && result.count < parts {
                result.append([])
                filled = 0
            }
            result[result.count - 1].append(block)
            filled += block.rows.count
        }
        return result
    }
}

struct SpanScanner {
    /// A block of the window: its rowid range, and whether all its spans start in the window.
    struct Block: Sendable {
        var rows: ClosedRange<Int64>
        var contained: Bool
    }

    let scan: SpanScan
    let store: SQLiteStore
    let db: Database
    let selection: OTLPProtobuf.SpanSelection
    /// The window's bounds as the indexed columns hold them (clamped to `Int64.max`), both inclusive.
    let low: Int64
    let high: Int64
    /// Whether to decode resources and scopes anew rather than take them from the store's shared cache.
    let privateCopies: Bool

    init(scan: SpanScan, store: SQLiteStore, db: Database, privateCopies: Bool) {
        self.scan = scan
        self.store = store
        self.db = db
        self.privateCopies = privateCopies
        selection = OTLPProtobuf.SpanSelection(attributeKeys: scan.attributeKeys, events: scan.includeEvents,
                                               links: scan.includeLinks)
        low = Int64(clamping: scan.window.lowerBound)
        high = Int64(clamping: scan.window.upperBound - 1)
    }

    /// Passes each matching span to `body`.
    /// The blocks whose spans may start in the window, in rowid order, and whether all of their spans do.
    func blocks() throws -> [Block] {
        let blocks = try RawStatement(db, """
            SELECT first_span, last_span, min_start >= ?1 AND max_start <= ?2 FROM blocks INDEXED BY blocks_by_max_start
            WHERE max_start >= ?1 AND min_start <= ?2 ORDER BY first_span
            """)
        defer { blocks.finish() }
        blocks.bind(1, low)
        blocks.bind(2, high)
        var ranges: [Block] = []
        while try blocks.step() {
            ranges.append(Block(rows: blocks.int64(0)...blocks.int64(1), contained: blocks.int64(2) != 0))
        }
        return ranges
    }

    /// Passes the spans of `blocks` that start in the window to `body`.
    func run(_ blocks: [Block], _ body: (Span) throws -> Void) throws {
        // A block inside the window needs no condition on start_ns.
        let select = "SELECT resource_id, scope_id, payload FROM spans WHERE id BETWEEN ? AND ?"
        let containedRows = try RawStatement(db, select)
        defer { containedRows.finish() }
        let overlappingRows = try RawStatement(db, select + " AND start_ns BETWEEN ? AND ?")
        defer { overlappingRows.finish() }
        overlappingRows.bind(3, low)
        overlappingRows.bind(4, high)

        var resources = ResourceFilter(scan: scan, store: store, db: db, privateCopies: privateCopies)
        var scope = (id: Int64.min, scope: InstrumentationScope())  // spans usually share one scope
        for block in blocks {
            let rows = block.contained ? containedRows : overlappingRows
            rows.bind(1, block.rows.lowerBound)
            rows.bind(2, block.rows.upperBound)
            defer { rows.reset() }
            while try rows.step() {
                guard let resource = try resources.resource(rows.int64(0)) else { continue }
                let scopeID = rows.int64(1)
                if scopeID != scope.id {
                    scope = (scopeID, privateCopies ? try store.privateScope(scopeID, db) : try store.scope(scopeID, db))
                }
                let span = try OTLPProtobuf.decodeSpan(payload: rows.blob(2), resource: resource, scope: scope.scope,
                                                       selection: selection)
                // start_ns is clamped to Int64.max; the payload has the exact start.
                guard scan.window.contains(span.startTimeUnixNano) else { continue }
                try body(span)
            }
        }
    }
}

/// The resources of a scan by row id, each decoded once (from the store's reader cache), with whether the scan
/// reads its spans.
private struct ResourceFilter {
    let scan: SpanScan
    let store: SQLiteStore
    let db: Database
    private var resources: [Int64: Resource?] = [:]
    /// The last resource read: consecutive spans often share it.
    let privateCopies: Bool
    private var last = (id: Int64.min, resource: Resource?.none)

    init(scan: SpanScan, store: SQLiteStore, db: Database, privateCopies: Bool) {
        self.scan = scan
        self.store = store
        self.db = db
        self.privateCopies = privateCopies
    }

    /// The resource of the row id, or nil when the scan does not read its spans.
    mutating func resource(_ id: Int64) throws -> Resource? {
        if id == last.id { return last.resource }
        if let known = resources[id] {
            last = (id, known)
            return known
        }
        let resource = privateCopies ? try store.privateResource(id, db) : try store.resource(id, db)
        let included = (scan.services?.contains(resource.serviceName) ?? true) ? resource : nil
        resources[id] = included
        last = (id, included)
        return included
    }
}
