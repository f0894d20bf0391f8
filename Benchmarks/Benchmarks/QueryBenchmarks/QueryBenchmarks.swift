// The read side of the SQLite store, on a store of `CAIRN_BENCH_SPANS` spans (default 10,000,000) built once and
// cached (see QueryStore.swift; ../scripts/bench-query runs these and prints the figures):
//
// - traceByID: `trace(_:)` of random stored trace ids.
// - findTraceIDs: search by service and minimum duration, limit 20, over the whole time range; random services and
//   minimum durations from 1 to 240 ms.
// - dependencyGraph: the dependency map of a window of about 1,000,000 spans, end to end, as the query API and the
//   CLI compute it (`SpanReader.dependencyGraph`): the store's scan, split over the cores, with the attribute keys and
//   links that `DependencyGraphBuilder` reads, one builder per part, merged, and `build()`.
// - reduceSpans: the same scan alone on one thread, counting spans; `reduceSpansNoAttributes` is the same window with no attribute
//   at all, the floor of a scan.
//
// Each reports wall clock per iteration (one query, or one whole scan); the scans also report `spans` (spans passed)
// and `spans/s`.

import Benchmark
import CairnAnalysis
import CairnCollector
import CairnModel
import CairnSQLite
import CairnStore
import Foundation

/// Spans scanned per second, one sample per iteration.
let spansPerSecond = BenchmarkMetric.custom("spans/s", polarity: .prefersLarger, useScalingFactor: false)
/// Spans passed by one scan.
let spansScanned = BenchmarkMetric.custom("spans", polarity: .prefersLarger, useScalingFactor: false)

/// The spans the store holds: `CAIRN_BENCH_SPANS`, default 10 million.
let storeSpans = ProcessInfo.processInfo.environment["CAIRN_BENCH_SPANS"].flatMap { Int($0) } ?? 10_000_000

/// The spans a scan window holds.
let windowSpans = 1_000_000

/// The window that holds about `windowSpans` spans in the middle of the store: the spans start at a steady rate.
func scanWindow(_ fixture: QueryStore) -> Range<UInt64> {
    let duration = fixture.lastStart - fixture.firstStart
    let length = UInt64(Double(duration) * min(1, Double(windowSpans) / Double(max(fixture.spanCount, 1))))
    let start = fixture.firstStart + (duration - length) / 2
    return start..<start + length + 1
}

/// The rate of `spans` in `elapsed`.
func rate(_ spans: Int, _ elapsed: Duration) -> Int {
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return seconds > 0 ? Int(Double(spans) / seconds) : 0
}

/// Trace ids of the store, sampled from 256 short windows spread over its time range.
func sampleTraceIDs(_ fixture: QueryStore) async throws -> [TraceID] {
    let step = (fixture.lastStart - fixture.firstStart) / 256
    var ids: Set<TraceID> = []
    for index in 0..<UInt64(256) {
        let start = fixture.firstStart + index * step
        ids.formUnion(try await fixture.store.reduceSpans(
            SpanScan(window: start..<start + 200_000_000, attributeKeys: []), into: Set<TraceID>()
        ) { ids, span in ids.insert(span.traceID) })
    }
    return ids.sorted()
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .peakMemoryResident],
        timeUnits: .microseconds,
        warmupIterations: 3,
        maxDuration: .seconds(10),
        maxIterations: 10_000)

    Benchmark("traceByID") { (benchmark: Benchmark, state: (QueryStore, [TraceID])) async in
        let (fixture, ids) = state
        for _ in benchmark.scaledIterations {
            do {
                let trace = try await fixture.store.trace(ids.randomElement()!)
                if trace == nil { benchmark.error("a sampled trace is missing") }
                blackHole(trace)
            } catch {
                benchmark.error("trace(_:) failed: \(error)")
            }
        }
    } setup: {
        let fixture = try await QueryStore.open(spanCount: storeSpans)
        let ids = try await sampleTraceIDs(fixture)
        guard !ids.isEmpty else { throw QueryBenchmarkError("the store holds no trace") }
        return (fixture, ids)
    }

    let minimumDurations: [UInt64] = [1, 10, 50, 100, 200, 240].map { $0 * 1_000_000 }
    Benchmark("findTraceIDs") { (benchmark: Benchmark, fixture: QueryStore) async in
        for _ in benchmark.scaledIterations {
            let query = TraceQuery(service: QueryStore.services.randomElement()!, durationMin: minimumDurations.randomElement()!,
                                   limit: 20)
            do {
                blackHole(try await fixture.store.findTraceIDs(query))
            } catch {
                benchmark.error("findTraceIDs failed: \(error)")
            }
        }
    } setup: {
        try await QueryStore.open(spanCount: storeSpans)
    }

    let scanConfiguration = Benchmark.Configuration(
        metrics: [.wallClock, .peakMemoryResident, spansScanned, spansPerSecond], timeUnits: .microseconds,
        warmupIterations: 1, maxDuration: .seconds(30), maxIterations: 20)
    let dependencyScan = { (fixture: QueryStore) in
        SpanScan(window: scanWindow(fixture), attributeKeys: DependencyGraphBuilder.attributeKeys, includeLinks: true)
    }
    Benchmark("dependencyGraph", configuration: scanConfiguration) { (benchmark: Benchmark, fixture: QueryStore) async in
        do {
            // What `GET /api/dependencies/graph` and `cairn deps` run: the scan split over the cores, then the graph.
            let graph = try await fixture.store.dependencyGraph(scanWindow(fixture))
            if graph.edges.isEmpty { benchmark.error("the window gave no edge") }
            blackHole(graph)
        } catch {
            benchmark.error("dependencyGraph failed: \(error)")
        }
    } setup: {
        try await QueryStore.open(spanCount: storeSpans)
    }

    for (name, attributes) in [("reduceSpans", true), ("reduceSpansNoAttributes", false)] {
        Benchmark(name, configuration: scanConfiguration) { (benchmark: Benchmark, fixture: QueryStore) async in
            var scan = dependencyScan(fixture)
            if !attributes {
                scan.attributeKeys = []
                scan.includeLinks = false
            }
            let start = ContinuousClock.now
            do {
                let count = try await fixture.store.reduceSpans(scan, into: 0) { count, span in
                    count += 1
                    blackHole(span)
                }
                benchmark.measurement(spansScanned, count)
                benchmark.measurement(spansPerSecond, rate(count, ContinuousClock.now - start))
            } catch {
                benchmark.error("reduceSpans failed: \(error)")
            }
        } setup: {
            try await QueryStore.open(spanCount: storeSpans)
        }
    }
}

/// A benchmark that cannot run, and why.
struct QueryBenchmarkError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
