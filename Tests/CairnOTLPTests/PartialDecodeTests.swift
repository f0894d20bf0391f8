import CairnModel
import CairnOTLP
import CairnTesting
import Testing

/// The partial decoder against the full one: with everything selected they agree, with a selection the partial one
/// gives the full decode trimmed to it.
@Suite("Decoding stored spans partially")
struct PartialDecodeTests {
    typealias Selection = OTLPProtobuf.SpanSelection

    static let resource = Resource(attributes: [Attribute("service.name", .string("partial"))])
    static let scope = InstrumentationScope(name: "partial", version: "1")

    static func full(_ payload: [UInt8]) throws -> Span {
        try OTLPProtobuf.decodeSpan(payload: payload, resource: resource, scope: scope)
    }

    static func partial(_ payload: [UInt8], _ selection: Selection) throws -> Span {
        try OTLPProtobuf.decodeSpan(payload: payload, resource: resource, scope: scope, selection: selection)
    }

    /// The full decode trimmed as the selection asks.
    static func trimmed(_ span: Span, _ selection: Selection) -> Span {
        var span = span
        if let keys = selection.attributeKeys { span.attributes.removeAll { !keys.contains($0.key) } }
        if !selection.events { span.events = [] }
        if !selection.links { span.links = [] }
        return span
    }

    static let selections: [Selection] = [
        .everything,
        Selection(attributeKeys: nil, events: false, links: false),
        Selection(attributeKeys: [], events: false, links: false),
        Selection(attributeKeys: [], events: true, links: true),
        Selection(attributeKeys: ["server.address", "server.port", "http.request.method", "db.system", "peer.service"],
                  events: false, links: true),
        Selection(attributeKeys: ["duplicate", "kvlist", "array.mixed", "double.nan", "bytes", "", "string.unicode"],
                  events: true, links: false),
        Selection(attributeKeys: ["only", "no.such.key", "héllo"], events: false, links: false),
    ]

    /// Every span of the fixtures as it is stored: its `Span` message alone.
    static var payloads: [[UInt8]] {
        (Fixtures.everyFieldSpans() + Fixtures.realisticSpans(count: 400, seed: 21)).map { OTLPProtobuf.encode($0) }
    }

    @Test("gives what the full decoder gives, trimmed to the selection, for every fixture span", arguments: selections)
    func agreesWithFullDecoder(_ selection: Selection) throws {
        for payload in Self.payloads {
            let expected = Self.trimmed(try Self.full(payload), selection)
            #expect(try Self.partial(payload, selection) == expected)
        }
    }

    @Test("keys are matched by their bytes: exact keys of every length kept, keys that differ in one byte at any place left out")
    func keyBytes() throws {
        let selected = ["a", "db.name", "url.full", "http.route", "0123456789abcdef", "0123456789abcdefg",
                        "network.peer.address", "a.key.of.more.than.thirty.two.bytes"]
        var stored: [String] = []
        for key in selected {
            stored.append(key)
            stored.append(key + "x")
            stored.append(String(key.dropLast()))
            let bytes = Array(key.utf8)
            // The same length, one byte changed: first, last, and each byte between.
            for index in bytes.indices {
                var changed = bytes
                changed[index] = changed[index] == UInt8(ascii: "_") ? UInt8(ascii: "-") : UInt8(ascii: "_")
                stored.append(String(decoding: changed, as: UTF8.self))
            }
        }
        let template = Fixtures.realisticSpans(count: 1, seed: 5)[0]
        var span = template
        span.attributes = stored.enumerated().map { Attribute($0.element, .int(Int64($0.offset))) }
        let payload = OTLPProtobuf.encode(span)
        let selection = Selection(attributeKeys: Set(selected), events: false, links: false)
        let decoded = try Self.partial(payload, selection)
        #expect(decoded == Self.trimmed(try Self.full(payload), selection))
        #expect(decoded.attributes.map(\.key) == stored.filter(Set(selected).contains))
        #expect(decoded.attributes.count == selected.count + 1)  // "0123456789abcdefg" shortened is selected too
    }

    @Test("with everything selected, equals the full decoder; the array overload agrees with the raw buffer one")
    func everything() throws {
        for payload in Self.payloads {
            let span = try Self.full(payload)
            #expect(try Self.partial(payload, .everything) == span)
            let raw = try payload.withUnsafeBytes { bytes in
                try OTLPProtobuf.decodeSpan(payload: bytes, resource: Self.resource, scope: Self.scope, selection: .everything)
            }
            #expect(raw == span)
        }
    }

    @Test("keys compare as Swift strings: canonically equivalent and repaired keys match either way")
    func keyEquivalence() throws {
        // "é" precomposed and decomposed; the Kelvin sign, whose canonical decomposition is the ASCII "K".
        let span = Span(
            traceID: TraceID(high: 1, low: 2), spanID: SpanID(value: 3), name: "keys", startTimeUnixNano: 1, endTimeUnixNano: 2,
            attributes: [Attribute("caf\u{E9}", .int(1)), Attribute("K", .int(2)), Attribute("\u{212A}", .int(3)),
                         Attribute("k", .int(4))])
        let payload = OTLPProtobuf.encode(span)
        for keys: Set<String> in [["cafe\u{301}"], ["caf\u{E9}"], ["K"], ["\u{212A}"], ["k", "K"], ["\u{FFFD}"]] {
            let selection = Selection(attributeKeys: keys, events: false, links: false)
            #expect(try Self.partial(payload, selection) == Self.trimmed(try Self.full(payload), selection), "\(keys)")
        }
        // A key of invalid UTF-8 reads as U+FFFD, as the full decoder repairs it.
        let invalid = payload + field(9, field(1, [0x61, 0xFF]) + field(2, [0x18, 0x05]))
        for keys: Set<String> in [["a\u{FFFD}"], ["a"], ["K"]] {
            let selection = Selection(attributeKeys: keys, events: false, links: false)
            #expect(try Self.partial(invalid, selection) == Self.trimmed(try Self.full(invalid), selection), "\(keys)")
        }
    }

    @Test("fields given twice merge as protobuf-c merges them")
    func duplicateFields() throws {
        let spans = Fixtures.everyFieldSpans()
        var later = spans[0]
        later.status = SpanStatus(code: .ok, message: "")
        later.name = "renamed"
        later.attributes = [Attribute("duplicate", .string("third"))]
        var emptyStatus = spans[0]
        emptyStatus.status = SpanStatus(code: .unset, message: "later message")
        // A message followed by another is the two merged: the later scalars, both lists, the statuses merged.
        let payloads = [
            OTLPProtobuf.encode(spans[0]) + OTLPProtobuf.encode(later),
            OTLPProtobuf.encode(later) + OTLPProtobuf.encode(spans[0]),
            OTLPProtobuf.encode(spans[0]) + OTLPProtobuf.encode(emptyStatus) + OTLPProtobuf.encode(spans[1]),
        ]
        // KeyValue values given twice: a later value with a case replaces, one without keeps the earlier case
        // unless it is an empty string or bytes; two without a case in a row are invalid.
        let string = field(1, Array("s".utf8)), emptyString = field(1, []), int: [UInt8] = [0x18, 0x07], none: [UInt8] = []
        let values: [[[UInt8]]] = [
            [string, int], [int, none], [string, none], [emptyString, none], [field(7, []), none], [none, int],
            [field(5, field(1, int)), none], [field(6, []), field(5, [])], [int, none, string], [string, none, none],
            [none, none], [int, int, none, none],
        ]
        let base = OTLPProtobuf.encode(spans[3])
        let merged = values.map { list in base + field(9, field(1, Array("m".utf8)) + list.flatMap { field(2, $0) }) }
        for payload in payloads + merged {
            try expectAgreement(payload)
        }
        #expect(throws: OTLPDecodingError.self) { try Self.full(merged[10]) }
    }

    @Test("odd but valid encodings: bools of any wire type, oneof cases in a row, unknown fields, long varints")
    func oddEncodings() throws {
        let base = OTLPProtobuf.encode(Fixtures.everyFieldSpans()[3])
        let attribute = { (value: [UInt8]) in base + field(9, field(1, Array("odd".utf8)) + field(2, value)) }
        let payloads = [
            attribute([0x12, 0x01, 0x00]),  // bool as length-delimited: its length byte counts
            attribute([0x12, 0x00]),
            attribute([0x15, 0, 0, 0, 0]), attribute([0x11, 0, 0, 0, 0, 0, 0, 0, 0x80]),  // bool as fixed32, fixed64
            attribute([0x10, 0x80, 0x80, 0x00]),  // a long false
            attribute([0x10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02]),  // bit 64 only: true
            attribute([0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]),  // an int beyond 64 bits
            attribute(field(1, Array("a".utf8)) + [0x18, 0x01] + field(5, field(1, [0x10, 0x01]))),  // last case wins
            attribute(field(5, field(1, [0x18, 0x01])) + field(5, field(1, [0x18, 0x02]))),  // not merged
            attribute(field(6, field(1, field(1, Array("k".utf8)))) + [0xF8, 0x07, 0x01]),  // unknown field 127
            base + [0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F],  // a kind beyond 32 bits
            base + [0x50, 0x80, 0x80, 0x80, 0x80, 0x10],  // a dropped count beyond 32 bits
            base + field(15, field(2, Array("x".utf8)) + [0x18, 0x02] + field(2, [])),  // status message emptied
            base + [0x85, 0x01, 1, 2, 3, 4] + [0xA8, 0x1F, 0x01] + [0xA2, 0x06, 0x02, 1, 2],  // flags; unknown fields
        ]
        for payload in payloads {
            try expectAgreement(payload)
        }
    }

    @Test("malformed payloads throw: truncated, wrong wire types, ids of the wrong length, nested too deep")
    func malformed() throws {
        let payload = OTLPProtobuf.encode(Fixtures.everyFieldSpans()[0])
        for length in [1, 5, 17, 40, payload.count / 2, payload.count - 1] {
            #expect(throws: OTLPDecodingError.self) { try Self.partial(Array(payload.prefix(length)), .everything) }
        }
        let base = OTLPProtobuf.encode(Fixtures.everyFieldSpans()[3])
        for bad in [
            base + [0x38, 0x01],  // start time as a varint
            base + [0x0B],  // wire type 3 (groups)
            base + [0x00, 0x01],  // field number 0
            base + [0x2A, 0x05, 0x61],  // a length beyond the end
            base + [0x30, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],  // an 11-byte varint
            base + field(1, [1, 2, 3]),  // a trace id of 3 bytes
            base + field(9, field(1, Array("odd".utf8)) + field(2, [0x19, 0x01])),  // an int as fixed64
        ] {
            #expect(throws: OTLPDecodingError.self) { try Self.full(bad) }
            #expect(throws: OTLPDecodingError.self) { try Self.partial(bad, .everything) }
        }
        // 200 arrays deep: refused when decoded, stepped over when not selected.
        var value = field(1, Array("leaf".utf8))
        for _ in 0..<200 { value = field(5, field(1, value, long: true), long: true) }
        let deep = base + field(9, field(1, Array("deep".utf8)) + field(2, value, long: true), long: true)
        #expect(throws: OTLPDecodingError.self) { try Self.partial(deep, .everything) }
        let skipped = try Self.partial(deep, Selection(attributeKeys: ["other"], events: false, links: false))
        #expect(skipped.attributes.isEmpty)
    }

    @Test("20,000 mutations of stored spans: never a crash; where the full decoder accepts one, the same spans")
    func mutations() throws {
        let seeds = Fixtures.everyFieldSpans().prefix(2).map { OTLPProtobuf.encode($0) }
            + Fixtures.realisticSpans(count: 8, seed: 3).map { OTLPProtobuf.encode($0) }
        var random = MutationFuzzTests.Generator(state: 0x9A27)
        var agreed = 0
        for index in 0..<20_000 {
            let mutant = MutationFuzzTests.mutate(seeds[index % seeds.count], &random)
            let selection = Self.selections[index % Self.selections.count]
            let partial = try? Self.partial(mutant, selection)
            guard let full = try? Self.full(mutant) else { continue }
            #expect(partial == Self.trimmed(full, selection), "mutant \(index): \(mutant)")
            agreed += 1
        }
        #expect(agreed > 1_000)
    }

    /// Expects the partial decoder to agree with the full one under every selection, both throwing or neither.
    private func expectAgreement(_ payload: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws {
        guard let full = try? Self.full(payload) else {
            #expect(throws: OTLPDecodingError.self, sourceLocation: sourceLocation) { try Self.partial(payload, .everything) }
            return
        }
        for selection in Self.selections {
            #expect(try Self.partial(payload, selection) == Self.trimmed(full, selection), sourceLocation: sourceLocation)
        }
    }
}

/// A length-delimited field; `long` writes the length as a varint of any size, otherwise it must be under 128.
private func field(_ number: UInt8, _ bytes: [UInt8], long: Bool = false) -> [UInt8] {
    var length = UInt64(bytes.count)
    var prefix: [UInt8] = [number << 3 | 2]
    precondition(long || length < 0x80)
    while length >= 0x80 {
        prefix.append(UInt8(length & 0x7F) | 0x80)
        length >>= 7
    }
    return prefix + [UInt8(length)] + bytes
}
