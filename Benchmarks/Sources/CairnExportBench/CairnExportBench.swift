import ArgumentParser
import CairnSDK
import Foundation
import Tracing

/// `cairn-exportbench`: one service ending spans at a paced rate through CairnSDK at its default settings
/// (`CairnTracingService`: batch processor with queue 2048, batch 512, delay 5 s; OTLP/HTTP exporter), into a
/// collector; prints one JSON line with what the SDK ended, exported, dropped and lost (issue 3, "Export").
///
/// The spans are made the way an instrumented service makes them: the tracer is installed with
/// `InstrumentationSystem.bootstrap` and each span is a `withSpan` with 5 attributes. A thread of its own paces them:
/// every 200 µs it ends as many spans as are due since the start, so the rate holds whatever each span costs, as long
/// as the machine keeps up (the achieved rate is printed).
@main
struct CairnExportBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cairn-exportbench",
        abstract: "End spans at a paced rate through CairnSDK's default export pipeline into a collector.",
        discussion: """
            Prints one JSON line at the end: ended, exported, dropped, failed, queued, seconds, rate (spans ended \
            per second), flush_seconds (the final flush and shutdown). Only the endpoint (and \
            --max-concurrent-exports when given) is configured in code; OTEL_* variables are ignored, so that the \
            run uses the SDK's defaults.

            Example:
              cairn-exportbench --endpoint http://127.0.0.1:4318/v1/traces --rate 50000 --duration 10
            """)

    @Option(help: "The OTLP/HTTP traces endpoint.")
    var endpoint = "http://127.0.0.1:4318/v1/traces"

    @Option(help: "Spans ended per second.")
    var rate = 50_000

    @Option(help: "Seconds of spans.")
    var duration = 10.0

    @Option(help: "The resource's service.name.")
    var serviceName = "cairn-export-bench"

    @Option(help: "Batches in flight at once (OTLPHTTPExporter.Configuration.maxConcurrentExports); default: the SDK's.")
    var maxConcurrentExports: Int?

    func run() async throws {
        var configuration = CairnTracingService.Configuration()
        configuration.exporter.endpoint = endpoint
        if let maxConcurrentExports { configuration.exporter.maxConcurrentExports = maxConcurrentExports }
        let service = try CairnTracingService.bootstrap(
            serviceName: serviceName, configuration: configuration, environment: [:])
        guard let processor = service.processor else {
            throw ValidationError("The SDK is disabled; nothing would be exported.")
        }
        let exportLoop = Task { try await service.run() }

        let (ended, seconds) = await produce(rate: rate, duration: duration)

        let clock = ContinuousClock()
        let flushStart = clock.now
        try await processor.shutdown()
        try await exportLoop.value
        let flushSeconds = Self.seconds(flushStart.duration(to: clock.now))

        let achieved = Double(ended) / seconds
        print(
            #"{"ended":\#(ended),"exported":\#(processor.exportedSpanCount),"dropped":\#(processor.droppedSpanCount),"#
                + #""failed":\#(processor.failedSpanCount),"queued":\#(processor.queuedSpanCount),"#
                + #""seconds":\#(String(format: "%.3f", seconds)),"rate":\#(Int(achieved.rounded())),"#
                + #""flush_seconds":\#(String(format: "%.3f", flushSeconds))}"#)
    }

    /// Ends spans at `rate` per second for `duration` seconds on a thread of its own; returns how many it ended and
    /// the seconds it took.
    private func produce(rate: Int, duration: Double) async -> (Int, Double) {
        await withCheckedContinuation { continuation in
            let thread = Thread {
                let clock = ContinuousClock()
                let start = clock.now
                let total = Int(Double(rate) * duration)
                var ended = 0
                while ended < total {
                    let elapsed = Self.seconds(start.duration(to: clock.now))
                    let due = min(total, Int(elapsed * Double(rate)))
                    while ended < due {
                        withSpan("GET /api/orders/{id}", ofKind: .server) { span in
                            span.attributes["http.request.method"] = "GET"
                            span.attributes["http.response.status_code"] = 200
                            span.attributes["url.path"] = "/api/orders/42"
                            span.attributes["cache.hit"] = ended % 2 == 0
                            span.attributes["db.query.ratio"] = 0.25
                        }
                        ended += 1
                    }
                    usleep(200)
                }
                continuation.resume(returning: (ended, Self.seconds(start.duration(to: clock.now))))
            }
            thread.name = "cairn-exportbench producer"
            thread.start()
        }
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
