import CZlib

/// Compresses export bodies as gzip ([RFC 1952](https://www.rfc-editor.org/rfc/rfc1952)) with zlib, for
/// `Content-Encoding: gzip` of [OTLP/HTTP](https://opentelemetry.io/docs/specs/otlp/#otlphttp-request).
enum Gzip {
    /// `input` as one gzip member.
    static func compress(_ input: [UInt8]) throws(OTLPExportError) -> [UInt8] {
        var stream = z_stream()
        // windowBits 15 + 16: a gzip header and trailer instead of zlib's.
        let initialized = deflateInit2_(
            &stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
            Int32(MemoryLayout<z_stream>.size))
        guard initialized == Z_OK else {
            throw OTLPExportError(
                .compressionFailed,
                "zlib could not start compressing (error \(initialized)); set OTEL_EXPORTER_OTLP_COMPRESSION=none.")
        }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(input.count))) + 32
        var output = [UInt8](repeating: 0, count: bound)
        var input = input
        let status = input.withUnsafeMutableBufferPointer { inputBuffer in
            output.withUnsafeMutableBufferPointer { outputBuffer in
                stream.next_in = inputBuffer.baseAddress
                stream.avail_in = uInt(inputBuffer.count)
                stream.next_out = outputBuffer.baseAddress
                stream.avail_out = uInt(outputBuffer.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else {
            throw OTLPExportError(
                .compressionFailed,
                "zlib could not compress the export (error \(status)); set OTEL_EXPORTER_OTLP_COMPRESSION=none.")
        }
        output.removeLast(bound - Int(stream.total_out))
        return output
    }
}
