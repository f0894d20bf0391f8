@testable import CairnPostgres
import CairnModel
import CairnOTLP
import CairnStore
import CairnTesting
import Foundation
import Synchronization
import Testing

/// The scan split over connections (`reduceSpans(_:into:_:merge:)`); the conformance suite checks what it passes.
@Suite("PostgresStore: a window scan split over connections", .serialized)
struct PostgresScanTests {
    /// 2,000 spans, 400 per write, and the scan of a window that cuts them at both ends.
    static func stored(in store: PostgresStore) async throws -> (scan: SpanScan, expected: [UInt64]) {
        let spans = Fixtures.realisticSpans(count: 2_000, seed: 21)
        for start in stride(from: 0, to: spans.count, by: 400) {
            try await store.write([SpanBatch(spans: Array(spans[start..<start + 400]))])
        }
        let starts = spans.map(\.startTimeUnixNano).sorted()
        let scan = SpanScan(window: starts[300]..<starts[1_700], attributeKeys: [])
        return (scan, spans.filter { scan.window.contains($0.startTimeUnixNano) }.map(\.spanID.value).sorted())
    }

    @Test("the window is read in parts, one per connection, and the merged parts hold each span once")
    func partsCoverTheWindowOnce() async throws {
        try await PostgresTestDatabase.withStore { store in
            let (scan, expected) = try await Self.stored(in: store)
            let merges = Mutex(0)
            let merged = try await store.reduceSpans(scan, into: [UInt64]()) { ids, span in
                ids.append(span.spanID.value)
            } merge: { ids, part in
                merges.withLock { $0 += 1 }
                ids += part
            }
            #expect(merged.sorted() == expected)
            #expect(merges.withLock { $0 } == store.scanParts - 1)
        }
    }

    @Test("two split scans at once: one reads in parts, the other on one connection, and both see every span")
    func concurrentScans() async throws {
        try await PostgresTestDatabase.withStore { store in
            let (scan, expected) = try await Self.stored(in: store)
            try await withThrowingTaskGroup(of: [UInt64].self) { group in
                for _ in 0..<3 {
                    group.addTask {
                        try await store.reduceSpans(scan, into: [UInt64]()) { ids, span in
                            ids.append(span.spanID.value)
                        } merge: { ids, part in
                            ids += part
                        }
                    }
                }
                for try await ids in group { #expect(ids.sorted() == expected) }
            }
            let running = store.splitScanRunning.load(ordering: .relaxed)
            #expect(!running)
        }
    }

    @Test("an error thrown by the reduction in any part ends the scan and is rethrown as it was")
    func updateErrors() async throws {
        struct Stop: Error, Equatable {}
        try await PostgresTestDatabase.withStore { store in
            let (scan, expected) = try await Self.stored(in: store)
            let last = try #require(expected.max())
            await #expect(throws: Stop()) {
                _ = try await store.reduceSpans(scan, into: 0) { _, span in
                    if span.spanID.value == last { throw Stop() }
                } merge: { _, _ in }
            }
            // The store is usable after: the connections were given back.
            let count = try await store.reduceSpans(scan, into: 0) { count, _ in count += 1 } merge: { $0 += $1 }
            #expect(count == expected.count)
        }
    }

    @Test("a scan whose task is cancelled ends with CancellationError before it has read the window")
    func cancellation() async throws {
        try await PostgresTestDatabase.withStore { store in
            let (scan, expected) = try await Self.stored(in: store)
            let seen = Mutex(0)
            let scanning = Task {
                try await store.reduceSpans(scan, into: 0) { count, _ in
                    seen.withLock { $0 += 1 }
                    usleep(1_000)  // a slow reduction: 1,400 spans would take 1.4 s
                    count += 1
                } merge: { $0 += $1 }
            }
            try await Task.sleep(for: .milliseconds(100))
            scanning.cancel()
            await #expect(throws: CancellationError.self) { _ = try await scanning.value }
            #expect(seen.withLock { $0 } < expected.count)
            // The store is usable after.
            let count = try await store.reduceSpans(scan, into: 0) { count, _ in count += 1 } merge: { $0 += $1 }
            #expect(count == expected.count)
        }
    }
}
