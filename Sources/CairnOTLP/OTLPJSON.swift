public import CairnModel

/// The OTLP/JSON encoding of the trace signal: the protobuf messages in `proto/` mapped to JSON.
///
/// See [OTLP JSON Protobuf Encoding](https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding): ids are hex
/// strings (not base64), enums are integers, keys are lowerCamelCase, 64-bit integers may be strings. Decoding is
/// lenient where protobuf's own JSON parsers are: the original snake_case keys, enum names, 64-bit integers as
/// numbers, URL-safe base64, and unknown fields, which are ignored. The JSON path is not the hot path; it parses into
/// a small tree with its own reader rather than Foundation, so that integers stay exact and errors name the field.
public enum OTLPJSON {
    /// Decodes an `ExportTraceServiceRequest` into spans, leaving out (and counting) those that cannot be kept.
    ///
    /// A span is rejected alone, by the rules of `SpanRejection`; `errorMessage` describes the first rejection.
    /// Throws when the body is not a JSON object of the request's shape, naming the field that is wrong.
    public static func decodeSpans(_ body: [UInt8]) throws(OTLPDecodingError)
        -> (spans: [Span], rejectedSpans: Int, errorMessage: String)
    {
        var parser = Parser(body)
        let root = try parser.document()
        var decoder = RequestDecoder()
        try decoder.request(root)
        return (decoder.spans, decoder.outcome.rejectedSpans, decoder.outcome.errorMessage)
    }

    /// Decodes an `ExportTraceServiceRequest` into what a store writes (see `SpanBatch.init(spans:)`).
    ///
    /// See [OTLP partial success](https://opentelemetry.io/docs/specs/otlp/#partial-success-1) for the counts.
    public static func decodeRequest(_ body: [UInt8]) throws(OTLPDecodingError) -> DecodedRequest {
        let decoded = try decodeSpans(body)
        return DecodedRequest(batch: SpanBatch(spans: decoded.spans), rejectedSpans: decoded.rejectedSpans,
                              errorMessage: decoded.errorMessage)
    }
}

// MARK: - The JSON tree and its parser

extension OTLPJSON {
    /// A parsed JSON value. Numbers keep their text so that 64-bit integers convert exactly.
    enum Value {
        case null
        case bool(Bool)
        case number(String)
        case string(String)
        case array([Value])
        case object([(key: String, value: Value)])

        /// The JSON type, for error messages.
        var typeName: String {
            switch self {
            case .null: "null"
            case .bool: "a boolean"
            case .number: "a number"
            case .string: "a string"
            case .array: "an array"
            case .object: "an object"
            }
        }
    }

    /// A strict JSON reader (RFC 8259) over UTF-8 bytes, with a bound on nesting.
    struct Parser {
        /// The deepest nesting of arrays and objects accepted. An OTLP request is 10 deep down to an attribute's
        /// value; the rest allows values nested about 30 deep, which the protobuf side reads back as well.
        static let maxDepth = 100

        private let bytes: [UInt8]
        private var index = 0
        private var depth = 0

        init(_ bytes: [UInt8]) {
            self.bytes = bytes
        }

        /// The one value that makes up the document.
        mutating func document() throws(OTLPDecodingError) -> Value {
            skipWhitespace()
            guard index < bytes.count else {
                throw OTLPDecodingError("the body is empty; send an ExportTraceServiceRequest as a JSON object")
            }
            let value = try self.value()
            skipWhitespace()
            guard index == bytes.count else { throw invalid("there is more text after the JSON value") }
            return value
        }

        private func invalid(_ problem: String) -> OTLPDecodingError {
            OTLPDecodingError("the body is not valid JSON: \(problem) at byte \(index)")
        }

        private func unexpected() -> OTLPDecodingError {
            guard index < bytes.count else {
                return OTLPDecodingError("the body is not valid JSON: it ends at byte \(index), before the value is complete")
            }
            let byte = bytes[index]
            if byte >= 0x21 && byte < 0x7F {
                return invalid("unexpected character '\(Character(Unicode.Scalar(byte)))'")
            }
            return invalid("unexpected byte 0x\(String(byte, radix: 16, uppercase: true))")
        }

        private mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        private mutating func value() throws(OTLPDecodingError) -> Value {
            guard index < bytes.count else { throw unexpected() }
            switch bytes[index] {
            case UInt8(ascii: "{"): return try object()
            case UInt8(ascii: "["): return try array()
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): return try literal("true", .bool(true))
            case UInt8(ascii: "f"): return try literal("false", .bool(false))
            case UInt8(ascii: "n"): return try literal("null", .null)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw unexpected()
            }
        }

        private mutating func literal(_ word: StaticString, _ value: Value) throws(OTLPDecodingError) -> Value {
            let text = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
            for expected in text {
                guard index < bytes.count, bytes[index] == expected else { throw unexpected() }
                index += 1
            }
            return value
        }

        private mutating func enter() throws(OTLPDecodingError) {
            depth += 1
            guard depth <= Self.maxDepth else {
                throw OTLPDecodingError("the body nests arrays and objects more than \(Self.maxDepth) deep; flatten the attribute values")
            }
        }

        private mutating func object() throws(OTLPDecodingError) -> Value {
            try enter()
            index += 1
            var members: [(key: String, value: Value)] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                depth -= 1
                return .object(members)
            }
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                    if index < bytes.count { throw invalid("expected a quoted key") }
                    throw unexpected()
                }
                let key = try string()
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                    if index < bytes.count { throw invalid("expected ':' after a key") }
                    throw unexpected()
                }
                index += 1
                skipWhitespace()
                members.append((key, try value()))
                skipWhitespace()
                guard index < bytes.count else { throw unexpected() }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                } else if bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    depth -= 1
                    return .object(members)
                } else {
                    throw invalid("expected ',' or '}' in an object")
                }
            }
        }

        private mutating func array() throws(OTLPDecodingError) -> Value {
            try enter()
            index += 1
            var elements: [Value] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                depth -= 1
                return .array(elements)
            }
            while true {
                skipWhitespace()
                elements.append(try value())
                skipWhitespace()
                guard index < bytes.count else { throw unexpected() }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                } else if bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    depth -= 1
                    return .array(elements)
                } else {
                    throw invalid("expected ',' or ']' in an array")
                }
            }
        }

        /// A string; `index` is at its opening quote.
        private mutating func string() throws(OTLPDecodingError) -> String {
            let start = index
            index += 1
            let contentStart = index
            // Fast path: no escapes, copied and validated at once.
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    let text = bytes[contentStart..<index].withUnsafeBufferPointer { String(validating: $0, as: UTF8.self) }
                    guard let text else { index = start; throw invalid("a string is not valid UTF-8") }
                    index += 1
                    return text
                }
                if byte == UInt8(ascii: "\\") { break }
                if byte < 0x20 { throw invalid("a string contains an unescaped control character") }
                index += 1
            }
            var buffer = Array(bytes[contentStart..<index])
            while index < bytes.count {
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "\""):
                    guard let text = String(validating: buffer, as: UTF8.self) else {
                        index = start
                        throw invalid("a string is not valid UTF-8")
                    }
                    index += 1
                    return text
                case UInt8(ascii: "\\"):
                    index += 1
                    guard index < bytes.count else { throw unexpected() }
                    let escape = bytes[index]
                    index += 1
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): buffer.append(escape)
                    case UInt8(ascii: "b"): buffer.append(0x08)
                    case UInt8(ascii: "f"): buffer.append(0x0C)
                    case UInt8(ascii: "n"): buffer.append(0x0A)
                    case UInt8(ascii: "r"): buffer.append(0x0D)
                    case UInt8(ascii: "t"): buffer.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalar = try hex4()
                        if (0xD800..<0xDC00).contains(scalar) {
                            guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                            else { throw invalid("a string has an unpaired surrogate escape") }
                            index += 2
                            let low = try hex4()
                            guard (0xDC00..<0xE000).contains(low) else { throw invalid("a string has an unpaired surrogate escape") }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else if (0xDC00..<0xE000).contains(scalar) {
                            throw invalid("a string has an unpaired surrogate escape")
                        }
                        Self.appendUTF8(scalar, to: &buffer)
                    default:
                        index -= 1
                        throw invalid("a string has an invalid escape")
                    }
                default:
                    if byte < 0x20 { throw invalid("a string contains an unescaped control character") }
                    buffer.append(byte)
                    index += 1
                }
            }
            throw unexpected()
        }

        /// Appends a scalar (never a surrogate) as UTF-8.
        private static func appendUTF8(_ scalar: UInt32, to buffer: inout [UInt8]) {
            switch scalar {
            case 0..<0x80:
                buffer.append(UInt8(scalar))
            case 0x80..<0x800:
                buffer.append(UInt8(0xC0 | scalar >> 6))
                buffer.append(UInt8(0x80 | scalar & 0x3F))
            case 0x800..<0x10000:
                buffer.append(UInt8(0xE0 | scalar >> 12))
                buffer.append(UInt8(0x80 | scalar >> 6 & 0x3F))
                buffer.append(UInt8(0x80 | scalar & 0x3F))
            default:
                buffer.append(UInt8(0xF0 | scalar >> 18))
                buffer.append(UInt8(0x80 | scalar >> 12 & 0x3F))
                buffer.append(UInt8(0x80 | scalar >> 6 & 0x3F))
                buffer.append(UInt8(0x80 | scalar & 0x3F))
            }
        }

        private mutating func hex4() throws(OTLPDecodingError) -> UInt32 {
            var value: UInt32 = 0
            for _ in 0..<4 {
                guard index < bytes.count else { throw unexpected() }
                let byte = bytes[index]
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw invalid("a \\u escape needs four hexadecimal digits")
                }
                value = value << 4 | UInt32(digit)
                index += 1
            }
            return value
        }

        private mutating func number() throws(OTLPDecodingError) -> Value {
            let start = index
            guard let end = Self.numberEnd(bytes, from: index) else {
                // Distinguish a number cut off by the end of the body from a malformed one.
                var scan = start
                while scan < bytes.count, "+-.eE0123456789".utf8.contains(bytes[scan]) { scan += 1 }
                if scan == bytes.count {
                    index = scan
                    throw unexpected()
                }
                throw invalid("a number is malformed")
            }
            index = end
            return .number(String(decoding: bytes[start..<end], as: UTF8.self))
        }

        /// Where a JSON number starting at `start` ends, or nil when the text there is not one.
        static func numberEnd(_ bytes: [UInt8], from start: Int) -> Int? {
            var index = start
            func digits() -> Int {
                let first = index
                while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
                    index += 1
                }
                return index - first
            }
            func at(_ ascii: Unicode.Scalar) -> Bool {
                index < bytes.count && bytes[index] == UInt8(ascii: ascii)
            }
            if at("-") { index += 1 }
            if at("0") {
                index += 1
            } else if digits() == 0 {
                return nil
            }
            if at(".") {
                index += 1
                guard digits() > 0 else { return nil }
            }
            if at("e") || at("E") {
                index += 1
                if at("+") || at("-") { index += 1 }
                guard digits() > 0 else { return nil }
            }
            return index
        }
    }
}

// MARK: - Numbers

extension OTLPJSON {
    /// The exact integer a JSON number denotes (`12`, `-3`, `1.5e3`), or nil when it is not an integer or needs more
    /// than 64 bits of magnitude.
    static func integer(_ text: String) -> (negative: Bool, magnitude: UInt64)? {
        let utf8 = Array(text.utf8)
        guard Parser.numberEnd(utf8, from: 0) == utf8.count else { return nil }
        var index = 0
        let negative = utf8.first == UInt8(ascii: "-")
        if negative { index += 1 }
        var digits: [UInt8] = []
        var fractionDigits = 0
        var inFraction = false
        while index < utf8.count, utf8[index] != UInt8(ascii: "e"), utf8[index] != UInt8(ascii: "E") {
            if utf8[index] == UInt8(ascii: ".") {
                inFraction = true
            } else {
                digits.append(utf8[index] - UInt8(ascii: "0"))
                if inFraction { fractionDigits += 1 }
            }
            index += 1
        }
        var exponent = 0
        if index < utf8.count {
            index += 1
            var exponentNegative = false
            if utf8[index] == UInt8(ascii: "-") || utf8[index] == UInt8(ascii: "+") {
                exponentNegative = utf8[index] == UInt8(ascii: "-")
                index += 1
            }
            while index < utf8.count {
                // Past this (far beyond any number of fraction digits a body can hold) the answer is decided anyway:
                // the value is zero, too large, or not an integer.
                if exponent < 1 << 40 { exponent = exponent * 10 + Int(utf8[index] - UInt8(ascii: "0")) }
                index += 1
            }
            if exponentNegative { exponent = -exponent }
        }
        exponent -= fractionDigits
        // Leading zeros carry no value; dropping them (all at once, so that a long run stays linear) keeps the
        // checks below simple.
        if let firstNonZero = digits.firstIndex(where: { $0 != 0 }) {
            digits.removeFirst(firstNonZero)
        } else {
            return (negative, 0)
        }
        if exponent < 0 {
            let drop = -exponent
            if drop >= digits.count {
                guard digits.allSatisfy({ $0 == 0 }) else { return nil }
                return (negative, 0)
            }
            guard digits.suffix(drop).allSatisfy({ $0 == 0 }) else { return nil }
            digits.removeLast(drop)
            exponent = 0
        }
        var magnitude: UInt64 = 0
        for digit in digits {
            let (times, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(UInt64(digit))
            guard !overflow1, !overflow2 else { return nil }
            magnitude = sum
        }
        if magnitude != 0 {
            for _ in 0..<exponent {
                let (times, overflow) = magnitude.multipliedReportingOverflow(by: 10)
                guard !overflow else { return nil }
                magnitude = times
            }
        }
        return (negative, magnitude)
    }
}

// MARK: - The request

extension OTLPJSON {
    typealias Object = [(key: String, value: Value)]

    /// Walks the tree of an `ExportTraceServiceRequest`, keeping the path for error messages.
    struct RequestDecoder {
        enum PathComponent {
            case key(String)
            case index(Int)
        }

        private var path: [PathComponent] = []
        private(set) var spans: [Span] = []
        /// Only the rejection counts are used.
        private(set) var outcome = DecodedRequest(batch: SpanBatch())

        init() {}

        // MARK: Messages

        mutating func request(_ root: Value) throws(OTLPDecodingError) {
            guard case .object(let request) = root else {
                throw OTLPDecodingError("the body is \(root.typeName), not a JSON object holding an ExportTraceServiceRequest")
            }
            try forEach(in: request, "resourceSpans") { (decoder: inout Self, resourceSpans: Object) throws(OTLPDecodingError) in
                try decoder.resourceSpans(resourceSpans)
            }
        }

        private mutating func resourceSpans(_ object: Object) throws(OTLPDecodingError) {
            var resource = Resource()
            if let fields = try message(in: object, "resource") {
                path.append(.key("resource"))
                resource.attributes = try attributes(in: fields, "attributes")
                resource.droppedAttributesCount = try uint32(in: fields, "droppedAttributesCount")
                path.removeLast()
            }
            resource.schemaURL = try string(in: object, "schemaUrl")
            try forEach(in: object, "scopeSpans") { (decoder: inout Self, scopeSpans: Object) throws(OTLPDecodingError) in
                try decoder.scopeSpans(scopeSpans, resource: resource)
            }
        }

        private mutating func scopeSpans(_ object: Object, resource: Resource) throws(OTLPDecodingError) {
            var scope = InstrumentationScope()
            if let fields = try message(in: object, "scope") {
                path.append(.key("scope"))
                scope.name = try string(in: fields, "name")
                scope.version = try string(in: fields, "version")
                scope.attributes = try attributes(in: fields, "attributes")
                scope.droppedAttributesCount = try uint32(in: fields, "droppedAttributesCount")
                path.removeLast()
            }
            scope.schemaURL = try string(in: object, "schemaUrl")
            try forEach(in: object, "spans") { (decoder: inout Self, span: Object) throws(OTLPDecodingError) in
                try decoder.span(span, resource: resource, scope: scope)
            }
        }

        private mutating func span(_ object: Object, resource: Resource, scope: InstrumentationScope) throws(OTLPDecodingError) {
            // Every field is read first, so that a field of the wrong type makes the body invalid even in a span
            // that is then rejected.
            let traceIDText = try string(in: object, "traceId")
            let spanIDText = try string(in: object, "spanId")
            let traceState = try string(in: object, "traceState")
            let parentText = try string(in: object, "parentSpanId")
            let flags = try uint32(in: object, "flags")
            let name = try string(in: object, "name")
            let kind = try enumeration(in: object, "kind", "SpanKind", names: Self.spanKindNames)
            let start = try uint64(in: object, "startTimeUnixNano")
            let end = try uint64(in: object, "endTimeUnixNano")
            let attributes = try attributes(in: object, "attributes")
            let droppedAttributes = try uint32(in: object, "droppedAttributesCount")
            var events: [SpanEvent] = []
            try forEach(in: object, "events") { (decoder: inout Self, event: Object) throws(OTLPDecodingError) in
                events.append(
                    SpanEvent(timeUnixNano: try decoder.uint64(in: event, "timeUnixNano"), name: try decoder.string(in: event, "name"),
                              attributes: try decoder.attributes(in: event, "attributes"),
                              droppedAttributesCount: try decoder.uint32(in: event, "droppedAttributesCount")))
            }
            let droppedEvents = try uint32(in: object, "droppedEventsCount")
            var links: [SpanLink] = []
            try forEach(in: object, "links") { (decoder: inout Self, link: Object) throws(OTLPDecodingError) in
                try links.append(decoder.link(link))
            }
            let droppedLinks = try uint32(in: object, "droppedLinksCount")
            var status = SpanStatus()
            if let fields = try message(in: object, "status") {
                path.append(.key("status"))
                status.message = try string(in: fields, "message")
                status.code = SpanStatus.Code(rawValue: try enumeration(in: fields, "code", "StatusCode", names: Self.statusCodeNames))
                path.removeLast()
            }

            guard let traceID = TraceID(hex: traceIDText), traceID.isValid else { return outcome.reject(.invalidTraceID) }
            guard let spanID = SpanID(hex: spanIDText), spanID.isValid else { return outcome.reject(.invalidSpanID) }
            var parentSpanID: SpanID?
            if !parentText.isEmpty {
                guard let parent = SpanID(hex: parentText) else { return outcome.reject(.invalidParentSpanID) }
                parentSpanID = parent.isValid ? parent : nil
            }
            guard !name.isEmpty else { return outcome.reject(.missingName) }

            spans.append(
                Span(
                    traceID: traceID, spanID: spanID, parentSpanID: parentSpanID, traceState: traceState, flags: flags,
                    name: name, kind: SpanKind(rawValue: kind), startTimeUnixNano: start, endTimeUnixNano: end,
                    attributes: attributes, droppedAttributesCount: droppedAttributes, events: events,
                    droppedEventsCount: droppedEvents, links: links, droppedLinksCount: droppedLinks, status: status,
                    resource: resource, scope: scope))
        }

        /// A link; ids that are not hex of the right length, which OTLP forbids but the collector does not refuse,
        /// read as zero, as the protobuf decoder reads them.
        private mutating func link(_ object: Object) throws(OTLPDecodingError) -> SpanLink {
            SpanLink(
                traceID: TraceID(hex: try string(in: object, "traceId")) ?? .zero,
                spanID: SpanID(hex: try string(in: object, "spanId")) ?? .zero,
                traceState: try string(in: object, "traceState"), attributes: try attributes(in: object, "attributes"),
                droppedAttributesCount: try uint32(in: object, "droppedAttributesCount"),
                flags: try uint32(in: object, "flags"))
        }

        private mutating func attributes(in object: Object, _ name: String) throws(OTLPDecodingError) -> [Attribute] {
            var attributes: [Attribute] = []
            try forEach(in: object, name) { (decoder: inout Self, keyValue: Object) throws(OTLPDecodingError) in
                attributes.append(try decoder.keyValue(keyValue))
            }
            return attributes
        }

        private mutating func keyValue(_ object: Object) throws(OTLPDecodingError) -> Attribute {
            let key = try string(in: object, "key")
            guard let value = Self.member(object, "value") else { return Attribute(key, .empty) }
            path.append(.key("value"))
            defer { path.removeLast() }
            return Attribute(key, try anyValue(value))
        }

        private static let valueCases = [
            "stringValue", "boolValue", "intValue", "doubleValue", "arrayValue", "kvlistValue", "bytesValue",
        ]

        /// An `AnyValue`: an object with at most one of its cases set.
        private mutating func anyValue(_ value: Value) throws(OTLPDecodingError) -> AttributeValue {
            guard case .object(let object) = value else { throw fail("is \(value.typeName), not an AnyValue object") }
            var found: (name: String, value: Value)?
            for name in Self.valueCases {
                guard let member = Self.member(object, name) else { continue }
                if let found {
                    throw fail("sets both \(found.name) and \(name), but an AnyValue holds one value")
                }
                found = (name, member)
            }
            guard let (name, member) = found else { return .empty }
            switch name {
            case "stringValue":
                guard case .string(let text) = member else { throw fail(name, "is not a string") }
                return .string(text)
            case "boolValue":
                guard case .bool(let flag) = member else { throw fail(name, "is not true or false") }
                return .bool(flag)
            case "intValue":
                return .int(try int64(member, name))
            case "doubleValue":
                return .double(try double(member, name))
            case "bytesValue":
                guard case .string(let text) = member else { throw fail(name, "is not a base64 string") }
                guard let bytes = Base64.decode(text) else { throw fail(name, "is not valid base64") }
                return .bytes(bytes)
            case "arrayValue":
                guard case .object(let array) = member else { throw fail(name, "is \(member.typeName), not an ArrayValue object") }
                path.append(.key(name))
                defer { path.removeLast() }
                var values: [AttributeValue] = []
                try forEachValue(in: array, "values") { (decoder: inout Self, element: Value) throws(OTLPDecodingError) in
                    values.append(try decoder.anyValue(element))
                }
                return .array(values)
            default:
                guard case .object(let list) = member else { throw fail(name, "is \(member.typeName), not a KeyValueList object") }
                path.append(.key(name))
                defer { path.removeLast() }
                return .keyValueList(try attributes(in: list, "values"))
            }
        }

        // MARK: Fields

        /// The value of a field given in lowerCamelCase or in its original snake_case; null counts as absent.
        /// When a key repeats, the last one counts, as in JavaScript's `JSON.parse`.
        static func member(_ object: Object, _ name: String) -> Value? {
            for member in object.reversed() where member.key == name || matchesSnakeCase(member.key, name) {
                if case .null = member.value { return nil }
                return member.value
            }
            return nil
        }

        /// Whether `key` is `camel` spelled in snake_case (`trace_id` for `traceId`).
        static func matchesSnakeCase(_ key: String, _ camel: String) -> Bool {
            var keyBytes = key.utf8.makeIterator()
            for byte in camel.utf8 {
                if (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) {
                    guard keyBytes.next() == UInt8(ascii: "_"), keyBytes.next() == byte + 32 else { return false }
                } else {
                    guard keyBytes.next() == byte else { return false }
                }
            }
            return keyBytes.next() == nil
        }

        private func renderedPath(_ last: String?) -> String {
            var text = ""
            for component in path {
                switch component {
                case .key(let key): text += text.isEmpty ? key : "." + key
                case .index(let index): text += "[\(index)]"
                }
            }
            if let last { text += text.isEmpty ? last : "." + last }
            return text
        }

        /// An error about the field `name` of the current message, or about the current value when `name` is nil.
        private func fail(_ name: String?, _ problem: String) -> OTLPDecodingError {
            OTLPDecodingError("\(renderedPath(name)) \(problem)")
        }

        /// An error about the current value.
        private func fail(_ problem: String) -> OTLPDecodingError {
            fail(nil, problem)
        }

        /// A nested message field, nil when absent.
        private func message(in object: Object, _ name: String) throws(OTLPDecodingError) -> Object? {
            guard let value = Self.member(object, name) else { return nil }
            guard case .object(let fields) = value else { throw fail(name, "is \(value.typeName), not an object") }
            return fields
        }

        /// Runs `body` for each element of a repeated message field, with the element's path.
        private mutating func forEach(
            in object: Object, _ name: String, _ body: (inout Self, Object) throws(OTLPDecodingError) -> Void
        ) throws(OTLPDecodingError) {
            try forEachValue(in: object, name) { (decoder: inout Self, element: Value) throws(OTLPDecodingError) in
                guard case .object(let fields) = element else { throw decoder.fail("is \(element.typeName), not an object") }
                try body(&decoder, fields)
            }
        }

        private mutating func forEachValue(
            in object: Object, _ name: String, _ body: (inout Self, Value) throws(OTLPDecodingError) -> Void
        ) throws(OTLPDecodingError) {
            guard let value = Self.member(object, name) else { return }
            guard case .array(let elements) = value else { throw fail(name, "is \(value.typeName), not an array") }
            path.append(.key(name))
            for (index, element) in elements.enumerated() {
                path.append(.index(index))
                try body(&self, element)
                path.removeLast()
            }
            path.removeLast()
        }

        private func string(in object: Object, _ name: String) throws(OTLPDecodingError) -> String {
            guard let value = Self.member(object, name) else { return "" }
            guard case .string(let text) = value else { throw fail(name, "is \(value.typeName), not a string") }
            return text
        }

        /// The exact integer of a number or of a string holding one, as proto3 JSON allows for every integer type.
        private func integer(_ value: Value, _ name: String) throws(OTLPDecodingError) -> (negative: Bool, magnitude: UInt64) {
            switch value {
            case .number(let text), .string(let text):
                guard let integer = OTLPJSON.integer(text) else { throw fail(name, "is not an integer") }
                return integer
            default:
                throw fail(name, "is \(value.typeName), not an integer")
            }
        }

        private func uint32(in object: Object, _ name: String) throws(OTLPDecodingError) -> UInt32 {
            guard let value = Self.member(object, name) else { return 0 }
            let integer = try integer(value, name)
            guard integer.negative ? integer.magnitude == 0 : integer.magnitude <= UInt64(UInt32.max) else {
                throw fail(name, "is out of range for an unsigned 32-bit integer")
            }
            return UInt32(integer.magnitude)
        }

        private func uint64(in object: Object, _ name: String) throws(OTLPDecodingError) -> UInt64 {
            guard let value = Self.member(object, name) else { return 0 }
            let integer = try integer(value, name)
            guard !integer.negative || integer.magnitude == 0 else {
                throw fail(name, "is negative, but it is an unsigned 64-bit integer")
            }
            return integer.magnitude
        }

        private func int64(_ value: Value, _ name: String) throws(OTLPDecodingError) -> Int64 {
            let integer = try integer(value, name)
            if integer.negative {
                guard integer.magnitude <= UInt64(Int64.max) + 1 else { throw fail(name, "is out of range for a 64-bit integer") }
                return Int64(truncatingIfNeeded: 0 &- integer.magnitude)
            }
            guard integer.magnitude <= UInt64(Int64.max) else { throw fail(name, "is out of range for a 64-bit integer") }
            return Int64(integer.magnitude)
        }

        /// A double: a number, or a string holding a number, `NaN`, `Infinity` or `-Infinity`.
        private func double(_ value: Value, _ name: String) throws(OTLPDecodingError) -> Double {
            switch value {
            case .number(let text):
                if let number = Double(text) { return number }
            case .string("NaN"): return .nan
            case .string("Infinity"): return .infinity
            case .string("-Infinity"): return -.infinity
            case .string(let text):
                let utf8 = Array(text.utf8)
                if Parser.numberEnd(utf8, from: 0) == utf8.count, let number = Double(text) { return number }
            default: break
            }
            throw fail(name, "is not a number, \"NaN\", \"Infinity\" or \"-Infinity\"")
        }

        static let spanKindNames = [
            "SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER",
            "SPAN_KIND_CONSUMER",
        ]
        static let statusCodeNames = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"]

        /// An enum: its number, or leniently its name (the names' positions are their numbers).
        private func enumeration(
            in object: Object, _ name: String, _ enumName: String, names: [String]
        ) throws(OTLPDecodingError) -> Int32 {
            guard let value = Self.member(object, name) else { return 0 }
            if case .string(let text) = value {
                guard let number = names.firstIndex(of: text) else {
                    throw fail(name, "is \"\(text)\", which is not a \(enumName) name; send the number")
                }
                return Int32(number)
            }
            guard case .number(let text) = value else {
                throw fail(name, "is \(value.typeName), not a \(enumName) number or name")
            }
            guard let integer = OTLPJSON.integer(text) else { throw fail(name, "is not an integer") }
            if integer.negative {
                guard integer.magnitude <= UInt64(Int32.max) + 1 else { throw fail(name, "is out of range for an enum") }
                return Int32(truncatingIfNeeded: 0 &- integer.magnitude)
            }
            guard integer.magnitude <= UInt64(Int32.max) else { throw fail(name, "is out of range for an enum") }
            return Int32(integer.magnitude)
        }
    }
}
