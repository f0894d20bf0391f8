/// Writes JSON text (RFC 8259) into a byte array, keeping track of where commas go; the one JSON writer of every
/// Cairn encoder, so that all escape strings and write numbers the same way.
///
/// Values are written where a value may go: at the top, after a `key`, or as an array element. Output is
/// deterministic: the same calls always give the same bytes.
public struct JSONWriter: Sendable {
    /// The text written so far, as UTF-8. Encoders may append to it directly when they write a value themselves.
    public var bytes: [UInt8] = []
    /// Whether the object or array being written has no member yet.
    private var first = true

    /// A writer whose output starts with room for `capacity` bytes.
    public init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    /// The text written so far.
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    // MARK: Structure

    /// An object; `body` writes its members with `key` and a value each.
    public mutating func object(_ body: (inout JSONWriter) -> Void) {
        bytes.append(UInt8(ascii: "{"))
        let outer = first
        first = true
        body(&self)
        first = outer
        bytes.append(UInt8(ascii: "}"))
    }

    /// An array; `element` writes each element's value.
    public mutating func array<Elements: Sequence>(
        _ elements: Elements, _ element: (inout JSONWriter, Elements.Element) -> Void
    ) {
        bytes.append(UInt8(ascii: "["))
        var firstElement = true
        for item in elements {
            if !firstElement { bytes.append(UInt8(ascii: ",")) }
            firstElement = false
            element(&self, item)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// A member's key and colon; the caller writes the value.
    public mutating func key(_ name: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        bytes.append(contentsOf: "\":".utf8)
    }

    /// A member's key, escaped, and colon; the caller writes the value.
    public mutating func key(_ name: String) {
        separate()
        quoted(name)
        bytes.append(UInt8(ascii: ":"))
    }

    private mutating func separate() {
        if !first { bytes.append(UInt8(ascii: ",")) }
        first = false
    }

    // MARK: Members

    /// A string member.
    public mutating func member(_ name: StaticString, _ value: String) {
        key(name)
        quoted(value)
    }

    /// An integer member.
    public mutating func member(_ name: StaticString, _ value: Int) {
        key(name)
        decimal(Int64(value))
    }

    /// An unsigned integer member.
    public mutating func member(_ name: StaticString, _ value: UInt64) {
        key(name)
        decimal(value)
    }

    /// A number member.
    public mutating func member(_ name: StaticString, _ value: Double) {
        key(name)
        double(value)
    }

    /// A boolean member.
    public mutating func member(_ name: StaticString, _ value: Bool) {
        key(name)
        bool(value)
    }

    /// A string member, or `null` when the value is nil.
    public mutating func member(_ name: StaticString, _ value: String?) {
        key(name)
        if let value { quoted(value) } else { null() }
    }

    // MARK: Values

    static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// `true` or `false`.
    public mutating func bool(_ value: Bool) {
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    /// `null`.
    public mutating func null() {
        bytes.append(contentsOf: "null".utf8)
    }

    /// Sixteen lowercase hex digits, not quoted.
    public mutating func hex(_ value: UInt64) {
        for shift in stride(from: 60, through: 0, by: -4) {
            bytes.append(Self.hexDigits[Int(value >> UInt64(shift) & 0xF)])
        }
    }

    /// A signed integer.
    public mutating func decimal(_ value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        decimal(value.magnitude)
    }

    /// An unsigned integer.
    public mutating func decimal(_ value: UInt64) {
        var digits = 1
        var rest = value / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        let end = bytes.count + digits
        bytes.append(contentsOf: repeatElement(0, count: digits))
        var value = value
        for index in stride(from: end - 1, through: end - digits, by: -1) {
            bytes[index] = UInt8(ascii: "0") + UInt8(value % 10)
            value /= 10
        }
    }

    /// A number with the shortest digits that read back to the same value; the values JSON cannot write as numbers
    /// as the strings `"NaN"`, `"Infinity"` and `"-Infinity"` (as proto3 JSON writes them).
    public mutating func double(_ value: Double) {
        if value.isNaN {
            quoted("NaN")
        } else if value.isInfinite {
            quoted(value < 0 ? "-Infinity" : "Infinity")
        } else {
            // Swift's description is the shortest round-tripping form and valid JSON: `1.5`, `1e-07`, `-0.0`.
            bytes.append(contentsOf: value.description.utf8)
        }
    }

    /// A string with the escapes RFC 8259 requires: quote, backslash and the control characters.
    public mutating func quoted(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\")); bytes.append(byte)
            case 0x0A: bytes.append(contentsOf: "\\n".utf8)
            case 0x0D: bytes.append(contentsOf: "\\r".utf8)
            case 0x09: bytes.append(contentsOf: "\\t".utf8)
            case 0x08: bytes.append(contentsOf: "\\b".utf8)
            case 0x0C: bytes.append(contentsOf: "\\f".utf8)
            case 0..<0x20:
                bytes.append(contentsOf: "\\u00".utf8)
                bytes.append(Self.hexDigits[Int(byte >> 4)])
                bytes.append(Self.hexDigits[Int(byte & 0xF)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
