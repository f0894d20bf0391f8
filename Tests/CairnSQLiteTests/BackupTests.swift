import CairnModel
import CairnOTLP
@testable import CairnSQLite
import CairnStore
import CairnTesting
import Foundation
import GRDB
import Synchronization
import Testing

@Suite("SQLiteStore backups: online copy, verification, restore")
struct BackupTests {
    let directory: TemporaryDirectory

    init() throws {
        directory = try TemporaryDirectory()
    }

    /// Checks that the store at `path` holds exactly the traces of `spans`, each span equal.
    private func expectHolds(_ spans: [Span], at path: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let store = try SQLiteStore(path: path)
        #expect(try store.spanCount() == spans.count, sourceLocation: sourceLocation)
        for (traceID, expected) in Dictionary(grouping: spans, by: \.traceID) {
            let trace = try #require(try await store.trace(traceID), sourceLocation: sourceLocation)
            #expect(Set(trace.spans) == Set(expected), sourceLocation: sourceLocation)
        }
    }

    @Test("a backup holds every trace of the store, equal, in one file that verifies")
    func backupEqualsSource() async throws {
        let spans = Fixtures.realisticSpans(count: 3_000, seed: 7)
        let store = try SQLiteStore(path: directory.path("cairn.db"))
        for part in stride(from: 0, to: spans.count, by: 500) {
            try await store.write([SpanBatch(spans: Array(spans[part..<part + 500]))])
        }
        let path = directory.path("backup.db")
        let report = try store.backup(to: path)

        #expect(report.path == path)
        #expect(report.schemaVersion == 3)
        #expect(report.spanCount == spans.count)
        #expect(report.newestSpanStart == spans.map(\.startTimeUnixNano).max())
        #expect(report.newestSpanEnd == spans.map(\.endTimeUnixNano).max())
        #expect(report.bytes == (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int))
        #expect(report.bytes > 0)
        // One self-contained file: no log beside it, nothing partial left.
        for leftover in [path + "-wal", path + "-journal", path + ".partial"] {
            #expect(!FileManager.default.fileExists(atPath: leftover), "\(leftover)")
        }
        #expect(try SQLiteStore.verify(path: path) == report)
        try await expectHolds(spans, at: path)
    }

    @Test("every write that returned before the backup began is in the copy, while another task writes all along")
    func backupDuringWrites() async throws {
        let store = try SQLiteStore(path: directory.path("cairn.db"))
        let spansPerWrite = 64
        func spans(ofWrite number: Int) -> [Span] {
            Fixtures.realisticSpans(count: spansPerWrite, seed: 10_000 + UInt64(number))
        }
        for number in 0..<50 { try await store.write([SpanBatch(spans: spans(ofWrite: number))]) }
        let returned = Atomic(50)
        let stop = Atomic(false)
        let writer = Task {
            var number = 50
            while !stop.load(ordering: .acquiring) {
                try await store.write([SpanBatch(spans: spans(ofWrite: number))])
                number += 1
                returned.store(number, ordering: .releasing)
            }
        }
        // Let the writer get going, then copy in small steps, so that it commits between many of them.
        while returned.load(ordering: .acquiring) < 60 { await Task.yield() }
        let before = returned.load(ordering: .acquiring)
        let path = directory.path("backup.db")
        let report = try store.backup(to: path, pagesPerStep: 8)
        stop.store(true, ordering: .releasing)
        try await writer.value

        #expect(report.spanCount % spansPerWrite == 0, "the copy holds whole writes only")
        #expect(report.spanCount >= before * spansPerWrite)
        let copied = report.spanCount / spansPerWrite
        try await expectHolds((0..<copied).flatMap { spans(ofWrite: $0) }, at: path)
        _ = try SQLiteStore.verify(path: path)
    }

    @Test("verify says which file is damaged, missing, not a database, or another application's")
    func verifyRefusesBadFiles() async throws {
        let store = try SQLiteStore(path: directory.path("cairn.db"))
        let path = directory.path("backup.db")
        try await store.write([SpanBatch(spans: Fixtures.realisticSpans(count: 4_000, seed: 3))])
        _ = try store.backup(to: path)

        // Three whole pages in the middle of the file overwritten.
        let pageSize = 4_096
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        let file = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try file.seek(toOffset: UInt64(size / 2 / pageSize * pageSize))
        try file.write(contentsOf: Data(repeating: 0x5A, count: 3 * pageSize))
        try file.close()
        let damaged = #expect(throws: SQLiteStoreError.self) { try SQLiteStore.verify(path: path) }
        guard case .damaged(path, _) = damaged else {
            Issue.record("expected .damaged, got \(String(describing: damaged))")
            return
        }
        #expect(damaged?.description.contains("do not restore it") == true)

        let missing = directory.path("missing.db")
        #expect(throws: SQLiteStoreError.noSuchFile(path: missing)) { try SQLiteStore.verify(path: missing) }

        let notes = directory.path("notes.txt")
        try Data(String(repeating: "not a database\n", count: 500).utf8).write(to: URL(fileURLWithPath: notes))
        #expect(throws: SQLiteStoreError.notABackup(path: notes, reason: "not a SQLite database")) {
            try SQLiteStore.verify(path: notes)
        }

        let other = directory.path("other.sqlite")
        let queue = try DatabaseQueue(path: other)
        try await queue.write { db in try db.execute(sql: "CREATE TABLE contacts (name TEXT)") }
        try queue.close()
        #expect(throws: SQLiteStoreError.notABackup(path: other, reason: "a SQLite database of another application")) {
            try SQLiteStore.verify(path: other)
        }
    }

    @Test("a backup never replaces a file, and records nothing when it fails")
    func destinationExists() async throws {
        let store = try SQLiteStore(path: directory.path("cairn.db"))
        try await store.write([SpanBatch(spans: Fixtures.realisticSpans(count: 100, seed: 4))])
        let path = directory.path("taken.db")
        try Data("mine".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: SQLiteStoreError.destinationExists(path: path)) { try store.backup(to: path) }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "mine")
        #expect(try store.lastBackup() == nil)

        let missingFolder = directory.path("no/such/folder/backup.db")
        let failed = #expect(throws: SQLiteStoreError.self) { try store.backup(to: missingFolder) }
        guard case .backupFailed(missingFolder, _) = failed else {
            Issue.record("expected .backupFailed, got \(String(describing: failed))")
            return
        }
        #expect(try store.lastBackup() == nil)
    }

    @Test("each backup is recorded in the store it copies, the last one first")
    func lastBackupIsRecorded() async throws {
        let store = try SQLiteStore(path: directory.path("cairn.db"))
        #expect(try store.lastBackup() == nil)
        try await store.write([SpanBatch(spans: Fixtures.realisticSpans(count: 100, seed: 5))])
        let first = try store.backup(to: directory.path("first.db"))
        try await store.write([SpanBatch(spans: Fixtures.realisticSpans(count: 100, seed: 6))])
        let second = try store.backup(to: directory.path("second.db"))

        let record = try #require(try store.lastBackup())
        #expect(record == SQLiteStore.BackupRecord(
            finishedAt: second.takenAt, path: URL(fileURLWithPath: second.path).standardizedFileURL.path,
            spanCount: 200, bytes: second.bytes))
        #expect(first.spanCount == 100 && record.finishedAt >= first.takenAt)
        // The copy does not hold its own record: it was taken before the record was written.
        #expect(try SQLiteStore(path: second.path).lastBackup() == SQLiteStore.BackupRecord(
            finishedAt: first.takenAt, path: URL(fileURLWithPath: first.path).standardizedFileURL.path,
            spanCount: 100, bytes: first.bytes))
    }

    @Test("restore refuses while a store has the target open, then replaces it whole once it is closed")
    func restoreReplacesTarget() async throws {
        let backedUp = Fixtures.realisticSpans(count: 1_000, seed: 8)
        let backup = directory.path("backup.db")
        do {
            let source = try SQLiteStore(path: directory.path("source.db"))
            try await source.write([SpanBatch(spans: backedUp)])
            _ = try source.backup(to: backup)
        }
        let target = directory.path("target.db")
        let other = Fixtures.realisticSpans(count: 300, seed: 9)
        do {
            let store = try SQLiteStore(path: target)
            try await store.write([SpanBatch(spans: other)])
            #expect(throws: SQLiteStoreError.inUse(path: target)) { try SQLiteStore.restore(from: backup, to: target) }
            // Refused before anything changed: the open store reads and writes as before.
            #expect(try store.spanCount() == other.count)
            try await store.write([SpanBatch(spans: Fixtures.realisticSpans(count: 8, seed: 90))])
        }
        #expect(!FileManager.default.fileExists(atPath: target + ".restoring"))

        let report = try SQLiteStore.restore(from: backup, to: target)
        #expect(report.path == target)
        #expect(report.spanCount == backedUp.count)
        for leftover in [target + "-wal", target + "-shm", target + ".restoring"] {
            #expect(!FileManager.default.fileExists(atPath: leftover), "\(leftover)")
        }
        try await expectHolds(backedUp, at: target)
        #expect(try await SQLiteStore(path: target).trace(other[0].traceID) == nil)

        // Into a new file too.
        _ = try SQLiteStore.restore(from: backup, to: directory.path("new.db"))
        try await expectHolds(backedUp, at: directory.path("new.db"))
    }

    @Test("a restore from a damaged backup, or over a file that is not a Cairn store, changes nothing")
    func restoreChangesNothingWhenRefused() async throws {
        let target = directory.path("target.db")
        let spans = Fixtures.realisticSpans(count: 4_000, seed: 11)
        do {
            let store = try SQLiteStore(path: target)
            try await store.write([SpanBatch(spans: spans)])
        }
        let damaged = directory.path("damaged.db")
        try FileManager.default.copyItem(atPath: target, toPath: damaged)
        let file = try FileHandle(forWritingTo: URL(fileURLWithPath: damaged))
        try file.seek(toOffset: 8 * 4_096)
        try file.write(contentsOf: Data(repeating: 0, count: 3 * 4_096))
        try file.close()

        let error = #expect(throws: SQLiteStoreError.self) { try SQLiteStore.restore(from: damaged, to: target) }
        guard case .damaged = error else {
            Issue.record("expected .damaged, got \(String(describing: error))")
            return
        }
        try await expectHolds(spans, at: target)

        let notes = directory.path("notes.txt")
        try Data("my notes".utf8).write(to: URL(fileURLWithPath: notes))
        #expect(throws: SQLiteStoreError.notADatabase(path: notes)) { try SQLiteStore.restore(from: target, to: notes) }
        #expect(try String(contentsOfFile: notes, encoding: .utf8) == "my notes")
        #expect(!FileManager.default.fileExists(atPath: notes + ".restoring"))
    }
}
