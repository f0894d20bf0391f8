// cairn-sdk-probe: a traced service in a process of its own, for CairnSDK's end-to-end test.
//
// It takes the caller's context from the environment (`TRACEPARENT`, `TRACESTATE` and `BAGGAGE`, the environment as
// a carrier), configures CairnSDK from the `OTEL_*` variables as any service does, handles one request as a SERVER
// span named by its first argument with an INTERNAL child span, exports both to the collector, and prints the server
// span's own `traceparent`. It exits 1 when the spans were not exported.
import CairnSDK
import Foundation
import Instrumentation
import Logging
import Tracing

/// Reads a carrier's keys from the environment: `traceparent` from `TRACEPARENT`.
struct EnvironmentExtractor: Extractor {
    func extract(key: String, from carrier: [String: String]) -> String? {
        carrier[key.uppercased()]
    }
}

/// Writes headers into a dictionary.
struct HeaderInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) {
        carrier[key] = value
    }
}

let name = CommandLine.arguments.dropFirst().first ?? "probe"
var logger = Logger(label: "cairn-sdk-probe")
logger.logLevel = .warning
let service = try CairnTracingService(logger: logger)
guard let tracer = service.tracer, let processor = service.processor else {
    FileHandle.standardError.write(Data("cairn-sdk-probe: the SDK is disabled\n".utf8))
    exit(1)
}

var incoming = ServiceContext.topLevel
tracer.extract(ProcessInfo.processInfo.environment, into: &incoming, using: EnvironmentExtractor())
let server = tracer.startSpan(name, context: incoming, ofKind: .server)
server.attributes["http.response.status_code"] = 200
if let baggage = incoming.baggage?["probe.user"] {
    server.attributes["probe.user"] = baggage
}
let work = tracer.startSpan("work", context: server.context, ofKind: .internal)
work.end()
server.end()

var outgoing: [String: String] = [:]
tracer.inject(server.context, into: &outgoing, using: HeaderInjector())
try await processor.shutdown()
guard processor.exportedSpanCount == 2 else {
    FileHandle.standardError.write(Data("cairn-sdk-probe: \(processor.exportedSpanCount) of 2 spans exported\n".utf8))
    exit(1)
}
print(outgoing["traceparent"] ?? "")
