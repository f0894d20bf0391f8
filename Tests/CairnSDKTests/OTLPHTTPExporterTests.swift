import CairnModel
import CairnOTLP
import CairnSDK
import CZlib
import Logging
import Testing
import Tracing

/// Spans made by a real tracer.
func sampleSpans(_ count: Int = 3) -> [CairnModel.Span] {
    let (tracer, processor) = makeTracer(serviceName: "exporter-test")
    tracer.withSpan("parent") { span in
        span.attributes["n"] = 1
        for index in 1..<count { tracer.withSpan("child \(index)") { _ in } }
    }
    return processor.spans
}

/// The inflated bytes of one gzip member.
func gunzip(_ input: [UInt8]) -> [UInt8]? {
    var stream = z_stream()
    guard inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
    defer { inflateEnd(&stream) }
    var input = input
    var output = [UInt8](repeating: 0, count: 1 << 20)
    let status = input.withUnsafeMutableBufferPointer { inputBuffer in
        output.withUnsafeMutableBufferPointer { outputBuffer in
            stream.next_in = inputBuffer.baseAddress
            stream.avail_in = uInt(inputBuffer.count)
            stream.next_out = outputBuffer.baseAddress
            stream.avail_out = uInt(outputBuffer.count)
            return inflate(&stream, Z_FINISH)
        }
    }
    guard status == Z_STREAM_END else { return nil }
    return Array(output.prefix(Int(stream.total_out)))
}

@Suite("OTLPHTTPExporter, against a real HTTP server on a loopback port")
struct OTLPHTTPExporterTests {
    func withExporter(
        _ server: TestHTTPServer, _ configure: (inout OTLPHTTPExporter.Configuration) -> Void = { _ in },
        logger: Logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() },
        _ body: (OTLPHTTPExporter) async throws -> Void
    ) async throws {
        var configuration = OTLPHTTPExporter.Configuration(endpoint: server.tracesURL)
        configure(&configuration)
        let exporter = try OTLPHTTPExporter(configuration: configuration, logger: logger)
        do {
            try await body(exporter)
        } catch {
            await exporter.shutdown()
            try await server.close()
            throw error
        }
        await exporter.shutdown()
        try await server.close()
    }

    @Test("a batch is posted as OTLP protobuf to the endpoint, with the configured headers")
    func posts() async throws {
        let server = try await TestHTTPServer()
        let spans = sampleSpans()
        try await withExporter(server, { $0.headers = ["Authorization": "Bearer s3cret", "X-Tenant": "a b"] }) { exporter in
            try await exporter.export(spans)
        }
        let request = try #require(server.requests.first)
        #expect(server.requests.count == 1)
        #expect(request.method == "POST")
        #expect(request.uri == "/v1/traces")
        #expect(request.header("Content-Type") == "application/x-protobuf")
        #expect(request.header("Content-Encoding") == nil)
        #expect(request.header("Authorization") == "Bearer s3cret")
        #expect(request.header("X-Tenant") == "a b")
        #expect(request.body == OTLPProtobuf.encodeRequest(spans))
        #expect(Set(try OTLPProtobuf.decodeSpans(request.body)) == Set(spans))
    }

    @Test("with gzip the body inflates to the encoded request and says Content-Encoding: gzip")
    func gzip() async throws {
        let server = try await TestHTTPServer()
        let spans = sampleSpans(20)
        try await withExporter(server, { $0.compression = .gzip }) { exporter in
            try await exporter.export(spans)
        }
        let request = try #require(server.requests.first)
        #expect(request.header("Content-Encoding") == "gzip")
        #expect(request.body.count < OTLPProtobuf.encodeRequest(spans).count)
        #expect(gunzip(request.body) == OTLPProtobuf.encodeRequest(spans))
    }

    @Test("a 503 with Retry-After: 1 is retried after at least a second, and the retry succeeds")
    func retryAfter() async throws {
        let server = try await TestHTTPServer(script: [
            .init(status: 503, headers: [("Retry-After", "1")], body: Array("overloaded".utf8))
        ])
        let spans = sampleSpans()
        let clock = ContinuousClock()
        var elapsed = Duration.zero
        try await withExporter(server) { exporter in
            let start = clock.now
            try await exporter.export(spans)
            elapsed = start.duration(to: clock.now)
        }
        #expect(server.requests.count == 2)
        #expect(elapsed >= .seconds(1))
        #expect(elapsed < .seconds(5))
        #expect(server.requests.allSatisfy { $0.body == OTLPProtobuf.encodeRequest(spans) })
    }

    @Test("429, 502 and 504 are retried too", arguments: [429, 502, 504])
    func retryableStatuses(status: Int) async throws {
        let server = try await TestHTTPServer(script: [.init(status: status, headers: [("Retry-After", "0")])])
        try await withExporter(server) { exporter in
            try await exporter.export(sampleSpans(1))
        }
        #expect(server.requests.count == 2)
    }

    @Test("a 400 is not retried and is logged once with the google.rpc.Status message")
    func badRequest() async throws {
        let server = try await TestHTTPServer(
            fallback: .init(
                status: 400, headers: [("Content-Type", "application/x-protobuf")],
                body: OTLPProtobuf.encodeStatus(code: 3, message: "span 2 has no trace id")))
        let capture = LogCapture()
        try await withExporter(server, logger: capture.logger) { exporter in
            let error = await #expect(throws: OTLPExportError.self) { try await exporter.export(sampleSpans()) }
            #expect(error?.reason == .rejected(status: 400))
            #expect(error?.description.contains("span 2 has no trace id") == true)
        }
        #expect(server.requests.count == 1)
        let errors = capture.messages.filter { $0.0 == .error }
        #expect(errors.count == 1)
        #expect(errors.first?.1.contains("HTTP 400 (span 2 has no trace id)") == true)
    }

    @Test("a partial success is logged as a warning with the rejected count and the server's message")
    func partialSuccess() async throws {
        let server = try await TestHTTPServer(
            fallback: .init(
                status: 200, headers: [("Content-Type", "application/x-protobuf")],
                body: OTLPProtobuf.encodeResponse(rejectedSpans: 2, errorMessage: "spans older than the retention")))
        let capture = LogCapture()
        try await withExporter(server, logger: capture.logger) { exporter in
            try await exporter.export(sampleSpans(3))
        }
        let warnings = capture.messages.filter { $0.0 == .warning }.map(\.1)
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("rejected 2 of 3 spans (spans older than the retention)") == true)
    }

    @Test("401 and 413 are not retried either", arguments: [401, 413])
    func otherRejections(status: Int) async throws {
        let server = try await TestHTTPServer(fallback: .init(status: status, body: Array("no".utf8)))
        try await withExporter(server) { exporter in
            let error = await #expect(throws: OTLPExportError.self) { try await exporter.export(sampleSpans(1)) }
            #expect(error?.reason == .rejected(status: status))
        }
        #expect(server.requests.count == 1)
    }

    @Test("retries stop at the total time bound")
    func timeBound() async throws {
        let server = try await TestHTTPServer(fallback: .init(status: 503, headers: [("Retry-After", "1")]))
        let capture = LogCapture()
        let clock = ContinuousClock()
        var elapsed = Duration.zero
        var attempts = 0
        try await withExporter(server, { $0.timeout = .milliseconds(2500) }, logger: capture.logger) { exporter in
            let start = clock.now
            let error = await #expect(throws: OTLPExportError.self) { try await exporter.export(sampleSpans(1)) }
            elapsed = start.duration(to: clock.now)
            if case .retriesExhausted(let count) = error?.reason { attempts = count }
        }
        // Each retry waits the second that Retry-After asks for; none starts after the bound. On a loaded machine an
        // attempt may take longer, so the count is 2 or 3, and the export ends within a second of the bound.
        #expect((2...3).contains(attempts))
        #expect(server.requests.count == attempts)
        #expect(elapsed >= .seconds(1))
        #expect(elapsed < .milliseconds(3500))
        #expect(capture.messages.filter { $0.0 == .error }.count == 1)
    }

    @Test("connection failures are retried with backoff until the time bound")
    func connectionRefused() async throws {
        let closed = try await TestHTTPServer()
        let url = closed.tracesURL
        try await closed.close()
        let exporter = try OTLPHTTPExporter(
            configuration: .init(endpoint: url, timeout: .seconds(2), initialBackoff: .milliseconds(100)),
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        let error = await #expect(throws: OTLPExportError.self) { try await exporter.export(sampleSpans(1)) }
        await exporter.shutdown()
        guard case .retriesExhausted(let attempts) = error?.reason else {
            Issue.record("expected retriesExhausted, got \(String(describing: error))")
            return
        }
        #expect(attempts >= 3)
    }

    @Test("after shutdown, export fails and says so")
    func afterShutdown() async throws {
        let exporter = try OTLPHTTPExporter(configuration: .init(endpoint: "http://127.0.0.1:9/v1/traces"))
        await exporter.shutdown()
        let error = await #expect(throws: OTLPExportError.self) { try await exporter.export(sampleSpans(1)) }
        #expect(error?.reason == .shutDown)
    }

    @Test("an endpoint that is not an http URL is refused when the exporter is made")
    func invalidEndpoint() {
        let error = #expect(throws: OTLPExportError.self) {
            _ = try OTLPHTTPExporter(configuration: .init(endpoint: "localhost:4318"))
        }
        #expect(error?.reason == .invalidEndpoint)
    }

    @Test("spans flow from span.end() through the batch processor to the server")
    func throughProcessor() async throws {
        let server = try await TestHTTPServer()
        let exporter = try OTLPHTTPExporter(configuration: .init(endpoint: server.tracesURL))
        let processor = BatchSpanProcessor(exporter: exporter)
        let tracer = CairnTracer(configuration: .init(serviceName: "flow"), processor: processor)
        tracer.withSpan("one") { _ in }
        try await processor.shutdown()
        try await server.close()
        let spans = try OTLPProtobuf.decodeSpans(try #require(server.requests.first).body)
        #expect(spans.map(\.name) == ["one"])
        #expect(spans.first?.resource.attributes["service.name"] == .string("flow"))
    }
}

@Suite("OTEL_EXPORTER_OTLP_* variables")
struct OTLPExporterEnvironmentTests {
    func apply(_ environment: [String: String]) -> (OTLPHTTPExporter.Configuration, LogCapture) {
        let capture = LogCapture()
        return (OTLPHTTPExporter.Configuration().applyingEnvironment(environment, logger: capture.logger), capture)
    }

    @Test(
        "OTEL_EXPORTER_OTLP_ENDPOINT gets v1/traces appended to its path",
        arguments: [
            ("http://collector:4318", "http://collector:4318/v1/traces"),
            ("http://collector:4318/", "http://collector:4318/v1/traces"),
            ("https://gateway.example/otlp", "https://gateway.example/otlp/v1/traces"),
            ("https://gateway.example/otlp/", "https://gateway.example/otlp/v1/traces"),
        ])
    func baseEndpoint(base: String, expected: String) {
        let (configuration, capture) = apply(["OTEL_EXPORTER_OTLP_ENDPOINT": base])
        #expect(configuration.endpoint == expected)
        #expect(capture.messages.isEmpty)
    }

    @Test("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is used as given and wins over the base endpoint")
    func tracesEndpoint() {
        let (configuration, _) = apply([
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://base:4318",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://traces:9999/custom/path",
        ])
        #expect(configuration.endpoint == "http://traces:9999/custom/path")
    }

    @Test("the default endpoint is http://localhost:4318/v1/traces, timeout 10 s, no compression")
    func defaults() {
        let (configuration, _) = apply([:])
        #expect(configuration.endpoint == "http://localhost:4318/v1/traces")
        #expect(configuration.timeout == .seconds(10))
        #expect(configuration.compression == .none)
        #expect(configuration.headers.isEmpty)
    }

    @Test("headers are comma-separated key=value pairs with percent-decoded values; the traces variable wins")
    func headers() {
        let (general, _) = apply(["OTEL_EXPORTER_OTLP_HEADERS": " api-key = a%20b%2Cc , tenant=t1 "])
        #expect(general.headers == ["api-key": "a b,c", "tenant": "t1"])
        let (traces, _) = apply([
            "OTEL_EXPORTER_OTLP_HEADERS": "api-key=general", "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "api-key=traces",
        ])
        #expect(traces.headers == ["api-key": "traces"])
    }

    @Test("compression and timeout, general and per-signal")
    func compressionAndTimeout() {
        let (configuration, capture) = apply([
            "OTEL_EXPORTER_OTLP_COMPRESSION": "none", "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "GZIP",
            "OTEL_EXPORTER_OTLP_TIMEOUT": "2500",
        ])
        #expect(configuration.compression == .gzip)
        #expect(configuration.timeout == .milliseconds(2500))
        #expect(capture.messages.isEmpty)
    }

    @Test("invalid values are logged once each and ignored")
    func invalid() {
        let (configuration, capture) = apply([
            "OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318", "OTEL_EXPORTER_OTLP_HEADERS": "novalue",
            "OTEL_EXPORTER_OTLP_COMPRESSION": "zstd", "OTEL_EXPORTER_OTLP_TIMEOUT": "-1",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        ])
        #expect(configuration == OTLPHTTPExporter.Configuration())
        #expect(capture.messages.count == 5)
        #expect(capture.messages.contains { $0.1.contains("OTEL_EXPORTER_OTLP_ENDPOINT=collector:4318") })
        #expect(capture.messages.contains { $0.1.contains("OTEL_EXPORTER_OTLP_PROTOCOL=grpc") })
    }
}
