import CairnSQLite
import CairnStore
import CairnTesting
import Testing

/// The shared store conformance suite against a SQLite file in a temporary directory, one check per test.
@Suite("SQLiteStore passes the store conformance suite")
struct SQLiteConformanceTests {
    let directory: TemporaryDirectory
    let store: SQLiteStore

    init() throws {
        directory = try TemporaryDirectory()
        store = try SQLiteStore(path: directory.path("cairn.db"))
    }

    @Test func everyFieldRoundTrip() async throws { try await StoreConformance.everyFieldRoundTrip(store) }
    @Test func realisticRoundTrip() async throws { try await StoreConformance.realisticRoundTrip(store) }
    @Test func traceNotFound() async throws { try await StoreConformance.traceNotFound(store) }
    @Test func traceAcrossWrites() async throws { try await StoreConformance.traceAcrossWrites(store) }
    @Test func duplicatesReturnedTwice() async throws { try await StoreConformance.duplicatesReturnedTwice(store) }
    @Test func concurrentWrites() async throws { try await StoreConformance.concurrentWrites(store) }
    @Test func emptyWrites() async throws { try await StoreConformance.emptyWrites(store) }
    @Test func searchByService() async throws { try await StoreConformance.searchByService(store) }
    @Test func searchByOperation() async throws { try await StoreConformance.searchByOperation(store) }
    @Test func searchByAttributes() async throws { try await StoreConformance.searchByAttributes(store) }
    @Test func searchByTimeRange() async throws { try await StoreConformance.searchByTimeRange(store) }
    @Test func searchByDuration() async throws { try await StoreConformance.searchByDuration(store) }
    @Test func searchByStatus() async throws { try await StoreConformance.searchByStatus(store) }
    @Test func searchCombined() async throws { try await StoreConformance.searchCombined(store) }
    @Test func searchLimitAndOrder() async throws { try await StoreConformance.searchLimitAndOrder(store) }
    @Test func servicesAndOperations() async throws { try await StoreConformance.servicesAndOperations(store) }
    @Test func manyTraces() async throws { try await StoreConformance.manyTraces(store) }
    @Test func searchRareLongSpans() async throws { try await StoreConformance.searchRareLongSpans(store) }
    @Test func searchDurationTies() async throws { try await StoreConformance.searchDurationTies(store) }
    @Test func scanWindowBounds() async throws { try await StoreConformance.scanWindowBounds(store) }
    @Test func scanEmptyWindow() async throws { try await StoreConformance.scanEmptyWindow(store) }
    @Test func scanManyBlocks() async throws { try await StoreConformance.scanManyBlocks(store) }
    @Test func scanServices() async throws { try await StoreConformance.scanServices(store) }
    @Test func scanAttributesEventsLinks() async throws { try await StoreConformance.scanAttributesEventsLinks(store) }
    @Test func scanExtremeTimes() async throws { try await StoreConformance.scanExtremeTimes(store) }

    @Test("every check of the suite has a test above")
    func everyCheckListed() {
        #expect(StoreConformance.checks.count == 25)
    }
}
