import CairnModel
import CairnOTLP
import CairnSDK
import Foundation
import Instrumentation
import Logging
import Testing
import Tracing

/// The built `cairn serve`, run as a process on a free port, as the CLI tests run it: its output is read all
/// along (so that it never blocks on a full pipe) and the port is taken from its `listening` log line.
final class CollectorProcess: @unchecked Sendable {
    static let executable: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/debug/cairn")

    let process = Process()
    let port: Int
    private let pipe = Pipe()
    private let collected = Collected()

    /// What the collector wrote, appended by a reading thread.
    private final class Collected: @unchecked Sendable {
        private let lock = NSLock()
        private var data = Data()
        func append(_ chunk: Data) { lock.withLock { data.append(chunk) } }
        var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
    }

    /// Everything the collector wrote so far.
    var output: String { collected.text }

    init(db: String) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.executable.path) else {
            throw TestFailure("\(Self.executable.path) is missing; build it first with swift build --build-tests.")
        }
        process.executableURL = Self.executable
        process.arguments = ["serve", "--port", "0", "--db", db]
        process.standardOutput = pipe
        process.standardError = pipe
        let reader = pipe.fileHandleForReading
        let collected = self.collected
        let thread = Thread {
            while true {
                let chunk = reader.availableData
                if chunk.isEmpty { return }
                collected.append(chunk)
            }
        }
        try process.run()
        thread.start()
        let deadline = Date().addingTimeInterval(60)
        var found: Int?
        while found == nil && Date() < deadline && process.isRunning {
            let text = collected.text
            if let range = text.range(of: #""url":"https?://127\.0\.0\.1:\d+""#, options: .regularExpression) {
                found = Int(text[range].dropLast().split(separator: ":").last ?? "")
            } else {
                Thread.sleep(forTimeInterval: 0.01)
            }
        }
        guard let found else {
            process.terminate()
            throw TestFailure("cairn serve did not say where it listens: \(collected.text)")
        }
        port = found
    }

    /// Stops the collector with SIGTERM (it commits what it accepted) and returns its exit status.
    func stop() -> Int32 {
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Runs `cairn` with `arguments` to completion; returns its status and standard output.
    static func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }
}

@Suite("End to end: two services linked by traceparent, stored by cairn serve")
struct EndToEndTests {
    @Test("the client span of one service and the server span of another are stored as one correctly parented trace")
    func twoServices() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-sdk-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let db = folder.appendingPathComponent("e2e.db").path
        let collector = try CollectorProcess(db: db)
        let quiet = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let environment = ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:\(collector.port)"]

        // Two services as two processes would set them up: each its own tracer, processor and exporter.
        let frontend = try CairnTracingService(serviceName: "frontend", environment: environment, logger: quiet)
        let checkout = try CairnTracingService(serviceName: "checkout", environment: environment, logger: quiet)
        let frontendTracer = try #require(frontend.tracer)
        let checkoutTracer = try #require(checkout.tracer)

        // The frontend calls checkout: the only thing that crosses over is the traceparent header.
        var headers: [String: String] = [:]
        var clientIDs: (trace: TraceID, span: SpanID)?
        frontendTracer.withSpan("GET /checkout", ofKind: .client) { span in
            frontendTracer.inject(ServiceContext.current ?? .topLevel, into: &headers, using: DictionaryInjector())
            clientIDs = (span.spanContext.traceID, span.spanContext.spanID)

            var incoming = ServiceContext.topLevel
            checkoutTracer.extract(headers, into: &incoming, using: DictionaryExtractor())
            let server = checkoutTracer.startSpan("POST /checkout", context: incoming, ofKind: .server)
            server.attributes["http.response.status_code"] = 200
            server.end()
        }
        let traceparent = try #require(headers["traceparent"])
        let (traceID, clientSpanID) = try #require(clientIDs)
        #expect(traceparent == "00-\(traceID.hex)-\(clientSpanID.hex)-01")

        try await checkout.processor?.shutdown()
        try await frontend.processor?.shutdown()
        #expect(frontend.processor?.exportedSpanCount == 1)
        #expect(checkout.processor?.exportedSpanCount == 1)
        #expect(collector.stop() == 0, "\(collector.output)")

        let exported = try CollectorProcess.run(["export", traceID.hex, "--db", db])
        #expect(exported.status == 0, "\(exported.stderr)")
        let spans = try OTLPJSON.decodeSpans(Array(exported.stdout.utf8)).spans
        #expect(spans.count == 2)
        let client = try #require(spans.first { $0.name == "GET /checkout" })
        let server = try #require(spans.first { $0.name == "POST /checkout" })
        #expect(client.resource.attributes["service.name"] == .string("frontend"))
        #expect(server.resource.attributes["service.name"] == .string("checkout"))
        #expect(client.kind == .client)
        #expect(server.kind == .server)
        #expect(client.traceID == traceID && server.traceID == traceID)
        #expect(client.spanID == clientSpanID)
        #expect(client.parentSpanID == nil)
        #expect(server.parentSpanID == clientSpanID)
        #expect(server.flags & 0x300 == 0x300, "the server span's parent is remote")
        #expect(server.attributes["http.response.status_code"] == .int(200))
    }
}
