import CairnModel
import CairnOTLP
public import CairnStore
public import Testing

/// The conformance suite that every store backend passes: the contract of `SpanWriter` and `SpanReader`, checked.
///
/// Each check takes a fresh, empty store and reports failures through `#expect` and `#require` at the caller's
/// source location, so that a test file runs one check per line:
///
/// ```swift
/// @Test func everyFieldRoundTrip() async throws {
///     try await StoreConformance.everyFieldRoundTrip(try makeStore())
/// }
/// ```
///
/// or all of them, one fresh store each, as a parameterized test over `StoreConformance.checks`, or with
/// `run(makeStore:)`. The search checks use a small hand-made data set whose expected results are written out; the
/// `manyTraces` check compares the store with `TraceQuery.matches` applied to every span.
public enum StoreConformance {
    /// A store under test.
    public typealias Store = any SpanWriter & SpanReader

    /// One check of the suite, by name.
    public struct Check: Sendable, CustomTestStringConvertible {
        /// The name of the check, as the test report shows it.
        public let name: String
        let body: @Sendable (Store, SourceLocation) async throws -> Void

        /// Runs the check against a fresh, empty store.
        public func run(_ store: Store, sourceLocation: SourceLocation = #_sourceLocation) async throws {
            try await body(store, sourceLocation)
        }

        /// The name, as test reports show the check.
        public var testDescription: String { name }
    }

    /// Every check of the suite.
    public static let checks: [Check] = [
        Check(name: "everyFieldRoundTrip") { try await everyFieldRoundTrip($0, sourceLocation: $1) },
        Check(name: "realisticRoundTrip") { try await realisticRoundTrip($0, sourceLocation: $1) },
        Check(name: "traceNotFound") { try await traceNotFound($0, sourceLocation: $1) },
        Check(name: "traceAcrossWrites") { try await traceAcrossWrites($0, sourceLocation: $1) },
        Check(name: "duplicatesReturnedTwice") { try await duplicatesReturnedTwice($0, sourceLocation: $1) },
        Check(name: "concurrentWrites") { try await concurrentWrites($0, sourceLocation: $1) },
        Check(name: "emptyWrites") { try await emptyWrites($0, sourceLocation: $1) },
        Check(name: "searchByService") { try await searchByService($0, sourceLocation: $1) },
        Check(name: "searchByOperation") { try await searchByOperation($0, sourceLocation: $1) },
        Check(name: "searchByAttributes") { try await searchByAttributes($0, sourceLocation: $1) },
        Check(name: "searchByTimeRange") { try await searchByTimeRange($0, sourceLocation: $1) },
        Check(name: "searchByDuration") { try await searchByDuration($0, sourceLocation: $1) },
        Check(name: "searchByStatus") { try await searchByStatus($0, sourceLocation: $1) },
        Check(name: "searchCombined") { try await searchCombined($0, sourceLocation: $1) },
        Check(name: "searchLimitAndOrder") { try await searchLimitAndOrder($0, sourceLocation: $1) },
        Check(name: "servicesAndOperations") { try await servicesAndOperations($0, sourceLocation: $1) },
        Check(name: "manyTraces") { try await manyTraces($0, sourceLocation: $1) },
        Check(name: "searchRareLongSpans") { try await searchRareLongSpans($0, sourceLocation: $1) },
        Check(name: "searchDurationTies") { try await searchDurationTies($0, sourceLocation: $1) },
        Check(name: "scanWindowBounds") { try await scanWindowBounds($0, sourceLocation: $1) },
        Check(name: "scanEmptyWindow") { try await scanEmptyWindow($0, sourceLocation: $1) },
        Check(name: "scanManyBlocks") { try await scanManyBlocks($0, sourceLocation: $1) },
        Check(name: "scanServices") { try await scanServices($0, sourceLocation: $1) },
        Check(name: "scanAttributesEventsLinks") { try await scanAttributesEventsLinks($0, sourceLocation: $1) },
        Check(name: "scanExtremeTimes") { try await scanExtremeTimes($0, sourceLocation: $1) },
    ]

    /// Runs every check, each against a fresh store from `makeStore`.
    public static func run(
        makeStore: () async throws -> Store, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        for check in checks {
            try await check.run(try await makeStore(), sourceLocation: sourceLocation)
        }
    }

    // MARK: - Round trips

    /// Every field of every span reads back equal: `Fixtures.everyFieldSpans()`, written in one batch and again one
    /// span per batch.
    public static func everyFieldRoundTrip(_ store: Store, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let spans = Fixtures.everyFieldSpans()
        try await store.write([SpanBatch(spans: spans)])
        try await expectTraces(store, hold: spans, sourceLocation: sourceLocation)
        try await store.write(spans.map { SpanBatch(spans: [$0]) })
        try await expectTraces(store, hold: spans + spans, sourceLocation: sourceLocation)
    }

    /// Realistic spans, in batches of several sizes and writes of several batches, read back equal.
    public static func realisticRoundTrip(_ store: Store, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let spans = Fixtures.realisticSpans(count: 3_000, seed: 11)
        var batches: [SpanBatch] = []
        var index = 0
        for size in [1, 7, 512, 100, 1_000, 380, 1_000] where index < spans.count {
            let end = min(spans.count, index + size)
            batches.append(SpanBatch(spans: Array(spans[index..<end])))
            index = end
        }
        #expect(index == spans.count, sourceLocation: sourceLocation)
        try await store.write(Array(batches[0..<3]))
        try await store.write(Array(batches[3...]))
        try await expectTraces(store, hold: spans, sourceLocation: sourceLocation)
    }

    /// `trace(_:)` returns nil, not an error, for an id that no stored span has, in an empty store and in a full one.
    public static func traceNotFound(_ store: Store, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let missing = TraceID(high: 0xDEAD_BEEF, low: 42)
        #expect(try await store.trace(missing) == nil, sourceLocation: sourceLocation)
        let spans = Fixtures.realisticSpans(count: 80, seed: 12)
        try await store.write([SpanBatch(spans: spans)])
        #expect(try await store.trace(missing) == nil, sourceLocation: sourceLocation)
        // Ids next to a stored one, in both halves.
        let stored = try #require(spans.first, sourceLocation: sourceLocation).traceID
        for near in [TraceID(high: stored.high, low: stored.low &+ 1), TraceID(high: stored.high &- 1, low: stored.low)] {
            #expect(try await store.trace(near) == nil, sourceLocation: sourceLocation)
        }
    }

    /// The spans of one trace written in several writes, mixed with other traces, all come back.
    public static func traceAcrossWrites(_ store: Store, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let spans = Fixtures.realisticSpans(count: 96, seed: 13)
        for part in 0..<3 {
            let share = spans.enumerated().filter { $0.offset % 3 == part }.map(\.element)
            try await store.write([SpanBatch(spans: Array(share.prefix(10))), SpanBatch(spans: Array(share.dropFirst(10)))])
        }
        try await expectTraces(store, hold: spans, sourceLocation: sourceLocation)
    }

    /// A span written twice is returned twice by `trace(_:)`; a search returns its trace once.
    public static func duplicatesReturnedTwice(_ store: Store, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let spans = Fixtures.realisticSpans(count: 16, seed: 14)
        try await store.write([SpanBatch(spans: spans)])
        try await store.write([SpanBatch(spans: spans)])
        // And twice within one write.
        let extra = Array(spans.prefix(3))
        try await store.write([SpanBatch(spans: extra), SpanBatch(spans: extra)])
        try await expectTraces(store, hold: spans + spans + extra + extra, sourceLocation: sourceLocation)
        let found = try await store.findTraceIDs(TraceQuery(limit: 100))
        #expect(found.count == Set(spans.map(\.traceID)).count, sourceLocation: sourceLocation)
        #expect(Set(found).count == found.count, "a trace id is returned once", sourceLocation: sourceLocation)
    }

    /// Writes from several tasks at once all land, none partly.
    public static func concurrentWrites(_ store: Store, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let writers = 6
        let perWriter = (0..<writers).map { Fixtures.realisticSpans(count: 400, seed: 100 + UInt64($0)) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for spans in perWriter {
                group.addTask {
                    for start in stride(from: 0, to: spans.count, by: 100) {
                        let chunk = Array(spans[start..<min(spans.count, start + 100)])
                        try await store.write([SpanBatch(spans: Array(chunk.prefix(50))), SpanBatch(spans: Array(chunk.dropFirst(50)))])
                    }
                }
            }
            try await group.waitForAll()
        }
        try await expectTraces(store, hold: perWriter.flatMap { $0 }, sourceLocation: sourceLocation)
    }

    /// Writing no batch, or batches without spans, succeeds and stores nothing.
    public static func emptyWrites(_ store: Store, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try await store.write([])
        try await store.write([SpanBatch(), SpanBatch(spans: [])])
        #expect(try await store.services() == [], sourceLocation: sourceLocation)
        #expect(try await store.findTraceIDs(TraceQuery()) == [], sourceLocation: sourceLocation)
    }

    // MARK: - Search

    /// Service alone: every trace with a span of the service, newest first by that service's newest span.
    public static func searchByService(_ store: Store, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try await expectSearches(store, [
            (TraceQuery(service: "frontend"), [3, 2, 1, 5]),
            (TraceQuery(service: "checkout"), [4, 3, 1]),
            // t5's newest span is an inventory span written in another write than its root.
            (TraceQuery(service: "inventory"), [5, 2]),
            (TraceQuery(service: "nowhere"), []),
            (TraceQuery(service: "Frontend"), []),
        ], sourceLocation: sourceLocation)
    }

    /// Operation alone and with a service.
    public static func searchByOperation(_ store: Store, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try await expectSearches(store, [
            (TraceQuery(operation: "charge"), [4, 3, 1]),
            (TraceQuery(operation: "GET /checkout"), [3, 1]),
            (TraceQuery(service: "frontend", operation: "GET /checkout"), [3, 1]),
            (TraceQuery(service: "frontend", operation: "reserve"), []),
            (TraceQuery(operation: "GET"), []),
        ], sourceLocation: sourceLocation)
    }

    /// Attributes compared as text with the span's attributes, then its resource's; a span attribute hides the
    /// resource attribute of the same key; every attribute given must match.
    public static func searchByAttributes(_ store: Store, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try await expectSearches(store, [
            (TraceQuery(attributes: ["payment.provider": "acme"]), [4, 1]),
            (TraceQuery(attributes: ["http.response.status_code": "404"]), [2]),  // an int attribute
            (TraceQuery(attributes: ["cache.hit": "true"]), [2]),  // a bool attribute
            (TraceQuery(attributes: ["deployment.region": "eu"]), [3, 1]),  // resource; t4's span says "ap"
            (TraceQuery(attributes: ["deployment.region": "ap"]), [4]),
            (TraceQuery(attributes: ["deployment.region": "us"]), [5, 3, 2, 1]),
            (TraceQuery(attributes: ["payment.provider": "acme", "deployment.region": "eu"]), [1]),
            (TraceQuery(attributes: ["payment.provider": "acme", "deployment.region": "us"]), []),
            (TraceQuery(attributes: ["payment.provider": "ACME"]), []),
            (TraceQuery(attributes: ["no.such.key": "acme"]), []),
        ], sourceLocation: sourceLocation)
    }

    /// Start time bounds, both inclusive.
    public static func searchByTimeRange(_ store: Store, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try await expectSearches(store, [
            (TraceQuery(startTimeMin: at(2_000), startTimeMax: at(3_000)), [3, 2]),
            (TraceQuery(startTimeMin: at(2_010), startTimeMax: at(2_010)), [2]),
            (TraceQuery(startTimeMin: at(2_011), startTimeMax: at(2_999)), []),
            (TraceQuery(startTimeMin: at(4_000)), [5, 4]),
            (TraceQuery(startTimeMax: at(1_000)), [1, 5]),
            (TraceQuery(startTimeMin: at(6_000)), []),
            (TraceQuery(service: "checkout", startTimeMin: at(3_100)), [4, 3]),
            (TraceQuery(startTimeMin: .max), []),
            (TraceQuery(startTimeMax: 0), []),
        ], sourceLocation: sourceLocation)
    }

    /// Duration bounds, both inclusive.
    public static func searchByDuration(_ store: Store, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try await expectSearches(store, [
            (TraceQuery(durationMin: ms(200)), [3, 1, 5]),
            (TraceQuery(durationMax: ms(20)), [5, 4, 2]),
            (TraceQuery(durationMin: ms(50), durationMax: ms(50)), [2]),
            (TraceQuery(durationMin: ms(51), durationMax: ms(99)), []),
            (TraceQuery(service: "checkout", durationMin: ms(100)), [3, 1]),
            (TraceQuery(durationMin: .max), []),
        ], sourceLocation: sourceLocation)
    }

    /// Status code.
    public static func searchByStatus(_ store: Store, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try await expectSearches(store, [
            (TraceQuery(statusCode: .error), [3, 1]),
            (TraceQuery(statusCode: .ok), [3, 1]),
            (TraceQuery(statusCode: .unset), [5, 4, 2]),
            (TraceQuery(service: "checkout", statusCode: .error), [1]),
            (TraceQuery(statusCode: .init(rawValue: 7)), []),
        ], sourceLocation: sourceLocation)
    }

    /// Conditions combine on one span: a trace whose spans meet them only between them does not match.
    public static func searchCombined(_ store: Store, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try await expectSearches(store, [
            (TraceQuery(service: "frontend", durationMin: ms(200), statusCode: .error), [3]),
            (TraceQuery(service: "frontend", attributes: ["payment.provider": "acme"]), []),
            (TraceQuery(service: "checkout", operation: "charge", attributes: ["payment.provider": "acme"],
                        startTimeMin: at(1_000), startTimeMax: at(2_000), durationMin: ms(200), durationMax: ms(200),
                        statusCode: .error), [1]),
            (TraceQuery(service: "checkout", operation: "charge", attributes: ["payment.provider": "acme"],
                        startTimeMin: at(1_000), startTimeMax: at(2_000), durationMin: ms(200), durationMax: ms(200),
                        statusCode: .ok), []),
            (TraceQuery(service: "inventory", attributes: ["deployment.region": "us"], startTimeMin: at(3_000)), [5]),
        ], sourceLocation: sourceLocation)
    }

    /// At most `limit` traces, the newest first, by the start of their newest matching span (not their root's).
    public static func searchLimitAndOrder(_ store: Store, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try await expectSearches(store, [
            (TraceQuery(), [5, 4, 3, 2, 1]),
            (TraceQuery(limit: 3), [5, 4, 3]),
            // What `cairn export --all` asks for.
            (TraceQuery(limit: .max), [5, 4, 3, 2, 1]),
            (TraceQuery(service: "frontend", limit: 2), [3, 2]),
            (TraceQuery(service: "frontend", limit: 1), [3]),
            (TraceQuery(service: "frontend", limit: 0), []),
            (TraceQuery(operation: "GET /slow"), [5]),
        ], sourceLocation: sourceLocation)
    }

    /// Services sorted; each service's operations sorted by name, then kind, each once.
    public static func servicesAndOperations(_ store: Store, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        #expect(try await store.services() == [], sourceLocation: sourceLocation)
        #expect(try await store.operations(service: "alpha") == [], sourceLocation: sourceLocation)
        let trace = TraceID(high: 9, low: 9)
        var builder = SpanBuilder()
        let spans = [
            builder.span(trace, service: "zeta", name: "z", kind: .server, at: 0, ms: 1),
            builder.span(trace, service: "alpha", name: "b", kind: .server, at: 1, ms: 1),
            builder.span(trace, service: "alpha", name: "a", kind: .client, at: 2, ms: 1),
            builder.span(trace, service: "alpha", name: "a", kind: .server, at: 3, ms: 1),
            builder.span(trace, service: "alpha", name: "a", kind: .client, at: 4, ms: 1),
            builder.span(trace, service: "Mid", name: "m", kind: .internal, at: 5, ms: 1),
        ]
        try await store.write([SpanBatch(spans: Array(spans.prefix(3)))])
        try await store.write([SpanBatch(spans: Array(spans.dropFirst(3)))])
        #expect(try await store.services() == ["Mid", "alpha", "zeta"], sourceLocation: sourceLocation)
        #expect(
            try await store.operations(service: "alpha")
                == [Operation(name: "a", kind: .server), Operation(name: "a", kind: .client), Operation(name: "b", kind: .server)],
            sourceLocation: sourceLocation)
        #expect(try await store.operations(service: "zeta") == [Operation(name: "z", kind: .server)], sourceLocation: sourceLocation)
        #expect(try await store.operations(service: "nowhere") == [], sourceLocation: sourceLocation)
    }

    /// 20,000 realistic spans in writes that split traces and arrive out of time order: traces read back whole, and
    /// searches agree with `TraceQuery.matches` applied to every span.
    public static func manyTraces(_ store: Store, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let spans = Fixtures.realisticSpans(count: 20_000, seed: 15)
        // The spans come grouped by service, so consecutive chunks split traces between writes.
        let chunks = stride(from: 0, to: spans.count, by: 500).map { Array(spans[$0..<min(spans.count, $0 + 500)]) }
        let writes = stride(from: 0, to: chunks.count, by: 4).map { Array(chunks[$0..<min(chunks.count, $0 + 4)]) }
        for index in [3, 7, 1, 9, 0, 5, 2, 8, 4, 6] where index < writes.count {
            try await store.write(writes[index].map { SpanBatch(spans: $0) })
        }
        for index in writes.indices where ![3, 7, 1, 9, 0, 5, 2, 8, 4, 6].contains(index) {
            try await store.write(writes[index].map { SpanBatch(spans: $0) })
        }

        let byTrace = Dictionary(grouping: spans, by: \.traceID)
        for traceID in byTrace.keys.sorted().enumerated().filter({ $0.offset % 40 == 0 }).map(\.element) {
            let trace = try #require(try await store.trace(traceID), sourceLocation: sourceLocation)
            #expect(sorted(trace.spans) == sorted(byTrace[traceID] ?? []), sourceLocation: sourceLocation)
        }

        let first = spans.map(\.startTimeUnixNano).min() ?? 0
        let last = spans.map(\.startTimeUnixNano).max() ?? 0
        let host = spans.first { $0.serviceName == "inventory" }?.resource.attributes["host.name"]?.searchText ?? ""
        let queries = [
            TraceQuery(limit: 25),
            TraceQuery(service: "payments", limit: 50),
            TraceQuery(operation: "GET", limit: 30),
            TraceQuery(service: "checkout", durationMin: 100_000_000, limit: 40),
            TraceQuery(service: "frontend", statusCode: .error, limit: 1_000),
            TraceQuery(attributes: ["http.response.status_code": "500"], limit: 25),
            TraceQuery(attributes: ["host.name": host, "cache.hit": "true"], limit: 30),
            TraceQuery(startTimeMin: first + (last - first) / 3, startTimeMax: first + (last - first) / 2, limit: 60),
            TraceQuery(service: "inventory", startTimeMax: first + (last - first) / 4, durationMax: 30_000_000, limit: 10),
            TraceQuery(attributes: ["app.retries": "2"], startTimeMin: first + (last - first) / 2, limit: 5_000),
        ]
        for query in queries {
            try await expectSearch(store, query, over: spans, sourceLocation: sourceLocation)
        }
    }

    /// A minimum duration that few spans meet, over many writes: each write holds 60 short spans of two services
    /// and two operations, and two writes in three one long span among them. Searches, alone and with status,
    /// attribute, time and maximum duration conditions, agree with `TraceQuery.matches`.
    public static func searchRareLongSpans(_ store: Store, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        var builder = SpanBuilder()
        var spans: [Span] = []
        for write in 0..<30 {
            var batch: [Span] = []
            for index in 0..<60 {
                let number = UInt64(write * 60 + index)
                let long = write % 3 != 0 && index == write * 7 % 60
                batch.append(builder.span(
                    traceID(1_000 + number / 2), service: index % 4 == 1 ? "db" : "api",
                    name: index % 3 == 0 ? "GET /a" : "GET /b", kind: .server, at: number * 10,
                    ms: long ? 240 + number % 50 : 1 + number % 20, status: number % 5 == 0 ? .error : .unset,
                    attributes: [Attribute("shard", .int(Int64(number % 3)))]))
            }
            try await store.write([SpanBatch(spans: batch)])
            spans += batch
        }
        var queries: [TraceQuery] = []
        for limit in [3, 1_000] {
            queries += [
                TraceQuery(service: "api", durationMin: ms(240), limit: limit),
                TraceQuery(service: "api", durationMin: ms(200), limit: limit),
                TraceQuery(service: "db", durationMin: ms(240), limit: limit),
                TraceQuery(operation: "GET /b", durationMin: ms(250), limit: limit),
                TraceQuery(service: "api", operation: "GET /a", durationMin: ms(240), limit: limit),
                TraceQuery(service: "api", durationMin: ms(240), statusCode: .error, limit: limit),
                TraceQuery(service: "api", durationMin: ms(240), statusCode: .unset, limit: limit),
                TraceQuery(service: "api", attributes: ["shard": "1"], durationMin: ms(240), limit: limit),
                TraceQuery(service: "api", durationMin: ms(240), durationMax: ms(260), limit: limit),
                TraceQuery(service: "api", startTimeMin: at(3_000), startTimeMax: at(12_000), durationMin: ms(240), limit: limit),
                TraceQuery(service: "api", durationMin: ms(15), limit: limit),
                TraceQuery(service: "api", durationMin: 1, limit: limit),
            ]
        }
        for query in queries {
            try await expectSearch(store, query, over: spans, sourceLocation: sourceLocation)
        }
    }

    /// Minimum durations around the 16th longest span of an operation in a write, ties included: an operation of
    /// 40 spans (10 of 100 ms, 12 of 50 ms, 18 of 10 ms), operations of 5, 16 and 17 spans, and one of 30 spans of
    /// 70 ms, in each of two writes; searches with status and attribute conditions too agree with
    /// `TraceQuery.matches`.
    public static func searchDurationTies(_ store: Store, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        var builder = SpanBuilder()
        var spans: [Span] = []
        let operations: [(name: String, durations: [UInt64])] = [
            ("many", Array(repeating: 100, count: 10) + Array(repeating: 50, count: 12) + Array(repeating: 10, count: 18)),
            ("five", [5, 50, 60, 70, 200]),
            ("sixteen", Array(1...16)),
            ("seventeen", (0..<17).map { $0 % 8 + 1 }),
            ("steady", Array(repeating: 70, count: 30)),
        ]
        var number: UInt64 = 0
        for _ in 0..<2 {
            var batch: [Span] = []
            for (name, durations) in operations {
                // Starts are a permutation of 216 milliseconds, so that the longest spans are not the newest.
                for (index, duration) in durations.enumerated() {
                    batch.append(builder.span(
                        traceID(2_000 + number / 2), service: "svc", name: name, kind: .internal,
                        at: 100_000 + number * 37 % 216, ms: duration,
                        status: index % 3 == 0 ? .error : .ok, attributes: [Attribute("tier", .int(Int64(index % 2)))]))
                    number += 1
                }
            }
            try await store.write([SpanBatch(spans: batch)])
            spans += batch
        }
        var queries: [TraceQuery] = []
        for durationMin in [1, ms(1), ms(1) + 1, ms(2), ms(10), ms(50), ms(50) + 1, ms(60), ms(70), ms(100), ms(100) + 1] {
            for limit in [4, 1_000] {
                queries += [
                    TraceQuery(service: "svc", durationMin: durationMin, limit: limit),
                    TraceQuery(service: "svc", durationMin: durationMin, statusCode: .error, limit: limit),
                    TraceQuery(service: "svc", attributes: ["tier": "1"], durationMin: durationMin, limit: limit),
                ]
            }
            queries += operations.map { TraceQuery(operation: $0.name, durationMin: durationMin, limit: 1_000) }
            queries.append(TraceQuery(service: "svc", durationMin: durationMin, durationMax: ms(50), limit: 1_000))
        }
        for query in queries {
            try await expectSearch(store, query, over: spans, sourceLocation: sourceLocation)
        }
    }

    // MARK: - Scans

    /// The window's lower bound is inclusive, its upper bound exclusive; each span in it comes once, trimmed as
    /// the scan asks (attributes kept, no events or links by default).
    public static func scanWindowBounds(_ store: Store, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let (first, second) = searchDataSet()
        try await store.write(first)
        try await store.write(second)
        let spans = try (first + second).flatMap { try $0.spans() }
        for (window, names) in [
            (at(1_000)..<at(2_010), ["A", "B", "C"]),
            (at(2_010)..<at(2_011), ["D"]),
            (at(2_010) + 1..<at(3_000), []),
            (at(2_010) + 1..<at(3_000) + 1, ["E"]),
            (at(0)..<at(6_000), ["A", "B", "C", "D", "E", "F", "G", "H", "I"]),
            (0..<UInt64.max, ["A", "B", "C", "D", "E", "F", "G", "H", "I"]),
        ] {
            let scan = SpanScan(window: window)
            let expected = spans.filter { scan.matches($0) }.map(scan.trimmed)
            #expect(expected.count == names.count, "the data set has changed", sourceLocation: sourceLocation)
            try await expectScan(store, scan, gives: expected, sourceLocation: sourceLocation)
        }
    }

    /// A window, or no window at all, in which no span starts passes no span; so does an empty store.
    public static func scanEmptyWindow(_ store: Store, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try await expectScan(store, SpanScan(window: 0..<UInt64.max), gives: [], sourceLocation: sourceLocation)
        let (first, second) = searchDataSet()
        try await store.write(first)
        try await store.write(second)
        for window in [at(1_000)..<at(1_000), at(1_001)..<at(1_100), at(6_000)..<UInt64.max, 0..<at(0), UInt64.max..<UInt64.max] {
            try await expectScan(store, SpanScan(window: window), gives: [], sourceLocation: sourceLocation)
        }
    }

    /// 20,000 realistic spans in writes that split traces and arrive out of time order, some written twice: each
    /// stored span of a window comes exactly once (a span written twice, twice), across every block and trace.
    public static func scanManyBlocks(_ store: Store, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let spans = Fixtures.realisticSpans(count: 20_000, seed: 16, services: ["a", "b", "c", "d", "e", "f", "g", "h"],
                                            spansPerTrace: 12)
        let chunks = stride(from: 0, to: spans.count, by: 700).map { Array(spans[$0..<min(spans.count, $0 + 700)]) }
        for index in chunks.indices.reversed() where index % 2 == 0 {
            try await store.write([SpanBatch(spans: chunks[index])])
        }
        for index in chunks.indices where index % 2 == 1 {
            try await store.write([SpanBatch(spans: Array(chunks[index].prefix(300))), SpanBatch(spans: Array(chunks[index].dropFirst(300)))])
        }
        let again = Array(spans[5_000..<5_500])
        try await store.write([SpanBatch(spans: again)])
        let stored = spans + again

        let first = spans.map(\.startTimeUnixNano).min() ?? 0
        let last = spans.map(\.startTimeUnixNano).max() ?? 0
        let keys: Set<String> = ["server.address", "http.request.method", "server.port"]
        for scan in [
            SpanScan(window: first..<last + 1),
            SpanScan(window: first + (last - first) / 3..<first + (last - first) / 2, attributeKeys: keys),
            SpanScan(window: first..<first + (last - first) / 5, attributeKeys: [], includeEvents: true, includeLinks: true),
            SpanScan(window: first + (last - first) / 2..<last, attributeKeys: keys, services: ["b", "e"]),
        ] {
            try await expectScan(store, scan, gives: stored.filter { scan.matches($0) }.map(scan.trimmed),
                                 sourceLocation: sourceLocation)
        }
    }

    /// The services filter compares `Span.serviceName`; an empty set reads nothing.
    public static func scanServices(_ store: Store, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let (first, second) = searchDataSet()
        try await store.write(first)
        try await store.write(second)
        let spans = try (first + second).flatMap { try $0.spans() }
        let everyField = Fixtures.everyFieldSpans()
        try await store.write([SpanBatch(spans: everyField)])
        for (services, count) in [
            (["frontend"], 4), (["checkout", "inventory"], 5), ([], 0), (["nowhere"], 0), (["Frontend"], 0),
            (["unknown_service"], 1), (["every-field", "inventory"], 6),
        ] as [(Set<String>, Int)] {
            let scan = SpanScan(window: 1..<UInt64.max, services: services)
            let expected = (spans + everyField).filter { scan.matches($0) }.map(scan.trimmed)
            #expect(expected.count == count, "the data set has changed", sourceLocation: sourceLocation)
            try await expectScan(store, scan, gives: expected, sourceLocation: sourceLocation)
        }
    }

    /// Attributes by key (all, none, a subset, keys that no span has), events and links on and off: every
    /// combination gives the written spans trimmed by `SpanScan.trimmed(_:)`.
    public static func scanAttributesEventsLinks(_ store: Store, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let spans = Fixtures.everyFieldSpans() + Fixtures.realisticSpans(count: 300, seed: 17)
        try await store.write([SpanBatch(spans: spans)])
        let subsets: [Set<String>?] = [
            nil, [], ["server.address", "server.port", "peer.service"], ["duplicate", "kvlist", "", "double.nan"],
            ["no.such.key"], ["service.name"],
        ]
        for keys in subsets {
            for (events, links) in [(false, false), (true, false), (false, true), (true, true)] {
                let scan = SpanScan(window: 0..<UInt64.max, attributeKeys: keys, includeEvents: events, includeLinks: links)
                try await expectScan(store, scan, gives: spans.filter { scan.matches($0) }.map(scan.trimmed),
                                     sourceLocation: sourceLocation)
            }
        }
    }

    /// Start times at the edges of the range: zero, beyond `Int64.max` (which stores that index times clamp) and
    /// `UInt64.max` (in no window, as upper bounds are exclusive). An error thrown by `update` ends the scan and is
    /// rethrown.
    public static func scanExtremeTimes(_ store: Store, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let big = UInt64(Int64.max)
        var builder = SpanBuilder()
        let trace = TraceID(high: 7, low: 7)
        var spans = [0, 1, big - 1, big, big + 1, big + 5, UInt64.max - 1, UInt64.max].map { start in
            var span = builder.span(trace, service: "edge", name: "at \(start)", kind: .internal, at: 0, ms: 0)
            span.startTimeUnixNano = start
            span.endTimeUnixNano = start
            return span
        }
        spans.append(contentsOf: Fixtures.everyFieldSpans())
        try await store.write([SpanBatch(spans: spans)])
        for window in [0..<1, 0..<2, big - 1..<big + 1, big..<big + 5, big + 1..<big + 6, big + 2..<UInt64.max, 0..<UInt64.max] {
            let scan = SpanScan(window: window)
            try await expectScan(store, scan, gives: spans.filter { scan.matches($0) }.map(scan.trimmed),
                                 sourceLocation: sourceLocation)
        }

        struct Stop: Error {}
        await #expect(throws: Stop.self, sourceLocation: sourceLocation) {
            _ = try await store.reduceSpans(SpanScan(window: 0..<UInt64.max), into: 0) { count, _ in
                count += 1
                if count == 3 { throw Stop() }
            }
        }
    }

    // MARK: - The search data set

    /// Milliseconds after the data set's epoch, in nanoseconds since the Unix epoch.
    static func at(_ milliseconds: UInt64) -> UInt64 { 1_700_000_000_000_000_000 + milliseconds * 1_000_000 }

    /// Milliseconds in nanoseconds.
    static func ms(_ milliseconds: UInt64) -> UInt64 { milliseconds * 1_000_000 }

    /// The trace id of trace `number` of the data set.
    static func traceID(_ number: UInt64) -> TraceID { TraceID(high: 0x5EA4_C400_0000_0000 | number, low: number) }

    /// Five traces over three services, written in two writes (trace 5 in both). Each search check states its
    /// expected results as trace numbers, newest first; no two candidate starts are equal.
    ///
    /// ```
    /// trace span service   name           kind     start ms  dur ms  status  span attributes
    /// 1     A    frontend  GET /checkout  server   1000      300     ok      http.route, http.response.status_code=200
    /// 1     B    checkout  charge         client   1100      200     error   payment.provider=acme
    /// 2     C    frontend  GET /cart      server   2000      50      unset   http.response.status_code=404, cache.hit=true
    /// 2     D    inventory reserve        internal 2010      20      unset
    /// 3     E    frontend  GET /checkout  server   3000      1000    error   http.response.status_code=500
    /// 3     F    checkout  charge         client   3100      100     ok      payment.provider=other
    /// 4     G    checkout  charge         client   4000      10      unset   payment.provider=acme, deployment.region=ap
    /// 5     H    frontend  GET /slow      server   500       5000    unset
    /// 5     I    inventory reserve        internal 5000      10      unset   (second write)
    /// ```
    /// Resources: frontend and inventory have `deployment.region=us`, checkout `deployment.region=eu`.
    static func searchDataSet() -> (first: [SpanBatch], second: [SpanBatch]) {
        var b = SpanBuilder()
        let t = traceID
        let a = b.span(t(1), service: "frontend", name: "GET /checkout", kind: .server, at: 1_000, ms: 300, status: .ok,
                       attributes: [Attribute("http.route", .string("/checkout")), Attribute("http.response.status_code", .int(200))])
        let bb = b.span(t(1), parent: a, service: "checkout", name: "charge", kind: .client, at: 1_100, ms: 200, status: .error,
                        attributes: [Attribute("payment.provider", .string("acme"))])
        let c = b.span(t(2), service: "frontend", name: "GET /cart", kind: .server, at: 2_000, ms: 50,
                       attributes: [Attribute("http.response.status_code", .int(404)), Attribute("cache.hit", .bool(true))])
        let d = b.span(t(2), parent: c, service: "inventory", name: "reserve", kind: .internal, at: 2_010, ms: 20)
        let e = b.span(t(3), service: "frontend", name: "GET /checkout", kind: .server, at: 3_000, ms: 1_000, status: .error,
                       attributes: [Attribute("http.response.status_code", .int(500))])
        let f = b.span(t(3), parent: e, service: "checkout", name: "charge", kind: .client, at: 3_100, ms: 100, status: .ok,
                       attributes: [Attribute("payment.provider", .string("other"))])
        let g = b.span(t(4), service: "checkout", name: "charge", kind: .client, at: 4_000, ms: 10,
                       attributes: [Attribute("payment.provider", .string("acme")), Attribute("deployment.region", .string("ap"))])
        let h = b.span(t(5), service: "frontend", name: "GET /slow", kind: .server, at: 500, ms: 5_000)
        let i = b.span(t(5), parent: h, service: "inventory", name: "reserve", kind: .internal, at: 5_000, ms: 10)
        return ([SpanBatch(spans: [a, bb]), SpanBatch(spans: [c, d, h])], [SpanBatch(spans: [e, f, g]), SpanBatch(spans: [i])])
    }

    /// Builds the spans of the checks, with one resource per service.
    struct SpanBuilder {
        private var nextSpanID: UInt64 = 0x1000

        static func resource(_ service: String) -> Resource {
            Resource(attributes: [
                Attribute("service.name", .string(service)),
                Attribute("deployment.region", .string(service == "checkout" ? "eu" : "us")),
            ])
        }

        mutating func span(
            _ trace: TraceID, parent: Span? = nil, service: String, name: String, kind: SpanKind, at start: UInt64,
            ms duration: UInt64, status: SpanStatus.Code = .unset, attributes: [Attribute] = []
        ) -> Span {
            nextSpanID += 1
            return Span(
                traceID: trace, spanID: SpanID(value: nextSpanID), parentSpanID: parent?.spanID, flags: 0x101, name: name,
                kind: kind, startTimeUnixNano: StoreConformance.at(start),
                endTimeUnixNano: StoreConformance.at(start) + StoreConformance.ms(duration), attributes: attributes,
                status: SpanStatus(code: status, message: status == .error ? "failed" : ""),
                resource: Self.resource(service), scope: InstrumentationScope(name: "cairn.conformance", version: "1"))
        }
    }

    // MARK: - Expectations

    /// Writes the search data set, then runs each query and expects its traces, by number, in order.
    private static func expectSearches(
        _ store: Store, _ cases: [(TraceQuery, [UInt64])], sourceLocation: SourceLocation
    ) async throws {
        let (first, second) = searchDataSet()
        try await store.write(first)
        try await store.write(second)
        for (query, numbers) in cases {
            let found = try await store.findTraceIDs(query)
            let names = found.map { id in (1...5).first { traceID($0) == id }.map { "t\($0)" } ?? id.hex }
            #expect(found == numbers.map(traceID), "\(query) found \(names)", sourceLocation: sourceLocation)
        }
    }

    /// Expects the store's answer to a query to agree with `TraceQuery.matches` over the spans written, allowing
    /// any order among traces whose newest matching spans start at the same time.
    private static func expectSearch(
        _ store: Store, _ query: TraceQuery, over spans: [Span], sourceLocation: SourceLocation
    ) async throws {
        var newest: [TraceID: UInt64] = [:]
        for span in spans where query.matches(span) {
            newest[span.traceID] = max(newest[span.traceID] ?? 0, span.startTimeUnixNano)
        }
        let found = try await store.findTraceIDs(query)
        #expect(found.count == min(query.limit, newest.count), "\(query)", sourceLocation: sourceLocation)
        #expect(Set(found).count == found.count, "\(query) returned a trace twice", sourceLocation: sourceLocation)
        let starts = found.map { newest[$0] }
        #expect(!starts.contains(nil), "\(query) returned a trace that does not match", sourceLocation: sourceLocation)
        let known = starts.compactMap { $0 }
        #expect(zip(known, known.dropFirst()).allSatisfy { $0 >= $1 }, "\(query) is not newest first", sourceLocation: sourceLocation)
        if let oldestReturned = known.last {
            let returned = Set(found)
            let newerLeftOut = newest.filter { !returned.contains($0.key) && $0.value > oldestReturned }
            #expect(newerLeftOut.isEmpty, "\(query) left out newer traces", sourceLocation: sourceLocation)
        }
    }

    /// Expects the store to hold exactly these spans, trace by trace, in any order.
    private static func expectTraces(_ store: Store, hold spans: [Span], sourceLocation: SourceLocation) async throws {
        for (traceID, expected) in Dictionary(grouping: spans, by: \.traceID) {
            let trace = try #require(try await store.trace(traceID), "trace \(traceID) not found", sourceLocation: sourceLocation)
            #expect(trace.traceID == traceID, sourceLocation: sourceLocation)
            let actual = sorted(trace.spans)
            let wanted = sorted(expected)
            #expect(actual.count == wanted.count, "trace \(traceID)", sourceLocation: sourceLocation)
            if actual.count == wanted.count {
                for (read, written) in zip(actual, wanted) where read != written {
                    #expect(read == written, "span \(written.spanID) of trace \(traceID)", sourceLocation: sourceLocation)
                }
            }
        }
    }

    /// Expects the scan to pass exactly these spans, each as often as it is listed, in any order: read whole, and
    /// read in parts that are merged (which a store may split over threads or connections).
    private static func expectScan(
        _ store: Store, _ scan: SpanScan, gives expected: [Span], sourceLocation: SourceLocation
    ) async throws {
        let whole = try await store.reduceSpans(scan, into: [Span]()) { spans, span in spans.append(span) }
        let merged = try await store.reduceSpans(scan, into: [Span]()) { spans, span in
            spans.append(span)
        } merge: { spans, part in
            spans += part
        }
        let wanted = sorted(expected)
        for (how, found) in [("whole", whole), ("in parts", merged)] {
            let actual = sorted(found)
            #expect(actual.count == wanted.count, "\(scan.window) read \(how): \(actual.count) spans, not \(wanted.count)",
                    sourceLocation: sourceLocation)
            if actual.count == wanted.count {
                for (read, written) in zip(actual, wanted) where read != written {
                    #expect(read == written, "span \(written.spanID) in \(scan.window) read \(how)",
                            sourceLocation: sourceLocation)
                }
            }
        }
    }

    /// Spans in a canonical order, so that collections compare regardless of the order a store returns.
    private static func sorted(_ spans: [Span]) -> [Span] {
        spans.sorted { ($0.spanID, $0.startTimeUnixNano, $0.name) < ($1.spanID, $1.startTimeUnixNano, $1.name) }
    }
}
