/// A pass over an encoded `ExportTraceServiceRequest` that runs before protobuf-c unpacks it.
///
/// protobuf-c unpacks nested messages by recursion with no depth limit, so an `AnyValue` nested a million deep would
/// overflow the stack. The scanner walks the wire format with an explicit stack, following only the fields whose
/// type it knows to be a message, and refuses a body nested deeper than `maxDepth`. On the way it records where
/// each `Span` message lies in the body, so that the store can keep the span's bytes exactly as they arrived.
struct WireScanner {
    /// The message types of the trace signal that contain other messages.
    enum Kind: UInt8 {
        case request, resourceSpans, resource, scopeSpans, scope, span, event, link
        case keyValue, anyValue, arrayValue, keyValueList, leaf

        /// The type of the message in a length-delimited field, or `.leaf` for strings, bytes and unknown fields.
        func child(_ field: UInt64) -> Kind {
            switch (self, field) {
            case (.request, 1): .resourceSpans
            case (.resourceSpans, 1): .resource
            case (.resourceSpans, 2): .scopeSpans
            case (.resource, 1): .keyValue
            case (.scopeSpans, 1): .scope
            case (.scopeSpans, 2): .span
            case (.scope, 3): .keyValue
            case (.span, 9): .keyValue
            case (.span, 11): .event
            case (.span, 13): .link
            case (.event, 3): .keyValue
            case (.link, 4): .keyValue
            case (.keyValue, 2): .anyValue
            case (.anyValue, 5): .arrayValue
            case (.anyValue, 6): .keyValueList
            case (.arrayValue, 1): .anyValue
            case (.keyValueList, 1): .keyValue
            default: .leaf
            }
        }
    }

    /// The deepest nesting of messages accepted. The trace signal itself is 8 deep at most (request, resource spans,
    /// scope spans, span, event, key-value, value, array); the rest allows attribute values nested about 45 deep.
    static let maxDepth = 100

    /// The byte ranges of the spans, in the order protobuf-c lists them (by resource, then scope, then position).
    private(set) var spanRanges: [Range<Int>] = []

    /// Scans the body; throws when it is not well-formed protobuf or nests too deep.
    init(scanning body: UnsafeRawBufferPointer, root: Kind = .request) throws(OTLPDecodingError) {
        var stack: [(kind: Kind, end: Int)] = []
        stack.reserveCapacity(16)
        var kind = root
        var end = body.count
        var position = 0

        func varint() throws(OTLPDecodingError) -> UInt64 {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard position < end, shift < 64 else { throw Self.malformed }
                let byte = body[position]
                position += 1
                result |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return result }
                shift += 7
            }
        }

        while true {
            if position == end {
                guard let parent = stack.popLast() else { break }
                (kind, end) = parent
                continue
            }
            let tag = try varint()
            switch tag & 7 {
            case 0: _ = try varint()
            case 1: position += 8
            case 5: position += 4
            case 2:
                let length = try varint()
                guard length <= UInt64(end - position) else { throw Self.malformed }
                let childEnd = position + Int(length)
                let child = kind.child(tag >> 3)
                if child == .leaf {
                    position = childEnd
                } else {
                    guard stack.count < Self.maxDepth else {
                        throw OTLPDecodingError("the request nests messages more than \(Self.maxDepth) deep; flatten the attribute values")
                    }
                    if child == .span { spanRanges.append(position..<childEnd) }
                    stack.append((kind, end))
                    (kind, end) = (child, childEnd)
                }
            default:
                throw Self.malformed
            }
            guard position <= end else { throw Self.malformed }
        }
    }

    static let malformed = OTLPDecodingError("the body is not a valid protobuf ExportTraceServiceRequest")
}
