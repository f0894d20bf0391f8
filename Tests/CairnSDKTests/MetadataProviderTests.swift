import CairnModel
import CairnSDK
import Instrumentation
import Logging
import Synchronization
import Testing
import Tracing

/// A text stream that keeps what is written.
struct TextCapture: TextOutputStream, Sendable {
    final class Box: Sendable {
        let text = Mutex("")
    }

    let box = Box()

    mutating func write(_ string: String) {
        box.text.withLock { $0 += string }
    }

    var lines: [String] { box.text.withLock { $0 }.split(separator: "\n").map(String.init) }
}

@Suite("Logger.MetadataProvider.cairnTracing")
struct MetadataProviderTests {
    @Test("a record logged inside a span carries its trace_id and span_id")
    func insideSpan() {
        let (tracer, _) = makeTracer()
        let capture = TextCapture()
        let logger = Logger(label: "shop") { label, _ in
            StreamLogHandler(label: label, stream: capture, metadataProvider: .cairnTracing)
        }
        var ids: (String, String) = ("", "")
        tracer.withSpan("checkout") { span in
            ids = (span.spanContext.traceID.hex, span.spanContext.spanID.hex)
            logger.info("charging the card")
            #expect(Logger.MetadataProvider.cairnTracing.get() == ["trace_id": .string(ids.0), "span_id": .string(ids.1)])
        }
        logger.info("after the span")
        let lines = capture.lines
        #expect(lines.count == 2)
        #expect(lines.first?.contains("trace_id=\(ids.0)") == true)
        #expect(lines.first?.contains("span_id=\(ids.1)") == true)
        #expect(lines.last?.contains("trace_id") == false)
    }

    @Test("a nested span's record carries the nested span's id")
    func nested() {
        let (tracer, _) = makeTracer()
        tracer.withSpan("outer") { outer in
            tracer.withSpan("inner") { inner in
                let metadata = Logger.MetadataProvider.cairnTracing.get()
                #expect(metadata["span_id"] == .string(inner.spanContext.spanID.hex))
                #expect(metadata["trace_id"] == .string(outer.spanContext.traceID.hex))
            }
        }
    }

    @Test("outside any span, or with only an extracted caller's context, it adds nothing")
    func outside() {
        let (tracer, _) = makeTracer()
        #expect(Logger.MetadataProvider.cairnTracing.get().isEmpty)
        var context = ServiceContext.topLevel
        tracer.extract(
            ["traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"], into: &context,
            using: DictionaryExtractor())
        ServiceContext.withValue(context) {
            #expect(Logger.MetadataProvider.cairnTracing.get().isEmpty)
        }
    }
}
