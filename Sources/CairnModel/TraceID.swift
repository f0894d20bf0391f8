/// The 16-byte identifier of a trace.
///
/// See [W3C Trace Context, trace-id](https://www.w3.org/TR/trace-context/#trace-id) and the OTLP `Span.trace_id` field.
/// Stored as two big-endian halves so that comparison orders ids as their bytes do.
public struct TraceID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The first eight bytes, big-endian.
    public var high: UInt64
    /// The last eight bytes, big-endian.
    public var low: UInt64

    /// An id from its two halves.
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// An id from exactly 16 bytes, or nil for any other length.
    public init?<Bytes: Collection>(bytes: Bytes) where Bytes.Element == UInt8 {
        guard bytes.count == 16 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (index, byte) in bytes.enumerated() {
            if index < 8 { high = high << 8 | UInt64(byte) } else { low = low << 8 | UInt64(byte) }
        }
        self.init(high: high, low: low)
    }

    /// An id from exactly 16 bytes, or nil for any other length: the fast path for decoders.
    @inlinable
    public init?(bytes: UnsafeBufferPointer<UInt8>) {
        guard bytes.count == 16, let base = bytes.baseAddress else { return nil }
        let raw = UnsafeRawPointer(base)
        self.init(high: UInt64(bigEndian: raw.loadUnaligned(as: UInt64.self)),
                  low: UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
    }

    /// An id from 32 hexadecimal digits, in either case; nil for anything else.
    public init?(hex: some StringProtocol) {
        guard let bytes = Hex.decode(hex), let id = TraceID(bytes: bytes) else { return nil }
        self = id
    }

    /// The all-zero id, which the specifications declare invalid.
    public static let zero = TraceID(high: 0, low: 0)

    /// Whether the id is not all zero.
    public var isValid: Bool { high != 0 || low != 0 }

    /// The 16 bytes, big-endian.
    public var bytes: [UInt8] { Hex.bytes(high) + Hex.bytes(low) }

    /// 32 lowercase hexadecimal digits.
    public var hex: String { Hex.encode(bytes) }

    public var description: String { hex }

    public static func < (lhs: TraceID, rhs: TraceID) -> Bool {
        (lhs.high, lhs.low) < (rhs.high, rhs.low)
    }
}
