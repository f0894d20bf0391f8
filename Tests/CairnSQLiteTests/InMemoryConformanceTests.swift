import CairnStore
import CairnTesting
import Testing

/// The reference store passes the suite that the other stores are held to.
@Suite("InMemoryStore passes the store conformance suite")
struct InMemoryConformanceTests {
    @Test(arguments: StoreConformance.checks)
    func conformance(_ check: StoreConformance.Check) async throws {
        try await check.run(InMemoryStore())
    }
}
