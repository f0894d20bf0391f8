import CairnTesting
import Foundation
import Synchronization
import Testing

/// One OTLP/JSON request with `count` spans of one new trace.
private func request(trace: Int, spans count: Int) -> (traceID: String, body: String) {
    let traceID = String(format: "%016x%016x", 0xCA1B, trace)
    let spans = (1...count).map { index in
        """
        {"traceId":"\(traceID)","spanId":"\(String(format: "%016x", index))","name":"op \(index)","kind":2,\
        "startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000250000000",\
        "attributes":[{"key":"n","value":{"intValue":"\(index)"}}]}
        """
    }
    let body = """
        {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"cli-test"}}]},\
        "scopeSpans":[{"spans":[\(spans.joined(separator: ","))]}]}]}
        """
    return (traceID, body)
}

@Suite("cairn serve and cairn export, run as processes", .serialized)
struct ServeAndExportTests {
    /// Removed with everything in it when the test ends.
    let directory: TemporaryDirectory
    var folder: URL { directory.url }

    init() throws {
        directory = try TemporaryDirectory()
    }

    @Test("kill -9 in the middle of sustained ingest from 4 clients loses no span that was answered with 200, and the store reopens")
    func killNine() async throws {
        let db = folder.appendingPathComponent("kill9.db").path
        let server = try await CairnProcess.Server(db: db)
        // Four clients send without pause; the collector is killed while requests are in flight.
        final class Count: Sendable { let value = Mutex(0) }
        let count = Count()
        let answered = try await withThrowingTaskGroup(of: [String].self) { group in
            for client in 0..<4 {
                group.addTask {
                    var answered: [String] = []
                    for trace in (client * 10_000)... {
                        let (traceID, body) = request(trace: trace, spans: 25)
                        guard let status = try? await server.post(json: body) else { return answered }
                        if status == 200 {
                            answered.append(traceID)
                            count.value.withLock { $0 += 1 }
                        }
                    }
                    return answered
                }
            }
            // Kill once ingest is well under way, however fast or slow this machine is.
            for _ in 0..<6_000 where count.value.withLock({ $0 }) < 40 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(server.signal(SIGKILL) != 0)
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(answered.count >= 40, "the clients had too little time to send")

        let exported = try await CairnProcess.runOffPool(["export", "--all", "--db", db])
        #expect(exported.status == 0, "\(exported.stderr)")
        for traceID in answered {
            #expect(exported.stdout.components(separatedBy: "\"traceId\":\"\(traceID)\"").count - 1 == 25)
        }
    }

    @Test("SIGTERM commits what was accepted and exits 0; export finds the trace by id")
    func sigterm() async throws {
        let db = folder.appendingPathComponent("term.db").path
        let server = try await CairnProcess.Server(db: db)
        let (traceID, body) = request(trace: 1, spans: 3)
        #expect(try await server.post(json: body) == 200)
        #expect(server.signal(SIGTERM) == 0)

        let exported = try await CairnProcess.runOffPool(["export", traceID, "--db", db])
        #expect(exported.status == 0)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(exported.stdout.utf8)) as? [String: Any])
        let resourceSpans = try #require(json["resourceSpans"] as? [[String: Any]])
        let scopeSpans = try #require(resourceSpans.first?["scopeSpans"] as? [[String: Any]])
        let spans = try #require(scopeSpans.first?["spans"] as? [[String: Any]])
        #expect(Set(spans.compactMap { $0["name"] as? String }) == ["op 1", "op 2", "op 3"])
    }

    @Test("export says in one line what is wrong", arguments: [
        (["export", "--all", "--db", "/nonexistent/cairn.db"], Int32(2), "there is no store at /nonexistent/cairn.db"),
        (["export", "nothex", "--db", "x.db"], Int32(2), "is not a trace id"),
    ])
    func exportErrors(arguments: [String], status: Int32, message: String) async throws {
        let output = try await CairnProcess.runOffPool(arguments)
        #expect(output.status == status)
        #expect(output.stderr.split(separator: "\n").first?.contains(message) == true)
    }

    @Test("export of a trace that is not stored exits 1")
    func notFound() async throws {
        let db = folder.appendingPathComponent("empty.db").path
        let server = try await CairnProcess.Server(db: db)
        #expect(server.signal(SIGTERM) == 0)
        let output = try await CairnProcess.runOffPool(["export", String(repeating: "ab", count: 16), "--db", db])
        #expect(output.status == 1)
        #expect(output.stderr.contains("is not in the store"))
    }

    @Test("serve refuses a bad CAIRN_PORT in one line")
    func badPort() async throws {
        let output = try await CairnProcess.runOffPool(["serve", "--db", folder.appendingPathComponent("p.db").path],
                                          environment: ["CAIRN_PORT": "99999"])
        #expect(output.status != 0)
        #expect(output.stderr.contains("CAIRN_PORT=99999 is not a TCP port"))
    }
}
