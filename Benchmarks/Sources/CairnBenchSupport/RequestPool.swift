import CairnModel
import CairnOTLP
import CairnTesting

/// A pool of pre-encoded OTLP `ExportTraceServiceRequest` bodies whose trace ids are rewritten for every request.
///
/// Real traffic never repeats a trace id, and a store's trace-id index is much cheaper to maintain when the same
/// keys arrive again and again, so replaying identical bodies would flatter the store. The pool encodes each
/// template once with `OTLPProtobuf.encodeRequest`, records the byte offsets of every occurrence of every trace id
/// in it (span trace ids, and links that point into the same request's traces), and `body(number:)` copies a
/// template and overwrites those bytes with ids derived from the request number. Spans of one trace keep sharing
/// one id, so parent and child relationships inside a request stay intact.
public struct RequestPool: Sendable {
    /// One encoded request and where its trace ids lie.
    struct Template: Sendable {
        var body: [UInt8]
        /// For each distinct trace id of the request, the offsets of all its occurrences in `body`.
        var traceOffsets: [[Int]]
        var spanCount: Int
    }

    private let templates: [Template]
    private let salt: UInt64

    /// The number of spans in each request.
    public let spansPerRequest: Int

    /// The number of distinct templates.
    public var count: Int { templates.count }

    /// The mean size of a request body in bytes.
    public var meanBodyBytes: Int { templates.reduce(0) { $0 + $1.body.count } / max(templates.count, 1) }

    /// Builds `templates` requests of `spansPerRequest` realistic spans each (`Fixtures.realisticSpans`).
    ///
    /// - Parameter salt: mixed into every generated trace id, so that runs with different salts against the same
    ///   store write different ids.
    public init(templates: Int = 64, spansPerRequest: Int = 512, salt: UInt64 = 0) throws(RequestPoolError) {
        precondition(templates > 0 && spansPerRequest > 0)
        var built: [Template] = []
        built.reserveCapacity(templates)
        for index in 0..<templates {
            let spans = Fixtures.realisticSpans(count: spansPerRequest, seed: UInt64(index) &+ 1)
            built.append(try Self.template(for: spans))
        }
        self.templates = built
        self.salt = salt
        self.spansPerRequest = spansPerRequest
    }

    /// The template that request `number` is made from.
    public func templateBody(_ index: Int) -> [UInt8] { templates[index % templates.count].body }

    /// The body of request `number`: a copy of template `number % count` with fresh trace ids.
    ///
    /// Distinct numbers give distinct ids (up to the 128-bit mixing being collision free in practice).
    public func body(number: UInt64) -> [UInt8] {
        let template = templates[Int(number % UInt64(templates.count))]
        var body = template.body
        body.withUnsafeMutableBytes { raw in
            for (traceIndex, offsets) in template.traceOffsets.enumerated() {
                let id = Self.traceID(request: number, trace: traceIndex, salt: salt)
                for offset in offsets {
                    raw.storeBytes(of: id.high.bigEndian, toByteOffset: offset, as: UInt64.self)
                    raw.storeBytes(of: id.low.bigEndian, toByteOffset: offset + 8, as: UInt64.self)
                }
            }
        }
        return body
    }

    /// A pseudo-random, never-zero trace id for one trace of one request (splitmix64 over the inputs).
    static func traceID(request: UInt64, trace: Int, salt: UInt64) -> TraceID {
        let seed = (request &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(trace) &* 0xD1B5_4A32_D192_ED03) ^ salt
        let high = splitMix(seed)
        let low = splitMix(seed ^ 0x94D0_49BB_1331_11EB)
        return TraceID(high: high, low: low == 0 ? 1 : low)
    }

    private static func splitMix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Encodes the spans and finds every occurrence of each of their trace ids in the encoded bytes.
    static func template(for spans: [Span]) throws(RequestPoolError) -> Template {
        let body = OTLPProtobuf.encodeRequest(spans)
        var indexOf: [TraceID: Int] = [:]
        var spansPerTrace: [Int] = []
        for span in spans {
            if let index = indexOf[span.traceID] {
                spansPerTrace[index] += 1
            } else {
                indexOf[span.traceID] = spansPerTrace.count
                spansPerTrace.append(1)
            }
        }
        // One pass over the body: a cheap test on the first eight bytes, then the whole id.
        let highs = Set(indexOf.keys.map(\.high))
        var offsets = [[Int]](repeating: [], count: spansPerTrace.count)
        body.withUnsafeBytes { raw in
            var position = 0
            while position + 16 <= raw.count {
                let high = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: position, as: UInt64.self))
                if highs.contains(high) {
                    let low = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: position + 8, as: UInt64.self))
                    if let index = indexOf[TraceID(high: high, low: low)] {
                        offsets[index].append(position)
                        position += 16
                        continue
                    }
                }
                position += 1
            }
        }
        for (index, found) in offsets.enumerated() where found.count < spansPerTrace[index] {
            throw RequestPoolError(
                message: "found \(found.count) copies of a trace id carried by \(spansPerTrace[index]) spans in the encoded request")
        }
        return Template(body: body, traceOffsets: offsets, spanCount: spans.count)
    }
}

/// The pool could not locate the trace ids in an encoded request.
public struct RequestPoolError: Error, CustomStringConvertible {
    /// What went wrong.
    public var message: String
    public var description: String { message }
}
