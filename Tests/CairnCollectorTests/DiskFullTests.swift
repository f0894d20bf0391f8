@testable import CairnCollector
import CairnModel
import CairnOTLP
@testable import CairnSQLite
import CairnStore
import CairnTesting
import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("A full disk: 503, an intact store, recovery once space returns")
struct DiskFullTests {
    @Test("when the store cannot grow, exports get 503 with Retry-After, nothing answered 200 is lost, and ingest resumes once it can")
    func diskFull() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-full-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent("full.db").path
        // The schema takes a few dozen pages; 120 pages (480 KiB) fill after a few requests.
        let store = try SQLiteStore(path: path, configuration: .init(maximumPageCount: 120))
        try await Collector(store: store).application().test(.router) { client in
            var accepted: [Span] = []
            var refusal: TestResponse?
            for round in 0..<200 where refusal == nil {
                let spans = Fixtures.realisticSpans(count: 50, seed: UInt64(1_000 + round))
                let response = try await client.export(OTLPProtobuf.encodeRequest(spans))
                if response.status == .ok { accepted += spans } else { refusal = response }
            }
            let full = try #require(refusal, "the store never filled")
            #expect(full.status == .serviceUnavailable)
            #expect(full.headers[.retryAfter] == "1")
            #expect(try WireReader.statusAnswer(protobuf: full.bytes).message.contains("full"))
            #expect(!accepted.isEmpty)
            let ready = try await client.execute(uri: "/health/ready", method: .get)
            #expect(ready.status == .serviceUnavailable)
            #expect(ready.text.contains("full"))

            // Every span answered 200 is there, and the file checks whole.
            #expect(try await storedSpans(of: accepted, in: store) == byID(accepted))
            #expect(try SQLiteStore.verify(path: path).spanCount == accepted.count)

            // Space returns: the next export is stored and the collector is ready again.
            try await store.pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA max_page_count = 1000000") }
            let later = Fixtures.realisticSpans(count: 50, seed: 99)
            #expect(try await client.export(OTLPProtobuf.encodeRequest(later)).status == .ok)
            #expect(try await storedSpans(of: later, in: store) == byID(later))
            #expect(try await client.execute(uri: "/health/ready", method: .get).status == .ok)
        }
    }
}
