import NIOCore

/// Reads `partial_success.rejected_spans` from an OTLP `ExportTraceServiceResponse` in protobuf.
///
/// `ExportTraceServiceResponse { ExportTracePartialSuccess partial_success = 1; }` and
/// `ExportTracePartialSuccess { int64 rejected_spans = 1; string error_message = 2; }`; see the OTLP
/// [partial success](https://opentelemetry.io/docs/specs/otlp/#partial-success-1) rules.
enum PartialSuccess {
    /// The rejected spans the response reports; 0 for an empty or unreadable body.
    static func rejectedSpans(in body: ByteBuffer) -> Int {
        var reader = body
        while reader.readableBytes > 0 {
            guard let tag = readVarint(&reader) else { return 0 }
            let field = tag >> 3
            let wireType = tag & 7
            if field == 1 && wireType == 2 {
                guard let length = readVarint(&reader), var message = reader.readSlice(length: Int(length)) else { return 0 }
                while message.readableBytes > 0 {
                    guard let innerTag = readVarint(&message) else { return 0 }
                    if innerTag >> 3 == 1 && innerTag & 7 == 0 {
                        return Int(truncatingIfNeeded: Int64(bitPattern: readVarint(&message) ?? 0))
                    }
                    guard skip(wireType: innerTag & 7, in: &message) else { return 0 }
                }
                return 0
            }
            guard skip(wireType: wireType, in: &reader) else { return 0 }
        }
        return 0
    }

    private static func readVarint(_ buffer: inout ByteBuffer) -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while shift < 64, let byte = buffer.readInteger(as: UInt8.self) {
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
        return nil
    }

    private static func skip(wireType: UInt64, in buffer: inout ByteBuffer) -> Bool {
        switch wireType {
        case 0: return readVarint(&buffer) != nil
        case 1: return buffer.readSlice(length: 8) != nil
        case 2:
            guard let length = readVarint(&buffer), length <= UInt64(buffer.readableBytes) else { return false }
            return buffer.readSlice(length: Int(length)) != nil
        case 5: return buffer.readSlice(length: 4) != nil
        default: return false
        }
    }
}
