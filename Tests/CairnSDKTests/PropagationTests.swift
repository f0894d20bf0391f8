import CairnModel
import CairnSDK
import Instrumentation
import Testing
import Tracing

@Suite("Propagation")
struct PropagationTests {
    @Test("inject and extract round-trip a span context and baggage through a [String: String] carrier")
    func roundTrip() throws {
        let (tracer, processor) = makeTracer()
        var context = ServiceContext.topLevel
        context.baggage = Baggage([Baggage.Member(key: "user", value: "ada lovelace", properties: ["tier=gold"])])
        let client = tracer.startSpan("client", context: context, ofKind: .client)
        var carrier: [String: String] = [:]
        tracer.inject(client.context, into: &carrier, using: DictionaryInjector())
        #expect(carrier["traceparent"] == "00-\(client.spanContext.traceID.hex)-\(client.spanContext.spanID.hex)-01")
        #expect(carrier["tracestate"] == nil)
        #expect(carrier["baggage"] == "user=ada%20lovelace;tier=gold")

        var received = ServiceContext.topLevel
        tracer.extract(carrier, into: &received, using: DictionaryExtractor())
        let remote = try #require(received.spanContext)
        #expect(remote.traceID == client.spanContext.traceID)
        #expect(remote.spanID == client.spanContext.spanID)
        #expect(remote.isRemote && remote.isSampled)
        #expect(received.baggage?["user"] == "ada lovelace")
        #expect(received.baggage?.members.first?.properties == ["tier=gold"])

        let server = tracer.startSpan("server", context: received, ofKind: .server)
        server.end()
        client.end()
        let exported = try #require(processor.spans.first { $0.name == "server" })
        #expect(exported.traceID == client.spanContext.traceID)
        #expect(exported.parentSpanID == client.spanContext.spanID)
        #expect(exported.flags == 0x301)
    }

    @Test("the tracestate of the caller is carried to the child and its callees")
    func traceStateCarried() throws {
        let (tracer, processor) = makeTracer()
        var context = ServiceContext.topLevel
        tracer.extract(
            ["traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "tracestate": "congo=t61rcWkgMzE"],
            into: &context, using: DictionaryExtractor())
        let span = tracer.startSpan("op", context: context)
        var carrier: [String: String] = [:]
        tracer.inject(span.context, into: &carrier, using: DictionaryInjector())
        span.end()
        #expect(carrier["tracestate"] == "congo=t61rcWkgMzE")
        #expect(try #require(processor.spans.first).traceState == "congo=t61rcWkgMzE")
    }

    @Test("an invalid tracestate is dropped but the traceparent is kept")
    func invalidTraceState() throws {
        let (tracer, _) = makeTracer()
        var context = ServiceContext.topLevel
        tracer.extract(
            ["traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "tracestate": "UPPER=1"],
            into: &context, using: DictionaryExtractor())
        let remote = try #require(context.spanContext)
        #expect(remote.traceID == TraceID(hex: "0af7651916cd43dd8448eb211c80319c"))
        #expect(remote.traceState.isEmpty)
    }

    @Test("a context without a span injects nothing")
    func nothingToInject() {
        let (tracer, _) = makeTracer()
        var carrier: [String: String] = [:]
        tracer.inject(.topLevel, into: &carrier, using: DictionaryInjector())
        #expect(carrier.isEmpty)
    }

    @Test("baggage values are percent-decoded and properties kept")
    func baggageParsing() {
        let baggage = Baggage(header: "key1 = value1;property1;property2, key2=value%2C2 ,key3=va%25lue3; propertyKey = propertyValue")
        #expect(baggage.members.map(\.key) == ["key1", "key2", "key3"])
        #expect(baggage["key1"] == "value1")
        #expect(baggage["key2"] == "value,2")
        #expect(baggage["key3"] == "va%lue3")
        #expect(baggage.members[0].properties == ["property1", "property2"])
        #expect(baggage.members[2].properties == ["propertyKey=propertyValue"])
    }

    @Test("invalid baggage members are dropped and the valid ones kept")
    func baggageInvalidMembers() {
        let baggage = Baggage(header: "good=1,no-equals,bad key=2,quoted=\"x\",also=fine")
        #expect(baggage.members.map(\.key) == ["good", "also"])
    }

    @Test("baggage keeps at most 64 members and 8192 bytes")
    func baggageLimits() {
        let many = Baggage(header: (0..<70).map { "k\($0)=v" }.joined(separator: ","))
        #expect(many.members.count == 64)
        let big = Baggage(header: (0..<3).map { "k\($0)=" + String(repeating: "x", count: 4000) }.joined(separator: ","))
        #expect(big.members.count == 2)
        #expect(big.header.utf8.count <= 8192)
    }

    @Test("baggage values with reserved or non-ASCII characters are percent-encoded and decoded back")
    func baggageEncoding() {
        var baggage = Baggage()
        baggage["city"] = "Zürich, CH; 100%"
        #expect(baggage.header == "city=Z%C3%BCrich%2C%20CH%3B%20100%25")
        #expect(Baggage(header: baggage.header)["city"] == "Zürich, CH; 100%")
        baggage["city"] = nil
        #expect(baggage.isEmpty)
    }
}
