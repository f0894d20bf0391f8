@testable import CairnCollector
import Testing

@Suite("Inflating gzip bodies")
struct GzipInflaterTests {
    private func inflate(_ bytes: [UInt8], limit: Int) throws(GzipInflater.Failure) -> [UInt8] {
        try bytes.withUnsafeBytes { raw in
            Result { () throws(GzipInflater.Failure) in try GzipInflater.inflate(raw, limit: limit) }
        }.get()
    }

    @Test("inflates what deflate compressed, up to exactly the limit")
    func roundTrip() throws {
        let text = Array(String(repeating: "the quick brown fox jumps over the lazy dog ", count: 5_000).utf8)
        #expect(try inflate(Gzip.compress(text), limit: text.count) == text)
        #expect(throws: GzipInflater.Failure.tooLarge) { try inflate(Gzip.compress(text), limit: text.count - 1) }
    }

    @Test("inflates concatenated gzip members")
    func members() throws {
        let one = Array("first member, ".utf8)
        let two = Array("second member".utf8)
        #expect(try inflate(Gzip.compress(one) + Gzip.compress(two), limit: 1000) == one + two)
    }

    @Test("stops a gzip bomb at the limit")
    func bomb() {
        #expect(throws: GzipInflater.Failure.tooLarge) { try inflate(Gzip.compressedZeros(count: 64 << 20), limit: 1 << 20) }
    }

    @Test("rejects empty, truncated, corrupt and trailing-garbage input with a message")
    func invalid() {
        let good = Gzip.compress(Array(String(repeating: "abc", count: 10_000).utf8))
        var corrupt = good
        corrupt[corrupt.count / 2] ^= 0xFF
        corrupt[corrupt.count / 2 + 1] ^= 0xFF
        for bytes in [[], Array(good.dropLast(good.count / 3)), Array(good.prefix(5)), corrupt, good + [1, 2, 3], Array("plain".utf8)] {
            do {
                _ = try inflate(bytes, limit: 1 << 20)
                Issue.record("inflated invalid input of \(bytes.count) bytes")
            } catch .invalid(let message) {
                #expect(!message.isEmpty)
            } catch {
                Issue.record("expected .invalid, got \(error)")
            }
        }
    }
}
