@testable import CairnCollector
import CairnModel
import CairnOTLP
import CairnStore
import CairnTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("Health: /health/live and /health/ready")
struct HealthTests {
    /// The status and the failed checks' reasons of an answer, by check name.
    struct Health {
        var code: HTTPResponse.Status
        var status: String
        var reasons: [String: String]
        var names: [String]
    }

    static func health(_ client: some TestClientProtocol, _ path: String) async throws -> Health {
        let response = try await client.execute(uri: path, method: .get)
        #expect(response.headers[.contentType] == "application/json")
        let body = try #require(try JSONSerialization.jsonObject(with: Data(response.bytes)) as? [String: Any])
        let checks = try #require(body["checks"] as? [[String: Any]])
        var reasons: [String: String] = [:]
        for check in checks where check["ok"] as? Bool == false { reasons[check["name"] as? String ?? "?"] = check["reason"] as? String }
        return Health(code: response.status, status: body["status"] as? String ?? "", reasons: reasons,
                      names: checks.compactMap { $0["name"] as? String })
    }

    @Test("a healthy collector is live and ready, and says which checks it ran", arguments: StoreKind.allCases)
    func healthy(kind: StoreKind) async throws {
        try await Collector(store: try kind.make()).application().test(.router) { client in
            let live = try await Self.health(client, "/health/live")
            #expect(live.code == .ok)
            #expect(live.status == "live")
            let ready = try await Self.health(client, "/health/ready")
            #expect(ready.code == .ok)
            #expect(ready.status == "ready")
            #expect(ready.names == ["store", "commits", "queue"])
            #expect(ready.reasons.isEmpty)
        }
    }

    @Test("a saturated ingest queue is not ready, and is again once it has committed")
    func saturated() async throws {
        let store = InstrumentedStore(InMemoryStore(), holding: true)
        let collector = Collector(store: store, configuration: CollectorConfiguration(maxQueuedSpans: 10))
        try await collector.application().test(.router) { client in
            async let held = client.export(OTLPProtobuf.encodeRequest(Fixtures.realisticSpans(count: 10, seed: 50)))
            await store.waitUntilWritesBegan(1)
            let busy = try await Self.health(client, "/health/ready")
            #expect(busy.code == .serviceUnavailable)
            #expect(busy.status == "not ready")
            #expect(busy.reasons == ["queue": "the ingest queue is saturated: 10 of 10 spans"])
            #expect(try await Self.health(client, "/health/live").code == .ok)

            store.release()
            #expect(try await held.status == .ok)
            #expect(try await Self.health(client, "/health/ready").code == .ok)
        }
    }

    @Test("a store that fails is not ready until a commit succeeds again")
    func failingStore() async throws {
        let store = InstrumentedStore(InMemoryStore(), failing: 1)
        try await Collector(store: store).application().test(.router) { client in
            // Before any write, the store says it cannot write: the injected failure is still to come.
            let before = try await Self.health(client, "/health/ready")
            #expect(before.code == .serviceUnavailable)
            #expect(before.reasons == ["store": "the disk is full (injected by the test)"])

            #expect(try await client.export(OTLPProtobuf.encodeRequest(Fixtures.realisticSpans(count: 4, seed: 51))).status
                    == .serviceUnavailable)
            let failed = try await Self.health(client, "/health/ready")
            #expect(failed.code == .serviceUnavailable)
            #expect(failed.reasons == ["commits": "the last commit failed: the disk is full (injected by the test)"])

            #expect(try await client.export(OTLPProtobuf.encodeRequest(Fixtures.realisticSpans(count: 4, seed: 52))).status == .ok)
            #expect(try await Self.health(client, "/health/ready").code == .ok)
        }
    }
}
