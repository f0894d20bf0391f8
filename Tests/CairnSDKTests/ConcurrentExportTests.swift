import CairnModel
@testable import CairnSDK
import CairnTesting
import Synchronization
import Testing
import Tracing

@Suite("BatchSpanProcessor with an exporter that allows concurrent exports")
struct ConcurrentExportTests {
    @Test("full batches are exported concurrently up to the exporter's limit, and shutdown waits for them all")
    func concurrentExports() async throws {
        let (clock, exporter, processor, tracer, loop) = Self.start(maxConcurrentExports: 3, maxQueueSize: 64)
        try await eventually("the export loop waits") { clock.sleeperDelays == [.seconds(5)] }

        for index in 0..<42 { tracer.startSpan("op \(index)", context: .topLevel).end() }
        try await eventually("three exports are in flight") { exporter.counts.inFlight == 3 }
        // Spans past the 3 batches in flight stay queued; the 2 past the last full batch wait for the delay.
        #expect(processor.queuedSpanCount == 42 - 12)
        #expect(exporter.counts.peak == 3)

        let shutdown = Task { try await processor.shutdown() }
        exporter.open()
        try await shutdown.value
        try await loop.value
        #expect(exporter.counts.peak == 3)
        #expect(exporter.counts.exported == 42)
        #expect(exporter.counts.batches.allSatisfy { $0 <= 4 })
        #expect(!exporter.counts.shutDownWhileExporting)
        #expect(processor.exportedSpanCount == 42)
        #expect(processor.droppedSpanCount == 0)
    }

    @Test("forceFlush returns once the exports already in flight are done too")
    func forceFlushWaitsForExportsInFlight() async throws {
        let (clock, exporter, processor, tracer, loop) = Self.start(maxConcurrentExports: 2, maxQueueSize: 64)
        try await eventually("the export loop waits") { clock.sleeperDelays == [.seconds(5)] }
        for index in 0..<8 { tracer.startSpan("op \(index)", context: .topLevel).end() }
        try await eventually("two exports are in flight") { exporter.counts.inFlight == 2 }

        let flushed = Mutex(false)
        let flush = Task {
            try await processor.forceFlush()
            flushed.withLock { $0 = true }
        }
        // Nothing is queued, yet the flush waits for the two exports in flight.
        try await Task.sleep(for: .milliseconds(50))
        #expect(!flushed.withLock { $0 })
        exporter.open()
        try await flush.value
        #expect(exporter.counts.exported == 8)
        try await processor.shutdown()
        try await loop.value
    }
}

extension ConcurrentExportTests {
    /// A processor with batches of 4 on a manual clock, exporting to a gated exporter, a tracer on it, and its
    /// export loop running.
    static func start(maxConcurrentExports: Int, maxQueueSize: Int)
        -> (ManualClock, GatedExporter, BatchSpanProcessor, CairnTracer, Task<Void, any Error>)
    {
        let clock = ManualClock()
        let exporter = GatedExporter(maxConcurrentExports: maxConcurrentExports)
        let processor = BatchSpanProcessor(
            exporter: exporter, configuration: .init(maxQueueSize: maxQueueSize, maxExportBatchSize: 4), clock: clock)
        let tracer = CairnTracer(
            configuration: .init(serviceName: "concurrent-test", detectsHostAndProcess: false, sampler: AlwaysOnSampler()),
            processor: processor)
        return (clock, exporter, processor, tracer, Task { try await processor.run() })
    }

    @Test("two flushes at once both return while spans keep ending")
    func flushesUnderLoad() async throws {
        let (clock, exporter, processor, tracer, loop) = Self.start(maxConcurrentExports: 3, maxQueueSize: 256)
        exporter.open()
        try await eventually("the export loop waits") { clock.sleeperDelays.contains(.seconds(5)) }
        let stop = Mutex(false)
        let producer = Task {
            var index = 0
            while !stop.withLock({ $0 }) {
                tracer.startSpan("op \(index)", context: .topLevel).end()
                index += 1
                if index % 16 == 0 { await Task.yield() }
            }
        }
        try await eventually("exports run") { exporter.counts.exported > 100 }
        async let first: Void = processor.forceFlush()
        async let second: Void = processor.forceFlush()
        _ = try await (first, second)
        stop.withLock { $0 = true }
        await producer.value
        try await processor.shutdown()
        try await loop.value
        #expect(exporter.counts.peak <= 3)
        #expect(processor.exportedSpanCount == exporter.counts.exported)
        #expect(processor.queuedSpanCount == 0)
    }
}

/// An exporter that allows `maxConcurrentExports` exports at once and holds each until ``open()``.
final class GatedExporter: ConcurrentSpanExporter {
    struct Counts {
        var inFlight = 0
        var peak = 0
        var exported = 0
        var batches: [Int] = []
        var shutDownWhileExporting = false
    }

    private struct State {
        var counts = Counts()
        var isOpen = false
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    let maxConcurrentExports: Int
    private let state = Mutex(State())

    init(maxConcurrentExports: Int) {
        self.maxConcurrentExports = maxConcurrentExports
    }

    var counts: Counts { state.withLock { $0.counts } }

    /// Lets held exports finish, and later ones go through.
    func open() {
        let waiting = state.withLock { state in
            state.isOpen = true
            defer { state.waiting.removeAll() }
            return state.waiting
        }
        for continuation in waiting { continuation.resume() }
    }

    func export(_ batch: [CairnModel.Span]) async throws {
        state.withLock { state in
            state.counts.inFlight += 1
            state.counts.peak = max(state.counts.peak, state.counts.inFlight)
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let goOn = state.withLock { state in
                if state.isOpen { return true }
                state.waiting.append(continuation)
                return false
            }
            if goOn { continuation.resume() }
        }
        state.withLock { state in
            state.counts.inFlight -= 1
            state.counts.exported += batch.count
            state.counts.batches.append(batch.count)
        }
    }

    func shutdown() async {
        state.withLock { state in
            if state.counts.inFlight > 0 { state.counts.shutDownWhileExporting = true }
        }
    }
}
