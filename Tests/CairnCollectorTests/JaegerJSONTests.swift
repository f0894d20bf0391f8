import CairnAnalysis
@testable import CairnCollector
import CairnModel
import Foundation
import Testing

@Suite("Jaeger's JSON, written from Cairn's spans")
struct JaegerJSONTests {
    /// The JSON of one tag.
    private func tag(_ key: String, _ value: AttributeValue) -> String {
        var writer = JSONWriter()
        JaegerJSON.tag(key, value, into: &writer)
        return writer.text
    }

    /// The JSON of one trace, assembled without adjustment.
    private func traceText(_ spans: [Span]) -> String {
        var writer = JSONWriter()
        JaegerJSON.trace(TraceTree(traceID: spans[0].traceID, spans: spans), into: &writer)
        return writer.text
    }

    @Test("a trace is written exactly as Jaeger's UI model: ids in hex, times in microseconds, references, tags, logs, processes")
    func exactTrace() {
        let text = traceText(QueryFixture.paymentTrace())
        let expected = #"""
            {"traceID":"0af7651916cd43dd8448eb211c80319c","spans":[\#
            {"traceID":"0af7651916cd43dd8448eb211c80319c","spanID":"00000000000000a1","flags":1,"operationName":"GET /checkout",\#
            "references":[],"startTime":1700000000000001,"duration":100000,\#
            "tags":[{"key":"http.request.method","type":"string","value":"GET"},\#
            {"key":"http.response.status_code","type":"int64","value":200},\#
            {"key":"span.kind","type":"string","value":"server"},\#
            {"key":"w3c.tracestate","type":"string","value":"vendor=1"},\#
            {"key":"otel.scope.name","type":"string","value":"hummingbird"},\#
            {"key":"otel.scope.version","type":"string","value":"2.28.1"}],\#
            "logs":[],"processID":"p1","warnings":null},\#
            {"traceID":"0af7651916cd43dd8448eb211c80319c","spanID":"00000000000000a2","flags":1,"operationName":"POST /charge",\#
            "references":[{"refType":"CHILD_OF","traceID":"0af7651916cd43dd8448eb211c80319c","spanID":"00000000000000a1"},\#
            {"refType":"FOLLOWS_FROM","traceID":"000000000000000000000000000000ff","spanID":"00000000000000ee"}],\#
            "startTime":1700000000010000,"duration":50000,\#
            "tags":[{"key":"span.kind","type":"string","value":"client"},\#
            {"key":"otel.status_code","type":"string","value":"ERROR"},\#
            {"key":"error","type":"bool","value":true},\#
            {"key":"otel.status_description","type":"string","value":"card declined"}],\#
            "logs":[{"timestamp":1700000000020000,"fields":[{"key":"event","type":"string","value":"retry"},\#
            {"key":"attempt","type":"int64","value":2}]}],"processID":"p1","warnings":null},\#
            {"traceID":"0af7651916cd43dd8448eb211c80319c","spanID":"00000000000000a3","flags":1,"operationName":"charge",\#
            "references":[{"refType":"CHILD_OF","traceID":"0af7651916cd43dd8448eb211c80319c","spanID":"00000000000000a2"}],\#
            "startTime":1700000000015000,"duration":40000,\#
            "tags":[{"key":"payment.amount","type":"float64","value":12.5},\#
            {"key":"rpc.system","type":"string","value":"grpc"},\#
            {"key":"span.kind","type":"string","value":"server"},\#
            {"key":"otel.status_code","type":"string","value":"OK"}],\#
            "logs":[],"processID":"p2","warnings":null}],\#
            "processes":{"p1":{"serviceName":"frontend","tags":[{"key":"host.name","type":"string","value":"web-1"}]},\#
            "p2":{"serviceName":"checkout","tags":[{"key":"host.name","type":"string","value":"app-2"}]}},\#
            "warnings":null}
            """#
        #expect(text == expected)
    }

    @Test("tag values have Jaeger's types: int64 and float64 as numbers, bytes as base64 binary, arrays and maps as JSON text")
    func tagTypes() {
        #expect(tag("s", .string("a\"b")) == #"{"key":"s","type":"string","value":"a\"b"}"#)
        #expect(tag("b", .bool(false)) == #"{"key":"b","type":"bool","value":false}"#)
        #expect(tag("i", .int(-9_007_199_254_740_993)) == #"{"key":"i","type":"int64","value":-9007199254740993}"#)
        #expect(tag("d", .double(0.25)) == #"{"key":"d","type":"float64","value":0.25}"#)
        #expect(tag("x", .bytes([0xDE, 0xAD, 0xBE, 0xEF])) == #"{"key":"x","type":"binary","value":"3q2+7w=="}"#)
        #expect(tag("e", .empty) == #"{"key":"e","type":"string","value":""}"#)
        #expect(tag("a", .array([.string("x"), .int(1), .bool(true)]))
            == #"{"key":"a","type":"string","value":"[\"x\",1,true]"}"#)
        #expect(tag("m", .keyValueList([Attribute("k", .string("v")), Attribute("n", .array([]))]))
            == #"{"key":"m","type":"string","value":"{\"k\":\"v\",\"n\":[]}"}"#)
    }

    @Test("an event that names itself in an 'event' attribute gets no second 'event' field; an unspecified kind gets no span.kind")
    func eventFieldAndKind() {
        var span = QueryFixture.paymentTrace()[0]
        span.kind = .unspecified
        span.scope = InstrumentationScope()
        span.traceState = ""
        span.attributes = []
        span.events = [SpanEvent(timeUnixNano: span.startTimeUnixNano, name: "exception",
                                 attributes: [Attribute("event", .string("error"))])]
        let text = traceText([span])
        #expect(text.contains(#""tags":[],"logs":[{"timestamp":1700000000000001,"fields":[{"key":"event","type":"string","value":"error"}]}]"#))
        #expect(!text.contains("span.kind"))
    }

    @Test("spans of one resource share a process; resources that differ get p1, p2 in the order of the spans")
    func processes() {
        let spans = QueryFixture.paymentTrace()
        var other = spans[2]
        other.spanID = SpanID(value: 0xA4)
        other.resource.attributes.append(Attribute("k8s.pod.name", .string("checkout-7")))
        other.startTimeUnixNano += 1
        let text = traceText(spans + [other])
        #expect(text.contains(#""processID":"p3""#))
        #expect(text.contains(#""p3":{"serviceName":"checkout","tags":[{"key":"host.name","type":"string","value":"app-2"},{"key":"k8s.pod.name","type":"string","value":"checkout-7"}]}"#))
    }

    @Test("warnings of the trace and its spans are written as lists when there are some")
    func warnings() {
        // The client span without its parent: the orphan adjuster warns about the span and the trace.
        var tree = TraceTree(traceID: QueryFixture.traceID, spans: [QueryFixture.paymentTrace()[1]])
        OrphanAdjuster().adjust(&tree)
        var writer = JSONWriter()
        JaegerJSON.trace(tree, into: &writer)
        #expect(writer.text.contains(#""processID":"p1","warnings":["its parent span 00000000000000a1 is not in the trace; shown as a root"]}"#))
        #expect(writer.text.hasSuffix(#""warnings":["1 span's parent is missing"]}"#))
    }

    @Test("the envelope carries data, total, limit, offset and errors; an error envelope has null data and the status code")
    func envelopes() {
        #expect(String(decoding: JaegerJSON.strings(["a", "b"]), as: UTF8.self)
            == #"{"data":["a","b"],"total":2,"limit":0,"offset":0,"errors":null}"#)
        #expect(String(decoding: JaegerJSON.errorEnvelope(code: 400, message: "bad"), as: UTF8.self)
            == #"{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":400,"msg":"bad"}]}"#)
        let missing = JaegerJSON.StructuredError(code: 404, message: "trace not found", traceID: TraceID(high: 0, low: 1))
        #expect(String(decoding: JaegerJSON.traces([], errors: [missing]), as: UTF8.self)
            == #"{"data":[],"total":0,"limit":0,"offset":0,"errors":[{"code":404,"msg":"trace not found","traceID":"00000000000000000000000000000001"}]}"#)
    }
}
