import Glibc
@testable import CairnCollector
import CairnModel
import CairnOTLP
import CairnStore
import CairnTesting
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import ServiceLifecycle
import Testing

@Suite("The collector over real sockets")
struct LiveTests {
    @Test("protobuf and gzip JSON requests sent over TCP are stored", arguments: StoreKind.allCases)
    func stored(kind: StoreKind) async throws {
        let store = try kind.make()
        let protobufSpans = Fixtures.realisticSpans(count: 100, seed: 60)
        let jsonSpans = Fixtures.realisticSpans(count: 100, seed: 61)
        try await Collector(store: store).application().test(.live) { client in
            let protobuf = try await client.export(OTLPProtobuf.encodeRequest(protobufSpans))
            #expect(protobuf.status == .ok)
            #expect(protobuf.headers[.contentType] == MediaType.protobuf)
            let json = try await client.export(
                Gzip.compress(OTLPJSON.encodeRequest(jsonSpans)), contentType: MediaType.json, encoding: "gzip")
            #expect(json.status == .ok)
            #expect(json.headers[.contentType] == MediaType.json)
        }
        #expect(try await storedSpans(of: protobufSpans, in: store) == byID(protobufSpans))
        #expect(try await storedSpans(of: jsonSpans, in: store) == byID(jsonSpans))
    }

    @Test("the server keeps serving on the same connection after each bad request")
    func keepsServing() async throws {
        let store = InMemoryStore()
        let spans = Fixtures.realisticSpans(count: 20, seed: 62)
        let good = OTLPProtobuf.encodeRequest(spans)
        let configuration = CollectorConfiguration(maxBodyBytes: 64 * 1024)
        let bad: [(String, [UInt8], String?, String?, HTTPResponse.Status)] = [
            ("truncated protobuf", Array(good.dropLast(3)), MediaType.protobuf, nil, .badRequest),
            ("invalid gzip", Array("plain".utf8), MediaType.protobuf, "gzip", .badRequest),
            ("invalid JSON", [0x7B, 0xFF, 0x7D], MediaType.json, nil, .badRequest),
            ("too large", [UInt8](repeating: 0x0A, count: 100 * 1024), MediaType.protobuf, nil, .contentTooLarge),
            ("inflates too large", Gzip.compressedZeros(count: 1 << 20), MediaType.protobuf, "gzip", .contentTooLarge),
            ("wrong type", good, "text/plain", nil, .unsupportedMediaType),
            ("wrong encoding", good, MediaType.protobuf, "zstd", .unsupportedMediaType),
        ]
        try await Collector(store: store, configuration: configuration).application().test(.live) { client in
            for (label, body, contentType, encoding, status) in bad {
                let response = try await client.export(body, contentType: contentType, encoding: encoding)
                #expect(response.status == status, "\(label)")
                #expect(try await client.execute(uri: "/", method: .get).status == .ok, "after \(label)")
            }
            let wrongMethod = try await client.execute(uri: "/v1/traces", method: .get)
            #expect(wrongMethod.status == .methodNotAllowed)
            #expect(try await client.export(good).status == .ok)
        }
        #expect(try await storedSpans(of: spans, in: store) == byID(spans))
    }

    @Test("graceful shutdown stops intake first, answers the requests in flight, commits them, then returns")
    func gracefulShutdown() async throws {
        let store = InstrumentedStore(InMemoryStore(), holding: true)
        let collector = Collector(store: store, configuration: CollectorConfiguration(port: 0))
        let first = Fixtures.realisticSpans(count: 10, seed: 63)
        let second = Fixtures.realisticSpans(count: 10, seed: 64)
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let group = ServiceGroup(
            services: [try collector.application { portContinuation.yield($0) }], logger: Logger(label: "test"))

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            let clients = (0..<2).map { _ in TestClient(host: "127.0.0.1", port: port) }
            for client in clients { client.connect() }
            async let firstResponse = clients[0].post(
                "/v1/traces", headers: [.contentType: MediaType.protobuf], body: ByteBuffer(bytes: OTLPProtobuf.encodeRequest(first)))
            await store.waitUntilWritesBegan(1)
            async let secondResponse = clients[1].post(
                "/v1/traces", headers: [.contentType: MediaType.protobuf], body: ByteBuffer(bytes: OTLPProtobuf.encodeRequest(second)))
            await collector.queue.waitUntil { $0.queuedSpans >= 20 }

            await group.triggerGracefulShutdown()
            // The server shuts down first and waits for the requests in flight, so the queue still accepts.
            #expect(collector.queue.isAccepting)
            store.release()
            #expect(try await firstResponse.status == .ok)
            #expect(try await secondResponse.status == .ok)
            for client in clients { try? await client.shutdown() }
            try await tasks.waitForAll()
        }
        #expect(!collector.queue.isAccepting)
        #expect(store.committedWrites.reduce(0, +) == 2)
        #expect(try await storedSpans(of: first + second, in: store) == byID(first + second))
    }

    @Test("a connection with no traffic is closed after the idle timeout")
    func idleTimeout() async throws {
        let collector = Collector(
            store: InMemoryStore(), configuration: CollectorConfiguration(port: 0, idleTimeout: .milliseconds(300)))
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let group = ServiceGroup(
            services: [try collector.application { portContinuation.yield($0) }], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            // A raw socket that connects and sends nothing: the server closes it, so a read ends (returns 0).
            let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(socket) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            try #require(connected == 0)
            var timeout = timeval(tv_sec: 30, tv_usec: 0)
            setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let started = ContinuousClock.now
            var byte: UInt8 = 0
            let read = recv(socket, &byte, 1, 0)
            #expect(read == 0, "the server did not close the idle connection")
            #expect(ContinuousClock.now - started < .seconds(20))
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}
