import CZlib

/// Inflates gzip data (request bodies, and the files the CLI reads) with zlib, never producing more than a limit: a
/// gzip bomb is stopped as soon as its output passes the limit, having allocated at most the limit and one chunk.
///
/// Implements `Content-Encoding: gzip` of [OTLP/HTTP](https://opentelemetry.io/docs/specs/otlp/#otlphttp-request)
/// ([RFC 1952](https://www.rfc-editor.org/rfc/rfc1952)); concatenated gzip members are inflated one after another.
public enum GzipInflater {
    public enum Failure: Error, Equatable {
        /// The output would exceed the limit.
        case tooLarge
        /// The input is not valid gzip; the message says how, in words for a client.
        case invalid(String)
    }

    private static let chunkSize = 64 * 1024

    /// The inflated bytes of `input`, at most `limit` of them.
    public static func inflate(_ input: UnsafeRawBufferPointer, limit: Int) throws(Failure) -> [UInt8] {
        guard let inputBase = input.baseAddress, input.count > 0 else {
            throw .invalid("the gzip data is empty")
        }
        var stream = z_stream()
        let initialized = inflateInit2_(&stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard initialized == Z_OK else { throw .invalid("zlib could not start inflating (error \(initialized))") }
        defer { inflateEnd(&stream) }

        stream.next_in = UnsafeMutablePointer(mutating: inputBase.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(input.count)
        var output: [UInt8] = []
        output.reserveCapacity(min(limit, max(input.count * 4, chunkSize)))
        let chunk = UnsafeMutablePointer<Bytef>.allocate(capacity: chunkSize)
        defer { chunk.deallocate() }

        while true {
            stream.next_out = chunk
            stream.avail_out = uInt(chunkSize)
            let status = CZlib.inflate(&stream, Z_NO_FLUSH)
            let produced = chunkSize - Int(stream.avail_out)
            if produced > limit - output.count { throw .tooLarge }
            output.append(contentsOf: UnsafeBufferPointer(start: chunk, count: produced))
            switch status {
            case Z_STREAM_END:
                guard stream.avail_in > 0 else { return output }
                // Another gzip member follows.
                guard inflateReset(&stream) == Z_OK else { throw .invalid("zlib could not inflate the next gzip member") }
            case Z_OK:
                if stream.avail_in == 0 && stream.avail_out != 0 {
                    // zlib consumed everything and produced all it could, yet the stream has not ended.
                    throw .invalid("the gzip data ends before its end-of-stream marker; give all of it")
                }
            case Z_BUF_ERROR:
                // No progress was possible: the input ended before the gzip stream did.
                throw .invalid("the gzip data ends before its end-of-stream marker; give all of it")
            case Z_DATA_ERROR:
                let detail = stream.msg.map { String(cString: $0) } ?? "corrupt data"
                throw .invalid("the data is not valid gzip (\(detail)); compress it with gzip, or give it uncompressed")
            case Z_MEM_ERROR:
                throw .invalid("zlib ran out of memory inflating the data; give it uncompressed")
            default:
                throw .invalid("the data is not valid gzip (zlib error \(status)); compress it with gzip, or give it uncompressed")
            }
        }
    }
}
