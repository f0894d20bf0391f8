// The analyzer on one large trace: assembly with the standard adjusters, then the breakdown (self times and the
// critical path) and its rows by service and by operation: what `GET /api/traces/{id}/breakdown` and
// `cairn breakdown ID` compute once the spans are read. Targets (issue 4): at most 20 ms for 10,000 spans and
// 300 ms for 100,000.
//
// Each iteration starts from a trace that nothing else holds, as one just read from the store; making it is not
// measured. `sortBaseline` sorts a copy of the same spans by start time, the first step of assembly, so that a run on a busy
// machine shows up as a slow baseline and the analysis can be read as a multiple of it.

import Benchmark
import CairnAnalysis
import CairnModel
import CairnTesting

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .peakMemoryResident],
        warmupIterations: 3,
        maxDuration: .seconds(5),
        maxIterations: 1_000)

    for count in [10_000, 100_000] {
        // One trace of `count` spans over eight services, each span under a random earlier one: a realistic,
        // bushy tree with CLIENT/SERVER pairs across services.
        let spans = Fixtures.realisticSpans(
            count: count, seed: 42, services: (1...8).map { "service-\($0)" }, spansPerTrace: count)
        let trace = Trace(traceID: spans[0].traceID, spans: spans)
        let assembler = TraceAssembler()

        Benchmark("breakdown/\(count)") { benchmark in
            // As when a trace was just read from the store: spans that nothing else holds, given to the assembler.
            // Making them is not measured; releasing them when the analysis is done is.
            let fresh = Trace(traceID: trace.traceID, spans: trace.spans.map { $0 })
            benchmark.startMeasurement()
            do {
                let breakdown = TraceBreakdown(assembler.assemble(consume fresh))
                blackHole(breakdown.rows(by: .service))
                blackHole(breakdown.rows(by: .operation))
            }
            benchmark.stopMeasurement()
        }

        Benchmark("sortBaseline/\(count)") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(spans.sorted { $0.startTimeUnixNano < $1.startTimeUnixNano })
            }
        }
    }
}
