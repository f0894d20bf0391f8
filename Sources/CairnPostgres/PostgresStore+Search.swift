public import CairnModel
public import CairnStore
import CairnOTLP
import PostgresNIO
import Synchronization

extension PostgresStore {
    /// The ids of the traces that match the query, newest first by the start of their newest matching span; equal
    /// starts in trace id order.
    ///
    /// The matching spans are read newest first, in pages (`ORDER BY start_ns DESC LIMIT n`, from
    /// `spans_by_service` when the query names a service, `spans_by_start` otherwise), with the column conditions in
    /// SQL; attribute conditions are checked on the decoded span (`TraceQuery.matches`). The first time a trace is met
    /// is its newest matching span, so the search stops at the first page that ends before the `limit`-th trace's
    /// start. All pages read one snapshot. A search by service and minimum duration that few of the service's spans
    /// reach reads them from `spans_by_service_duration` instead (`fewSpans`).
    public func findTraceIDs(_ query: TraceQuery) async throws -> [TraceID] {
        guard query.limit > 0 else { return [] }
        var conditions: [String] = []
        var binds = PostgresBindings()
        /// Adds `column operator $n`, binding `value` as parameter n.
        func add(_ condition: String, _ value: some PostgresDynamicTypeEncodable & PostgresNonThrowingEncodable) {
            binds.append(value)
            conditions.append("\(condition) $\(binds.count)")
        }
        if let service = query.service { add("service =", service) }
        if let operation = query.operation { add("name =", operation) }
        if let min = query.startTimeMin { add("start_ns >=", StoredTime.key(min)) }
        if let min = query.durationMin { add("duration_ns >=", StoredTime.key(min)) }
        if let max = query.durationMax { add("duration_ns <=", StoredTime.key(max)) }
        if let status = query.statusCode { add("status =", status.rawValue) }
        let checkAttributes = !query.attributes.isEmpty
        let columns = checkAttributes ? "trace_id, start_ns, resource_id, scope_id, payload" : "trace_id, start_ns, 0::bigint, 0::bigint, ''::bytea"
        let boundParameter = binds.count + 1
        let limitParameter = binds.count + 2
        let filter = (conditions + ["start_ns <= $\(boundParameter)"]).joined(separator: " AND ")
        var sql = """
            SELECT \(columns) FROM spans WHERE \(filter)
            ORDER BY start_ns DESC LIMIT $\(limitParameter)
            """

        return try await readSnapshot("searching traces") { connection, decoder in
            var newest: [TraceID: UInt64] = [:]
            var bound = StoredTime.key(query.startTimeMax ?? .max)
            var pageSize = max(256, min(query.limit, 4_096) * 4)
            if let service = query.service, let durationMin = query.durationMin,
               try await Self.fewSpans(of: service, lastingAtLeast: durationMin, on: connection, logger: logger)
            {
                // Few spans of the service last that long: read them all from the duration index and sort them,
                // rather than go through the service's spans newest first to find them (the planner, which knows
                // durations over all services, misjudges this). One page holds them all.
                sql = """
                    WITH candidates AS MATERIALIZED (SELECT \(columns) FROM spans WHERE \(filter))
                    SELECT * FROM candidates ORDER BY start_ns DESC LIMIT $\(limitParameter)
                    """
                pageSize = Self.fewSpansBound + 1
            }
            while true {
                var pageBinds = binds
                pageBinds.append(bound)
                pageBinds.append(Int64(pageSize))
                let rows = try await connection.query(PostgresQuery(unsafeSQL: sql, binds: pageBinds), logger: logger)
                var count = 0
                var first: Int64?
                var last = bound
                for try await (traceBytes, startKey, resourceID, scopeID, payload)
                    in rows.decode((ByteBuffer, Int64, Int64, Int64, ByteBuffer).self)
                {
                    count += 1
                    if first == nil { first = startKey }
                    last = startKey
                    if checkAttributes {
                        let span = try decoder.span(resourceID: resourceID, scopeID: scopeID, payload: payload,
                                                    selection: .everything)
                        guard query.matches(span) else { continue }
                    }
                    guard let traceID = StoredTraceID.traceID(traceBytes) else {
                        throw PostgresStoreError.damaged(url: url, problem: "a span's trace_id is not 16 bytes long")
                    }
                    let start = StoredTime.nanos(startKey)
                    if let known = newest[traceID], known >= start { continue }
                    newest[traceID] = start
                }
                // A page that is not full was the last.
                if count < pageSize { break }
                if first == last {
                    // Every row of the page starts at the same time: read more rows of that time at once.
                    pageSize = min(pageSize, 1 << 40) * 2
                    continue
                }
                // The next page starts at the last start read, whose rows may go on past this page.
                bound = last
                if newest.count >= query.limit {
                    let threshold = newest.values.sorted(by: >)[query.limit - 1]
                    if StoredTime.nanos(last) < threshold { break }
                }
                pageSize = min(pageSize * 2, 16_384)
            }
            return newest.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(query.limit).map(\.key)
        }
    }

    /// How many spans of a service lasting at least the minimum duration count as few: reading them all and sorting
    /// them costs about what reading the service's spans newest first costs to find a page of them when this many of
    /// its spans (of 1.25 million, in the benchmark) match.
    static let fewSpansBound = 16_384

    /// Whether fewer than `fewSpansBound` spans of `service` last at least `durationMin`, counted from
    /// `spans_by_service_duration` alone (an index-only scan that stops at the bound).
    static func fewSpans(
        of service: String, lastingAtLeast durationMin: UInt64, on connection: PostgresConnection, logger: Logger
    ) async throws -> Bool {
        var binds = PostgresBindings()
        binds.append(service)
        binds.append(StoredTime.key(durationMin))
        binds.append(Int64(fewSpansBound))
        let rows = try await connection.query(PostgresQuery(unsafeSQL: """
            SELECT count(*) FROM (SELECT 1 FROM spans WHERE service = $1 AND duration_ns >= $2 LIMIT $3) AS long_spans
            """, binds: binds), logger: logger)
        var count = Int64(fewSpansBound)
        for try await value in rows.decode(Int64.self) { count = value }
        return count < fewSpansBound
    }
}
