import CairnModel
import CairnSDK
import Instrumentation
import Logging
import Synchronization
import Tracing

/// A tracer and the in-memory processor it hands spans to.
func makeTracer(
    sampler: any Sampler = AlwaysOnSampler(), limits: SpanLimits = SpanLimits(), serviceName: String = "test-service"
) -> (CairnTracer, InMemorySpanProcessor) {
    let processor = InMemorySpanProcessor()
    let configuration = CairnTracer.Configuration(serviceName: serviceName, sampler: sampler, spanLimits: limits)
    return (CairnTracer(configuration: configuration, processor: processor), processor)
}

/// HTTP headers as a list: names compared without case, repeated headers joined by `,` as HTTP allows.
struct HeaderExtractor: Extractor {
    func extract(key: String, from carrier: [(String, String)]) -> String? {
        let values = carrier.filter { $0.0.lowercased() == key.lowercased() }.map(\.1)
        return values.isEmpty ? nil : values.joined(separator: ",")
    }
}

struct DictionaryInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) {
        carrier[key] = value
    }
}

struct DictionaryExtractor: Extractor {
    func extract(key: String, from carrier: [String: String]) -> String? {
        carrier[key]
    }
}

/// Log records kept in memory.
final class LogCapture: Sendable {
    let records = Mutex<[(Logger.Level, String)]>([])

    var logger: Logger {
        Logger(label: "test") { _ in Handler(capture: self) }
    }

    var messages: [(Logger.Level, String)] { records.withLock { $0 } }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            capture.records.withLock { $0.append((event.level, event.message.description)) }
        }
    }
}

struct TestError: Error, CustomStringConvertible {
    var description: String { "the disk is full" }
}
