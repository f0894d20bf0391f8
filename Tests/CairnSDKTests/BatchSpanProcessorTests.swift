import CairnModel
import CairnSDK
import CairnTesting
import Logging
import ServiceLifecycle
import Testing
import Tracing

@Suite("BatchSpanProcessor, on a manual clock")
struct BatchSpanProcessorTests {
    let clock = ManualClock()
    let exporter: RecordingExporter
    let processor: BatchSpanProcessor
    let tracer: CairnTracer
    let logs = LogCapture()

    init(queue: Int = 16, batch: Int = 4, stuck: Bool = false) {
        exporter = RecordingExporter(stuck: stuck)
        processor = BatchSpanProcessor(
            exporter: exporter,
            configuration: .init(maxQueueSize: queue, maxExportBatchSize: batch, scheduleDelay: .seconds(5)),
            clock: clock, logger: logs.logger)
        tracer = CairnTracer(
            configuration: .init(serviceName: "batch-test", detectsHostAndProcess: false, sampler: AlwaysOnSampler()),
            processor: processor)
    }

    init() {
        self.init(queue: 16, batch: 4)
    }

    func endSpans(_ count: Int) {
        for index in 0..<count { tracer.startSpan("op \(index)", context: .topLevel).end() }
    }

    /// Runs the export loop in a task; returns it once the loop waits on the clock.
    func startLoop() async throws -> Task<Void, any Error> {
        let processor = self.processor
        let task = Task { try await processor.run() }
        try await eventually("the export loop waits") { clock.sleeperDelays == [.seconds(5)] }
        return task
    }

    func stop(_ task: Task<Void, any Error>) async throws {
        try await processor.shutdown()
        try await task.value
    }

    @Test("a full batch is exported at once, without waiting for the schedule delay")
    func fullBatch() async throws {
        let task = try await startLoop()
        endSpans(4)
        try await eventually("the batch is exported") { exporter.batches.count == 1 }
        #expect(exporter.batches.map(\.count) == [4])
        #expect(clock.now.offset == .zero)
        try await stop(task)
    }

    @Test("fewer spans than a batch wait for the schedule delay, then are exported")
    func scheduleDelay() async throws {
        let task = try await startLoop()
        endSpans(2)
        clock.advance(by: .seconds(4))
        #expect(exporter.batches.isEmpty)
        #expect(processor.queuedSpanCount == 2)
        clock.advance(by: .seconds(1))
        try await eventually("the spans are exported") { exporter.batches.count == 1 }
        #expect(exporter.batches.map(\.count) == [2])
        #expect(exporter.batches[0].map(\.name) == ["op 0", "op 1"])
        try await eventually("the loop waits again") { clock.sleeperDelays == [.seconds(5)] }
        try await stop(task)
    }

    @Test("forceFlush exports everything queued in batches of at most maxExportBatchSize, and waits")
    func forceFlushBatches() async throws {
        endSpans(10)
        try await processor.forceFlush()
        #expect(exporter.batches.map(\.count) == [4, 4, 2])
        #expect(processor.exportedSpanCount == 10)
        #expect(processor.queuedSpanCount == 0)
        let spans = exporter.batches.flatMap { $0 }
        #expect(spans.first?.resource.attributes["service.name"] == .string("batch-test"))
    }

    @Test("spans past the queue size are dropped and counted")
    func overflow() async throws {
        let test = BatchSpanProcessorTests(queue: 4, batch: 4)
        test.endSpans(10)
        #expect(test.processor.droppedSpanCount == 6)
        #expect(test.processor.queuedSpanCount == 4)
        try await test.processor.shutdown()
        #expect(test.exporter.spanCount == 4)
        let warnings = test.logs.messages.filter { $0.0 == .warning }.map(\.1)
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("6 spans were dropped") == true)
    }

    @Test("onEnd never blocks while the exporter is stuck; drops are logged with their count, at most once per interval")
    func stuckExporter() async throws {
        let test = BatchSpanProcessorTests(queue: 4, batch: 2, stuck: true)
        let task = try await test.startLoop()
        test.endSpans(2)
        try await eventually("the export starts") { test.exporter.startedCount == 1 }

        let started = ContinuousClock.now
        test.endSpans(10)
        let elapsed = ContinuousClock.now - started
        #expect(elapsed < .milliseconds(500))
        #expect(test.processor.queuedSpanCount == 4)
        #expect(test.processor.droppedSpanCount == 6)

        test.exporter.release()
        try await eventually("the queued spans are exported") { test.exporter.spanCount == 6 }
        try await eventually("the loop waits again") { test.clock.sleeperDelays == [.seconds(5)] }
        try await eventually("the drops are logged") { test.logs.messages.contains { $0.0 == .warning } }
        var warnings = test.logs.messages.filter { $0.0 == .warning }.map(\.1)
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("6 spans were dropped") == true)

        // More drops within the interval are not logged until it has passed.
        test.exporter.stick()
        test.endSpans(2)
        try await eventually("the next export starts") { test.exporter.startedCount == 4 }
        test.endSpans(7)
        #expect(test.processor.droppedSpanCount == 9)
        test.exporter.release()
        try await eventually("the queued spans are exported") { test.exporter.spanCount == 12 }
        try await eventually("the loop waits again") { test.clock.sleeperDelays == [.seconds(5)] }
        #expect(test.logs.messages.filter { $0.0 == .warning }.count == 1)
        test.clock.advance(by: .seconds(10))
        try await eventually("the drops are logged") { test.logs.messages.filter { $0.0 == .warning }.count == 2 }
        warnings = test.logs.messages.filter { $0.0 == .warning }.map(\.1)
        #expect(warnings.last?.contains("3 spans were dropped") == true)
        try await test.stop(task)
    }

    @Test("under many fast producers and a slow exporter, every span ended is exported once or counted as dropped")
    func fastProducersSlowExporter() async throws {
        let test = BatchSpanProcessorTests(queue: 64, batch: 16)
        let task = try await test.startLoop()
        let tracer = test.tracer
        func endConcurrently(phase: Int) async {
            await withTaskGroup(of: Void.self) { group in
                for producer in 0..<8 {
                    group.addTask {
                        for index in 0..<500 {
                            tracer.startSpan("\(phase).\(producer).\(index)", context: .topLevel).end()
                        }
                    }
                }
            }
        }

        // The exporter hangs on its first batch: at most the spans it took (a queue's worth) and a full queue are
        // kept, the rest are dropped.
        test.exporter.stick()
        await endConcurrently(phase: 1)
        let droppedWhileStuck = test.processor.droppedSpanCount
        #expect(droppedWhileStuck >= 4_000 - 2 * 64)

        // The exporter runs again while producers keep ending spans faster than it exports.
        test.exporter.release()
        await endConcurrently(phase: 2)
        try await test.stop(task)

        let names = test.exporter.batches.flatMap { $0.map(\.name) }
        #expect(Set(names).count == names.count, "a span was exported twice")
        #expect(test.exporter.batches.allSatisfy { $0.count <= 16 })
        #expect(test.processor.exportedSpanCount == names.count)
        #expect(test.processor.exportedSpanCount + test.processor.droppedSpanCount == 8_000)
        #expect(test.processor.failedSpanCount == 0)
        #expect(test.processor.queuedSpanCount == 0)
    }

    @Test("an export that outlasts the export timeout is cancelled and its spans are counted as failed")
    func exportTimeout() async throws {
        let test = BatchSpanProcessorTests(queue: 16, batch: 4, stuck: true)
        test.endSpans(3)
        let processor = test.processor
        let flush = Task { try await processor.forceFlush() }
        try await eventually("the export waits on the timeout") {
            test.exporter.startedCount == 1 && test.clock.sleeperDelays == [.seconds(30)]
        }
        test.clock.advance(by: .seconds(30))
        try await flush.value
        #expect(test.processor.failedSpanCount == 3)
        #expect(test.processor.exportedSpanCount == 0)
        #expect(test.exporter.batches.isEmpty)
    }

    @Test("graceful shutdown of the service exports every finished span, then shuts the exporter down")
    func gracefulShutdown() async throws {
        let group = ServiceGroup(
            configuration: .init(services: [processor], logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }))
        let task = Task { try await group.run() }
        try await eventually("the export loop waits") { clock.sleeperDelays == [.seconds(5)] }
        endSpans(7)
        await group.triggerGracefulShutdown()
        try await task.value
        #expect(exporter.spanCount == 7)
        #expect(exporter.isShutDown)
        endSpans(1)
        #expect(processor.droppedSpanCount == 1)
        #expect(processor.queuedSpanCount == 0)
    }

    @Test("spans that are recorded but not sampled are not exported")
    func recordOnly() async throws {
        let tracer = CairnTracer(
            configuration: .init(serviceName: "batch-test", sampler: RecordOnlySampler()), processor: processor)
        tracer.startSpan("recorded", context: .topLevel).end()
        try await processor.forceFlush()
        #expect(exporter.batches.isEmpty)
        #expect(processor.droppedSpanCount == 0)
    }
}

struct RecordOnlySampler: Sampler {
    func shouldSample(_ parameters: SamplingParameters) -> SamplingResult {
        SamplingResult(.recordOnly)
    }
    var description: String { "RecordOnly" }
}

@Suite("OTEL_BSP_* variables")
struct BatchSpanProcessorEnvironmentTests {
    @Test("the four OTEL_BSP_* variables set the queue, batch, delay and timeout")
    func variables() {
        let capture = LogCapture()
        let configuration = BatchSpanProcessor.Configuration().applyingEnvironment(
            [
                "OTEL_BSP_MAX_QUEUE_SIZE": "100", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "50",
                "OTEL_BSP_SCHEDULE_DELAY": "250", "OTEL_BSP_EXPORT_TIMEOUT": "1500",
            ], logger: capture.logger)
        #expect(configuration.maxQueueSize == 100)
        #expect(configuration.maxExportBatchSize == 50)
        #expect(configuration.scheduleDelay == .milliseconds(250))
        #expect(configuration.exportTimeout == .milliseconds(1500))
        #expect(capture.messages.isEmpty)
    }

    @Test("the defaults are 2048, 512, 5 s and 30 s")
    func defaults() {
        let configuration = BatchSpanProcessor.Configuration().applyingEnvironment([:])
        #expect(configuration == .init(maxQueueSize: 2048, maxExportBatchSize: 512, scheduleDelay: .seconds(5), exportTimeout: .seconds(30)))
    }

    @Test("an invalid value is logged and ignored; a batch larger than the queue is lowered to it")
    func invalid() {
        let capture = LogCapture()
        let configuration = BatchSpanProcessor.Configuration().applyingEnvironment(
            ["OTEL_BSP_MAX_QUEUE_SIZE": "100", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "1000", "OTEL_BSP_SCHEDULE_DELAY": "soon"],
            logger: capture.logger)
        #expect(configuration.maxExportBatchSize == 100)
        #expect(configuration.scheduleDelay == .seconds(5))
        #expect(capture.messages.count == 1)
        #expect(capture.messages.first?.1.contains("OTEL_BSP_SCHEDULE_DELAY=soon") == true)
    }
}
