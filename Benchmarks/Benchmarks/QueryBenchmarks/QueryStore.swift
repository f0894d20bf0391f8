import CairnModel
import CairnOTLP
import CairnPostgres
import CairnSQLite
import CairnStore
import CairnTesting
import Foundation

/// The store that the query benchmarks read: `spanCount` spans of `Fixtures.realisticSpans`, built once into
/// `Benchmarks/.data/query-<spanCount>.sqlite` and reused while that file exists (delete it to rebuild). With
/// `CAIRN_BENCH_STORE` set to a PostgreSQL URL (../scripts/bench-postgres), the spans go into that database instead,
/// once, with the facts about them in `Benchmarks/.data/query-<spanCount>.postgres.json` (the script deletes it with
/// the database); their day partitions are created whatever their age.
///
/// Traces of 8 to 30 spans over 8 services, one root every 20 to 50 ms (about 540 spans a second: 10 million spans
/// cover about 5 hours), written through `SQLiteStore.write` in group commits of 4,000 to 16,000 spans made of
/// requests of 8 to 40 traces, as the collector commits them under load. Each service runs on 3 hosts (resources).
struct QueryStore: Sendable {
    let store: any SpanReader & SpanWriter
    let spanCount: Int
    /// The start of the first span and of the last, in nanoseconds since the Unix epoch.
    let firstStart: UInt64
    let lastStart: UInt64

    static let services = ["frontend", "checkout", "inventory", "payments", "shipping", "users", "search", "recommendations"]

    /// The start of the timeline: 2023-11-14.
    static let epoch: UInt64 = 1_700_000_000_000_000_000

    /// The store of `spanCount` spans, built first if its file does not exist.
    static func open(spanCount: Int) async throws -> QueryStore {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".data")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if let url = ProcessInfo.processInfo.environment["CAIRN_BENCH_STORE"], !url.isEmpty {
            let metadataPath = directory.appendingPathComponent("query-\(spanCount).postgres.json").path
            var configuration = PostgresStore.Configuration()
            configuration.partitionDaysBack = 1_000_000
            let store = try await PostgresStore(url: url, configuration: configuration)
            if !FileManager.default.fileExists(atPath: metadataPath) {
                guard try await store.spanCount() == 0 else {
                    throw QueryStoreError("\(store.url) holds spans but \(metadataPath) is missing; give an empty database")
                }
                log("building \(store.url) with \(spanCount) spans (once; delete \(metadataPath) and the database to rebuild)")
                let metadata = try await fill(store, spanCount: spanCount)
                try JSONEncoder().encode(metadata).write(to: URL(fileURLWithPath: metadataPath))
            }
            return try QueryStore(store: store, metadataPath: metadataPath)
        }
        let path = directory.appendingPathComponent("query-\(spanCount).sqlite").path
        let metadataPath = path + ".json"
        if !FileManager.default.fileExists(atPath: path) || !FileManager.default.fileExists(atPath: metadataPath) {
            try await build(spanCount: spanCount, path: path, metadataPath: metadataPath)
        }
        return try QueryStore(store: try SQLiteStore(path: path), metadataPath: metadataPath)
    }

    private init(store: any SpanReader & SpanWriter, metadataPath: String) throws {
        let metadata = try JSONDecoder().decode(Metadata.self, from: Data(contentsOf: URL(fileURLWithPath: metadataPath)))
        self.store = store
        spanCount = metadata.spans
        firstStart = metadata.firstStart
        lastStart = metadata.lastStart
    }

    /// What the benchmarks need to know of the store without reading it all.
    struct Metadata: Codable {
        var spans: Int
        var firstStart: UInt64
        var lastStart: UInt64
    }

    /// Builds the store in a file beside `path`, then moves it there, so that an interrupted build leaves no store.
    private static func build(spanCount: Int, path: String, metadataPath: String) async throws {
        let partial = path + ".partial"
        for suffix in ["", "-wal", "-shm"] {
            try? FileManager.default.removeItem(atPath: partial + suffix)
        }
        log("building \(path) with \(spanCount) spans (once; delete the file to rebuild)")
        let metadata = try await fill(try SQLiteStore(path: partial), spanCount: spanCount)
        // The store is closed here: its last connection checkpoints the log into the file.
        for suffix in ["-wal", "-shm"] where FileManager.default.fileExists(atPath: partial + suffix) {
            try? FileManager.default.removeItem(atPath: path + suffix)
            try FileManager.default.moveItem(atPath: partial + suffix, toPath: path + suffix)
        }
        try FileManager.default.moveItem(atPath: partial, toPath: path)
        try JSONEncoder().encode(metadata).write(to: URL(fileURLWithPath: metadataPath))
    }

    /// Writes `spanCount` spans into `store`, commit by commit, and returns the facts about them.
    private static func fill(_ store: any SpanWriter, spanCount: Int) async throws -> Metadata {
        let started = ContinuousClock.now
        var metadata = Metadata(spans: 0, firstStart: .max, lastStart: 0)
        var commit = 0
        var next = makeCommit(number: commit, cursor: epoch, remaining: spanCount)
        while next.spans > 0 {
            let current = next
            commit += 1
            // Generating the next commit overlaps with writing this one.
            let (number, remaining) = (commit, spanCount - metadata.spans - current.spans)
            async let following = makeCommit(number: number, cursor: current.cursor, remaining: remaining)
            try await store.write(current.batches)
            metadata.spans += current.spans
            metadata.firstStart = min(metadata.firstStart, current.firstStart)
            metadata.lastStart = max(metadata.lastStart, current.lastStart)
            if commit % 100 == 0 {
                log("\(metadata.spans) spans in \(commit) commits, \(started.duration(to: .now))")
            }
            next = await following
        }
        log("wrote \(metadata.spans) spans over \((metadata.lastStart - metadata.firstStart) / 1_000_000_000) s of traffic in \(started.duration(to: .now)) (\(Int(Double(metadata.spans) / max(0.001, Double(started.duration(to: .now).components.seconds)))) spans/s)")
        return metadata
    }

    /// One group commit: its requests, the number of spans, their first and last starts, and where the next
    /// commit's traces start.
    struct Commit: Sendable {
        var batches: [SpanBatch] = []
        var spans = 0
        var firstStart = UInt64.max
        var lastStart: UInt64 = 0
        var cursor: UInt64
    }

    /// The resources: 3 hosts per service.
    static let resources: [String: [Resource]] = Dictionary(uniqueKeysWithValues: services.map { service in
        (service, (1...3).map { host in
            Resource(attributes: [
                Attribute("service.name", .string(service)),
                Attribute("host.name", .string("\(service)-\(host)")),
                Attribute("telemetry.sdk.name", .string("opentelemetry")),
                Attribute("telemetry.sdk.language", .string("swift")),
                Attribute("telemetry.sdk.version", .string("1.9.0")),
            ], schemaURL: "https://opentelemetry.io/schemas/1.26.0")
        })
    })

    /// Commit `number`: 4,000 to 16,000 spans (at most `remaining`) of traces starting at `cursor`.
    static func makeCommit(number: Int, cursor: UInt64, remaining: Int) -> Commit {
        var commit = Commit(cursor: cursor)
        let target = min(remaining, 4_000 + Int(mix(UInt64(number)) % 12_001))
        var request = 0
        while commit.spans < target {
            let seed = UInt64(number) << 16 | UInt64(request)
            let spansPerTrace = 8 + Int(mix(seed ^ 0xA5A5) % 23)
            let traces = 8 + Int(mix(seed ^ 0x5A5A) % 33)
            var spans = Fixtures.realisticSpans(count: min(target - commit.spans, spansPerTrace * traces), seed: seed,
                                                services: services, spansPerTrace: spansPerTrace)
            // Move the request's traces to the cursor, and give each span its host's resource.
            let first = spans.map(\.startTimeUnixNano).min() ?? 0
            let host = Int(seed % 3)
            for index in spans.indices {
                spans[index].startTimeUnixNano = spans[index].startTimeUnixNano - first + commit.cursor
                spans[index].endTimeUnixNano = spans[index].endTimeUnixNano - first + commit.cursor
                for event in spans[index].events.indices {
                    spans[index].events[event].timeUnixNano = spans[index].events[event].timeUnixNano - first + commit.cursor
                }
                spans[index].resource = resources[spans[index].serviceName]?[host] ?? spans[index].resource
            }
            let last = spans.map(\.startTimeUnixNano).max() ?? commit.cursor
            commit.firstStart = min(commit.firstStart, commit.cursor)
            commit.lastStart = max(commit.lastStart, last)
            // The next trace starts 20 to 50 ms after this request's last root.
            commit.cursor = spans.filter { $0.parentSpanID == nil }.map(\.startTimeUnixNano).max().map { $0 + 20_000_000 + mix(seed) % 30_000_000 }
                ?? commit.cursor
            commit.spans += spans.count
            commit.batches.append(SpanBatch(spans: spans))
            request += 1
        }
        return commit
    }

    /// SplitMix64's finaliser: a well-spread number from a counter.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A store that cannot be used for the benchmarks, and why.
    struct QueryStoreError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static func log(_ message: String) {
        FileHandle.standardError.write(Data("QueryBenchmarks: \(message)\n".utf8))
    }
}
