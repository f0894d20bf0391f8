// Starting and ending spans through swift-distributed-tracing: CairnSDK beside swift-otel 1.6.0, in the same run
// (issue 3, "Figures"). Targets: a sampled, recording span with 5 attributes in at most 300 ns and 3 mallocs; an
// unsampled span in at most 50 ns and no malloc; CairnSDK at least twice as fast as swift-otel, with fewer mallocs.
//
// One iteration is 1,000 spans (`scalingFactor: .kilo`); scripts/bench-sdk divides by 1,000.
//
// Both SDKs use the processor their production setup uses, a batch span processor, with an exporter that discards
// and a queue larger than one iteration, and neither export task runs during the measured loop, so that what is
// measured is what the thread that ends a span pays:
// - CairnSDK: `BatchSpanProcessor` with `ClosureSpanExporter { _ in }`, queue and batch 4,096, its export task not
//   running; `forceFlush()` after `stopMeasurement()` converts and discards the queued spans. `cairn/*+export`
//   measures the same loop with that flush inside the measurement: the whole cost of a span, wherever it is paid.
// - swift-otel: `OTel.makeTracingBackend` (its public API; `OTelTracer` and its processors are internal) with
//   `traces.exporter = .none`, i.e. `OTelBatchSpanProcessor` over a no-op exporter, queue 4,096. A fresh backend
//   per iteration, its service not running: `span.end()` builds its `OTelFinishedSpan` and yields it into the
//   tracer's AsyncStream, whose buffer is released after `stopMeasurement()`. Its processor's work (done by the
//   service's tasks) is not measured at all, which favours swift-otel.
//
// Unsampled: the always_off sampler (swift-otel has a fast path for it that returns one shared no-op span), and the
// default parent-based sampler under a remote parent that is not sampled (`traceparent` flags 00), which takes both
// SDKs' ordinary path.

import Benchmark
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CairnSDK
import OTel
import Tracing

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        // `.cpuTotal` counts in 10 ms ticks, too coarse for an iteration of about 1 ms: `cpu` is the process's CPU
        // time from CLOCK_PROCESS_CPUTIME_ID around the measured part, which on this shared machine is steadier than
        // the wall clock.
        metrics: [.wallClock, cpu, .mallocCountTotal, .throughput],
        units: [.mallocCountTotal: .count, cpu: .count],
        warmupIterations: 20,
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 20_000)

    // MARK: CairnSDK

    func cairn(sampler: any CairnSDK.Sampler) -> (CairnTracer, BatchSpanProcessor) {
        let processor = BatchSpanProcessor(
            exporter: ClosureSpanExporter { _ in },
            configuration: .init(maxQueueSize: 4_096, maxExportBatchSize: 4_096, scheduleDelay: .seconds(3_600)))
        let tracer = CairnTracer(
            configuration: .init(serviceName: "bench", sampler: sampler), processor: processor)
        return (tracer, processor)
    }

    let unsampledParent = notSampledParent()

    // MARK: What the tracing API itself costs, for any SDK

    // The floor under the targets: work that `setAttributes` and a span's times make every SDK behind
    // swift-distributed-tracing do, before any work of its own.
    // - `floor/attributes`: the 5 assignments of `setAttributes` on a `SpanAttributes` that already holds the keys,
    //   so that no assignment allocates or grows the dictionary: the hashing and probing of `SpanAttributes`'
    //   subscript, which a span's `attributes[key] = value` runs whatever the SDK (an SDK that keeps no attributes,
    //   for an unsampled span, still receives them through this subscript).
    // - `floor/clock`: two reads of `DefaultTracerClock.now`, a sampled span's start and end times.
    // - `floor/contextLookup`: reading one value from a `ServiceContext` that holds it, as a child span reads its
    //   parent's span context (an object, here as in CairnSDK, so that the read is one lookup and one cast).
    // - `floor/bindContext`: what `withSpan` does besides starting and ending the span, whatever the SDK: it binds
    //   `span.context` as `ServiceContext.current` (a task-local value) while the operation runs. Here the context
    //   is one made beforehand, so that nothing is allocated for it.
    // - `floor/newContext`: the context that `span.context` gives `withSpan`: the caller's context with the span's
    //   own span context added, as a new object. OpenTelemetry gives every span, recorded or not, a span id of its
    //   own, so an SDK that follows it makes one for every span (swift-otel returns the caller's context unchanged
    //   for an always_off span).
    Benchmark("floor/attributes") { benchmark in
        var attributes = SpanAttributes()
        setAttributes(&attributes)
        measure(benchmark) {
            for _ in benchmark.scaledIterations {
                setAttributes(&attributes)
                blackHole(attributes)
            }
        }
    }
    Benchmark("floor/contextLookup") { benchmark in
        var context = ServiceContext.topLevel
        context[FloorKey.self] = FloorValue()
        measure(benchmark) {
            for _ in benchmark.scaledIterations {
                blackHole(context[FloorKey.self])
            }
        }
    }
    Benchmark("floor/bindContext") { benchmark in
        var context = ServiceContext.topLevel
        context[FloorKey.self] = FloorValue()
        measure(benchmark) {
            for _ in benchmark.scaledIterations {
                ServiceContext.$current.withValue(context) { blackHole(benchmark) }
            }
        }
    }
    Benchmark("floor/newContext") { benchmark in
        measure(benchmark) {
            for _ in benchmark.scaledIterations {
                var context = ServiceContext.topLevel
                context[FloorKey.self] = FloorValue()
                blackHole(context)
            }
        }
    }
    Benchmark("floor/clock") { benchmark in
        measure(benchmark) {
            for _ in benchmark.scaledIterations {
                blackHole(DefaultTracerClock.now)
                blackHole(DefaultTracerClock.now)
            }
        }
    }

    // `bare`: `startSpan` and `end()` with no attribute, to tell the span's own cost from that of its attributes.
    for (name, useWithSpan, withAttributes) in [("startEnd", false, true), ("withSpan", true, true), ("bare", false, false)] {
        Benchmark("cairn/sampled/\(name)") { benchmark in
            let (tracer, processor) = cairn(sampler: AlwaysOnSampler())
            measure(benchmark) { run(tracer, benchmark.scaledIterations, useWithSpan: useWithSpan, withAttributes: withAttributes, context: .topLevel) }
            try await processor.forceFlush()
        }
        Benchmark("cairn/sampled+export/\(name)") { benchmark in
            let (tracer, processor) = cairn(sampler: AlwaysOnSampler())
            let start = processCPUNanos()
            benchmark.startMeasurement()
            run(tracer, benchmark.scaledIterations, useWithSpan: useWithSpan, withAttributes: withAttributes, context: .topLevel)
            try await processor.forceFlush()
            benchmark.stopMeasurement()
            benchmark.measurement(cpu, processCPUNanos() - start)
        }
        Benchmark("cairn/alwaysOff/\(name)") { benchmark in
            let (tracer, _) = cairn(sampler: AlwaysOffSampler())
            measure(benchmark) { run(tracer, benchmark.scaledIterations, useWithSpan: useWithSpan, withAttributes: withAttributes, context: .topLevel) }
        }
        Benchmark("cairn/parentNotSampled/\(name)") { benchmark in
            let (tracer, processor) = cairn(sampler: ParentBasedSampler(root: AlwaysOnSampler()))
            let context = unsampledParent(tracer)
            measure(benchmark) { run(tracer, benchmark.scaledIterations, useWithSpan: useWithSpan, withAttributes: withAttributes, context: context) }
            try await processor.forceFlush()
        }

        // MARK: swift-otel

        Benchmark("otel/sampled/\(name)") { benchmark in
            let (tracer, service) = try otel(sampler: .alwaysOn)
            measure(benchmark) { run(tracer, benchmark.scaledIterations, useWithSpan: useWithSpan, withAttributes: withAttributes, context: .topLevel) }
            blackHole(service)
        }
        Benchmark("otel/alwaysOff/\(name)") { benchmark in
            let (tracer, service) = try otel(sampler: .alwaysOff)
            measure(benchmark) { run(tracer, benchmark.scaledIterations, useWithSpan: useWithSpan, withAttributes: withAttributes, context: .topLevel) }
            blackHole(service)
        }
        Benchmark("otel/parentNotSampled/\(name)") { benchmark in
            let (tracer, service) = try otel(sampler: .parentBasedAlwaysOn)
            let context = unsampledParent(tracer)
            measure(benchmark) { run(tracer, benchmark.scaledIterations, useWithSpan: useWithSpan, withAttributes: withAttributes, context: context) }
            blackHole(service)
        }
    }
}

/// The process's CPU time in the measured part, in ns.
let cpu = BenchmarkMetric.custom("CPU (process) (ns)")

func processCPUNanos() -> Int {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return time.tv_sec * 1_000_000_000 + time.tv_nsec
}

/// Measures `body`: the metrics of package-benchmark and `cpu`.
@inline(__always)
func measure(_ benchmark: Benchmark, _ body: () -> Void) {
    let start = processCPUNanos()
    benchmark.startMeasurement()
    body()
    benchmark.stopMeasurement()
    benchmark.measurement(cpu, processCPUNanos() - start)
}

func otel(sampler: OTel.Configuration.TracesConfiguration.SamplerConfiguration) throws -> (some Tracer, some Sendable) {
    var configuration = OTel.Configuration.default
    configuration.serviceName = "bench"
    configuration.traces.sampler = sampler
    configuration.traces.exporter = .none
    configuration.traces.batchSpanProcessor.maxQueueSize = 4_096
    configuration.traces.batchSpanProcessor.maxExportBatchSize = 4_096
    configuration.traces.batchSpanProcessor.scheduleDelay = .seconds(3_600)
    let (tracer, service) = try OTel.makeTracingBackend(configuration: configuration)
    return (tracer, BoxedService(service))
}

/// Keeps swift-otel's service alive (unrun) until the measurement is over.
struct BoxedService<S>: @unchecked Sendable {
    let service: S
    init(_ service: S) { self.service = service }
}

/// A context whose span context was extracted from a `traceparent` whose parent was not sampled.
func notSampledParent() -> @Sendable (any Instrument) -> ServiceContext {
    { instrument in
        var context = ServiceContext.topLevel
        instrument.extract(
            ["traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"], into: &context,
            using: DictionaryExtractor())
        return context
    }
}

struct DictionaryExtractor: Extractor {
    func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
}

/// One iteration: `benchmark.scaledIterations` (1,000) spans, each with 5 attributes of mixed types.
@inline(never)
func run<T: Tracer>(
    _ tracer: T, _ iterations: Range<Int>, useWithSpan: Bool, withAttributes: Bool, context: ServiceContext
) {
    if !withAttributes {
        for _ in iterations {
            tracer.startSpan("op", context: context).end()
        }
    } else if useWithSpan {
        for _ in iterations {
            tracer.withSpan("op", context: context) { span in
                setAttributes(span)
            }
        }
    } else {
        for _ in iterations {
            let span = tracer.startSpan("op", context: context)
            setAttributes(span)
            span.end()
        }
    }
}

@inline(__always)
func setAttributes<S: Tracing.Span>(_ span: S) {
    span.attributes["http.request.method"] = "GET"
    span.attributes["http.response.status_code"] = 200
    span.attributes["url.path"] = "/api/orders"
    span.attributes["cache.hit"] = true
    span.attributes["db.query.ratio"] = 0.25
}

/// A service context value for `floor/contextLookup`.
final class FloorValue: Sendable {}

enum FloorKey: ServiceContextKey {
    typealias Value = FloorValue
}

/// The same 5 assignments on attributes held directly.
@inline(__always)
func setAttributes(_ attributes: inout SpanAttributes) {
    attributes["http.request.method"] = "GET"
    attributes["http.response.status_code"] = 200
    attributes["url.path"] = "/api/orders"
    attributes["cache.hit"] = true
    attributes["db.query.ratio"] = 0.25
}
