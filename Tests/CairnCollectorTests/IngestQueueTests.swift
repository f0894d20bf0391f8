@testable import CairnCollector
import CairnModel
import CairnOTLP
import CairnStore
import CairnTesting
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import ServiceLifecycle
import Testing

@Suite("The ingest queue: bounds, group commit, shutdown")
struct IngestQueueTests {

    @Test("a full queue is answered 429 with Retry-After, and accepts again once it has committed")
    func full() async throws {
        let store = InstrumentedStore(InMemoryStore(), holding: true)
        let configuration = CollectorConfiguration(maxQueuedSpans: 10, retryAfterSeconds: 2)
        let collector = Collector(store: store, configuration: configuration)
        let first = Fixtures.realisticSpans(count: 8, seed: 20)
        let refused = Fixtures.realisticSpans(count: 8, seed: 21)
        let later = Fixtures.realisticSpans(count: 8, seed: 22)
        try await collector.application().test(.router) { client in
            async let firstResponse = client.export(OTLPProtobuf.encodeRequest(first))
            await store.waitUntilWritesBegan(1)

            // 8 queued: 8 more would exceed 10.
            let full = try await client.export(OTLPProtobuf.encodeRequest(refused))
            #expect(full.status == .tooManyRequests)
            #expect(full.headers[.retryAfter] == "2")
            #expect(try WireReader.statusAnswer(protobuf: full.bytes).code == 8)

            store.release()
            #expect(try await firstResponse.status == .ok)
            #expect(try await client.export(OTLPProtobuf.encodeRequest(later)).status == .ok)
        }
        #expect(try await storedSpans(of: first + later, in: store) == byID(first + later))
        #expect(try await storedSpans(of: refused, in: store).isEmpty)
    }

    @Test("a queue with no room refuses before reading the body")
    func refusesBeforeReading() async throws {
        let store = InstrumentedStore(InMemoryStore(), holding: true)
        let collector = Collector(store: store, configuration: CollectorConfiguration(maxQueuedSpans: 8))
        try await collector.application().test(.router) { client in
            async let first = client.export(OTLPProtobuf.encodeRequest(Fixtures.realisticSpans(count: 8, seed: 23)))
            await store.waitUntilWritesBegan(1)
            #expect(!collector.queue.hasRoom())
            // Not even a valid body: the queue is checked first.
            let response = try await client.export([0xFF, 0xFF])
            #expect(response.status == .tooManyRequests)
            #expect(response.headers[.retryAfter] == "1")
            store.release()
            #expect(try await first.status == .ok)
        }
    }

    @Test("bodies being read reserve room: beyond the byte bound a request is refused unread, and the room returns with the reservation")
    func reservations() async throws {
        let store = InstrumentedStore(InMemoryStore(), holding: true)
        let queue = IngestQueue(writer: store, configuration: CollectorConfiguration(maxQueuedBytes: 1_000))
        // An empty queue takes one body of any size, so that no request is refused forever.
        #expect(queue.reserve(bytes: 5_000))
        #expect(!queue.reserve(bytes: 1))
        queue.release(bytes: 5_000)
        #expect(queue.reserve(bytes: 600))
        #expect(queue.reserve(bytes: 400))
        #expect(!queue.reserve(bytes: 1))
        #expect(queue.status.reservedBytes == 1_000)
        // Reserved room is not room for a batch either.
        let batch = SpanBatch(spans: Fixtures.realisticSpans(count: 3, seed: 4))
        await #expect(throws: IngestError.full) { try await queue.submit(batch) }
        queue.release(bytes: 600)
        queue.release(bytes: 400)
        #expect(queue.status.reservedBytes == 0)
        #expect(queue.reserve(bytes: 1_000))
        queue.release(bytes: 1_000)
    }

    @Test("concurrent requests are committed in fewer writes than requests", arguments: StoreKind.allCases)
    func groupCommit(kind: StoreKind) async throws {
        let store = InstrumentedStore(try kind.make(), holding: true)
        let collector = Collector(store: store)
        let requests = (0..<6).map { Fixtures.realisticSpans(count: 10, seed: 30 + UInt64($0)) }
        try await collector.application().test(.router) { client in
            try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                group.addTask { try await client.export(OTLPProtobuf.encodeRequest(requests[0])).status }
                await store.waitUntilWritesBegan(1)
                for spans in requests.dropFirst() {
                    group.addTask { try await client.export(OTLPProtobuf.encodeRequest(spans)).status }
                }
                // Every request is accepted while the first write is held.
                await collector.queue.waitUntil { $0.queuedSpans >= 60 }
                store.release()
                for try await status in group {
                    #expect(status == .ok)
                }
            }
        }
        #expect(store.committedWrites == [1, 5])
        let all = requests.flatMap { $0 }
        #expect(try await storedSpans(of: all, in: store) == byID(all))
    }

    @Test("the commit bounds split what is queued into several transactions")
    func commitBounds() async throws {
        let store = InstrumentedStore(InMemoryStore(), holding: true)
        let configuration = CollectorConfiguration(maxBatchesPerCommit: 2, maxSpansPerCommit: 25)
        let queue = IngestQueue(writer: store, configuration: configuration)
        let batches = try (0..<6).map { try OTLPProtobuf.decodeRequest(OTLPProtobuf.encodeRequest(Fixtures.realisticSpans(count: 10, seed: 40 + UInt64($0)))).batch }
        try await withRunningQueue(queue) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for batch in batches {
                    group.addTask { try await queue.submit(batch) }
                }
                await queue.waitUntil { $0.queuedSpans >= 60 }
                store.release()
                try await group.waitForAll()
            }
        }
        #expect(store.committedWrites.allSatisfy { $0 <= 2 })
        #expect(store.committedWrites.reduce(0, +) == 6)
    }

    @Test("a store that takes several writes at once gets that many commits in flight, and no more")
    func concurrentCommits() async throws {
        let store = InstrumentedStore(InMemoryStore(), holding: true, concurrentWrites: 3)
        let queue = IngestQueue(writer: store, configuration: CollectorConfiguration())
        let spans = (0..<5).map { Fixtures.realisticSpans(count: 10, seed: 60 + UInt64($0)) }
        let batches = try spans.map { try OTLPProtobuf.decodeRequest(OTLPProtobuf.encodeRequest($0)).batch }
        try await withRunningQueue(queue) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                // One request at a time: each is taken by a free commit loop while the earlier ones are held.
                for (index, batch) in batches.prefix(3).enumerated() {
                    group.addTask { try await queue.submit(batch) }
                    await store.waitUntilWritesBegan(index + 1)
                }
                for batch in batches.suffix(2) { group.addTask { try await queue.submit(batch) } }
                await queue.waitUntil { $0.queuedSpans == 50 }
                #expect(store.writesBegun == 3, "the fourth commit waits for a free loop")
                store.release()
                try await group.waitForAll()
            }
        }
        // The three held requests one by one, then the two that waited, together.
        #expect(store.committedWrites.sorted() == [1, 1, 1, 2])
        let all = spans.flatMap { $0 }
        #expect(try await storedSpans(of: all, in: store) == byID(all))
    }

    @Test("graceful shutdown commits what was accepted, then refuses")
    func shutdown() async throws {
        let store = InstrumentedStore(InMemoryStore(), holding: true)
        let queue = IngestQueue(writer: store, configuration: CollectorConfiguration())
        let spans = (0..<3).map { Fixtures.realisticSpans(count: 5, seed: 50 + UInt64($0)) }
        let batches = try spans.map { try OTLPProtobuf.decodeRequest(OTLPProtobuf.encodeRequest($0)).batch }
        let group = ServiceGroup(services: [queue], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            tasks.addTask { try await queue.submit(batches[0]) }
            await store.waitUntilWritesBegan(1)
            tasks.addTask { try await queue.submit(batches[1]) }
            await queue.waitUntil { $0.queuedSpans >= 10 }

            await group.triggerGracefulShutdown()
            await queue.waitUntil { !$0.accepting }
            await #expect(throws: IngestError.shuttingDown) { try await queue.submit(batches[2]) }
            store.release()
            try await tasks.waitForAll()
        }
        let accepted = spans[0] + spans[1]
        #expect(try await storedSpans(of: accepted, in: store) == byID(accepted))
        #expect(try await storedSpans(of: spans[2], in: store).isEmpty)
    }

    /// Runs the queue as a service around `body`, then shuts it down gracefully.
    private func withRunningQueue(_ queue: IngestQueue, _ body: () async throws -> Void) async throws {
        let group = ServiceGroup(services: [queue], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await body()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}
