import CairnTesting
import Foundation
import Synchronization
import Testing

@Suite("cairn backup, verify-backup and restore, run as processes", .serialized)
struct BackupCommandTests {
    /// Removed with everything in it when the test ends.
    let directory: TemporaryDirectory
    var folder: URL { directory.url }

    init() throws {
        directory = try TemporaryDirectory()
    }

    private func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// The first span start of the requests; request `n` starts `n` milliseconds later.
    static let firstStart: UInt64 = 1_700_000_000_000_000_000

    /// The trace id of request `number`, 32 hexadecimal digits.
    static func traceID(_ number: Int) -> String { String(format: "%016x%016x", 0xBAC0, number) }

    /// One OTLP/JSON request holding one trace of ten spans.
    static func request(_ number: Int) -> String {
        let start = firstStart + UInt64(number) * 1_000_000
        let spans = (1...10).map { index in
            """
            {"traceId":"\(traceID(number))","spanId":"\(String(format: "%016x", index))","name":"op \(index)",\
            "kind":2,"startTimeUnixNano":"\(start)","endTimeUnixNano":"\(start + 250_000_000)"}
            """
        }
        return """
            {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"backup-test"}}]},\
            "scopeSpans":[{"spans":[\(spans.joined(separator: ","))]}]}]}
            """
    }

    /// Runs `cairn` on a thread of its own, so that the tasks sending requests go on meanwhile.
    static func runAside(_ arguments: [String]) async throws -> CairnProcess.Output {
        try await ExpectedOutput.run(arguments)
    }

    @Test("a backup taken while the collector ingests holds every span answered 200 before it began, verifies, and restores")
    func backupDuringIngest() async throws {
        let db = path("live.db")
        let backup = path("backup.db")
        let restored = path("restored.db")
        let server = try await CairnProcess.Server(db: db)
        let answered = Mutex<[Int]>([])
        let stop = Atomic(false)
        let sender = Task {
            var number = 0
            while !stop.load(ordering: .acquiring) {
                if try await server.post(json: Self.request(number)) == 200 { answered.withLock { $0.append(number) } }
                number += 1
            }
        }
        while answered.withLock({ $0.count }) < 30 { try await Task.sleep(for: .milliseconds(10)) }

        let before = answered.withLock { $0 }
        let backedUp = try await Self.runAside(["backup", "--to", backup, "--db", db])
        let during = answered.withLock { $0.count } - before.count
        // A restore into the store that the collector has open is refused, and changes nothing.
        let refused = try await ExpectedOutput.run(["restore", backup, "--db", db])
        stop.store(true, ordering: .releasing)
        try await sender.value
        #expect(server.signal(SIGTERM) == 0)

        #expect(backedUp.status == 0, "\(backedUp.stderr)")
        #expect(backedUp.stdout.hasPrefix("backed up the store at \(db) to \(backup)\n"))
        ExpectedOutput.expectOneLineError(refused, status: 1, containing: "is open in another process")
        #expect(during > 0, "the collector answered no request while the backup ran: the test proves less")

        let verified = try await ExpectedOutput.run(["verify-backup", backup, "--json"])
        #expect(verified.status == 0, "\(verified.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(verified.stdout.utf8)) as? [String: Any])
        let spans = try #require(json["spans"] as? Int)
        #expect(json["ok"] as? Bool == true)
        #expect(json["schemaVersion"] as? Int == 3)
        #expect(spans >= before.count * 10 && spans % 10 == 0, "\(spans) spans for \(before.count) requests")
        #expect(json["bytes"] as? Int == (try FileManager.default.attributesOfItem(atPath: backup)[.size] as? Int))
        let newest = try #require(json["newestSpanStart"] as? String)
        // RFC 3339 times of one format sort as text: the newest start is at least that of the last request answered.
        let last = try #require(before.max())
        let second = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: 1_700_000_000 + Double(last / 1_000)))
        #expect(newest >= second.dropLast() + String(format: ".%03d000000Z", last % 1_000), "\(newest)")
        let text = try await ExpectedOutput.run(["verify-backup", backup])
        #expect(text.status == 0)
        #expect(text.stdout.contains("\(backup) is a whole Cairn store: integrity check ok\n"))
        #expect(text.stdout.contains("  schema version  3\n"))
        #expect(text.stdout.contains("  newest span     started \(newest), ended "))

        let restore = try await ExpectedOutput.run(["restore", backup, "--db", restored])
        #expect(restore.status == 0, "\(restore.stderr)")
        #expect(restore.stdout.hasPrefix("restored \(backup) into the store at \(restored)\n"))
        let exported = try await ExpectedOutput.run(["export", "--all", "--db", restored])
        #expect(exported.status == 0, "\(exported.stderr)")
        for number in before {
            let count = exported.stdout.components(separatedBy: "\"traceId\":\"\(Self.traceID(number))\"").count - 1
            #expect(count == 10, "request \(number), answered 200 before the backup, has \(count) spans after restore")
        }
    }

    @Test("backup, verify-backup and restore say in one line what is wrong")
    func errors() async throws {
        let db = path("cairn.db")
        #expect(try await ExpectedOutput.run(["import", ExpectedOutput.shop, "--db", db]).status == 0)
        let backup = path("backup.db")
        #expect(try await ExpectedOutput.run(["backup", "--to", backup, "--db", db]).status == 0)

        ExpectedOutput.expectOneLineError(try await ExpectedOutput.run(["backup", "--to", backup, "--db", db]),
                                          status: 2, containing: "\(backup) exists already")
        ExpectedOutput.expectOneLineError(try await ExpectedOutput.run(["backup", "--to", path("b.db"), "--db", path("none.db")]),
                                          status: 2, containing: "there is no store at")
        ExpectedOutput.expectOneLineError(try await ExpectedOutput.run(["verify-backup", path("missing.db")]),
                                          status: 2, containing: "there is no file at \(path("missing.db"))")
        ExpectedOutput.expectOneLineError(try await ExpectedOutput.run(["verify-backup", ExpectedOutput.shop]),
                                          status: 2, containing: "is not a Cairn backup (not a SQLite database)")

        // A copy with pages in its middle overwritten.
        let damaged = path("damaged.db")
        try FileManager.default.copyItem(atPath: backup, toPath: damaged)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: damaged)[.size] as? Int)
        let file = try FileHandle(forWritingTo: URL(fileURLWithPath: damaged))
        try file.seek(toOffset: UInt64((size / 4_096 / 2 - 2) * 4_096))
        try file.write(contentsOf: Data(repeating: 0x5A, count: 3 * 4_096))
        try file.close()
        ExpectedOutput.expectOneLineError(try await ExpectedOutput.run(["verify-backup", damaged]),
                                          status: 1, containing: "\(damaged) is damaged")
        ExpectedOutput.expectOneLineError(try await ExpectedOutput.run(["restore", damaged, "--db", path("r.db")]),
                                          status: 1, containing: "\(damaged) is damaged")
        #expect(!FileManager.default.fileExists(atPath: path("r.db")))
    }
}
