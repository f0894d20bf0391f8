@testable import CairnCollector
import CairnModel
import CairnOTLP
import CairnSQLite
import CairnStore
import CairnTesting
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing

@Suite("The retention service: rounds of deletion beside ingest, and shutdown")
struct RetentionServiceTests {
    /// The fixtures' first start, and a day.
    static let base: UInt64 = 1_700_000_000_000_000_000
    static let day: UInt64 = 86_400_000_000_000

    /// Fixture spans moved `offset` later.
    static func spans(_ count: Int, seed: UInt64, later offset: UInt64 = 0) -> [Span] {
        Fixtures.realisticSpans(count: count, seed: seed).shifted(later: offset)
    }

    @Test("a round deletes the spans older than the retention of a SQLite store while the ingest queue commits, and the service stops on graceful shutdown")
    func deletesBesideIngest() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-retention-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStore(path: directory.appendingPathComponent("cairn.db").path)

        // Six blocks of spans ten days old; the new spans, a day old, arrive through the queue during the round.
        let old = (1...6).map { Self.spans(500, seed: $0) }
        for spans in old { try await store.write([SpanBatch(spans: spans)]) }
        let new = (10...17).map { Self.spans(200, seed: $0, later: 9 * Self.day) }
        let now = Mutex(Self.base + 10 * Self.day)
        let clock = ManualClock()
        let queue = IngestQueue(writer: store, configuration: CollectorConfiguration())
        let service = RetentionService(
            store: store, retention: .seconds(7 * 86_400), interval: .seconds(60), maxSpansPerBatch: 500, clock: clock,
            now: { now.withLock { $0 } }, logger: Logger(label: "test"))
        #expect(service.status == RetentionService.Status(deletedSpansTotal: 0))

        let group = ServiceGroup(services: [queue, service], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await withThrowingTaskGroup(of: Void.self) { submits in
                for spans in new {
                    submits.addTask { try await queue.submit(SpanBatch(spans: spans)) }
                }
                await clock.waitForSleeps(1)  // the first round is done
                #expect(service.status == RetentionService.Status(deletedSpansTotal: 3_000, lastRunAt: Self.base + 10 * Self.day))
                try await submits.waitForAll()
            }

            // The next round, a day later, finds nothing older; once the new spans are older than the retention,
            // they go too.
            now.withLock { $0 += Self.day }
            clock.advance(by: .seconds(60))
            await clock.waitForSleeps(2)
            #expect(service.status.deletedSpansTotal == 3_000)
            #expect(try store.spanCount() == 1_600)

            now.withLock { $0 = Self.base + 17 * Self.day }
            clock.advance(by: .seconds(60))
            await clock.waitForSleeps(3)
            #expect(service.status == RetentionService.Status(deletedSpansTotal: 4_600, lastRunAt: Self.base + 17 * Self.day))

            // Shutdown cancels the sleep: the group returns without the clock moving.
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(try store.spanCount() == 0)
        for spans in old + new {
            #expect(try await store.trace(spans[0].traceID) == nil)
        }
    }

    @Test("a round deletes batch after batch with the cutoff now minus the retention; a failed round is reported and retried")
    func batchesAndFailures() async throws {
        let store = ScriptedRetention()
        store.script([.success(5), .success(5), .success(2), .success(0)])
        let clock = ManualClock()
        let service = RetentionService(
            store: store, retention: .seconds(3_600), interval: .seconds(30), maxSpansPerBatch: 5, clock: clock,
            now: { 10_000_000_000_000 }, logger: Logger(label: "test"))
        let group = ServiceGroup(services: [service], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            await clock.waitForSleeps(1)
            let delete = ScriptedRetention.Call.delete(cutoff: 10_000_000_000_000 - 3_600_000_000_000, maxSpans: 5)
            #expect(store.calls == [delete, delete, delete, delete, .reclaim])
            #expect(service.status == RetentionService.Status(deletedSpansTotal: 12, lastRunAt: 10_000_000_000_000))

            store.script([.success(3), .failure])
            clock.advance(by: .seconds(30))
            await clock.waitForSleeps(2)
            #expect(service.status.deletedSpansTotal == 15)
            #expect(service.status.lastError == "ScriptedFailure()")

            store.script([.success(0)])
            clock.advance(by: .seconds(30))
            await clock.waitForSleeps(3)
            #expect(service.status == RetentionService.Status(deletedSpansTotal: 15, lastRunAt: 10_000_000_000_000))

            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}

/// A retention store that answers what the test scripts and records the calls.
private final class ScriptedRetention: SpanRetention {
    enum Answer { case success(Int), failure }
    enum Call: Equatable { case delete(cutoff: UInt64, maxSpans: Int), reclaim }

    private let state = Mutex((answers: [Answer](), calls: [Call]()))

    func script(_ answers: [Answer]) {
        state.withLock { $0 = (answers, []) }
    }

    var calls: [Call] { state.withLock { $0.calls } }

    func deleteSpans(endingBefore cutoff: UInt64, maxSpans: Int) async throws -> Int {
        let answer = state.withLock { state in
            state.calls.append(.delete(cutoff: cutoff, maxSpans: maxSpans))
            return state.answers.isEmpty ? .success(0) : state.answers.removeFirst()
        }
        switch answer {
        case .success(let spans): return spans
        case .failure: throw ScriptedFailure()
        }
    }

    func reclaimSpace() async throws {
        state.withLock { $0.calls.append(.reclaim) }
    }
}

private struct ScriptedFailure: Error {}
