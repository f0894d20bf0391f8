import CairnModel
import CairnOTLP
import CairnSDK
import CairnTesting
import Foundation
import Instrumentation
import Logging
import Testing
import Tracing

@Suite("End to end: two services linked by traceparent, stored by cairn serve")
struct EndToEndTests {
    let quiet = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
    /// The collector's store lives here, for the test's lifetime.
    let directory: TemporaryDirectory

    init() throws {
        directory = try TemporaryDirectory()
    }

    /// The spans of the trace as `cairn export` reads them from the store at `db`.
    static func exported(_ traceID: TraceID, from db: String) async throws -> [CairnModel.Span] {
        let exported = try await CairnProcess.runOffPool(["export", traceID.hex, "--db", db])
        #expect(exported.status == 0, "\(exported.stderr)")
        return try OTLPJSON.decodeSpans(Array(exported.stdout.utf8)).spans
    }

    @Test("the client span of one service and the server span of another are stored as one correctly parented trace")
    func twoServices() async throws {
        let db = directory.path("e2e.db")
        let collector = try await CairnProcess.Server(db: db)
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
        #expect(collector.signal(SIGTERM) == 0, "\(collector.output)")

        let spans = try await Self.exported(traceID, from: db)
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

    @Test("a span of this process and the spans of another, linked by traceparent, are stored as one trace")
    func twoProcesses() async throws {
        let db = directory.path("e2e.db")
        let collector = try await CairnProcess.Server(db: db)
        let endpoint = "http://127.0.0.1:\(collector.port)"
        let frontend = try CairnTracingService(serviceName: "frontend", environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": endpoint],
                                               logger: quiet)
        let tracer = try #require(frontend.tracer)
        let probe = CairnProcess.built("CairnSDKProbe").path

        // The frontend calls checkout, which runs in the probe's process: its context goes over as TRACEPARENT and
        // BAGGAGE (the environment as the carrier), as a header would.
        let client = tracer.startSpan("GET /checkout", context: .topLevel, ofKind: .client)
        var context = client.context
        context.baggage = Baggage([Baggage.Member(key: "probe.user", value: "ada")])
        var headers: [String: String] = [:]
        tracer.inject(context, into: &headers, using: DictionaryInjector())
        let called = try await CairnProcess.runToolOffPool(probe, ["POST /checkout"], environment: [
            "OTEL_SERVICE_NAME": "checkout", "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "TRACEPARENT": try #require(headers["traceparent"]), "BAGGAGE": try #require(headers["baggage"]),
        ])
        client.end()
        #expect(called.status == 0, "\(called.stderr)")

        // A traceparent that breaks the specification (an all-zero trace id) starts a new trace in the probe.
        let invalid = try await CairnProcess.runToolOffPool(probe, ["POST /orphan"], environment: [
            "OTEL_SERVICE_NAME": "checkout", "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "TRACEPARENT": "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        ])
        #expect(invalid.status == 0, "\(invalid.stderr)")

        try await frontend.processor?.shutdown()
        #expect(frontend.processor?.exportedSpanCount == 1)
        #expect(collector.signal(SIGTERM) == 0, "\(collector.output)")

        let traceID = client.spanContext.traceID
        let spans = try await Self.exported(traceID, from: db)
        #expect(spans.count == 3)
        let caller = try #require(spans.first { $0.name == "GET /checkout" })
        let server = try #require(spans.first { $0.name == "POST /checkout" })
        let work = try #require(spans.first { $0.name == "work" })
        #expect(caller.resource.attributes["service.name"] == .string("frontend"))
        #expect(server.resource.attributes["service.name"] == .string("checkout"))
        #expect(work.resource.attributes["service.name"] == .string("checkout"))
        #expect(caller.parentSpanID == nil)
        #expect(server.parentSpanID == caller.spanID)
        #expect(server.flags & 0x300 == 0x300, "the server span's parent is remote")
        #expect(work.parentSpanID == server.spanID)
        #expect(work.flags & 0x300 == 0x100, "the work span's parent is local")
        #expect(server.attributes["probe.user"] == .string("ada"), "the baggage crossed over")
        // The probe prints the traceparent it would send on: its server span, sampled.
        #expect(called.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "00-\(traceID.hex)-\(server.spanID.hex)-01")

        let orphanParent = invalid.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "-")
        try #require(orphanParent.count == 4)
        #expect(orphanParent[1] != "00000000000000000000000000000000" && orphanParent[1] != Substring(traceID.hex))
        let orphan = try await CairnProcess.runOffPool(["export", String(orphanParent[1]), "--db", db])
        let orphanSpans = try OTLPJSON.decodeSpans(Array(orphan.stdout.utf8)).spans
        #expect(orphanSpans.count == 2)
        #expect(orphanSpans.first { $0.name == "POST /orphan" }?.parentSpanID == nil, "an invalid traceparent starts a new trace")
    }
}
