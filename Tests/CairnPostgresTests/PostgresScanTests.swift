@testable import CairnPostgres
import CairnModel
import CairnOTLP
import CairnStore
import CairnTesting
import Foundation
import PostgresNIO
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

    /// Groupings that send every span through one way of reading, or mix them.
    static let groupings: [(name: String, grouping: PostgresStore.ScanGrouping)] = [
        ("buckets of about one span", .init(bucketSpans: 1, bucketLimit: 4, largePayload: 16_384, maximumBuckets: 65_536)),
        ("one bucket per part", .init(bucketSpans: 1_000_000, bucketLimit: 4_096, largePayload: 16_384, maximumBuckets: 1)),
        ("every bucket too full: all spans read row by row", .init(bucketSpans: 100, bucketLimit: 0, largePayload: 16_384, maximumBuckets: 65_536)),
        ("every span large: all read row by row", .init(bucketSpans: 100, bucketLimit: 4_096, largePayload: 0, maximumBuckets: 65_536)),
        ("some buckets too full, some spans large", .init(bucketSpans: 40, bucketLimit: 45, largePayload: 400, maximumBuckets: 65_536)),
    ]

    @Test("however spans are grouped into rows, a scan passes each span of the window once", arguments: groupings.indices)
    func grouping(_ index: Int) async throws {
        var configuration = PostgresTestDatabase.testConfiguration
        configuration.scanGrouping = Self.groupings[index].grouping
        try await PostgresTestDatabase.withStore(configuration: configuration) { store in
            let (scan, expected) = try await Self.stored(in: store)
            if index == Self.groupings.count - 1 {
                // Mixed indeed: some spans are larger than 400 bytes, and most are not.
                var lengths: [Int32] = []
                for try await length in try await store.client.query("SELECT length(payload) FROM spans", logger: store.logger)
                    .decode(Int32.self)
                {
                    lengths.append(length)
                }
                let large = lengths.filter { $0 > 400 }.count
                #expect(large > 0 && large < lengths.count / 2, "\(large) of \(lengths.count) spans are large")
            }
            let whole = try await store.reduceSpans(scan, into: [UInt64]()) { ids, span in ids.append(span.spanID.value) }
            #expect(whole.sorted() == expected, "\(Self.groupings[index].name)")
            let merged = try await store.reduceSpans(scan, into: [UInt64]()) { ids, span in
                ids.append(span.spanID.value)
            } merge: { ids, part in
                ids += part
            }
            #expect(merged.sorted() == expected, "\(Self.groupings[index].name), in parts")
        }
    }

    @Test("buckets are sized by the planner's estimate, read from EXPLAIN (FORMAT JSON)")
    func estimate() async throws {
        try await PostgresTestDatabase.withStore { store in
            _ = try await Self.stored(in: store)
            try await store.client.query("ANALYZE spans", logger: store.logger)
            var estimate: Double?
            for try await plan in try await store.client.query(
                "EXPLAIN (FORMAT JSON) SELECT 1 FROM spans", logger: store.logger
            ).decode(String.self) {
                estimate = ScanStatement.estimatedRows(plan)
            }
            // The planner counts a row for each empty partition.
            #expect((2_000...2_010).contains(estimate ?? 0))
            #expect(ScanStatement.estimatedRows("[]") == nil)
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
