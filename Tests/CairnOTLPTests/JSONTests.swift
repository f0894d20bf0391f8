import CairnModel
import CairnOTLP
import CairnTesting
import Testing

/// A request around the given span objects (JSON text), with a resource and a scope.
private func request(spans: [String], resource: String = #"{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]}"#)
    -> [UInt8]
{
    Array(#"{"resourceSpans":[{"resource":\#(resource),"scopeSpans":[{"scope":{"name":"lib"},"spans":[\#(spans.joined(separator: ","))]}]}]}"#.utf8)
}

private let validSpan = #"{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"1112131415161718","name":"op","startTimeUnixNano":"5","endTimeUnixNano":"9"}"#

/// The span object of `validSpan` with `fields` (JSON members) added or replacing earlier ones.
private func spanJSON(_ fields: String) -> String {
    fields.isEmpty ? validSpan : String(validSpan.dropLast()) + "," + fields + "}"
}

private func decodeOne(_ fields: String) throws -> Span {
    let decoded = try OTLPJSON.decodeSpans(request(spans: [spanJSON(fields)]))
    #expect(decoded.rejectedSpans == 0)
    return try #require(decoded.spans.first)
}

private func errorMessage(_ body: [UInt8]) -> String? {
    do {
        _ = try OTLPJSON.decodeSpans(body)
        return nil
    } catch {
        return error.message
    }
}

private func errorMessage(_ text: String) -> String? { errorMessage(Array(text.utf8)) }

@Suite("OTLP/JSON round trips")
struct JSONRoundTripTests {
    @Test("every field and every attribute value survives encode then decode exactly")
    func everyField() throws {
        let spans = Fixtures.everyFieldSpans()
        let decoded = try OTLPJSON.decodeSpans(OTLPJSON.encodeRequest(spans))
        #expect(decoded.rejectedSpans == 0)
        #expect(decoded.spans.count == spans.count)
        for (got, expected) in zip(decoded.spans, spans) {
            #expect(got == expected)
        }
    }

    @Test("realistic spans survive encode then decode exactly")
    func realistic() throws {
        let spans = Fixtures.realisticSpans(count: 500, seed: 42)
        let decoded = try OTLPJSON.decodeSpans(OTLPJSON.encodeRequest(spans))
        #expect(decoded.spans == spans)
    }

    @Test("an empty request encodes as {} and decodes to no spans")
    func empty() throws {
        #expect(OTLPJSON.encodeRequest([]) == Array("{}".utf8))
        let decoded = try OTLPJSON.decodeRequest(Array("{}".utf8))
        #expect(decoded.batch.count == 0 && decoded.rejectedSpans == 0 && decoded.errorMessage == "")
    }

    @Test("decodeRequest builds the batch a store writes, which reads back as the spans")
    func batch() throws {
        let spans = Fixtures.everyFieldSpans()
        let decoded = try OTLPJSON.decodeRequest(OTLPJSON.encodeRequest(spans))
        #expect(try decoded.batch.spans() == spans)
    }

    @Test("writes ids as lowercase hex, 64-bit integers as strings, enums as numbers and non-finite doubles as strings")
    func encodedText() throws {
        let span = Span(
            traceID: TraceID(high: 0xABCD, low: 0xEF), spanID: SpanID(value: 0xFF), parentSpanID: SpanID(value: 0x10),
            flags: 0x301, name: "n", kind: .client, startTimeUnixNano: 1_700_000_000_000_000_001, endTimeUnixNano: 2,
            attributes: [
                Attribute("i", .int(-5)), Attribute("d", .double(.nan)), Attribute("e", .empty), Attribute("z", .string("")),
                Attribute("b", .bytes([0xFF, 0xEF])), Attribute("a", .array([])), Attribute("c", .string("\u{1}\"\n")),
            ],
            status: SpanStatus(code: .error, message: "m"))
        let text = String(decoding: OTLPJSON.encodeRequest([span]), as: UTF8.self)
        let expected = #"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"000000000000abcd00000000000000ef","#
            + #""spanId":"00000000000000ff","parentSpanId":"0000000000000010","flags":769,"name":"n","kind":3,"#
            + #""startTimeUnixNano":"1700000000000000001","endTimeUnixNano":"2","attributes":["#
            + #"{"key":"i","value":{"intValue":"-5"}},{"key":"d","value":{"doubleValue":"NaN"}},{"key":"e","value":{}},"#
            + #"{"key":"z","value":{"stringValue":""}},{"key":"b","value":{"bytesValue":"/+8="}},"#
            + #"{"key":"a","value":{"arrayValue":{}}},{"key":"c","value":{"stringValue":"\u0001\"\n"}}],"#
            + #""status":{"message":"m","code":2}}]}]}]}"#
        #expect(text == expected)
    }

    @Test("writes the response as {} on full success and with partialSuccess otherwise")
    func response() {
        #expect(OTLPJSON.encodeResponse(rejectedSpans: 0, errorMessage: "") == Array("{}".utf8))
        #expect(String(decoding: OTLPJSON.encodeResponse(rejectedSpans: 2, errorMessage: "a \"b\""), as: UTF8.self)
            == #"{"partialSuccess":{"rejectedSpans":"2","errorMessage":"a \"b\""}}"#)
    }

    @Test("writes google.rpc.Status as code and message")
    func status() {
        #expect(String(decoding: OTLPJSON.encodeStatus(code: 3, message: "bad\tbody"), as: UTF8.self)
            == #"{"code":3,"message":"bad\tbody"}"#)
    }
}

@Suite("OTLP/JSON as the specification writes it")
struct JSONSpecTests {
    @Test("reads hex ids in either case")
    func mixedCaseHex() throws {
        let span = try decodeOne(#""traceId":"0123456789ABCDEFfedcba9876543210","spanId":"AbCdEf0123456789","parentSpanId":"FFEEDDCCBBAA9988""#)
        #expect(span.traceID == TraceID(high: 0x0123_4567_89AB_CDEF, low: 0xFEDC_BA98_7654_3210))
        #expect(span.spanID == SpanID(value: 0xABCD_EF01_2345_6789))
        #expect(span.parentSpanID == SpanID(value: 0xFFEE_DDCC_BBAA_9988))
    }

    @Test("reads 64-bit integers as strings or numbers, exactly")
    func integers() throws {
        let span = try decodeOne(
            #""startTimeUnixNano":1700000000000000001,"endTimeUnixNano":"18446744073709551615","#
                + #""attributes":[{"key":"a","value":{"intValue":-9223372036854775808}},{"key":"b","value":{"intValue":"9223372036854775807"}},"#
                + #"{"key":"c","value":{"intValue":1.5e3}},{"key":"d","value":{"intValue":"-0"}}],"droppedAttributesCount":"4""#)
        #expect(span.startTimeUnixNano == 1_700_000_000_000_000_001)
        #expect(span.endTimeUnixNano == .max)
        #expect(span.attributes.map(\.value) == [.int(.min), .int(.max), .int(1500), .int(0)])
        #expect(span.droppedAttributesCount == 4)
    }

    @Test("refuses integers that are fractional or out of range")
    func badIntegers() {
        let prefix = "resourceSpans[0].scopeSpans[0].spans[0]."
        #expect(errorMessage(request(spans: [spanJSON(#""startTimeUnixNano":1.5"#)])) == prefix + "startTimeUnixNano is not an integer")
        #expect(errorMessage(request(spans: [spanJSON(#""endTimeUnixNano":"18446744073709551616""#)]))
            == prefix + "endTimeUnixNano is not an integer")
        #expect(errorMessage(request(spans: [spanJSON(#""startTimeUnixNano":-1"#)]))
            == prefix + "startTimeUnixNano is negative, but it is an unsigned 64-bit integer")
        #expect(errorMessage(request(spans: [spanJSON(#""flags":4294967296"#)])) == prefix + "flags is out of range for an unsigned 32-bit integer")
        #expect(errorMessage(request(spans: [spanJSON(#""attributes":[{"key":"k","value":{"intValue":"9223372036854775808"}}]"#)]))
            == prefix + "attributes[0].value.intValue is out of range for a 64-bit integer")
    }

    @Test("reads the original snake_case keys as protobuf's JSON parsers do")
    func snakeCase() throws {
        let body = #"{"resource_spans":[{"resource":{"attributes":[{"key":"service.name","value":{"string_value":"svc"}}],"dropped_attributes_count":2},"#
            + #""schema_url":"https://r","scope_spans":[{"scope":{"name":"lib"},"schema_url":"https://s","spans":[{"#
            + #""trace_id":"0102030405060708090a0b0c0d0e0f10","span_id":"1112131415161718","parent_span_id":"0000000000000001","#
            + #""name":"op","start_time_unix_nano":"5","end_time_unix_nano":"9","trace_state":"a=b","#
            + #""attributes":[{"key":"k","value":{"kvlist_value":{"values":[{"key":"x","value":{"int_value":"1"}}]}}}],"#
            + #""dropped_events_count":3,"events":[{"time_unix_nano":"7","name":"e"}]}]}]}]}"#
        let span = try #require(try OTLPJSON.decodeSpans(Array(body.utf8)).spans.first)
        #expect(span.resource.serviceName == "svc")
        #expect(span.resource.droppedAttributesCount == 2)
        #expect(span.resource.schemaURL == "https://r")
        #expect(span.scope.schemaURL == "https://s")
        #expect(span.parentSpanID == SpanID(value: 1))
        #expect(span.startTimeUnixNano == 5 && span.endTimeUnixNano == 9)
        #expect(span.traceState == "a=b")
        #expect(span.attributes == [Attribute("k", .keyValueList([Attribute("x", .int(1))]))])
        #expect(span.droppedEventsCount == 3)
        #expect(span.events == [SpanEvent(timeUnixNano: 7, name: "e")])
    }

    @Test("ignores unknown fields, whatever their value")
    func unknownFields() throws {
        let body = #"{"future":{"a":[1,2,{"b":null}]},"resourceSpans":[{"extra":true,"scopeSpans":[{"spans":["#
            + spanJSON(#""unknownField":[{"x":"y"}],"attributes":[{"key":"k","value":{"stringValue":"v","other":1},"more":"x"}]"#)
            + "]}]}]}"
        let span = try #require(try OTLPJSON.decodeSpans(Array(body.utf8)).spans.first)
        #expect(span.name == "op")
        #expect(span.attributes == [Attribute("k", .string("v"))])
    }

    @Test("takes the last of repeated keys, as JSON.parse does")
    func repeatedKeys() throws {
        let span = try decodeOne(#""name":"first","name":"second","trace_id":"ffffffffffffffffffffffffffffffff""#)
        #expect(span.name == "second")
        #expect(span.traceID == TraceID(high: .max, low: .max))
    }

    @Test("reads integers written with a fraction or an exponent when their value is whole")
    func integerForms() throws {
        let span = try decodeOne(#""startTimeUnixNano":1.7e18,"endTimeUnixNano":"17000e-3","droppedLinksCount":0.0,"flags":"0.5e1""#)
        #expect(span.startTimeUnixNano == 1_700_000_000_000_000_000)
        #expect(span.endTimeUnixNano == 17)
        #expect(span.droppedLinksCount == 0)
        #expect(span.flags == 5)
        #expect(errorMessage(request(spans: [spanJSON(#""flags":1e-5"#)])) == "resourceSpans[0].scopeSpans[0].spans[0].flags is not an integer")
        #expect(errorMessage(request(spans: [spanJSON(#""flags":1e99999999999"#)])) == "resourceSpans[0].scopeSpans[0].spans[0].flags is not an integer")
        #expect(errorMessage(request(spans: [spanJSON(#""flags":" 1""#)])) == "resourceSpans[0].scopeSpans[0].spans[0].flags is not an integer")
        let zeros = "0." + String(repeating: "0", count: 200_000) + "1e200002"
        #expect(try decodeOne(#""flags":"# + zeros).flags == 10)
    }

    @Test("reads enums as numbers or by name")
    func enums() throws {
        let byName = try decodeOne(#""kind":"SPAN_KIND_SERVER","status":{"code":"STATUS_CODE_ERROR","message":"x"}"#)
        #expect(byName.kind == .server)
        #expect(byName.status == SpanStatus(code: .error, message: "x"))
        let byNumber = try decodeOne(#""kind":4,"status":{"code":1}"#)
        #expect(byNumber.kind == .producer)
        #expect(byNumber.status.code == .ok)
        let unknown = try decodeOne(#""kind":9,"status":{"code":-7}"#)
        #expect(unknown.kind.rawValue == 9 && unknown.status.code.rawValue == -7)
        #expect(errorMessage(request(spans: [spanJSON(#""kind":"SERVER""#)]))
            == #"resourceSpans[0].scopeSpans[0].spans[0].kind is "SERVER", which is not a SpanKind name; send the number"#)
    }

    @Test("treats null as absent")
    func nulls() throws {
        let span = try decodeOne(#""parentSpanId":null,"status":null,"kind":null,"attributes":[{"key":"k","value":null}],"links":null"#)
        #expect(span.parentSpanID == nil)
        #expect(span.status == .unset)
        #expect(span.kind == .unspecified)
        #expect(span.attributes == [Attribute("k", .empty)])
    }

    @Test("reads bytes as standard or URL-safe base64, padded or not")
    func base64() throws {
        let span = try decodeOne(
            #""attributes":[{"key":"a","value":{"bytesValue":"/+8="}},{"key":"b","value":{"bytesValue":"_-8"}},"#
                + #"{"key":"c","value":{"bytesValue":""}},{"key":"d","value":{"bytesValue":"AAECAwQ="}}]"#)
        #expect(span.attributes.map(\.value) == [.bytes([0xFF, 0xEF]), .bytes([0xFF, 0xEF]), .bytes([]), .bytes([0, 1, 2, 3, 4])])
        #expect(errorMessage(request(spans: [spanJSON(#""attributes":[{"key":"a","value":{"bytesValue":"a*=="}}]"#)]))
            == "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.bytesValue is not valid base64")
    }

    @Test("reads doubles as numbers or as the strings NaN, Infinity and -Infinity")
    func doubles() throws {
        let span = try decodeOne(
            #""attributes":[{"key":"a","value":{"doubleValue":"NaN"}},{"key":"b","value":{"doubleValue":"Infinity"}},"#
                + #"{"key":"c","value":{"doubleValue":"-Infinity"}},{"key":"d","value":{"doubleValue":-1.5e-3}},"#
                + #"{"key":"e","value":{"doubleValue":"2.5"}},{"key":"f","value":{"doubleValue":7}}]"#)
        #expect(span.attributes.map(\.value) == [.double(.nan), .double(.infinity), .double(-.infinity), .double(-0.0015),
                                                 .double(2.5), .double(7)])
        #expect(errorMessage(request(spans: [spanJSON(#""attributes":[{"key":"a","value":{"doubleValue":"nan"}}]"#)]))
            == #"resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.doubleValue is not a number, "NaN", "Infinity" or "-Infinity""#)
    }

    @Test("reads string escapes, surrogate pairs included, and keeps NUL characters")
    func escapes() throws {
        let span = try decodeOne(#""name":"a\"\\\/\b\f\n\r\t\u00e9\u4f60\ud83c\udf0d\u0000z""#)
        #expect(span.name == "a\"\\/\u{8}\u{C}\n\r\té你🌍\u{0}z")
    }
}

@Suite("OTLP/JSON partial rejection")
struct JSONRejectionTests {
    @Test("rejects each span that cannot be kept alone, counting them and describing the first")
    func counts() throws {
        let body = request(spans: [
            spanJSON(#""spanId":"0000000000000000""#),                 // all-zero span id
            spanJSON(""),                                              // kept
            spanJSON(#""traceId":"00000000000000000000000000000000""#), // all-zero trace id
            spanJSON(#""traceId":"0102""#),                            // trace id too short
            spanJSON(#""traceId":"zz02030405060708090a0b0c0d0e0f10""#), // trace id not hex
            spanJSON(#""parentSpanId":"010203""#),                     // parent neither empty nor 8 bytes
            spanJSON(#""name":"""#),                                   // no name
            spanJSON(#""parentSpanId":"0000000000000000""#),           // kept: 8 zero bytes mean no parent
            #"{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"1112131415161718"}"#, // no name at all
        ])
        let decoded = try OTLPJSON.decodeRequest(body)
        #expect(decoded.rejectedSpans == 7)
        #expect(decoded.errorMessage == SpanRejection.invalidSpanID.description)
        #expect(decoded.batch.count == 2)
        #expect(decoded.batch.records.allSatisfy { $0.parentSpanID == nil })

        let first = try OTLPJSON.decodeSpans(request(spans: [spanJSON(#""name":"""#), spanJSON(#""spanId":"01""#)]))
        #expect(first.spans.isEmpty)
        #expect(first.rejectedSpans == 2)
        #expect(first.errorMessage == SpanRejection.missingName.description)
    }

    @Test("reads a link's malformed ids as zero rather than rejecting the span")
    func linkIDs() throws {
        let span = try decodeOne(#""links":[{"traceId":"abc","spanId":"0102030405060708","flags":513}]"#)
        #expect(span.links == [SpanLink(traceID: .zero, spanID: SpanID(value: 0x0102_0304_0506_0708), flags: 513)])
    }
}

@Suite("OTLP/JSON bodies that are not requests")
struct JSONMalformedTests {
    @Test("says where a truncated body ends")
    func truncated() throws {
        let body = OTLPJSON.encodeRequest(Fixtures.realisticSpans(count: 3, seed: 1))
        for cut in [1, 10, body.count / 2, body.count - 1] {
            let message = try #require(errorMessage(Array(body.prefix(cut))))
            #expect(message == "the body is not valid JSON: it ends at byte \(cut), before the value is complete")
        }
    }

    @Test("names the field whose value has the wrong JSON type")
    func wrongTypes() {
        let prefix = "resourceSpans[0].scopeSpans[0].spans[0]."
        #expect(errorMessage(request(spans: [spanJSON(#""name":5"#)])) == prefix + "name is a number, not a string")
        #expect(errorMessage(request(spans: [spanJSON(#""traceId":true"#)])) == prefix + "traceId is a boolean, not a string")
        #expect(errorMessage(request(spans: [spanJSON(#""startTimeUnixNano":"soon""#)])) == prefix + "startTimeUnixNano is not an integer")
        #expect(errorMessage(request(spans: [spanJSON(#""attributes":{}"#)])) == prefix + "attributes is an object, not an array")
        #expect(errorMessage(request(spans: [spanJSON(#""events":[1]"#)])) == prefix + "events[0] is a number, not an object")
        #expect(errorMessage(request(spans: [spanJSON(#""status":"ok""#)])) == prefix + "status is a string, not an object")
        #expect(errorMessage(request(spans: [spanJSON(#""attributes":[{"key":"k","value":{"boolValue":"true"}}]"#)]))
            == prefix + "attributes[0].value.boolValue is not true or false")
        #expect(errorMessage(request(spans: [spanJSON(#""attributes":[{"key":"k","value":{"stringValue":"a","intValue":1}}]"#)]))
            == prefix + "attributes[0].value sets both stringValue and intValue, but an AnyValue holds one value")
        #expect(errorMessage(request(spans: [spanJSON(#""attributes":[{"key":"k","value":{"arrayValue":{"values":[{"stringValue":1}]}}}]"#)]))
            == prefix + "attributes[0].value.arrayValue.values[0].stringValue is not a string")
        #expect(errorMessage(Array(#"{"resourceSpans":{}}"#.utf8)) == "resourceSpans is an object, not an array")
        #expect(errorMessage(request(spans: [spanJSON("")], resource: "[]")) == "resourceSpans[0].resource is an array, not an object")
        // The span is rejected for its trace id, but a field of the wrong type still makes the body invalid.
        #expect(errorMessage(request(spans: [spanJSON(#""traceId":"","name":7"#)])) == prefix + "name is a number, not a string")
    }

    @Test("refuses a body that is not a JSON object")
    func notAnObject() {
        #expect(errorMessage("[]") == "the body is an array, not a JSON object holding an ExportTraceServiceRequest")
        #expect(errorMessage("\"text\"") == "the body is a string, not a JSON object holding an ExportTraceServiceRequest")
        #expect(errorMessage("null") == "the body is null, not a JSON object holding an ExportTraceServiceRequest")
        #expect(errorMessage("") == "the body is empty; send an ExportTraceServiceRequest as a JSON object")
        #expect(errorMessage("  \n") == "the body is empty; send an ExportTraceServiceRequest as a JSON object")
        #expect(errorMessage("{} x") == "the body is not valid JSON: there is more text after the JSON value at byte 3")
        #expect(errorMessage("{'a':1}") == "the body is not valid JSON: expected a quoted key at byte 1")
        #expect(errorMessage(#"{"a":01}"#) == "the body is not valid JSON: expected ',' or '}' in an object at byte 6")
        #expect(errorMessage(#"{"a":tru}"#) == "the body is not valid JSON: unexpected character '}' at byte 8")
        #expect(errorMessage(#"{"a":"x\q"}"#) == "the body is not valid JSON: a string has an invalid escape at byte 8")
        #expect(errorMessage(#"{"a":"\ud800"}"#) == "the body is not valid JSON: a string has an unpaired surrogate escape at byte 12")
        #expect(errorMessage("{\"a\":\"\u{1}\"}") == "the body is not valid JSON: a string contains an unescaped control character at byte 6")
    }

    @Test("refuses bytes that are not UTF-8")
    func invalidUTF8() {
        let inString = Array(#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":""#.utf8) + [0xC3, 0x28] + Array(#""}]}]}]}"#.utf8)
        #expect(errorMessage(inString) == "the body is not valid JSON: a string is not valid UTF-8 at byte 51")
        #expect(errorMessage([0xFF, 0xFE, 0x7B, 0x7D]) == "the body is not valid JSON: unexpected byte 0xFF at byte 0")
        let inKey = Array("{\"".utf8) + [0xED, 0xA0, 0x80] + Array("\":1}".utf8)  // an encoded surrogate
        #expect(errorMessage(inKey) == "the body is not valid JSON: a string is not valid UTF-8 at byte 1")
    }

    @Test("refuses nesting deeper than the limit without overflowing the stack")
    func deepNesting() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(errorMessage("{\"a\":" + deep + "}") == "the body nests arrays and objects more than 100 deep; flatten the attribute values")
    }
}
