/// A protobuf wire-format writer that produces a message in two passes over the same code.
///
/// See [the protobuf encoding](https://protobuf.dev/programming-guides/encoding/).
/// A nested message is written as its length followed by its bytes, so its length must be known first. Rather than
/// encoding into scratch space and moving it, `encode` runs the caller's body twice: the first pass only counts bytes
/// and records the length of every nested message in the order they open; the second pass writes into an array of
/// exactly the counted size, reading the lengths back in the same order. The output is one allocation (plus the
/// list of lengths), with no per-field allocation and canonical (shortest) varints everywhere.
///
/// The body must write the same fields in both passes; it is a pure function of its captured values, so it does.
struct ProtobufWriter {
    /// Protobuf wire types.
    enum WireType: UInt64 {
        case varint = 0, fixed64 = 1, lengthDelimited = 2, fixed32 = 5
    }

    /// Whether this pass only counts bytes.
    private var measuring = true
    /// Bytes counted or written so far. Between top-level fields it is the same in both passes; inside a nested
    /// message the counting pass has not yet added the message's tag and length, so only differences compare.
    private(set) var position = 0
    /// Lengths of the nested messages, in the order they open.
    private var lengths: [Int] = []
    /// The next entry of `lengths` to read in the writing pass.
    private var nextLength = 0
    /// Where the writing pass writes.
    private var output: UnsafeMutablePointer<UInt8>?
    private var capacity = 0

    private init(expectedMessages: Int) {
        lengths.reserveCapacity(expectedMessages)
    }

    /// The bytes that `body` writes. `expectedMessages` sizes the list of nested lengths up front.
    static func encode(expectedMessages: Int = 16, _ body: (inout ProtobufWriter) -> Void) -> [UInt8] {
        var writer = ProtobufWriter(expectedMessages: expectedMessages)
        body(&writer)
        let size = writer.position
        guard size > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            writer.measuring = false
            writer.position = 0
            writer.output = buffer.baseAddress
            writer.capacity = size
            body(&writer)
            precondition(writer.position == size && writer.nextLength == writer.lengths.count,
                         "the protobuf writer's two passes disagree")
            writer.output = nil
            initialized = size
        }
    }

    // MARK: Fields

    /// A nested message, written even when empty.
    mutating func message(_ field: Int, _ body: (inout ProtobufWriter) -> Void) {
        if measuring {
            let slot = lengths.count
            lengths.append(0)
            let start = position
            body(&self)
            let length = position - start
            lengths[slot] = length
            position += Self.varintSize(Self.tag(field, .lengthDelimited)) + Self.varintSize(UInt64(length))
        } else {
            let length = lengths[nextLength]
            nextLength += 1
            writeVarint(Self.tag(field, .lengthDelimited))
            writeVarint(UInt64(length))
            let start = position
            body(&self)
            precondition(position - start == length, "the protobuf writer's two passes disagree")
        }
    }

    /// A string field, omitted when empty.
    mutating func string(_ field: Int, _ value: String) {
        if !value.isEmpty { alwaysString(field, value) }
    }

    /// A string field, written even when empty (a `oneof` case).
    mutating func alwaysString(_ field: Int, _ value: String) {
        if measuring {
            let count = value.utf8.count
            position += Self.varintSize(Self.tag(field, .lengthDelimited)) + Self.varintSize(UInt64(count)) + count
            return
        }
        let written: Void? = value.utf8.withContiguousStorageIfAvailable { utf8 in
            alwaysBytes(field, UnsafeRawBufferPointer(utf8))
        }
        if written == nil {
            // A bridged or otherwise non-contiguous string, which native Swift strings never are.
            alwaysBytes(field, Array(value.utf8))
        }
    }

    /// A bytes field, omitted when empty.
    mutating func bytes(_ field: Int, _ value: [UInt8]) {
        if !value.isEmpty { alwaysBytes(field, value) }
    }

    /// A bytes field, written even when empty (a `oneof` case).
    mutating func alwaysBytes(_ field: Int, _ value: [UInt8]) {
        value.withUnsafeBytes { alwaysBytes(field, $0) }
    }

    mutating func alwaysBytes(_ field: Int, _ value: UnsafeRawBufferPointer) {
        writeVarint(Self.tag(field, .lengthDelimited))
        writeVarint(UInt64(value.count))
        writeRaw(value)
    }

    /// A bytes field holding 8 or 16 big-endian bytes (`SpanID`, `TraceID`), with no array in between.
    mutating func bigEndianBytes(_ field: Int, _ high: UInt64, _ low: UInt64? = nil) {
        writeVarint(Self.tag(field, .lengthDelimited))
        writeVarint(low == nil ? 8 : 16)
        writeBigEndian(high)
        if let low { writeBigEndian(low) }
    }

    /// A `uint32`, `uint64` or non-negative `int64` field, omitted when zero.
    mutating func varint(_ field: Int, _ value: UInt64) {
        if value != 0 { alwaysVarint(field, value) }
    }

    /// An `int32`, `int64` or enum field, omitted when zero; negative values take ten bytes, as protobuf requires.
    mutating func signedVarint(_ field: Int, _ value: Int64) {
        if value != 0 { alwaysVarint(field, UInt64(bitPattern: value)) }
    }

    /// A varint field, written even when zero (a `oneof` case).
    mutating func alwaysVarint(_ field: Int, _ value: UInt64) {
        writeVarint(Self.tag(field, .varint))
        writeVarint(value)
    }

    /// A `fixed32` field, omitted when zero.
    mutating func fixed32(_ field: Int, _ value: UInt32) {
        guard value != 0 else { return }
        writeVarint(Self.tag(field, .fixed32))
        writeLittleEndian(UInt64(value), byteCount: 4)
    }

    /// A `fixed64` field, omitted when zero.
    mutating func fixed64(_ field: Int, _ value: UInt64) {
        if value != 0 { alwaysFixed64(field, value) }
    }

    /// A `fixed64` field, written even when zero.
    mutating func alwaysFixed64(_ field: Int, _ value: UInt64) {
        writeVarint(Self.tag(field, .fixed64))
        writeLittleEndian(value, byteCount: 8)
    }

    /// A `double` field, written even when zero (a `oneof` case); the bit pattern is kept, NaN payloads included.
    mutating func alwaysDouble(_ field: Int, _ value: Double) {
        alwaysFixed64(field, value.bitPattern)
    }

    // MARK: Wire primitives

    @inline(__always)
    static func tag(_ field: Int, _ type: WireType) -> UInt64 {
        UInt64(field) << 3 | type.rawValue
    }

    @inline(__always)
    static func varintSize(_ value: UInt64) -> Int {
        // One byte per started group of 7 significant bits; zero takes one byte.
        let bits = 64 - (value | 1).leadingZeroBitCount
        return (bits + 6) / 7
    }

    @inline(__always)
    private mutating func writeVarint(_ value: UInt64) {
        if measuring {
            position += Self.varintSize(value)
            return
        }
        let size = Self.varintSize(value)
        let out = reserve(size)
        var value = value
        for index in 0..<size - 1 {
            out[index] = UInt8(truncatingIfNeeded: value) | 0x80
            value >>= 7
        }
        out[size - 1] = UInt8(truncatingIfNeeded: value)
    }

    @inline(__always)
    private mutating func writeLittleEndian(_ value: UInt64, byteCount: Int) {
        if measuring {
            position += byteCount
            return
        }
        let out = reserve(byteCount)
        for index in 0..<byteCount {
            out[index] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(index)))
        }
    }

    @inline(__always)
    private mutating func writeBigEndian(_ value: UInt64) {
        if measuring {
            position += 8
            return
        }
        let out = reserve(8)
        for index in 0..<8 {
            out[index] = UInt8(truncatingIfNeeded: value >> (56 - 8 * UInt64(index)))
        }
    }

    private mutating func writeRaw(_ bytes: UnsafeRawBufferPointer) {
        if measuring {
            position += bytes.count
            return
        }
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        let out = reserve(bytes.count)
        UnsafeMutableRawPointer(out).copyMemory(from: base, byteCount: bytes.count)
    }

    /// The next `count` bytes of the output, which the caller fills.
    @inline(__always)
    private mutating func reserve(_ count: Int) -> UnsafeMutablePointer<UInt8> {
        precondition(position + count <= capacity, "the protobuf writer's two passes disagree")
        let out = output.unsafelyUnwrapped + position
        position += count
        return out
    }
}
