import CZlib

/// gzip compression for test bodies, with zlib's deflate in a streaming loop.
enum Gzip {
    /// The bytes compressed as one gzip member.
    static func compress(_ bytes: [UInt8]) -> [UInt8] {
        let deflater = Deflater()
        var output: [UInt8] = []
        bytes.withUnsafeBytes { deflater.deflate($0, finish: true, into: &output) }
        return output
    }

    /// `count` zero bytes compressed, generated a mebibyte at a time so that the zeros never exist in memory at
    /// once: a gzip bomb (1 GiB compresses to about 1 MiB).
    static func compressedZeros(count: Int) -> [UInt8] {
        let deflater = Deflater()
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        var output: [UInt8] = []
        var remaining = count
        zeros.withUnsafeBytes { raw in
            while remaining > 0 {
                let length = min(remaining, raw.count)
                remaining -= length
                deflater.deflate(UnsafeRawBufferPointer(rebasing: raw[..<length]), finish: remaining == 0, into: &output)
            }
        }
        return output
    }
}

/// One zlib deflate stream producing gzip.
private final class Deflater {
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    private let chunkSize = 64 * 1024
    private let chunk: UnsafeMutablePointer<Bytef>

    init() {
        stream.initialize(to: z_stream())
        chunk = UnsafeMutablePointer<Bytef>.allocate(capacity: chunkSize)
        let status = deflateInit2_(
            stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
            Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "deflateInit2_ failed: \(status)")
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
        chunk.deallocate()
    }

    /// Deflates all of `input`, appending what deflate produces to `output`; `finish` ends the gzip member.
    func deflate(_ input: UnsafeRawBufferPointer, finish: Bool, into output: inout [UInt8]) {
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        repeat {
            stream.pointee.next_out = chunk
            stream.pointee.avail_out = uInt(chunkSize)
            let result = CZlib.deflate(stream, finish ? Z_FINISH : Z_NO_FLUSH)
            precondition(result == Z_OK || result == Z_STREAM_END || result == Z_BUF_ERROR, "deflate failed: \(result)")
            output.append(contentsOf: UnsafeBufferPointer(start: chunk, count: chunkSize - Int(stream.pointee.avail_out)))
        } while stream.pointee.avail_out == 0
    }
}
