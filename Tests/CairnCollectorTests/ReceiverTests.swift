import CairnCollector
import CairnModel
import CairnOTLP
import CairnStore
import CairnTesting
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("POST /v1/traces, in process")
struct ReceiverTests {
    @Test("a protobuf request is stored and answered with an empty protobuf ExportTraceServiceResponse", arguments: StoreKind.allCases)
    func protobufStored(kind: StoreKind) async throws {
        let store = try kind.make()
        let spans = Fixtures.realisticSpans(count: 64, seed: 1)
        try await Collector(store: store).application().test(.router) { client in
            let response = try await client.export(OTLPProtobuf.encodeRequest(spans))
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == MediaType.protobuf)
            #expect(try WireReader.exportAnswer(protobuf: response.bytes) == ExportAnswer())
        }
        #expect(try await storedSpans(of: spans, in: store) == byID(spans))
    }

    @Test("a JSON request is stored and answered in JSON, whatever the case and parameters of its Content-Type", arguments: StoreKind.allCases)
    func jsonStored(kind: StoreKind) async throws {
        let store = try kind.make()
        let spans = Fixtures.realisticSpans(count: 64, seed: 2)
        try await Collector(store: store).application().test(.router) { client in
            let response = try await client.export(OTLPJSON.encodeRequest(spans), contentType: "Application/JSON; charset=utf-8")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == MediaType.json)
            #expect(try WireReader.exportAnswer(json: response.bytes) == ExportAnswer())
        }
        #expect(try await storedSpans(of: spans, in: store) == byID(spans))
    }

    @Test("gzip bodies of both encodings are inflated and stored", arguments: StoreKind.allCases)
    func gzipStored(kind: StoreKind) async throws {
        let store = try kind.make()
        let protobufSpans = Fixtures.realisticSpans(count: 40, seed: 3)
        let jsonSpans = Fixtures.realisticSpans(count: 40, seed: 4)
        try await Collector(store: store).application().test(.router) { client in
            let protobuf = try await client.export(Gzip.compress(OTLPProtobuf.encodeRequest(protobufSpans)), encoding: "gzip")
            #expect(protobuf.status == .ok)
            #expect(protobuf.headers[.contentType] == MediaType.protobuf)
            let json = try await client.export(
                Gzip.compress(OTLPJSON.encodeRequest(jsonSpans)), contentType: MediaType.json, encoding: "GZIP")
            #expect(json.status == .ok)
            #expect(json.headers[.contentType] == MediaType.json)
            let identity = try await client.export(OTLPProtobuf.encodeRequest([]), encoding: "identity")
            #expect(identity.status == .ok)
        }
        #expect(try await storedSpans(of: protobufSpans, in: store) == byID(protobufSpans))
        #expect(try await storedSpans(of: jsonSpans, in: store) == byID(jsonSpans))
    }

    @Test("rejected spans are counted in partial_success and the others are stored")
    func partialSuccess() async throws {
        let store = InMemoryStore()
        let good = Fixtures.realisticSpans(count: 10, seed: 5)
        var nameless = good[0].withSpanID(SpanID(value: 0xfeed))
        nameless.name = ""
        let bad = [good[1].withSpanID(.zero), nameless]
        try await Collector(store: store).application().test(.router) { client in
            let protobuf = try await client.export(OTLPProtobuf.encodeRequest(good + bad))
            #expect(protobuf.status == .ok)
            let answer = try WireReader.exportAnswer(protobuf: protobuf.bytes)
            #expect(answer.rejectedSpans == 2)
            #expect(!answer.errorMessage.isEmpty)

            let json = try await client.export(OTLPJSON.encodeRequest(bad), contentType: MediaType.json)
            #expect(json.status == .ok, "all spans rejected is still 200, with partial_success")
            let jsonAnswer = try WireReader.exportAnswer(json: json.bytes)
            #expect(jsonAnswer.rejectedSpans == 2)
            #expect(!jsonAnswer.errorMessage.isEmpty)
        }
        #expect(try await storedSpans(of: good, in: store) == byID(good))
    }

    @Test("undecodable bodies are answered 400 with an INVALID_ARGUMENT Status in the request's encoding")
    func undecodable() async throws {
        let request = OTLPProtobuf.encodeRequest(Fixtures.realisticSpans(count: 8, seed: 6))
        let gzipped = Gzip.compress(request)
        var invalidUTF8 = Array(#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":""#.utf8)
        invalidUTF8 += [0xFF, 0xFE, 0xC3]
        invalidUTF8 += Array(#"","traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174"}]}]}]}"#.utf8)
        let cases: [(String, [UInt8], String, String?)] = [
            ("truncated protobuf", Array(request.dropLast(7)), MediaType.protobuf, nil),
            ("random bytes as protobuf", [0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x01], MediaType.protobuf, nil),
            ("not gzip", request, MediaType.protobuf, "gzip"),
            ("truncated gzip", Array(gzipped.dropLast(gzipped.count / 2)), MediaType.protobuf, "gzip"),
            ("empty gzip", [], MediaType.protobuf, "gzip"),
            ("invalid UTF-8 in JSON", invalidUTF8, MediaType.json, nil),
            ("truncated JSON", Array(#"{"resourceSpans":[{"#.utf8), MediaType.json, nil),
            ("bad gzip in JSON", Array("not gzip at all".utf8), MediaType.json, "gzip"),
        ]
        try await Collector(store: InMemoryStore()).application().test(.router) { client in
            for (label, body, contentType, encoding) in cases {
                let response = try await client.export(body, contentType: contentType, encoding: encoding)
                #expect(response.status == .badRequest, "\(label)")
                #expect(response.headers[.contentType] == contentType, "\(label)")
                let status =
                    contentType == MediaType.json
                    ? try WireReader.statusAnswer(json: response.bytes) : try WireReader.statusAnswer(protobuf: response.bytes)
                #expect(status.code == 3, "\(label)")
                #expect(!status.message.isEmpty, "\(label)")
            }
            #expect(try await client.export(request).status == .ok, "the collector still serves")
        }
    }

    @Test("a body over the limit is answered 413, as received and after inflating")
    func tooLarge() async throws {
        let configuration = CollectorConfiguration(maxBodyBytes: 8192)
        let large = OTLPProtobuf.encodeRequest(Fixtures.realisticSpans(count: 64, seed: 7))
        try #require(large.count > 8192)
        let compressed = Gzip.compress(large)
        try #require(compressed.count < 8192, "the compressed body fits, so only the inflated size is over")
        try await Collector(store: InMemoryStore(), configuration: configuration).application().test(.router) { client in
            for (body, encoding) in [(large, nil), (compressed, "gzip")] as [([UInt8], String?)] {
                let response = try await client.export(body, encoding: encoding)
                #expect(response.status == .contentTooLarge)
                let status = try WireReader.statusAnswer(protobuf: response.bytes)
                #expect(status.message.contains("8192"))
            }
            let small = OTLPProtobuf.encodeRequest(Fixtures.realisticSpans(count: 2, seed: 8))
            #expect(try await client.export(small).status == .ok)
        }
    }

    @Test("a gzip bomb (1 GiB of zeros) is answered 413, and the next request is served")
    func gzipBomb() async throws {
        let bomb = Gzip.compressedZeros(count: 1 << 30)
        #expect(bomb.count < 20 << 20, "the compressed bomb is under the body limit")
        try await Collector(store: InMemoryStore()).application().test(.router) { client in
            let response = try await client.export(bomb, encoding: "gzip")
            #expect(response.status == .contentTooLarge)
            #expect(try await client.export(OTLPProtobuf.encodeRequest([])).status == .ok)
        }
    }

    @Test("other content types and encodings are answered 415, saying what is supported")
    func unsupportedMediaType() async throws {
        let body = OTLPProtobuf.encodeRequest(Fixtures.realisticSpans(count: 2, seed: 9))
        try await Collector(store: InMemoryStore()).application().test(.router) { client in
            for contentType in ["text/plain", "application/protobuf-ish", nil] as [String?] {
                let response = try await client.export(body, contentType: contentType)
                #expect(response.status == .unsupportedMediaType)
                #expect(response.headers[.contentType] == MediaType.protobuf)
                let status = try WireReader.statusAnswer(protobuf: response.bytes)
                #expect(status.message.contains("application/x-protobuf"))
                #expect(status.message.contains("application/json"))
            }
            let brotli = try await client.export(body, contentType: MediaType.json, encoding: "br")
            #expect(brotli.status == .unsupportedMediaType)
            #expect(brotli.headers[.contentType] == MediaType.json)
            #expect(try WireReader.statusAnswer(json: brotli.bytes).message.contains("gzip"))
            #expect(try await client.export(body).status == .ok)
        }
    }

    @Test("other methods on /v1/traces are answered 405 with Allow: POST")
    func methodNotAllowed() async throws {
        try await Collector(store: InMemoryStore()).application().test(.router) { client in
            for method in [HTTPRequest.Method.get, .put, .delete, .patch] {
                let response = try await client.execute(uri: "/v1/traces", method: method)
                #expect(response.status == .methodNotAllowed, "\(method)")
                #expect(response.headers[.allow] == "POST", "\(method)")
            }
        }
    }

    @Test("GET / says what this is")
    func root() async throws {
        try await Collector(store: InMemoryStore()).application().test(.router) { client in
            let response = try await client.execute(uri: "/", method: .get)
            #expect(response.status == .ok)
            #expect(response.text.contains("/v1/traces"))
        }
    }

    @Test("a store failure is answered 503 with Retry-After, and the next request is stored")
    func storeFailure() async throws {
        let store = InstrumentedStore(InMemoryStore(), failing: 1)
        let lost = Fixtures.realisticSpans(count: 5, seed: 10)
        let kept = Fixtures.realisticSpans(count: 5, seed: 11)
        let configuration = CollectorConfiguration(retryAfterSeconds: 7)
        try await Collector(store: store, configuration: configuration).application().test(.router) { client in
            let failed = try await client.export(OTLPProtobuf.encodeRequest(lost))
            #expect(failed.status == .serviceUnavailable)
            #expect(failed.headers[.retryAfter] == "7")
            let status = try WireReader.statusAnswer(protobuf: failed.bytes)
            #expect(status.code == 14)
            #expect(status.message.contains("disk is full"))
            #expect(try await client.export(OTLPProtobuf.encodeRequest(kept)).status == .ok)
        }
        #expect(try await storedSpans(of: lost, in: store).isEmpty)
        #expect(try await storedSpans(of: kept, in: store) == byID(kept))
    }
}
