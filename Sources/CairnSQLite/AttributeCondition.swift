import CairnModel
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An attribute condition of a search (`key` equals `text` as `AttributeValue.searchText` writes it), checked first
/// against the span's encoded bytes so that most spans are settled without being decoded.
///
/// A span's `Span` message holds each attribute key as its UTF-8 bytes, and each value as UTF-8 (strings), a varint
/// after tag 0x18 (ints), 8 little-endian bytes after tag 0x21 (doubles) or a byte after tag 0x10 (bools): the
/// `AnyValue` fields of OTLP `common.proto`. So when the key's bytes do not occur in the message, the span has no
/// such attribute and its resource's value decides; and when none of the encodings of the text occurs, the span's
/// own value, if any, does not match. Anything else is decided by decoding the span.
///
/// Like the SQL conditions on service and name, this compares UTF-8 bytes: a text that is only canonically equivalent
/// (another Unicode normalisation) is not found, and an int written as a non-minimal varint, which no protobuf encoder
/// writes, is not found by its value.
struct AttributeCondition {
    /// What the span's bytes and its resource say.
    enum Verdict {
        /// The span cannot match.
        case no
        /// The span matches (its bytes do not carry the key, and its resource's value matches).
        case yes
        /// Only decoding the span can tell.
        case decode
    }

    let key: String
    let text: String
    private let keyBytes: [UInt8]?
    /// Each way the span's own value could be encoded if it matched; nil when the bytes cannot rule a value out.
    private let valueEncodings: [[UInt8]]?

    init(key: String, text: String) {
        self.key = key
        self.text = text
        // protobuf-c repairs invalid UTF-8 with U+FFFD, which the stored bytes do not hold.
        keyBytes = key.isEmpty || key.unicodeScalars.contains("\u{FFFD}") ? nil : Array(key.utf8)
        if text.isEmpty || text.unicodeScalars.contains("\u{FFFD}") {
            valueEncodings = nil
            return
        }
        var encodings = [Array(text.utf8)]
        if let value = Int64(text), String(value) == text {
            encodings.append([0x18] + Self.varint(UInt64(bitPattern: value)))
        }
        if let value = Double(text), !value.isNaN, String(value) == text {
            encodings.append([0x21] + withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) })
        }
        if text == "true" { encodings.append([0x10, 0x01]) }
        if text == "false" { encodings.append([0x10, 0x00]) }
        valueEncodings = encodings
    }

    /// The verdict for a span with these encoded bytes and this resource.
    func verdict(_ payload: UnsafeRawBufferPointer, resource: Resource) -> Verdict {
        let resourceMatches = resource.attributes[key]?.searchText == text
        guard let keyBytes, Self.contains(payload, keyBytes) else {
            // Without the key in its bytes, the span lacks the attribute (when keyBytes is nil, decoding decides).
            return keyBytes == nil ? .decode : (resourceMatches ? .yes : .no)
        }
        if let valueEncodings, !valueEncodings.contains(where: { Self.contains(payload, $0) }), !resourceMatches {
            return .no
        }
        return .decode
    }

    /// The verdict for all the conditions: no if any says no, yes if all say yes.
    static func verdict(_ conditions: [AttributeCondition], _ payload: UnsafeRawBufferPointer, resource: Resource) -> Verdict {
        var verdict = Verdict.yes
        for condition in conditions {
            switch condition.verdict(payload, resource: resource) {
            case .no: return .no
            case .decode: verdict = .decode
            case .yes: break
            }
        }
        return verdict
    }

    private static func varint(_ value: UInt64) -> [UInt8] {
        var value = value
        var bytes: [UInt8] = []
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
        return bytes
    }

    static func contains(_ haystack: UnsafeRawBufferPointer, _ needle: [UInt8]) -> Bool {
        guard let first = needle.first else { return true }
        guard let base = haystack.baseAddress, haystack.count >= needle.count else { return false }
        return needle.withUnsafeBytes { needle in
            let last = haystack.count - needle.count
            var position = 0
            while position <= last {
                // memchr finds candidates for the first byte; memcmp checks the rest.
                guard let found = memchr(base + position, Int32(first), last - position + 1) else { return false }
                position = base.distance(to: UnsafeRawPointer(found))
                if memcmp(base + position, needle.baseAddress!, needle.count) == 0 { return true }
                position += 1
            }
            return false
        }
    }
}
