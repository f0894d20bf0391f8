import CairnModel
import CairnOTLP
import CairnSQLite
import CairnStore
import CairnTesting
import Testing

@Suite("SQLiteStore: a window scan split over threads")
struct ParallelScanTests {
    let directory: TemporaryDirectory

    init() throws {
        directory = try TemporaryDirectory()
    }

    @Test("each span of the window goes to exactly one part, and the merged parts equal one scan")
    func partsCoverTheWindowOnce() async throws {
        let store = try SQLiteStore(path: directory.path("cairn.db"),
                                    configuration: .init(minimumSpansPerScanPart: 50))
        let spans = Fixtures.realisticSpans(count: 3_000, seed: 11)
        for start in stride(from: 0, to: spans.count, by: 200) {
            try await store.write([SpanBatch(spans: Array(spans[start..<start + 200]))])
        }
        let starts = spans.map(\.startTimeUnixNano).sorted()
        // A window that cuts blocks at both ends.
        let scan = SpanScan(window: starts[400]..<starts[2_600], attributeKeys: [])
        let expected = spans.filter { scan.window.contains($0.startTimeUnixNano) }.map(\.spanID.value).sorted()

        let whole = try await store.reduceSpans(scan, into: [UInt64]()) { ids, span in ids.append(span.spanID.value) }
        #expect(whole.sorted() == expected)

        let counter = PartCounter()
        let merged = try await store.reduceSpans(scan, into: [UInt64]()) { ids, span in
            ids.append(span.spanID.value)
        } merge: { ids, part in
            counter.count()
            ids += part
        }
        #expect(merged.sorted() == expected)
        #expect(counter.merges > 0, "the scan was not split: the window holds \(expected.count) spans")
    }
}

/// Counts merges from the scan's threads.
final class PartCounter: Sendable {
    private let state = Mutex(0)
    func count() { state.withLock { $0 += 1 } }
    var merges: Int { state.withLock { $0 } }
}

import Synchronization

@Suite("SQLiteStore: checkWritable")
struct CheckWritableTests {
    @Test("a store whose write lock another connection holds says so in one sentence, and is writable once it is let go")
    func lockedByAnother() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("cairn.db")
        let store = try SQLiteStore(path: path, configuration: .init(busyTimeout: .milliseconds(50)))
        try await store.checkWritable()

        var holder = Configuration()
        holder.allowsUnsafeTransactions = true  // the lock is held across accesses on purpose
        let other = try DatabaseQueue(path: path, configuration: holder)
        try await other.writeWithoutTransaction { db in try db.execute(sql: "BEGIN IMMEDIATE") }
        await #expect {
            try await store.checkWritable()
        } throws: { error in
            "\(error)".hasPrefix("the store at \(path) cannot take its write lock (")
                && "\(error)".hasSuffix("stop any other process that writes to it, and check the disk and the file system.")
        }
        try await other.writeWithoutTransaction { db in try db.execute(sql: "ROLLBACK") }
        try await store.checkWritable()
    }
}

import GRDB
