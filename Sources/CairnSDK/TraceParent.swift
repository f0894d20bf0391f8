public import CairnModel

/// The W3C `traceparent` header: version, trace id, parent id and trace flags.
///
/// See [W3C Trace Context, traceparent](https://www.w3.org/TR/trace-context/#traceparent-header). Parsing is strict:
/// lowercase hexadecimal only, neither id all zeros, version `ff` rejected, version `00` exactly 55 characters, and a
/// higher version parsed by the rules for
/// [future versions](https://www.w3.org/TR/trace-context/#versioning-of-traceparent) (at least 55 characters, the
/// first four fields as for `00`, then the end or a `-`).
public struct TraceParent: Hashable, Sendable {
    /// The trace id.
    public var traceID: TraceID
    /// The caller's span id (`parent-id`).
    public var parentID: SpanID
    /// The trace flags; only the sampled bit is kept.
    public var traceFlags: TraceFlags

    /// A traceparent from its parts.
    public init(traceID: TraceID, parentID: SpanID, traceFlags: TraceFlags) {
        self.traceID = traceID
        self.parentID = parentID
        self.traceFlags = traceFlags
    }

    /// Parses a `traceparent` header value, ignoring surrounding spaces and tabs; nil if it is invalid.
    ///
    /// Only the sampled bit of the flags is kept: the other bits are not defined at level 1.
    public init?(header: String) {
        var header = header
        guard let parsed = header.withUTF8({ Self.parse($0) }) else { return nil }
        self = parsed
    }

    private static func parse(_ raw: UnsafeBufferPointer<UInt8>) -> TraceParent? {
        var start = 0
        var end = raw.count
        while start < end, raw[start].isOWS { start += 1 }
        while end > start, raw[end - 1].isOWS { end -= 1 }
        let bytes = UnsafeBufferPointer(rebasing: raw[start..<end])
        guard bytes.count >= 55 else { return nil }
        guard let version = hexByte(bytes, at: 0), version != 0xFF else { return nil }
        if version == 0 {
            guard bytes.count == 55 else { return nil }
        } else if bytes.count > 55 {
            guard bytes[55] == UInt8(ascii: "-") else { return nil }
        }
        guard bytes[2] == UInt8(ascii: "-"), bytes[35] == UInt8(ascii: "-"), bytes[52] == UInt8(ascii: "-"),
            let high = hex64(bytes, at: 3), let low = hex64(bytes, at: 19), let parent = hex64(bytes, at: 36),
            let flags = hexByte(bytes, at: 53)
        else { return nil }
        let traceID = TraceID(high: high, low: low)
        let parentID = SpanID(value: parent)
        guard traceID.isValid, parentID.isValid else { return nil }
        return TraceParent(traceID: traceID, parentID: parentID, traceFlags: TraceFlags(rawValue: flags & 0x01))
    }

    /// The header value for version `00`: 55 characters, flags with only the sampled bit.
    public var header: String {
        String(unsafeUninitializedCapacity: 55) { buffer in
            buffer[0] = UInt8(ascii: "0")
            buffer[1] = UInt8(ascii: "0")
            buffer[2] = UInt8(ascii: "-")
            Self.writeHex(traceID.high, into: buffer, at: 3)
            Self.writeHex(traceID.low, into: buffer, at: 19)
            buffer[35] = UInt8(ascii: "-")
            Self.writeHex(parentID.value, into: buffer, at: 36)
            buffer[52] = UInt8(ascii: "-")
            buffer[53] = UInt8(ascii: "0")
            buffer[54] = traceFlags.contains(.sampled) ? UInt8(ascii: "1") : UInt8(ascii: "0")
            return 55
        }
    }

    private static let digits: StaticString = "0123456789abcdef"

    private static func writeHex(_ value: UInt64, into buffer: UnsafeMutableBufferPointer<UInt8>, at offset: Int) {
        let table = digits.utf8Start
        for index in 0..<16 {
            buffer[offset + index] = table[Int((value >> (60 - 4 * UInt64(index))) & 0xF)]
        }
    }

    @inline(__always)
    private static func nibble(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte &- UInt8(ascii: "a") &+ 10
        default: nil
        }
    }

    private static func hexByte(_ bytes: UnsafeBufferPointer<UInt8>, at offset: Int) -> UInt8? {
        guard let high = nibble(bytes[offset]), let low = nibble(bytes[offset + 1]) else { return nil }
        return high << 4 | low
    }

    private static func hex64(_ bytes: UnsafeBufferPointer<UInt8>, at offset: Int) -> UInt64? {
        var value: UInt64 = 0
        for index in offset..<(offset + 16) {
            guard let digit = nibble(bytes[index]) else { return nil }
            value = value << 4 | UInt64(digit)
        }
        return value
    }
}
