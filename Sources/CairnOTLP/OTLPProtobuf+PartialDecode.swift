public import CairnModel
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension OTLPProtobuf {
    /// The parts of a stored span that `decodeSpan(payload:resource:scope:selection:)` decodes beyond those it
    /// always decodes (ids, parent, trace state, flags, name, kind, times, status, dropped counts).
    ///
    /// Make one per scan and pass it for every span: it prepares the keys for comparing bytes, and as a class it is
    /// passed on without copying its collections.
    public final class SpanSelection: Sendable {
        /// The keys of the span attributes to decode; nil decodes every attribute, an empty set none. A key is
        /// kept when it equals one of these as Swift strings compare, as `Set.contains` decides.
        public let attributeKeys: Set<String>?
        /// Whether to decode the span's events.
        public let events: Bool
        /// Whether to decode the span's links.
        public let links: Bool

        /// The requested keys when every one of them is ASCII. An ASCII key equals another string only if their
        /// bytes are equal, so a stored ASCII key is matched by its bytes and the requested string is reused; any
        /// other comparison decodes the stored key.
        fileprivate let asciiKeys: ASCIIKeys?
        /// Bit `min(n, 63)` is set when a requested key is `n` bytes long.
        fileprivate let keyLengths: UInt64

        /// Keys laid out for comparing bytes without copying a string or an array per comparison: by length, each
        /// with its first and last 8 bytes as integers, where keys of one length mostly differ.
        fileprivate struct ASCIIKeys: Sendable {
            /// The keys, shortest first.
            let keys: [String]
            /// The keys' UTF-8, back to back, and where each lies in it.
            let utf8: [UInt8]
            let ranges: [Range<Int>]
            /// Each key's first and last 8 bytes, little-endian, for keys of 8 bytes or more (0 for the others).
            let heads: [UInt64]
            let tails: [UInt64]
            /// `keys[starts[n]..<starts[n + 1]]` are the keys of `n` bytes.
            let starts: [Int]

            init(_ keySet: Set<String>) {
                keys = keySet.sorted { ($0.utf8.count, $0) < ($1.utf8.count, $1) }
                let utf8 = keys.flatMap(\.utf8)
                self.utf8 = utf8
                var offset = 0
                let ranges = keys.map { key in
                    defer { offset += key.utf8.count }
                    return offset..<offset + key.utf8.count
                }
                self.ranges = ranges
                func integer(_ range: Range<Int>) -> UInt64 {
                    range.reversed().reduce(0) { $0 << 8 | UInt64(utf8[$1]) }
                }
                heads = ranges.map { $0.count >= 8 ? integer($0.lowerBound..<$0.lowerBound + 8) : 0 }
                tails = ranges.map { $0.count >= 8 ? integer($0.upperBound - 8..<$0.upperBound) : 0 }
                let longest = ranges.last?.count ?? 0
                starts = (0...longest + 1).map { length in ranges.firstIndex { $0.count >= length } ?? ranges.count }
            }

            /// The requested key whose UTF-8 is these bytes, if any.
            func match(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
                let count = bytes.count
                guard count + 1 < starts.count, starts[count] < starts[count + 1] else { return nil }
                let candidates = starts[count]..<starts[count + 1]
                if count < 8 {
                    return utf8.withUnsafeBufferPointer { all in
                        for index in candidates
                        where count == 0 || memcmp(all.baseAddress! + ranges[index].lowerBound, bytes.baseAddress!, count) == 0 {
                            return keys[index]
                        }
                        return nil
                    }
                }
                let raw = UnsafeRawBufferPointer(bytes)
                let head = UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self))
                let tail = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self))
                for index in candidates where heads[index] == head && tails[index] == tail {
                    // The first and last 8 bytes cover a key of up to 16; compare the bytes between for a longer one.
                    if count <= 16 { return keys[index] }
                    let same = utf8.withUnsafeBufferPointer { all in
                        memcmp(all.baseAddress! + ranges[index].lowerBound + 8, bytes.baseAddress! + 8, count - 16) == 0
                    }
                    if same { return keys[index] }
                }
                return nil
            }
        }

        /// A selection of attributes by key, and of events and links.
        public init(attributeKeys: Set<String>?, events: Bool, links: Bool) {
            self.attributeKeys = attributeKeys
            self.events = events
            self.links = links
            if let attributeKeys, attributeKeys.allSatisfy({ $0.utf8.allSatisfy { $0 < 0x80 } }) {
                asciiKeys = ASCIIKeys(attributeKeys)
            } else {
                asciiKeys = nil
            }
            keyLengths = attributeKeys?.reduce(0) { $0 | 1 << min($1.utf8.count, 63) } ?? 0
        }

        /// Everything: what `decodeSpan(payload:resource:scope:)` decodes.
        public static let everything = SpanSelection(attributeKeys: nil, events: true, links: true)
    }

    /// Decodes a stored span (an OTLP `Span` message, as `decodeSpan(payload:resource:scope:)` takes it), with only
    /// the attributes, events and links that `selection` asks for, completed with its resource and scope.
    ///
    /// The result equals the full decoder's with the attributes whose keys are not selected removed (the rest keep
    /// their order), and events and links emptied unless selected; the dropped counts are decoded either way. It
    /// reads the message's fields with its own wire reader and steps over the attributes, events and links it does
    /// not decode without looking inside them. So it checks only what it reads: a message that is malformed there
    /// throws `OTLPDecodingError`, while damage inside a part it steps over goes unnoticed (stored spans were
    /// checked whole when they were received).
    public static func decodeSpan(
        payload: UnsafeRawBufferPointer, resource: Resource, scope: InstrumentationScope, selection: SpanSelection
    ) throws(OTLPDecodingError) -> Span {
        try PartialSpanDecoder(bytes: payload, selection: selection).span(resource: resource, scope: scope)
    }

    /// Decodes a stored span held in any collection of bytes; see `decodeSpan(payload:resource:scope:selection:)`
    /// for a raw buffer.
    public static func decodeSpan(
        payload: some Collection<UInt8>, resource: Resource, scope: InstrumentationScope, selection: SpanSelection
    ) throws(OTLPDecodingError) -> Span {
        func run(_ bytes: UnsafeBufferPointer<UInt8>) -> Result<Span, OTLPDecodingError> {
            Result { () throws(OTLPDecodingError) in
                try decodeSpan(payload: UnsafeRawBufferPointer(bytes), resource: resource, scope: scope, selection: selection)
            }
        }
        let result = payload.withContiguousStorageIfAvailable(run) ?? Array(payload).withUnsafeBufferPointer(run)
        return try result.get()
    }
}

/// Reads the fields of one stored `Span` message as protobuf-c unpacks them, so that what it decodes is what
/// `OTLPProtobuf.decodeSpan(payload:resource:scope:)` gives: a repeated field keeps every occurrence in order, any
/// other field its last one, except that a message field given twice is merged as protobuf-c merges it; a known
/// field of another wire type than its own makes the message invalid (but a bool), an unknown field is skipped.
///
/// Each message is read by switching on whole tags (field number and wire type), as they are written: tags of
/// `proto/opentelemetry/proto/trace/v1/trace.proto` and `common/v1/common.proto`, in comments.
private struct PartialSpanDecoder {
    let bytes: UnsafeRawBufferPointer
    let selection: OTLPProtobuf.SpanSelection
    /// Whether any span attribute may be kept.
    let attributes: Bool
    /// Whether the selection names keys, all of them ASCII (`SpanSelection.asciiKeys`).
    let asciiKeysOnly: Bool

    init(bytes: UnsafeRawBufferPointer, selection: OTLPProtobuf.SpanSelection) {
        self.bytes = bytes
        self.selection = selection
        attributes = selection.attributeKeys?.isEmpty != true
        asciiKeysOnly = selection.asciiKeys != nil
    }

    static let malformed = OTLPDecodingError("a stored span message is not valid protobuf; the store is damaged")

    // MARK: - The wire

    /// Reads one message's fields in order: a tag, then its value.
    struct Reader {
        let bytes: UnsafeRawBufferPointer
        private(set) var position: Int
        let end: Int

        init(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) {
            self.bytes = bytes
            position = range.lowerBound
            end = range.upperBound
        }

        /// The next tag, or nil at the end of the message. protobuf-c refuses field number 0 and tags longer than
        /// 5 bytes.
        @inline(__always)
        mutating func tag() throws(OTLPDecodingError) -> UInt64? {
            guard position < end else { return nil }
            let start = position
            let tag = try varint()
            guard tag >> 3 != 0, position - start <= 5 else { throw PartialSpanDecoder.malformed }
            return tag
        }

        /// A varint of up to 10 bytes, truncated to 64 bits as protobuf-c truncates.
        @inline(__always)
        mutating func varint() throws(OTLPDecodingError) -> UInt64 {
            guard position < end else { throw PartialSpanDecoder.malformed }
            let byte = bytes[position]
            position += 1
            return byte < 0x80 ? UInt64(byte) : try longVarint(UInt64(byte & 0x7F))
        }

        private mutating func longVarint(_ low: UInt64) throws(OTLPDecodingError) -> UInt64 {
            var result = low
            var shift: UInt64 = 7
            while true {
                guard position < end, shift < 70 else { throw PartialSpanDecoder.malformed }
                let byte = bytes[position]
                position += 1
                result |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return result }
                shift += 7
            }
        }

        /// The bytes of a length-delimited value, without its length.
        @inline(__always)
        mutating func delimited() throws(OTLPDecodingError) -> Range<Int> {
            let length = try varint()
            guard length <= UInt64(end - position) else { throw PartialSpanDecoder.malformed }
            position += Int(length)
            return Range(uncheckedBounds: (position - Int(length), position))
        }

        /// The next field's value if it is length-delimited with the one-byte tag `tag`, or nil otherwise: what a run
        /// of a repeated field reads without dispatching on each.
        @inline(__always)
        mutating func delimited(tagged tag: UInt8) throws(OTLPDecodingError) -> Range<Int>? {
            guard position < end, bytes[position] == tag else { return nil }
            position += 1
            return try delimited()
        }

        mutating func fixed64() throws(OTLPDecodingError) -> UInt64 {
            guard end - position >= 8 else { throw PartialSpanDecoder.malformed }
            defer { position += 8 }
            return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self))
        }

        mutating func fixed32() throws(OTLPDecodingError) -> UInt32 {
            guard end - position >= 4 else { throw PartialSpanDecoder.malformed }
            defer { position += 4 }
            return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self))
        }

        /// Steps over the value of a field that the caller does not read. A field numbered within `known` is one of
        /// the message's own, met with another wire type than its own, which protobuf-c refuses.
        mutating func skip(_ tag: UInt64, known: ClosedRange<UInt64>) throws(OTLPDecodingError) {
            guard !known.contains(tag >> 3) else { throw PartialSpanDecoder.malformed }
            try skipValue(tag)
        }

        /// Steps over a field's value, whatever the field.
        mutating func skipValue(_ tag: UInt64) throws(OTLPDecodingError) {
            switch tag & 7 {
            case 0: _ = try varint()
            case 1: _ = try fixed64()
            case 2: _ = try delimited()
            case 5: _ = try fixed32()
            default: throw PartialSpanDecoder.malformed  // groups, which OTLP does not use, and invalid wire types
            }
        }

        /// A bool as protobuf-c reads one, whatever its wire type: true when a byte of its value (length included)
        /// has a bit besides the continuation bit.
        mutating func bool(_ tag: UInt64) throws(OTLPDecodingError) -> Bool {
            let start = position
            try skipValue(tag)
            return (start..<position).contains { bytes[$0] & 0x7F != 0 }
        }
    }

    func reader(_ range: Range<Int>) -> Reader {
        Reader(bytes, range)
    }

    func buffer(_ range: Range<Int>) -> UnsafeBufferPointer<UInt8> {
        UnsafeRawBufferPointer(rebasing: bytes[range]).assumingMemoryBound(to: UInt8.self)
    }

    /// Text as `CBytes.string` makes it: invalid UTF-8 repaired.
    func string(_ range: Range<Int>) -> String {
        String(decoding: buffer(range), as: UTF8.self)
    }

    /// Entering a message `depth` deep; refused beyond the depth the wire scanner accepts.
    func enter(_ depth: Int) throws(OTLPDecodingError) {
        guard depth <= WireScanner.maxDepth else {
            throw OTLPDecodingError("a stored span nests messages more than \(WireScanner.maxDepth) deep; the store is damaged")
        }
    }

    // MARK: - Span

    func span(resource: Resource, scope: InstrumentationScope) throws(OTLPDecodingError) -> Span {
        var traceID = 0..<0, spanID = 0..<0, parentSpanID = 0..<0, traceState = 0..<0, name = 0..<0
        var flags: UInt32 = 0
        var kind: Int32 = 0
        var start: UInt64 = 0, end: UInt64 = 0
        var attributes: [Attribute] = []
        var events: [SpanEvent] = []
        var links: [SpanLink] = []
        var droppedAttributes: UInt32 = 0, droppedEvents: UInt32 = 0, droppedLinks: UInt32 = 0
        var status: (code: Int32, message: Range<Int>)?

        var reader = self.reader(0..<bytes.count)
        while let tag = try reader.tag() {
            switch tag {
            case 0x0A: traceID = try reader.delimited()  // 1 trace_id
            case 0x12: spanID = try reader.delimited()  // 2 span_id
            case 0x1A: traceState = try reader.delimited()  // 3 trace_state
            case 0x22: parentSpanID = try reader.delimited()  // 4 parent_span_id
            case 0x2A: name = try reader.delimited()  // 5 name
            case 0x30: kind = Int32(truncatingIfNeeded: try reader.varint())  // 6 kind
            case 0x39: start = try reader.fixed64()  // 7 start_time_unix_nano
            case 0x41: end = try reader.fixed64()  // 8 end_time_unix_nano
            case 0x4A:  // 9 attributes, which come in a run: read here rather than dispatched one by one
                var range = try reader.delimited()
                while true {
                    if self.attributes, let attribute = try selectedAttribute(range) {
                        // One allocation for the few attributes a selection usually keeps.
                        if attributes.isEmpty { attributes.reserveCapacity(4) }
                        attributes.append(attribute)
                    }
                    guard let next = try reader.delimited(tagged: 0x4A) else { break }
                    range = next
                }
            case 0x50: droppedAttributes = UInt32(truncatingIfNeeded: try reader.varint())  // 10
            case 0x5A:  // 11 events
                let range = try reader.delimited()
                if selection.events { events.append(try event(range)) }
            case 0x60: droppedEvents = UInt32(truncatingIfNeeded: try reader.varint())  // 12
            case 0x6A:  // 13 links
                let range = try reader.delimited()
                if selection.links { links.append(try link(range)) }
            case 0x70: droppedLinks = UInt32(truncatingIfNeeded: try reader.varint())  // 14
            case 0x7A:  // 15 status
                let latter = try self.status(try reader.delimited())
                // protobuf-c merges a repeated message field: the later code, and the later message unless empty.
                status = (latter.code, latter.message.isEmpty ? status?.message ?? latter.message : latter.message)
            case 0x85: flags = try reader.fixed32()  // 16 flags
            default: try reader.skip(tag, known: 1...16)
            }
        }

        guard let trace = TraceID(bytes: buffer(traceID)), let span = SpanID(bytes: buffer(spanID)) else {
            throw OTLPDecodingError("a stored span has an id of the wrong length; the store is damaged")
        }
        let parent = SpanID(bytes: buffer(parentSpanID))
        return Span(
            traceID: trace, spanID: span, parentSpanID: parent?.isValid == true ? parent : nil,
            traceState: string(traceState), flags: flags, name: string(name), kind: SpanKind(rawValue: kind),
            startTimeUnixNano: start, endTimeUnixNano: end, attributes: attributes,
            droppedAttributesCount: droppedAttributes, events: events, droppedEventsCount: droppedEvents, links: links,
            droppedLinksCount: droppedLinks,
            status: status.map { SpanStatus(code: .init(rawValue: $0.code), message: string($0.message)) } ?? .unset,
            resource: resource, scope: scope)
    }

    /// A `Status` message: its code and the bytes of its message.
    func status(_ range: Range<Int>) throws(OTLPDecodingError) -> (code: Int32, message: Range<Int>) {
        var code: Int32 = 0
        var message = 0..<0
        var reader = self.reader(range)
        while let tag = try reader.tag() {
            switch tag {
            case 0x12: message = try reader.delimited()  // 2 message
            case 0x18: code = Int32(truncatingIfNeeded: try reader.varint())  // 3 code
            default: try reader.skip(tag, known: 2...3)
            }
        }
        return (code, message)
    }

    func event(_ range: Range<Int>) throws(OTLPDecodingError) -> SpanEvent {
        var event = SpanEvent(timeUnixNano: 0, name: "")
        var reader = self.reader(range)
        while let tag = try reader.tag() {
            switch tag {
            case 0x09: event.timeUnixNano = try reader.fixed64()  // 1 time_unix_nano
            case 0x12: event.name = string(try reader.delimited())  // 2 name
            case 0x1A: event.attributes.append(try keyValue(try reader.delimited(), depth: 2))  // 3 attributes
            case 0x20: event.droppedAttributesCount = UInt32(truncatingIfNeeded: try reader.varint())  // 4
            default: try reader.skip(tag, known: 1...4)
            }
        }
        return event
    }

    /// A link; ids of the wrong length read as zero, as the full decoder reads them.
    func link(_ range: Range<Int>) throws(OTLPDecodingError) -> SpanLink {
        var traceID = 0..<0, spanID = 0..<0
        var link = SpanLink(traceID: .zero, spanID: .zero)
        var reader = self.reader(range)
        while let tag = try reader.tag() {
            switch tag {
            case 0x0A: traceID = try reader.delimited()  // 1 trace_id
            case 0x12: spanID = try reader.delimited()  // 2 span_id
            case 0x1A: link.traceState = string(try reader.delimited())  // 3 trace_state
            case 0x22: link.attributes.append(try keyValue(try reader.delimited(), depth: 2))  // 4 attributes
            case 0x28: link.droppedAttributesCount = UInt32(truncatingIfNeeded: try reader.varint())  // 5
            case 0x35: link.flags = try reader.fixed32()  // 6 flags
            default: try reader.skip(tag, known: 1...6)
            }
        }
        link.traceID = TraceID(bytes: buffer(traceID)) ?? .zero
        link.spanID = SpanID(bytes: buffer(spanID)) ?? .zero
        return link
    }

    // MARK: - Attributes

    /// A span attribute (a `KeyValue` one message below the span) if its key is selected; its value is decoded only
    /// then.
    func selectedAttribute(_ range: Range<Int>) throws(OTLPDecodingError) -> Attribute? {
        let (keyRange, values) = try keyAndValues(range)
        let keyBytes = buffer(keyRange)
        if asciiKeysOnly {
            // Only a key of other characters than ASCII can equal an ASCII key without the same bytes; most keys are
            // settled by their length alone, without touching the selection's collections.
            if selection.keyLengths & 1 << min(keyBytes.count, 63) != 0, let key = selection.asciiKeys?.match(keyBytes) {
                return Attribute(key, try value(of: range, values: values, depth: 1))
            }
            if Self.isASCII(keyBytes) { return nil }
        }
        let key = String(decoding: keyBytes, as: UTF8.self)
        guard selection.attributeKeys?.contains(key) ?? true else { return nil }
        return Attribute(key, try value(of: range, values: values, depth: 1))
    }

    static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        let raw = UnsafeRawBufferPointer(bytes)
        while index + 8 <= raw.count {
            if raw.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { return false }
            index += 8
        }
        while index < raw.count {
            if raw[index] >= 0x80 { return false }
            index += 1
        }
        return true
    }

    /// A `KeyValue` message `depth` deep, decoded whole.
    func keyValue(_ range: Range<Int>, depth: Int) throws(OTLPDecodingError) -> Attribute {
        try enter(depth)
        let (key, values) = try keyAndValues(range)
        return Attribute(string(key), try value(of: range, values: values, depth: depth))
    }

    /// The bytes of a `KeyValue`'s key (its last occurrence), and the number of its values with the last one.
    @inline(__always)
    func keyAndValues(_ range: Range<Int>) throws(OTLPDecodingError) -> (key: Range<Int>, values: (count: Int, last: Range<Int>)) {
        // What encoders write: the key, then one value, both shorter than 128 bytes.
        let start = range.lowerBound, end = range.upperBound
        if end - start >= 2, bytes[start] == 0x0A, bytes[start + 1] < 0x80 {
            let keyEnd = start + 2 + Int(bytes[start + 1])
            if keyEnd == end { return (start + 2..<keyEnd, (0, 0..<0)) }
            if keyEnd + 2 <= end, bytes[keyEnd] == 0x12, bytes[keyEnd + 1] < 0x80, keyEnd + 2 + Int(bytes[keyEnd + 1]) == end {
                return (start + 2..<keyEnd, (1, keyEnd + 2..<end))
            }
        }
        var key = 0..<0
        var values = (count: 0, last: 0..<0)
        var reader = self.reader(range)
        while let tag = try reader.tag() {
            switch tag {
            case 0x0A: key = try reader.delimited()  // 1 key
            case 0x12: values = (values.count + 1, try reader.delimited())  // 2 value
            default: try reader.skip(tag, known: 1...2)
            }
        }
        return (key, values)
    }

    /// The value of a `KeyValue` message `depth` deep: none reads as `.empty`.
    ///
    /// A value given more than once is merged as protobuf-c merges messages: a later `AnyValue` with a case set
    /// replaces the earlier one; one without takes the earlier one's case, except that an empty string or bytes
    /// leave it unset, and two in a row without a case make the message invalid.
    func value(of keyValue: Range<Int>, values: (count: Int, last: Range<Int>), depth: Int) throws(OTLPDecodingError)
        -> AttributeValue
    {
        if values.count <= 1 {
            return values.count == 0 ? .empty : try anyValue(values.last, depth: depth + 1) ?? .empty
        }
        var merged: AttributeValue?
        var first = true
        var reader = self.reader(keyValue)
        while let tag = try reader.tag() {
            // keyAndValues has checked the fields' wire types.
            guard tag == 0x12 else {
                try reader.skipValue(tag)
                continue
            }
            let latter = try anyValue(try reader.delimited(), depth: depth + 1)
            if first || latter != nil {
                merged = latter
            } else if let earlier = merged {
                if earlier == .string("") || earlier == .bytes([]) { merged = nil }
            } else {
                throw Self.malformed
            }
            first = false
        }
        return merged ?? .empty
    }

    /// An `AnyValue` message `depth` deep, or nil when none of its cases is set. The last case given wins.
    func anyValue(_ range: Range<Int>, depth: Int) throws(OTLPDecodingError) -> AttributeValue? {
        try enter(depth)
        var value: AttributeValue?
        var reader = self.reader(range)
        while let tag = try reader.tag() {
            switch tag {
            case 0x0A: value = .string(string(try reader.delimited()))  // 1 string_value
            case 0x18: value = .int(Int64(bitPattern: try reader.varint()))  // 3 int_value
            case 0x21: value = .double(Double(bitPattern: try reader.fixed64()))  // 4 double_value
            case 0x2A:  // 5 array_value: ArrayValue, 1 values
                try enter(depth + 1)
                var elements: [AttributeValue] = []
                var list = self.reader(try reader.delimited())
                while let tag = try list.tag() {
                    guard tag == 0x0A else {
                        try list.skip(tag, known: 1...1)
                        continue
                    }
                    elements.append(try anyValue(try list.delimited(), depth: depth + 2) ?? .empty)
                }
                value = .array(elements)
            case 0x32:  // 6 kvlist_value: KeyValueList, 1 values
                try enter(depth + 1)
                var entries: [Attribute] = []
                var list = self.reader(try reader.delimited())
                while let tag = try list.tag() {
                    guard tag == 0x0A else {
                        try list.skip(tag, known: 1...1)
                        continue
                    }
                    entries.append(try keyValue(try list.delimited(), depth: depth + 2))
                }
                value = .keyValueList(entries)
            case 0x3A: value = .bytes(Array(buffer(try reader.delimited())))  // 7 bytes_value
            default:
                if tag >> 3 == 2 {
                    value = .bool(try reader.bool(tag))  // 2 bool_value, of any wire type
                } else {
                    try reader.skip(tag, known: 1...7)
                }
            }
        }
        return value
    }
}
