import CairnTesting
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `cairn serve` at overload, driven over real sockets: its memory stays bounded while it refuses, every refusal is a
/// 429 or 503 with `Retry-After`, and every span it answered with 200 is stored.
///
/// The overload is made deterministic: a client sends the head of a 1 MiB request and part of its body, and pauses.
/// Its body's room is reserved against `--max-queued-bytes`, so every other request is refused, without its body being
/// read, until that client finishes. Meanwhile 8 clients send 320 requests of 1 MiB: 6 of them each request on a new
/// connection with `Connection: close`, as Python's urllib sends them, keeping each connection open once answered, as
/// urllib does with an `HTTPError`; 2 of them all their requests on one keep-alive connection, which must stay usable
/// after each refusal. Before `UnreadBodyDiscarder`, the collector kept what it had read of each refused body
/// (about 400 KiB) for as long as the client kept the connection: its peak memory grew by 97 MiB during the burst and
/// 264 descriptors stayed open (debug build); with it, by 5 MiB, with 24 descriptors.
@Suite("cairn serve at overload, run as a process")
struct OverloadMemoryTests {
    /// The most the collector's peak resident memory may grow while it refuses the 320 requests: 97 MiB before
    /// `UnreadBodyDiscarder`, 5 MiB with it (debug build).
    static let ceilingGrowthMiB = 48

    @Test("320 refused 1 MiB requests whose clients keep their connections: 429 with Retry-After, bounded memory, no 200 lost",
          .timeLimit(.minutes(2)))
    func refusedBodiesAreNotHeld() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-overload-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let db = folder.appendingPathComponent("overload.db").path
        let server = try await CollectorProcess(db: db, log: folder.appendingPathComponent("collector.log"),
                                         arguments: ["--max-queued-bytes", "1000000"])
        defer { server.kill() }
        let baseline = try server.memoryKiB(field: "VmHWM")
        /// The traces answered with 200, and their spans.
        var accepted: [(trace: String, spans: Int)] = []

        // The client that holds the queue's room: its body's end does not come until the burst is over. Probes
        // (1-span requests, accepted and counted when they come first) tell when it holds the room: a probe is refused
        // while the holder has no answer. A holder answered before its probe got in its way: it is replaced.
        let (heldTrace, heldBody) = Self.request(trace: 0)
        var holder: Connection?
        var holding: Connection?
        var probe = 1
        while holding == nil && probe < 1_000 {
            if holder == nil {
                holder = try Connection(port: server.port)
                try holder?.send(Self.head(length: heldBody.count, close: false) + Array(heldBody.prefix(1_000)))
            }
            try await Task.sleep(for: .milliseconds(50))
            if holder?.hasData() == true {
                holder?.close()
                holder = nil
                continue
            }
            let (trace, body) = Self.request(trace: 100_000 + probe, spans: 1, bytes: 0)
            let response = try await blocking { try Connection.post(port: server.port, body: body) }
            probe += 1
            if response.status == 429 {
                holding = holder
                break
            }
            #expect(response.status == 200, "a probe before the burst was answered \(response.status)")
            if response.status == 200 { accepted.append((trace, 1)) }
        }
        let held = try #require(holding, "the collector did not refuse while a request held the queue's room")
        // It sends a byte every second, so that the collector's idle timeout does not close it however slow this
        // machine is.
        let trickle = Trickle(connection: held, body: Array(heldBody.dropFirst(1_000)))

        // The burst: 8 clients, 40 requests each; two of them keep one connection for all their requests.
        let refusedBody = Self.request(trace: 999_999).body
        let outcomes = await onThreads(8) { client -> (statuses: [Int], missingRetryAfter: Int, kept: [Connection]) in
            var statuses: [Int] = []
            var missingRetryAfter = 0
            var kept: [Connection] = []
            let keepAlive = client < 2
            var connection: Connection?
            for _ in 0..<40 {
                do {
                    let current = try connection ?? Connection(port: server.port)
                    try current.send(Self.head(length: refusedBody.count, close: !keepAlive) + refusedBody)
                    let response = try current.readResponse()
                    statuses.append(response.status)
                    if response.headers["retry-after"] == nil { missingRetryAfter += 1 }
                    if keepAlive { connection = current } else { kept.append(current) }
                } catch {
                    statuses.append(-1)
                    connection = nil
                }
            }
            return (statuses, missingRetryAfter, kept + (connection.map { [$0] } ?? []))
        }
        let burstPeak = try server.memoryKiB(field: "VmHWM")
        let statuses = outcomes.flatMap(\.statuses)
        #expect(statuses.allSatisfy { $0 == 429 || $0 == 503 }, "statuses: \(Dictionary(grouping: statuses) { $0 }.mapValues(\.count))")
        #expect(outcomes.map(\.missingRetryAfter).reduce(0, +) == 0, "refusals without Retry-After")
        let growthMiB = (burstPeak - baseline) / 1024
        #expect(growthMiB < Self.ceilingGrowthMiB,
                "the collector's peak memory grew by \(growthMiB) MiB (from \(baseline / 1024) MiB) while refusing")
        // The collector closes the refused Connection: close connections although their clients keep them.
        var descriptors = server.openDescriptors()
        for _ in 0..<100 where descriptors > 100 {
            try await Task.sleep(for: .milliseconds(50))
            descriptors = server.openDescriptors()
        }
        #expect(descriptors <= 100, "the collector still has \(descriptors) descriptors open for refused connections")

        // The held request completes and is accepted.
        let heldResponse = try await blocking {
            try held.send(trickle.stop())
            return try held.readResponse()
        }
        #expect(heldResponse.status == 200)
        accepted.append((heldTrace, 100))
        held.close()
        for connection in outcomes.flatMap(\.kept) { connection.close() }

        // Then 4 clients compete with 256 KiB requests, retrying refusals after a pause as exporters do; all their
        // 200s must be stored.
        let retried = await onThreads(4) { client -> (accepted: [(trace: String, spans: Int)], badRefusals: Int) in
            var traces: [(trace: String, spans: Int)] = []
            var badRefusals = 0
            for index in 0..<3 {
                let (trace, body) = Self.request(trace: 1 + client * 10 + index, bytes: 256 << 10)
                for _ in 0..<300 {
                    guard let response = try? Connection.post(port: server.port, body: body) else { continue }
                    if response.status == 200 {
                        traces.append((trace, 100))
                        break
                    }
                    if !(response.status == 429 || response.status == 503) || response.headers["retry-after"] == nil {
                        badRefusals += 1
                    }
                    usleep(100_000)
                }
            }
            return (traces, badRefusals)
        }
        #expect(retried.map(\.badRefusals).reduce(0, +) == 0)
        accepted += retried.flatMap(\.accepted)
        #expect(accepted.count >= 13)

        let status = try await blocking { server.stop() }
        #expect(status == 0, "cairn serve did not exit 0 on SIGTERM: \(server.output)")
        let exported = try await blocking { try CairnProcess.runTool(server.executable, ["export", "--all", "--db", db]) }
        #expect(exported.status == 0, "\(exported.stderr)")
        var stored: [Substring: Int] = [:]
        for piece in exported.stdout.components(separatedBy: "\"traceId\":\"").dropFirst() {
            stored[piece.prefix(32), default: 0] += 1
        }
        for (trace, spans) in accepted {
            let count = stored[Substring(trace)] ?? 0
            #expect(count == spans, "trace \(trace) was answered 200 with \(spans) spans; \(count) are stored")
        }
    }

    /// One OTLP/JSON request of about `bytes` (1 MiB by default): `spans` spans of one new trace, with long
    /// attribute values.
    static func request(trace: Int, spans: Int = 100, bytes: Int = 1 << 20) -> (traceID: String, body: [UInt8]) {
        let traceID = String(format: "%016x%016x", 0x0E7E_410AD, trace)
        let padding = String(repeating: "x", count: max(10, bytes / spans / 10 - 40))
        let spanTexts = (1...spans).map { index in
            let attributes = (0..<10).map { #"{"key":"a\#($0)","value":{"stringValue":"\#(padding)"}}"# }
            return """
                {"traceId":"\(traceID)","spanId":"\(String(format: "%016x", index))","name":"op","kind":2,\
                "startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000250000000",\
                "attributes":[\(attributes.joined(separator: ","))]}
                """
        }
        let body = """
            {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"overload"}}]},\
            "scopeSpans":[{"spans":[\(spanTexts.joined(separator: ","))]}]}]}
            """
        return (traceID, Array(body.utf8))
    }

    /// The head of an OTLP/JSON export request.
    static func head(length: Int, close: Bool) -> [UInt8] {
        Array("""
            POST /v1/traces HTTP/1.1\r
            Host: 127.0.0.1\r
            Content-Type: application/json\r
            Content-Length: \(length)\r
            \(close ? "Connection: close\r\n" : "")\r

            """.utf8)
    }
}

/// Runs `body` on `count` threads of its own (blocking socket calls must not hold the few threads of Swift's
/// concurrency pool) and returns their results in order.
private func onThreads<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) -> T) async -> [T] {
    let results = ThreadResults<T>()
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        let group = DispatchGroup()
        for index in 0..<count {
            group.enter()
            Thread {
                let value = body(index)
                results.values.withLock { $0[index] = value }
                group.leave()
            }.start()
        }
        group.notify(queue: .global()) { continuation.resume() }
    }
    return results.values.withLock { values in (0..<count).map { values[$0]! } }
}

/// Runs `body` on a thread of its own and returns what it returns: blocking calls must not hold one of the few threads
/// of Swift's concurrency pool, which the tests running beside need.
private func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

/// What the threads of `onThreads` return, by thread.
private final class ThreadResults<T: Sendable>: Sendable {
    let values: Mutex<[Int: T]> = Mutex([:])
}

/// `cairn serve` on a free port, with its output in a file, started from the `cairn` built beside the tests.
private final class CollectorProcess: @unchecked Sendable {
    let executable: String
    let port: Int
    private let process: Process
    private let logFile: URL

    init(db: String, log: URL, arguments: [String]) async throws {
        // The test bundle and `cairn` are built into the same folder, whatever the scratch path.
        let beside = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "")
            .deletingLastPathComponent().appendingPathComponent("cairn").path
        executable = FileManager.default.isExecutableFile(atPath: beside) ? beside : CairnProcess.executable.path
        logFile = log
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let output = try FileHandle(forWritingTo: log)
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["serve", "--port", "0", "--db", db] + arguments
        process.standardOutput = output
        process.standardError = output
        try process.run()
        var found: Int?
        for _ in 0..<6_000 where found == nil && process.isRunning {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if let range = text.range(of: #""url":"http://127\.0\.0\.1:\d+""#, options: .regularExpression) {
                found = Int(text[range].dropLast().split(separator: ":").last ?? "")
            } else {
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        guard let found else {
            process.terminate()
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            throw OverloadTestError("cairn serve did not say where it listens: \(text)")
        }
        port = found
    }

    var output: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    /// A field of `/proc/<pid>/status` in KiB: `VmHWM` (peak resident memory) or `VmRSS`.
    func memoryKiB(field: String) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }),
              let value = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { throw OverloadTestError("no \(field) in /proc/\(process.processIdentifier)/status") }
        return value
    }

    func openDescriptors() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(process.processIdentifier)/fd").count) ?? 0
    }

    /// Sends SIGTERM and returns the exit status once the process has ended.
    func stop() -> Int32 {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGTERM) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Ends the process at once if it still runs, without waiting (when a test failed before `stop()`).
    func kill() {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
    }
}

/// A blocking HTTP/1.1 client connection to 127.0.0.1, just enough to send a request and read its response head
/// and body (by `Content-Length`).
private final class Connection: @unchecked Sendable {
    struct Response: Sendable {
        var status: Int
        /// Field names in lower case.
        var headers: [String: String]
    }

    private let descriptor: Int32
    private var buffered: [UInt8] = []

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw OverloadTestError("socket() failed: errno \(errno)") }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            Glibc.close(descriptor)
            throw OverloadTestError("connect() failed: errno \(errno)")
        }
    }

    /// Posts `body` as OTLP/JSON on a new connection, reads the response and closes.
    static func post(port: Int, body: [UInt8]) throws -> Response {
        let connection = try Connection(port: port)
        defer { connection.close() }
        try connection.send(OverloadMemoryTests.head(length: body.count, close: true) + body)
        return try connection.readResponse()
    }

    func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { throw OverloadTestError("send() failed: errno \(errno)") }
            sent += count
        }
    }

    func readResponse() throws -> Response {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        var headEnd: Int?
        while headEnd == nil {
            headEnd = buffered.indices.dropLast(3).first { buffered[$0..<($0 + 4)].elementsEqual(separator) }
            if headEnd == nil { try receive() }
        }
        let lines = String(decoding: buffered[..<headEnd!], as: UTF8.self).split(separator: "\r\n")
        let statusLine = lines.first?.split(separator: " ") ?? []
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
            throw OverloadTestError("not an HTTP response: \(lines.first ?? "")")
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        while buffered.count < headEnd! + 4 + length { try receive() }
        buffered.removeFirst(headEnd! + 4 + length)
        return Response(status: status, headers: headers)
    }

    private func receive() throws {
        var chunk = [UInt8](repeating: 0, count: 16_384)
        let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { throw OverloadTestError("the connection ended before a whole response (errno \(errno))") }
        buffered += chunk[..<count]
    }

    /// Whether something has arrived to read, without waiting.
    func hasData() -> Bool {
        var byte: UInt8 = 0
        return recv(descriptor, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) > 0
    }

    func close() {
        Glibc.close(descriptor)
    }
}

/// Sends the rest of a body one byte a second on a thread of its own, until stopped.
private final class Trickle: Sendable {
    private let state: Mutex<(remaining: [UInt8], stopped: Bool)>

    init(connection: Connection, body: [UInt8]) {
        state = Mutex((body, false))
        Thread { [self] in
            while true {
                sleep(1)
                // Sent while holding the lock, so that `stop()` returns only what was not sent.
                let sent = self.state.withLock { state -> Bool in
                    guard !state.stopped, state.remaining.count > 1 else { return false }
                    try? connection.send([state.remaining.removeFirst()])
                    return true
                }
                if !sent { return }
            }
        }.start()
    }

    /// Stops sending and returns the bytes not sent.
    func stop() -> [UInt8] {
        state.withLock { state in
            state.stopped = true
            return state.remaining
        }
    }
}

/// What went wrong driving the collector.
private struct OverloadTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
