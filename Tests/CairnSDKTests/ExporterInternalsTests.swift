import CairnOTLP
@testable import CairnSDK
import Testing

@Suite("Retry-After, gzip and response decoding")
struct ExporterInternalsTests {
    @Test("Retry-After in seconds is that many seconds")
    func seconds() {
        #expect(RetryAfter.delay("120", nowNanos: 0) == .seconds(120))
        #expect(RetryAfter.delay(" 0 ", nowNanos: 0) == .zero)
        #expect(RetryAfter.delay("-1", nowNanos: 0) == nil)
        #expect(RetryAfter.delay("soon", nowNanos: 0) == nil)
    }

    @Test("Retry-After as an HTTP date is the time until then, or zero once it has passed")
    func httpDate() {
        // RFC 9110's example date.
        #expect(RetryAfter.httpDate("Sun, 06 Nov 1994 08:49:37 GMT") == 784_111_777)
        #expect(RetryAfter.httpDate("Thu, 01 Jan 1970 00:00:00 GMT") == 0)
        #expect(RetryAfter.httpDate("Tue, 29 Feb 2000 12:00:00 GMT") == 951_825_600)
        let now: UInt64 = 784_111_770 * 1_000_000_000
        #expect(RetryAfter.delay("Sun, 06 Nov 1994 08:49:37 GMT", nowNanos: now) == .seconds(7))
        #expect(RetryAfter.delay("Sun, 06 Nov 1994 08:49:00 GMT", nowNanos: now) == .zero)
        #expect(RetryAfter.delay("Sunday, 06-Nov-94 08:49:37 GMT", nowNanos: now) == nil)
    }

    @Test("gzip output inflates back to the input")
    func gzipRoundTrip() throws {
        let input = Array(String(repeating: "cairn spans ", count: 1000).utf8)
        let compressed = try Gzip.compress(input)
        #expect(compressed.prefix(2) == [0x1F, 0x8B])
        #expect(compressed.count < input.count / 10)
        #expect(gunzip(compressed) == input)
        #expect(gunzip(try Gzip.compress([])) == [])
    }

    @Test("the google.rpc.Status message and the partial success are read from protobuf bodies")
    func responses() {
        #expect(ProtobufFields.statusMessage(OTLPProtobuf.encodeStatus(code: 3, message: "bad span")) == "bad span")
        #expect(ProtobufFields.statusMessage([0xFF]) == nil)
        let partial = ProtobufFields.partialSuccess(OTLPProtobuf.encodeResponse(rejectedSpans: 5, errorMessage: "old"))
        #expect(partial?.rejected == 5)
        #expect(partial?.message == "old")
        #expect(ProtobufFields.partialSuccess([]) == nil)
    }
}
