/// The 8-byte identifier of a span within a trace.
///
/// See [W3C Trace Context, parent-id](https://www.w3.org/TR/trace-context/#parent-id) and the OTLP `Span.span_id` field.
public struct SpanID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The eight bytes, big-endian.
    public var value: UInt64

    /// An id from its big-endian value.
    public init(value: UInt64) {
        self.value = value
    }

    /// An id from exactly 8 bytes, or nil for any other length.
    public init?<Bytes: Collection>(bytes: Bytes) where Bytes.Element == UInt8 {
        guard bytes.count == 8 else { return nil }
        self.init(value: bytes.reduce(0) { $0 << 8 | UInt64($1) })
    }

    /// An id from exactly 8 bytes, or nil for any other length: the fast path for decoders.
    @inlinable
    public init?(bytes: UnsafeBufferPointer<UInt8>) {
        guard bytes.count == 8, let base = bytes.baseAddress else { return nil }
        self.init(value: UInt64(bigEndian: UnsafeRawPointer(base).loadUnaligned(as: UInt64.self)))
    }

    /// An id from 16 hexadecimal digits, in either case; nil for anything else.
    public init?(hex: some StringProtocol) {
        guard let bytes = Hex.decode(hex), let id = SpanID(bytes: bytes) else { return nil }
        self = id
    }

    /// The all-zero id, which the specifications declare invalid.
    public static let zero = SpanID(value: 0)

    /// Whether the id is not all zero.
    public var isValid: Bool { value != 0 }

    /// The 8 bytes, big-endian.
    public var bytes: [UInt8] { Hex.bytes(value) }

    /// 16 lowercase hexadecimal digits.
    public var hex: String { Hex.encode(bytes) }

    public var description: String { hex }

    public static func < (lhs: SpanID, rhs: SpanID) -> Bool { lhs.value < rhs.value }
}
