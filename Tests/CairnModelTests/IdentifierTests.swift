import CairnModel
import Testing

@Suite("Trace and span ids")
struct IdentifierTests {
    @Test("parse hex in either case and print lowercase")
    func hexRoundTrip() throws {
        let id = try #require(TraceID(hex: "4BF92F3577B34DA6A3CE929D0E0E4736"))
        #expect(id.hex == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(id == TraceID(hex: "4bf92f3577b34da6a3ce929d0e0e4736"))
        #expect(id.bytes == [0x4B, 0xF9, 0x2F, 0x35, 0x77, 0xB3, 0x4D, 0xA6, 0xA3, 0xCE, 0x92, 0x9D, 0x0E, 0x0E, 0x47, 0x36])
        let span = try #require(SpanID(hex: "00F067AA0BA902B7"))
        #expect(span.value == 0x00F0_67AA_0BA9_02B7)
        #expect(span.hex == "00f067aa0ba902b7")
    }

    @Test("refuse text of the wrong length or with other characters", arguments: [
        "", "4bf92f3577b34da6a3ce929d0e0e473", "4bf92f3577b34da6a3ce929d0e0e47366", "4bf92f3577b34da6a3ce929d0e0e473g",
        " bf92f3577b34da6a3ce929d0e0e4736",
    ])
    func refusesBadHex(text: String) {
        #expect(TraceID(hex: text) == nil)
    }

    @Test("know the all-zero ids are invalid")
    func zeroIsInvalid() {
        #expect(!TraceID.zero.isValid && !SpanID.zero.isValid)
        #expect(TraceID(high: 0, low: 1).isValid && SpanID(value: 1).isValid)
        #expect(TraceID(bytes: [UInt8](repeating: 0, count: 15)) == nil)
    }

    @Test("order trace ids as their bytes")
    func ordering() throws {
        let a = try #require(TraceID(hex: "00000000000000010000000000000000"))
        let b = try #require(TraceID(hex: "0000000000000000ffffffffffffffff"))
        #expect(b < a)
    }
}

@Suite("Attribute values")
struct AttributeValueTests {
    @Test("compare doubles by bit pattern, so NaN equals itself")
    func nanEquality() {
        #expect(AttributeValue.double(.nan) == .double(.nan))
        #expect(AttributeValue.double(0.0) != .double(-0.0))
        #expect(AttributeValue.int(1) != .double(1))
    }

    @Test("find the first value of a key")
    func lookup() {
        let attributes = [Attribute("a", .int(1)), Attribute("a", .int(2)), Attribute("b", .bool(true))]
        #expect(attributes["a"] == .int(1))
        #expect(attributes["c"] == nil)
    }

    @Test("name the service unknown_service when the resource has none")
    func serviceName() {
        #expect(Resource().serviceName == "unknown_service")
        #expect(Resource(attributes: [Attribute("service.name", .string(""))]).serviceName == "unknown_service")
        #expect(Resource(attributes: [Attribute("service.name", .string("cart"))]).serviceName == "cart")
    }
}

@Suite("Ids from raw bytes")
struct RawBytesIdentifierTests {
    @Test("read the same id from a buffer as from an array")
    func fastPathAgrees() {
        let bytes: [UInt8] = (0..<16).map { UInt8($0 * 17) }
        bytes.withUnsafeBufferPointer { buffer in
            #expect(TraceID(bytes: buffer) == TraceID(bytes: bytes))
            #expect(SpanID(bytes: UnsafeBufferPointer(rebasing: buffer[0..<8])) == SpanID(bytes: bytes[0..<8]))
            #expect(TraceID(bytes: UnsafeBufferPointer(rebasing: buffer[0..<15])) == nil)
        }
    }
}
