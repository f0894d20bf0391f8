import CairnModel
import CairnOTLP
import CairnSDK
import Logging
import ServiceLifecycle
import Testing
import Tracing

@Suite("CairnTracingService")
struct CairnTracingServiceTests {
    let quiet = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    @Test("it reads the environment, exports to OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces, and its graceful shutdown flushes every finished span")
    func flushesOnShutdown() async throws {
        let server = try await TestHTTPServer()
        let service = try CairnTracingService(
            serviceName: "in-code",
            environment: [
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:\(server.port)", "OTEL_SERVICE_NAME": "from-env",
                "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip",
            ],
            logger: quiet)
        let tracer = try #require(service.tracer)
        let group = ServiceGroup(configuration: .init(services: [service], logger: quiet))
        let task = Task { try await group.run() }
        for index in 0..<5 {
            tracer.withSpan("request \(index)") { _ in }
        }
        await group.triggerGracefulShutdown()
        try await task.value
        try await server.close()

        let requests = server.requests
        #expect(requests.allSatisfy { $0.uri == "/v1/traces" && $0.header("Content-Encoding") == "gzip" })
        let spans = try requests.flatMap { try OTLPProtobuf.decodeSpans(try #require(gunzip($0.body))) }
        #expect(Set(spans.map(\.name)) == Set((0..<5).map { "request \($0)" }))
        #expect(spans.allSatisfy { $0.resource.attributes["service.name"] == .string("from-env") })
        #expect(service.processor?.exportedSpanCount == 5)
    }

    @Test("the service name given in code names the resource when OTEL_SERVICE_NAME is not set")
    func serviceNameInCode() throws {
        let service = try CairnTracingService(serviceName: "checkout", environment: [:], logger: quiet)
        #expect(service.tracer?.resource.attributes["service.name"] == .string("checkout"))
    }

    @Test("OTEL_SDK_DISABLED=true makes nothing, and the service waits for shutdown")
    func disabled() async throws {
        let service = try CairnTracingService.bootstrap(
            serviceName: "off", environment: ["OTEL_SDK_DISABLED": "TRUE"], logger: quiet)
        #expect(service.tracer == nil)
        #expect(service.processor == nil)
        #expect(service.configuration.isDisabled)
        let group = ServiceGroup(configuration: .init(services: [service], logger: quiet))
        let task = Task { try await group.run() }
        await group.triggerGracefulShutdown()
        try await task.value
    }

    @Test("OTEL_SDK_DISABLED=false and other values leave the SDK on; a value that is not a boolean is logged")
    func notDisabled() {
        let capture = LogCapture()
        #expect(!CairnTracingService.Configuration().applyingEnvironment(["OTEL_SDK_DISABLED": "false"]).isDisabled)
        #expect(
            !CairnTracingService.Configuration().applyingEnvironment(["OTEL_SDK_DISABLED": "yes"], logger: capture.logger)
                .isDisabled)
        #expect(capture.messages.count == 1)
    }

    @Test("an endpoint given in code that is not a URL is an error that says what to give")
    func invalidEndpoint() {
        let error = #expect(throws: OTLPExportError.self) {
            _ = try CairnTracingService(
                configuration: .init(exporter: .init(endpoint: "collector")), environment: [:], logger: quiet)
        }
        #expect(error?.description.contains("http://localhost:4318/v1/traces") == true)
    }
}
