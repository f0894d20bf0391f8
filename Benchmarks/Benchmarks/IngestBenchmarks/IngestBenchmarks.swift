// The two halves of the collector's ingest path, measured alone on the same spans as the end-to-end run
// (../scripts/bench-ingest): decoding a 512-span OTLP protobuf request, and committing decoded requests to SQLite in
// group commits. The slower of the two is the ceiling that end-to-end ingest is compared with. `memcpyBaseline`
// copies the same request bodies, so that a run on a busy or throttled machine shows up as a slow baseline.
//
// Every benchmark records the custom metric `spans/s` per iteration (512 spans per request); `throughput` counts
// iterations per second: requests for decode, 64 requests for memcpyBaseline, group commits for sqliteInsert.

import Benchmark
import CairnBenchSupport
import CairnModel
import CairnOTLP
import CairnSQLite
import Foundation

/// Spans in each request, as the load generator sends them.
let spansPerRequest = 512

/// Requests committed in one `SQLiteStore.write`. Under sustained load the collector commits up to
/// `CollectorConfiguration.maxSpansPerCommit` (16,384) spans at a time, which is 32 requests of 512 spans.
let batchesPerWrite = 32

/// Spans decoded, copied or written per second, one sample per iteration.
let spansPerSecond = BenchmarkMetric.custom("spans/s", polarity: .prefersLarger, useScalingFactor: false)

/// The rate of `spans` spans done in `elapsed`.
func rate(_ spans: Int, _ elapsed: Duration) -> Int {
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return seconds > 0 ? Int(Double(spans) / seconds) : 0
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal, .peakMemoryResident, spansPerSecond],
        warmupIterations: 10,
        maxDuration: .seconds(3),
        maxIterations: 100_000)

    let pool: RequestPool
    do {
        pool = try RequestPool(templates: 64, spansPerRequest: spansPerRequest, salt: 0x5EED)
    } catch {
        fatalError("cannot prepare the requests: \(error)")
    }
    let body = pool.body(number: 0)

    // Copies every template body once per iteration (64 requests, about 12 MB: more than the caches hold), so the
    // figure follows the machine's memory bandwidth and CPU share in this run.
    let templateBodies = (0..<pool.count).map { pool.templateBody($0) }
    let templateSpans = pool.count * spansPerRequest
    Benchmark("memcpyBaseline") { benchmark in
        let start = ContinuousClock.now
        for body in templateBodies {
            let copy = [UInt8](unsafeUninitializedCapacity: body.count) { buffer, initialized in
                body.withUnsafeBytes { source in
                    _ = memcpy(buffer.baseAddress!, source.baseAddress!, source.count)
                }
                initialized = body.count
            }
            blackHole(copy)
        }
        benchmark.measurement(spansPerSecond, rate(templateSpans, ContinuousClock.now - start))
    }

    Benchmark("decode") { benchmark in
        let start = ContinuousClock.now
        do {
            let decoded = try OTLPProtobuf.decodeRequest(body)
            blackHole(decoded)
        } catch {
            benchmark.error("decoding failed: \(error)")
        }
        benchmark.measurement(spansPerSecond, rate(spansPerRequest, ContinuousClock.now - start))
    }

    // The store grows by batchesPerWrite × 512 spans each iteration, as it does under load; the iterations are
    // capped so that the file stays a few hundred megabytes.
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("cairn-bench-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))")
    let counter = RequestCounter(start: 1)
    Benchmark(
        "sqliteInsert",
        // As many spans as `scripts/bench-ingest`'s end-to-end run stores (about 3.7 million in 225 commits), so
        // that the limit and the ingest rate are measured on files of the same size: a commit's cost grows with
        // the file (docs/store.md), and a fresh small file would make the limit look higher than the store allows.
        configuration: .init(warmupIterations: 2, maxDuration: .seconds(180), maxIterations: 225)
    ) { (benchmark: Benchmark, store: SQLiteStore) async in
        // Fresh trace ids for every request, decoded outside the measured part.
        var batches: [SpanBatch] = []
        batches.reserveCapacity(batchesPerWrite)
        do {
            for _ in 0..<batchesPerWrite {
                batches.append(try OTLPProtobuf.decodeRequest(pool.body(number: counter.next())).batch)
            }
        } catch {
            benchmark.error("decoding failed: \(error)")
            return
        }
        let spans = batches.reduce(0) { $0 + $1.count }
        benchmark.startMeasurement()
        let start = ContinuousClock.now
        do {
            try await store.write(batches)
        } catch {
            benchmark.error("writing failed: \(error)")
        }
        let elapsed = ContinuousClock.now - start
        benchmark.stopMeasurement()
        benchmark.measurement(spansPerSecond, rate(spans, elapsed))
    } setup: {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return try SQLiteStore(path: directory.appendingPathComponent("bench.db").path)
    } teardown: {
        try? FileManager.default.removeItem(at: directory)
    }
}
