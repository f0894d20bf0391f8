@testable import CairnCollector
import CairnModel
import CairnOTLP
import CairnStore
import CairnTesting
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Bodies built to hurt: each is answered with a clear status over a real socket, and the server keeps serving.
@Suite("Hostile request bodies")
struct HostileInputTests {
    /// One span whose only attribute is an array nested `depth` deep, as protobuf, built by hand.
    static func deepProtobuf(depth: Int) -> [UInt8] {
        func varint(_ value: Int) -> [UInt8] {
            var value = UInt64(value)
            var out: [UInt8] = []
            while value >= 0x80 { out.append(UInt8(value & 0x7F) | 0x80); value >>= 7 }
            return out + [UInt8(value)]
        }
        func field(_ number: Int, _ bytes: [UInt8]) -> [UInt8] { varint(number << 3 | 2) + varint(bytes.count) + bytes }
        var value = field(1, Array("leaf".utf8))
        for _ in 0..<depth { value = field(5, field(1, value)) }
        let span = field(1, [UInt8](repeating: 7, count: 16)) + field(2, [UInt8](repeating: 8, count: 8))
            + field(5, Array("deep".utf8)) + field(9, field(1, Array("k".utf8)) + field(2, value))
        return field(1, field(2, field(2, span)))
    }

    /// The same in OTLP/JSON.
    static func deepJSON(depth: Int) -> [UInt8] {
        let value = String(repeating: #"{"arrayValue":{"values":["#, count: depth) + #"{"stringValue":"leaf"}"#
            + String(repeating: "]}}", count: depth)
        return Array("""
            {"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0707070707070707070707070707070a",\
            "spanId":"0808080808080808","name":"deep","attributes":[{"key":"k","value":\(value)}]}]}]}]}
            """.utf8)
    }

    @Test("values nested thousands deep, in protobuf and JSON, are answered 400 and nothing is stored")
    func deepNesting() async throws {
        let store = InMemoryStore()
        try await Collector(store: store).application().test(.live) { client in
            for depth in [1_000, 100_000] {
                let protobuf = try await client.export(Self.deepProtobuf(depth: depth))
                #expect(protobuf.status == .badRequest)
                let status = try WireReader.statusAnswer(protobuf: Array(buffer: protobuf.body))
                #expect(status.message.contains("deep"))
                let json = try await client.export(Self.deepJSON(depth: depth), contentType: MediaType.json)
                #expect(json.status == .badRequest)
            }
            let good = Fixtures.realisticSpans(count: 8, seed: 90)
            #expect(try await client.export(OTLPProtobuf.encodeRequest(good)).status == .ok)
        }
        #expect(try await store.services().count > 0)
        #expect(try await store.trace(TraceID(bytes: [UInt8](repeating: 7, count: 16))!) == nil)
    }

    @Test("a span with a million attributes is stored whole")
    func millionAttributes() async throws {
        let store = InMemoryStore()
        var span = Fixtures.realisticSpans(count: 1, seed: 91)[0]
        span.attributes = (0..<1_000_000).map { Attribute("k\($0 % 1000)", .int(Int64($0))) }
        let body = OTLPProtobuf.encodeRequest([span])
        #expect(body.count < 20 * 1024 * 1024)
        try await Collector(store: store).application().test(.live) { client in
            let response = try await client.export(body)
            #expect(response.status == .ok)
        }
        let stored = try #require(try await store.trace(span.traceID))
        #expect(stored.spans.first?.attributes.count == 1_000_000)
        #expect(stored.spans.first?.attributes.last == Attribute("k999", .int(999_999)))
    }

    @Test("invalid UTF-8 in a protobuf string is kept as sent and read back repaired, never a crash")
    func invalidUTF8() async throws {
        let store = InMemoryStore()
        var span = Fixtures.realisticSpans(count: 1, seed: 92)[0]
        span.name = "marker-name"
        var body = OTLPProtobuf.encodeRequest([span])
        // Replace "marker" in the span's name with bytes that are not UTF-8.
        let marker = Array("marker".utf8)
        let at = try #require((0...(body.count - marker.count)).first { Array(body[$0..<$0 + marker.count]) == marker })
        body.replaceSubrange(at..<at + marker.count, with: [0xFF, 0xFE, 0xC0, 0x80, 0xED, 0xA0])
        let hostile = body
        try await Collector(store: store).application().test(.live) { client in
            let response = try await client.export(hostile)
            #expect(response.status == .ok)
        }
        let stored = try #require(try await store.trace(span.traceID))
        #expect(stored.spans.first?.name.hasSuffix("-name") == true)
        #expect(stored.spans.first?.name.contains("\u{FFFD}") == true)
    }
}
