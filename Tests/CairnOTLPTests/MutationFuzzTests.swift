import CairnModel
import CairnOTLP
import CairnTesting
import Testing

/// A seeded mutation fuzzer over real payloads: whatever the bytes, the decoders answer with a batch or an error,
/// never a crash or a hang, and every span they keep can be read back.
@Suite("Decoders under mutated input")
struct MutationFuzzTests {
    /// SplitMix64: small, seeded, reproducible.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func mutate(_ input: [UInt8], _ random: inout Generator) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            guard !bytes.isEmpty else { break }
            let at = Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<7, using: &random) {
            case 0: bytes[at] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &random)
            case 1: bytes[at] = UInt8.random(in: 0...255, using: &random)
            case 2: bytes.remove(at: at)
            case 3: bytes.insert(UInt8.random(in: 0...255, using: &random), at: at)
            case 4: bytes.removeSubrange(at...)
            case 5: bytes[at] = [0x00, 0x7F, 0x80, 0xFF, 0x22, 0x5C, 0x7B, 0x5D][Int.random(in: 0..<8, using: &random)]
            default:
                // Splice a chunk of the input somewhere else, as length fields and brackets then disagree.
                let from = Int.random(in: 0..<input.count, using: &random)
                let chunk = input[from..<min(input.count, from + Int.random(in: 1...64, using: &random))]
                bytes.insert(contentsOf: chunk, at: at)
            }
        }
        return bytes
    }

    /// Everything a kept span carries must read back; the store relies on it.
    static func checkReadable(_ decoded: DecodedRequest) {
        #expect(throws: Never.self) { _ = try decoded.batch.spans() }
    }

    /// Decodes 20,000 mutants of the seeds; returns how many decoded, each of which must read back.
    static func fuzz(_ seeds: [[UInt8]], state: UInt64, decode: ([UInt8]) throws -> DecodedRequest) -> Int {
        var random = Generator(state: state)
        var kept = 0
        for index in 0..<20_000 {
            if let decoded = try? decode(mutate(seeds[index % seeds.count], &random)) {
                kept += 1
                checkReadable(decoded)
            }
        }
        return kept
    }

    @Test("protobuf: 20,000 mutations of real requests")
    func protobuf() {
        let seeds = [
            OTLPProtobuf.encodeRequest(Fixtures.everyFieldSpans()),
            OTLPProtobuf.encodeRequest(Fixtures.realisticSpans(count: 24, seed: 1)),
        ]
        let kept = Self.fuzz(seeds, state: 0xCA1B) { try OTLPProtobuf.decodeRequest($0) }
        // Most single-byte changes land inside strings and values, so many mutants stay decodable.
        #expect(kept > 1_000 && kept < 20_000)
    }

    @Test("JSON: 20,000 mutations of real requests")
    func json() {
        let seeds = [
            OTLPJSON.encodeRequest(Fixtures.everyFieldSpans()),
            OTLPJSON.encodeRequest(Fixtures.realisticSpans(count: 12, seed: 2)),
        ]
        let kept = Self.fuzz(seeds, state: 0x0715) { try OTLPJSON.decodeRequest($0) }
        #expect(kept > 500 && kept < 20_000)
    }
}
