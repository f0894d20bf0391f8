import CairnModel
import CairnSDK
import Instrumentation
import Testing
import Tracing

@Suite("CairnTracer")
struct CairnTracerTests {
    @Test("withSpan nesting gives the child its parent's trace id and span id")
    func nesting() throws {
        let (tracer, processor) = makeTracer()
        tracer.withSpan("parent") { _ in
            tracer.withSpan("child") { _ in }
        }
        let spans = processor.spans
        let child = try #require(spans.first { $0.name == "child" })
        let parent = try #require(spans.first { $0.name == "parent" })
        #expect(child.traceID == parent.traceID)
        #expect(child.parentSpanID == parent.spanID)
        #expect(parent.parentSpanID == nil)
        #expect(child.spanID != parent.spanID)
        #expect(parent.traceID.isValid && parent.spanID.isValid)
    }

    @Test("an explicit context makes a child without task-local state")
    func explicitContext() throws {
        let (tracer, processor) = makeTracer()
        let parent = tracer.startSpan("parent", context: .topLevel)
        let child = tracer.startSpan("child", context: parent.context)
        child.end()
        parent.end()
        let spans = processor.spans
        #expect(spans.map(\.name) == ["child", "parent"])
        #expect(spans[0].parentSpanID == spans[1].spanID)
        #expect(spans[0].traceID == spans[1].traceID)
    }

    @Test("two root spans get different trace ids")
    func rootsDiffer() {
        let (tracer, _) = makeTracer()
        let first = tracer.startSpan("a", context: .topLevel)
        let second = tracer.startSpan("b", context: .topLevel)
        #expect(first.spanContext.traceID != second.spanContext.traceID)
    }

    @Test("attributes of every SpanAttribute type arrive in the exported span")
    func attributeTypes() throws {
        let (tracer, processor) = makeTracer()
        let span = tracer.startSpan("op", context: .topLevel)
        span.attributes["int32"] = SpanAttribute.int32(7)
        span.attributes["int64"] = 42
        span.attributes["int32s"] = SpanAttribute.int32Array([1, 2])
        span.attributes["int64s"] = SpanAttribute.int64Array([3, 4])
        span.attributes["double"] = 1.5
        span.attributes["doubles"] = SpanAttribute.doubleArray([0.5, 2])
        span.attributes["bool"] = true
        span.attributes["bools"] = SpanAttribute.boolArray([true, false])
        span.attributes["string"] = "text"
        span.attributes["strings"] = SpanAttribute.stringArray(["a", "b"])
        span.attributes["convertible"] = SpanAttribute.stringConvertible(TraceID(high: 0, low: 1))
        span.attributes["convertibles"] = SpanAttribute.stringConvertibleArray([SpanID(value: 2)])
        span.attributes.set("removed", value: .string("gone"))
        span.attributes["removed"] = nil
        span.end()

        let attributes = try #require(processor.spans.first).attributes
        #expect(attributes.count == 12)
        #expect(attributes["int32"] == .int(7))
        #expect(attributes["int64"] == .int(42))
        #expect(attributes["int32s"] == .array([.int(1), .int(2)]))
        #expect(attributes["int64s"] == .array([.int(3), .int(4)]))
        #expect(attributes["double"] == .double(1.5))
        #expect(attributes["doubles"] == .array([.double(0.5), .double(2)]))
        #expect(attributes["bool"] == .bool(true))
        #expect(attributes["bools"] == .array([.bool(true), .bool(false)]))
        #expect(attributes["string"] == .string("text"))
        #expect(attributes["strings"] == .array([.string("a"), .string("b")]))
        #expect(attributes["convertible"] == .string("00000000000000000000000000000001"))
        #expect(attributes["convertibles"] == .array([.string("0000000000000002")]))
        #expect(attributes["removed"] == nil)
    }

    @Test("attributes read back, and a whole replacement replaces them")
    func attributesReadBack() {
        let (tracer, _) = makeTracer()
        let span = tracer.startSpan("op", context: .topLevel)
        span.attributes["a"] = "1"
        #expect(span.attributes.get("a") == .string("1"))
        span.attributes = ["b": 2]
        #expect(span.attributes.get("a") == nil)
        #expect(span.attributes.get("b") == .int64(2))
        span.updateAttributes { $0["c"] = true }
        #expect(span.attributes.count == 2)
    }

    @Test("the span kind, name, times, resource and scope are exported")
    func spanFields() throws {
        let (tracer, processor) = makeTracer()
        let span = tracer.startSpan(
            "first", context: .topLevel, ofKind: .server,
            at: DefaultTracerClock.Timestamp(nanosecondsSinceEpoch: 1_000))
        span.operationName = "renamed"
        #expect(span.operationName == "renamed")
        span.end(at: DefaultTracerClock.Timestamp(nanosecondsSinceEpoch: 5_000))
        let exported = try #require(processor.spans.first)
        #expect(exported.name == "renamed")
        #expect(exported.kind == .server)
        #expect(exported.startTimeUnixNano == 1_000)
        #expect(exported.endTimeUnixNano == 5_000)
        #expect(exported.flags == 0x101)
        #expect(exported.serviceName == "test-service")
        #expect(exported.resource.attributes["telemetry.sdk.name"] == .string("cairn"))
        #expect(exported.scope.name == "CairnSDK")
        #expect(exported.status == .unset)
    }

    @Test("every span kind maps to its OTLP kind")
    func kinds() {
        let (tracer, processor) = makeTracer()
        let kinds: [Tracing.SpanKind] = [.internal, .server, .client, .producer, .consumer]
        for kind in kinds { tracer.startSpan("op", context: .topLevel, ofKind: kind).end() }
        #expect(processor.spans.map(\.kind) == [.internal, .server, .client, .producer, .consumer])
    }

    @Test("events keep their name, time and attributes")
    func events() throws {
        let (tracer, processor) = makeTracer()
        let span = tracer.startSpan("op", context: .topLevel)
        span.addEvent(
            SpanEvent(
                name: "cache miss", at: DefaultTracerClock.Timestamp(nanosecondsSinceEpoch: 77),
                attributes: ["key": "user:1"]))
        span.addEvent("plain")
        span.end()
        let events = try #require(processor.spans.first).events
        #expect(events.map(\.name) == ["cache miss", "plain"])
        #expect(events[0].timeUnixNano == 77)
        #expect(events[0].attributes == [Attribute("key", .string("user:1"))])
    }

    @Test("links carry the linked span's ids, trace state, remote flag and attributes")
    func links() throws {
        let (tracer, processor) = makeTracer()
        let other = tracer.startSpan("other", context: .topLevel)
        var remote = ServiceContext.topLevel
        tracer.extract(
            ["traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "tracestate": "a=1"],
            into: &remote, using: DictionaryExtractor())
        let span = tracer.startSpan("op", context: .topLevel)
        span.addLink(other, attributes: ["why": "batch"])
        span.addLink(SpanLink(context: remote, attributes: [:]))
        span.addLink(SpanLink(context: .topLevel, attributes: [:]))
        span.end()
        let links = try #require(processor.spans.first).links
        #expect(links.count == 2)
        #expect(links[0].traceID == other.spanContext.traceID)
        #expect(links[0].spanID == other.spanContext.spanID)
        #expect(links[0].attributes == [Attribute("why", .string("batch"))])
        #expect(links[0].flags == 0x101)
        #expect(links[1].traceID == TraceID(hex: "0af7651916cd43dd8448eb211c80319c"))
        #expect(links[1].spanID == SpanID(hex: "b7ad6b7169203331"))
        #expect(links[1].traceState == "a=1")
        #expect(links[1].flags == 0x301)
    }

    @Test("an error status keeps its message, and ok is final")
    func statusRules() throws {
        let (tracer, processor) = makeTracer()
        let failed = tracer.startSpan("failed", context: .topLevel)
        failed.setStatus(SpanStatus(code: .error, message: "timed out"))
        failed.end()
        let succeeded = tracer.startSpan("succeeded", context: .topLevel)
        succeeded.setStatus(SpanStatus(code: .error, message: "first try failed"))
        succeeded.setStatus(SpanStatus(code: .ok, message: "ignored"))
        succeeded.setStatus(SpanStatus(code: .error, message: "too late"))
        succeeded.end()
        let spans = processor.spans
        #expect(spans[0].status == CairnModel.SpanStatus(code: .error, message: "timed out"))
        #expect(spans[1].status == CairnModel.SpanStatus(code: .ok, message: ""))
    }

    @Test("recordError adds an exception event with type and message, and leaves the status alone")
    func recordError() throws {
        let (tracer, processor) = makeTracer()
        let span = tracer.startSpan("op", context: .topLevel)
        span.recordError(TestError(), attributes: ["attempt": 2])
        span.end()
        let exported = try #require(processor.spans.first)
        let event = try #require(exported.events.first)
        #expect(event.name == "exception")
        #expect(event.attributes["exception.type"] == .string("CairnSDKTests.TestError"))
        #expect(event.attributes["exception.message"] == .string("the disk is full"))
        #expect(event.attributes["attempt"] == .int(2))
        #expect(event.attributes["exception.stacktrace"] == nil)
        #expect(exported.status == .unset)
    }

    @Test("withSpan records a thrown error and sets the error status")
    func withSpanError() throws {
        let (tracer, processor) = makeTracer()
        #expect(throws: TestError.self) {
            try tracer.withSpan("op") { _ in throw TestError() }
        }
        let exported = try #require(processor.spans.first)
        #expect(exported.status.code == .error)
        #expect(exported.events.map(\.name) == ["exception"])
    }

    @Test("a span ends once and ignores changes after its end")
    func endOnce() throws {
        let (tracer, processor) = makeTracer()
        let span = tracer.startSpan("op", context: .topLevel)
        span.attributes["before"] = 1
        #expect(span.isRecording)
        span.end(at: DefaultTracerClock.Timestamp(nanosecondsSinceEpoch: 10))
        #expect(!span.isRecording)
        span.attributes["after"] = 2
        span.attributes = ["replaced": 3]
        span.operationName = "renamed"
        span.addEvent("late")
        span.setStatus(SpanStatus(code: .error))
        span.recordError(TestError())
        span.addLink(span)
        span.end(at: DefaultTracerClock.Timestamp(nanosecondsSinceEpoch: 20))
        #expect(processor.spans.count == 1)
        let exported = try #require(processor.spans.first)
        #expect(exported.name == "op")
        #expect(exported.attributes == [Attribute("before", .int(1))])
        #expect(exported.events.isEmpty && exported.links.isEmpty)
        #expect(exported.status == .unset)
        #expect(exported.endTimeUnixNano == 10)
    }

    @Test("limits drop new attributes, events and links and count them; values are cut")
    func limits() throws {
        let limits = SpanLimits(
            attributeCountLimit: 2, attributeValueLengthLimit: 3, eventCountLimit: 1, linkCountLimit: 1,
            attributePerEventCountLimit: 1, attributePerLinkCountLimit: 1)
        let (tracer, processor) = makeTracer(limits: limits)
        let other = tracer.startSpan("other", context: .topLevel)
        let span = tracer.startSpan("op", context: .topLevel)
        span.attributes["a"] = "abcdef"
        span.attributes["b"] = SpanAttribute.stringArray(["xyzw", "uv"])
        span.attributes["c"] = 3
        span.attributes["a"] = "abcd"
        span.attributes["d"] = 4
        span.addEvent(SpanEvent(name: "first", attributes: ["x": 1, "y": 2]))
        span.addEvent("second")
        span.addEvent("third")
        span.addLink(other, attributes: ["x": 1, "y": 2])
        span.addLink(other)
        span.end()
        let exported = try #require(processor.spans.first)
        #expect(Set(exported.attributes.map(\.key)) == ["a", "b"])
        #expect(exported.attributes["a"] == .string("abc"))
        #expect(exported.attributes["b"] == .array([.string("xyz"), .string("uv")]))
        #expect(exported.droppedAttributesCount == 2)
        #expect(exported.events.count == 1)
        #expect(exported.droppedEventsCount == 2)
        #expect(exported.events[0].attributes.count == 1)
        #expect(exported.events[0].droppedAttributesCount == 1)
        #expect(exported.links.count == 1)
        #expect(exported.droppedLinksCount == 1)
        #expect(exported.links[0].droppedAttributesCount == 1)
    }

    @Test("the default limits are the specification's 128")
    func defaultLimits() throws {
        let (tracer, processor) = makeTracer()
        let span = tracer.startSpan("op", context: .topLevel)
        for index in 0..<130 { span.attributes["k\(index)"] = index }
        for index in 0..<130 { span.addEvent(SpanEvent(name: "e\(index)")) }
        span.end()
        let exported = try #require(processor.spans.first)
        #expect(exported.attributes.count == 128)
        #expect(exported.droppedAttributesCount == 2)
        #expect(exported.attributes["k0"] != nil && exported.attributes["k127"] != nil)
        #expect(exported.events.count == 128)
        #expect(exported.droppedEventsCount == 2)
    }

    @Test("an unsampled span records nothing and is never exported, yet propagates its trace id with flags 00")
    func unsampled() throws {
        let (tracer, processor) = makeTracer(sampler: ParentBasedSampler(root: AlwaysOffSampler()))
        let span = tracer.startSpan("op", context: .topLevel)
        #expect(!span.isRecording)
        span.attributes["k"] = "v"
        span.addEvent("e")
        span.setStatus(SpanStatus(code: .error))
        #expect(span.attributes.isEmpty)
        #expect(span.spanContext.traceID.isValid && span.spanContext.spanID.isValid)

        var headers: [String: String] = [:]
        tracer.inject(span.context, into: &headers, using: DictionaryInjector())
        #expect(
            headers["traceparent"] == "00-\(span.spanContext.traceID.hex)-\(span.spanContext.spanID.hex)-00")

        let child = tracer.startSpan("child", context: span.context)
        #expect(!child.isRecording)
        #expect(child.spanContext.traceID == span.spanContext.traceID)
        child.end()
        span.end()
        #expect(processor.spans.isEmpty)
        #expect(processor.startedCount == 0)
    }

    @Test("a value set on a span that is not recording is released at once")
    func unsampledReleasesValues() {
        let (tracer, _) = makeTracer(sampler: AlwaysOffSampler())
        let released = Flag()
        let span = tracer.startSpan("op", context: .topLevel)
        span.attributes["tracked"] = SpanAttribute.stringConvertible(Tracked(released))
        #expect(released.value)
        span.attributes["a"] = 1
        span.attributes["b"] = 2
        #expect(span.attributes.isEmpty)
        let (recording, processor) = makeTracer()
        let other = recording.startSpan("op", context: .topLevel)
        other.attributes["own"] = true
        other.end()
        #expect(processor.spans.first?.attributes == [Attribute("own", .bool(true))])
    }

    @Test("attributes set on one span from many tasks at once all arrive")
    func concurrentAttributes() async throws {
        let (tracer, processor) = makeTracer(limits: SpanLimits(attributeCountLimit: 1_000))
        let span = tracer.startSpan("op", context: .topLevel)
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for index in 0..<100 { span.attributes["t\(task).\(index)"] = index }
                }
            }
        }
        span.end()
        #expect(try #require(processor.spans.first).attributes.count == 800)
    }

    @Test("a record-only span reaches processors but is not sampled")
    func recordOnly() {
        let processor = InMemorySpanProcessor()
        let counter = CountingProcessor()
        let sampler = ClosureSampler(description: "RecordOnly") { _ in SamplingResult(.recordOnly) }
        let tracer = CairnTracer(
            configuration: .init(sampler: sampler), processor: MultiSpanProcessor([processor, counter]))
        let span = tracer.startSpan("op", context: .topLevel)
        #expect(span.isRecording)
        #expect(!span.spanContext.isSampled)
        span.end()
        #expect(processor.startedCount == 1)
        #expect(processor.spans.isEmpty)
        #expect(counter.ended.withLock { $0 } == ["op"])
    }

    @Test("sampler attributes are added to the span")
    func samplerAttributes() throws {
        let sampler = ClosureSampler(description: "Tagging") { _ in
            SamplingResult(.recordAndSample, attributes: ["sampler.rule": "all"])
        }
        let (tracer, processor) = makeTracer(sampler: sampler)
        tracer.startSpan("op", context: .topLevel).end()
        #expect(try #require(processor.spans.first).attributes["sampler.rule"] == .string("all"))
    }

    @Test("spans started and ended concurrently are all exported")
    func concurrency() async {
        let (tracer, processor) = makeTracer()
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for index in 0..<100 {
                        let span = tracer.startSpan("t\(task)", context: .topLevel)
                        span.attributes["i"] = index
                        span.end()
                    }
                }
            }
        }
        #expect(processor.spans.count == 800)
        #expect(Set(processor.spans.map(\.spanID)).count == 800)
    }
}

import Synchronization

final class Flag: Sendable {
    let state = Mutex(false)
    var value: Bool { state.withLock { $0 } }
}

final class Tracked: CustomStringConvertible, Sendable {
    let flag: Flag
    init(_ flag: Flag) { self.flag = flag }
    deinit { flag.state.withLock { $0 = true } }
    var description: String { "tracked" }
}

final class CountingProcessor: SpanProcessor {
    let ended = Mutex<[String]>([])
    func onEnd(_ span: FinishedSpan) {
        ended.withLock { $0.append(span.name) }
    }
}
