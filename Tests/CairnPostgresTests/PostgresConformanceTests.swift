import CairnPostgres
import CairnStore
import CairnTesting
import Testing

/// The shared store conformance suite against PostgreSQL: every check, each on a database of its own on the server
/// that `CAIRN_TEST_POSTGRES` names. Without that variable every test fails, saying to run them through scripts/test.
/// One check at a time, so that the server does not compete with the rest of the tests for both cores at once.
@Suite("PostgresStore passes the store conformance suite", .serialized)
struct PostgresConformanceTests {
    @Test(arguments: StoreConformance.checks)
    func conformance(_ check: StoreConformance.Check) async throws {
        try await PostgresTestDatabase.withStore { store in
            try await check.run(store)
        }
    }
}
