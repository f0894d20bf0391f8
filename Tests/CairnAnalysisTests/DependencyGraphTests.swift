import CairnAnalysis
import CairnModel
import CairnTesting
import Testing

/// Hand-built traces whose graph was worked out on paper (see `shopGraph` for the expected numbers).
enum ShopTraces {
    static func ms(_ value: UInt64) -> UInt64 { value * 1_000_000 }

    static func resource(_ service: String) -> Resource {
        Resource(attributes: [Attribute("service.name", .string(service))])
    }

    static func span(
        _ trace: TraceID, _ id: UInt64, parent: UInt64? = nil, _ service: String, _ kind: SpanKind, start: UInt64,
        duration: UInt64, error: Bool = false, attributes: [Attribute] = [], links: [SpanLink] = []
    ) -> Span {
        Span(
            traceID: trace, spanID: SpanID(value: id), parentSpanID: parent.map { SpanID(value: $0) }, name: "op \(id)",
            kind: kind, startTimeUnixNano: start, endTimeUnixNano: start + duration, attributes: attributes,
            links: links, status: error ? SpanStatus(code: .error) : .unset, resource: resource(service))
    }

    /// Twenty checkouts, i = 1...20, each its own trace starting at `base + i × 10 s`:
    /// - frontend SERVER (root, 200 + i ms) → frontend CLIENT (100 + i ms, `http.request.method`) → checkout SERVER
    ///   (90 + i ms, ERROR when i is 10 or 20);
    /// - checkout CLIENT to PostgreSQL (`db.system.name`, `db.namespace`, `server.address` db1, `server.port` 5432),
    ///   i ms, no child;
    /// - for odd i, checkout CLIENT with `peer.service` stripe and `http.request.method`, 30 + i ms, ERROR when i is 1;
    /// - for i ≤ 4, a checkout PRODUCER (`messaging.system` kafka) at 60 ms, and in a trace of its own a shipping
    ///   CONSUMER linked to it (not parented), ending 100 × i ms after the producer started, lasting 10 × i ms, ERROR
    ///   when i is 2; for i = 5 a PRODUCER that nobody consumes, `server.address` kafka, 2 ms;
    /// - in trace 1 only: a frontend INTERNAL child of the root and a frontend CLIENT with no peer attribute and no
    ///   child (neither gives an edge).
    static func spans() -> [Span] {
        var spans: [Span] = []
        for i in UInt64(1)...20 {
            let trace = TraceID(high: 0xA0, low: i)
            let base = 1_700_000_000_000_000_000 + i * 10_000_000_000
            spans.append(span(trace, 1, "frontend", .server, start: base, duration: ms(200 + i),
                              attributes: [Attribute("http.route", .string("/checkout"))]))
            spans.append(span(trace, 2, parent: 1, "frontend", .client, start: base + ms(5), duration: ms(100 + i),
                              attributes: [Attribute("http.request.method", .string("POST"))]))
            spans.append(span(trace, 3, parent: 2, "checkout", .server, start: base + ms(6), duration: ms(90 + i),
                              error: i % 10 == 0, attributes: [Attribute("http.route", .string("/checkout"))]))
            spans.append(span(trace, 4, parent: 3, "checkout", .client, start: base + ms(7), duration: ms(i),
                              attributes: [
                                  Attribute("db.system.name", .string("postgresql")),
                                  Attribute("db.namespace", .string("orders")),
                                  Attribute("server.address", .string("db1")),
                                  Attribute("server.port", .int(5432)),
                              ]))
            if i % 2 == 1 {
                spans.append(span(trace, 5, parent: 3, "checkout", .client, start: base + ms(30), duration: ms(30 + i),
                                  error: i == 1, attributes: [
                                      Attribute("peer.service", .string("stripe")),
                                      Attribute("http.request.method", .string("POST")),
                                      Attribute("server.address", .string("api.stripe.com")),
                                  ]))
            }
            let producerStart = base + ms(60)
            if i <= 4 {
                spans.append(span(trace, 6, parent: 3, "checkout", .producer, start: producerStart, duration: ms(1),
                                  attributes: [Attribute("messaging.system", .string("kafka"))]))
                let consumerTrace = TraceID(high: 0xB0, low: i)
                spans.append(span(consumerTrace, 1, "shipping", .consumer, start: producerStart + ms(100 * i - 10 * i),
                                  duration: ms(10 * i), error: i == 2,
                                  attributes: [Attribute("messaging.system", .string("kafka"))],
                                  links: [SpanLink(traceID: trace, spanID: SpanID(value: 6))]))
            } else if i == 5 {
                spans.append(span(trace, 6, parent: 3, "checkout", .producer, start: producerStart, duration: ms(2),
                                  attributes: [
                                      Attribute("messaging.system", .string("kafka")),
                                      Attribute("server.address", .string("kafka")),
                                  ]))
            }
            if i == 1 {
                spans.append(span(trace, 7, parent: 1, "frontend", .internal, start: base + ms(1), duration: ms(3)))
                spans.append(span(trace, 8, parent: 1, "frontend", .client, start: base + ms(150), duration: ms(5)))
            }
        }
        return spans
    }

    /// The graph of `spans()`, computed by hand. Percentiles by nearest rank: of 20 values the 50th percentile is
    /// the 10th, the 95th the 19th, the 99th the 20th; of 10 values the 5th, 10th and 10th; of 4 values the 2nd, 4th
    /// and 4th.
    static func graph() -> DependencyGraph {
        DependencyGraph(
            nodes: [
                // SERVER durations 91...110 ms; the 19th is 109.
                .init(name: "checkout", kind: .service, calls: 20, errors: 2, p95Nanos: ms(109)),
                .init(name: "db1:5432", kind: .database, calls: 20, errors: 0, p95Nanos: ms(19)),
                // Root SERVER durations 201...220 ms.
                .init(name: "frontend", kind: .service, calls: 20, errors: 0, p95Nanos: ms(219)),
                .init(name: "kafka", kind: .messaging, calls: 1, errors: 0, p95Nanos: ms(2)),
                // CONSUMER durations 10, 20, 30, 40 ms.
                .init(name: "shipping", kind: .service, calls: 4, errors: 1, p95Nanos: ms(40)),
                // Client durations 31, 33, ..., 49 ms.
                .init(name: "stripe", kind: .virtual, calls: 10, errors: 1, p95Nanos: ms(49)),
            ],
            edges: [
                .init(parent: "checkout", child: "db1:5432", kind: .database, calls: 20, errors: 0,
                      p50Nanos: ms(10), p95Nanos: ms(19), p99Nanos: ms(20)),
                .init(parent: "checkout", child: "kafka", kind: .messaging, calls: 1, errors: 0,
                      p50Nanos: ms(2), p95Nanos: ms(2), p99Nanos: ms(2)),
                // Consumer end minus producer start: 100, 200, 300, 400 ms.
                .init(parent: "checkout", child: "shipping", kind: .messaging, calls: 4, errors: 1,
                      p50Nanos: ms(200), p95Nanos: ms(400), p99Nanos: ms(400)),
                .init(parent: "checkout", child: "stripe", kind: .http, calls: 10, errors: 1,
                      p50Nanos: ms(39), p95Nanos: ms(49), p99Nanos: ms(49)),
                // The CLIENT's durations, 101...120 ms, not the SERVER's.
                .init(parent: "frontend", child: "checkout", kind: .http, calls: 20, errors: 2,
                      p50Nanos: ms(110), p95Nanos: ms(119), p99Nanos: ms(120)),
            ])
    }

    static func build(_ spans: some Sequence<Span>) -> DependencyGraph {
        var builder = DependencyGraphBuilder()
        builder.add(contentsOf: spans)
        return builder.build()
    }
}

/// A seeded shuffle, so that a failure can be reproduced.
struct SeededShuffle: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state ^ (state >> 29)
    }
}

@Suite("Dependency graph")
struct DependencyGraphTests {
    typealias T = ShopTraces

    @Test("the hand-built shop gives the nodes, edges, counts and percentiles worked out by hand")
    func handBuilt() {
        let graph = T.build(T.spans())
        let expected = T.graph()
        #expect(graph.nodes == expected.nodes)
        #expect(graph.edges == expected.edges)
        #expect(graph == expected)
    }

    @Test("shuffled and duplicated spans give the same graph")
    func shuffledAndDuplicated() {
        let spans = T.spans()
        var random = SeededShuffle(state: 42)
        for copies in 1...3 {
            var input = Array(repeating: spans, count: copies).flatMap { $0 }
            input.shuffle(using: &random)
            var builder = DependencyGraphBuilder()
            for span in input { builder.add(span) }
            #expect(builder.count == spans.count * copies)
            #expect(builder.build() == T.graph())
        }
    }

    @Test("of spans sharing ids but differing, the one kept does not depend on the order of arrival")
    func differingDuplicates() {
        let trace = TraceID(high: 1, low: 1)
        let root = T.span(trace, 1, "a", .server, start: 0, duration: T.ms(10))
        let slow = T.span(trace, 2, parent: 1, "b", .server, start: 0, duration: T.ms(9))
        var fast = slow
        fast.endTimeUnixNano = T.ms(3)
        fast.status = SpanStatus(code: .error)
        let one = T.build([root, slow, fast])
        let other = T.build([fast, root, slow])
        #expect(one == other)
        #expect(one.edges.count == 1)
        #expect(one.edges.first?.calls == 1)

        // The same span id claimed by two services: the choice is by name, not by which name was seen first.
        let inB = T.span(trace, 3, parent: 1, "b", .server, start: 0, duration: T.ms(1))
        let inC = T.span(trace, 3, parent: 1, "c", .server, start: 0, duration: T.ms(1))
        let first = T.build([root, inC, inB])
        #expect(first == T.build([inB, root, inC]))
        #expect(first.edges.map(\.child) == ["b"])
    }

    @Test("building twice, or after adding more, reflects every span added")
    func buildAgain() {
        let spans = T.spans()
        var builder = DependencyGraphBuilder()
        builder.add(contentsOf: spans.prefix(30))
        let partial = builder.build()
        #expect(builder.build() == partial)
        builder.add(contentsOf: spans.dropFirst(30))
        #expect(builder.build() == T.graph())
    }

    @Test("focusing on a service keeps it, its direct neighbours and the edges that touch it")
    func focused() {
        let graph = T.graph()
        let frontend = graph.focused(on: "frontend")
        #expect(frontend.nodes.map(\.name) == ["checkout", "frontend"])
        #expect(frontend.edges.map { "\($0.parent)->\($0.child)" } == ["frontend->checkout"])
        #expect(frontend.node(named: "checkout") == graph.node(named: "checkout"))

        let stripe = graph.focused(on: "stripe")
        #expect(stripe.nodes.map(\.name) == ["checkout", "stripe"])
        #expect(stripe.edges.count == 1)

        let checkout = graph.focused(on: "checkout")
        #expect(checkout == graph)

        #expect(graph.focused(on: "nowhere") == DependencyGraph())
    }

    @Test("a consumer parented by and linked to the same producer counts once, also within one service")
    func producerOnce() {
        let trace = TraceID(high: 2, low: 2)
        let producer = T.span(trace, 1, "jobs", .producer, start: 0, duration: T.ms(1),
                              attributes: [Attribute("server.address", .string("broker"))])
        let consumer = T.span(trace, 2, parent: 1, "jobs", .consumer, start: T.ms(5), duration: T.ms(5),
                              links: [SpanLink(traceID: trace, spanID: SpanID(value: 1)),
                                      SpanLink(traceID: trace, spanID: SpanID(value: 1))])
        let graph = T.build([producer, consumer])
        #expect(graph.edges == [
            .init(parent: "jobs", child: "jobs", kind: .messaging, calls: 1, errors: 0,
                  p50Nanos: T.ms(10), p95Nanos: T.ms(10), p99Nanos: T.ms(10)),
        ])
        #expect(graph.nodes.map(\.name) == ["jobs"], "a consumed producer calls no broker")
        // Producer root + consumer.
        #expect(graph.node(named: "jobs")?.calls == 2)
    }

    @Test("links to producers in other traces resolve across thousands of traces")
    func manyLinks() throws {
        var spans: [Span] = []
        for i in UInt64(1)...6_000 {
            let producerTrace = TraceID(high: 3, low: i)
            spans.append(T.span(producerTrace, 1, "orders", .producer, start: 0, duration: T.ms(1)))
            spans.append(T.span(TraceID(high: 4, low: i), 1, "billing", .consumer, start: T.ms(1), duration: T.ms(i % 7),
                                error: i % 100 == 0, links: [SpanLink(traceID: producerTrace, spanID: SpanID(value: 1))]))
        }
        spans.append(T.span(TraceID(high: 5, low: 1), 9, "billing", .consumer, start: 0, duration: 1,
                            links: [SpanLink(traceID: TraceID(high: 9, low: 9), spanID: SpanID(value: 1))]))
        var random = SeededShuffle(state: 7)
        spans.shuffle(using: &random)
        let graph = T.build(spans)
        #expect(graph.edges.count == 1)
        let edge = try #require(graph.edges.first)
        #expect(edge.parent == "orders" && edge.child == "billing" && edge.kind == .messaging)
        #expect(edge.calls == 6_000)
        #expect(edge.errors == 60)
        #expect(graph.node(named: "billing")?.calls == 6_001)
    }

    @Test("a peer named like a service that sent spans is that service's node; no peer attribute, no edge")
    func peerNames() {
        let trace = TraceID(high: 6, low: 6)
        let spans = [
            T.span(trace, 1, "web", .server, start: 0, duration: T.ms(50)),
            T.span(trace, 2, parent: 1, "web", .client, start: 0, duration: T.ms(4),
                   attributes: [Attribute("server.address", .string("api"))]),
            T.span(trace, 3, parent: 1, "web", .client, start: 0, duration: T.ms(4)),
            T.span(trace, 4, parent: 1, "web", .client, start: 0, duration: T.ms(4),
                   attributes: [Attribute("peer.service", .string("web"))]),
            T.span(trace, 5, parent: 1, "web", .client, start: 0, duration: T.ms(6),
                   attributes: [Attribute("network.peer.address", .string("::1")),
                                Attribute("network.peer.port", .string("6379")),
                                Attribute("db.system", .string("redis"))]),
            T.span(trace, 6, parent: 1, "web", .client, start: 0, duration: T.ms(7),
                   attributes: [Attribute("db.name", .string("users")),
                                Attribute("db.system", .string("mysql"))]),
            T.span(trace, 7, parent: 1, "web", .client, start: 0, duration: T.ms(8),
                   attributes: [Attribute("rpc.system", .string("grpc")),
                                Attribute("server.address", .string("grpc.internal")),
                                Attribute("server.port", .int(50051))]),
            T.span(trace, 8, parent: 1, "web", .client, start: 0, duration: T.ms(9),
                   attributes: [Attribute("messaging.system", .string("rabbitmq")),
                                Attribute("server.address", .string("mq"))]),
            T.span(TraceID(high: 7, low: 7), 1, "api", .server, start: 0, duration: T.ms(3)),
        ]
        let graph = T.build(spans)
        #expect(graph.edges.map { "\($0.parent)->\($0.child) \($0.kind)" } == [
            "web->[::1]:6379 database",
            "web->api other",
            "web->grpc.internal:50051 rpc",
            "web->mq messaging",
            "web->users database",
        ])
        #expect(graph.nodes.map { "\($0.name) \($0.kind)" } == [
            "[::1]:6379 database", "api service", "grpc.internal:50051 virtual", "mq messaging", "users database",
            "web service",
        ])
    }

    @Test("the builder's attribute keys are the ones its rules name")
    func attributeKeys() {
        #expect(DependencyGraphBuilder.attributeKeys == [
            "peer.service", "server.address", "server.port", "network.peer.address", "network.peer.port",
            "db.namespace", "db.name", "db.system.name", "db.system", "messaging.system", "rpc.system",
            "http.request.method", "http.method", "url.full", "http.route",
        ])
    }

    @Test("realistic spans: every edge's calls, errors and percentiles match a straightforward computation")
    func realistic() throws {
        let spans = Fixtures.realisticSpans(count: 20_000, seed: 7)
        let graph = T.build(spans)

        struct Key: Hashable {
            var trace: TraceID
            var span: SpanID
        }
        struct Tally {
            var calls = 0
            var errors = 0
            var latencies: [UInt64] = []
        }
        var byID: [Key: Span] = [:]
        for span in spans { byID[Key(trace: span.traceID, span: span.spanID)] = span }
        var hasRemoteChild: Set<Key> = []
        var expected: [String: Tally] = [:]
        for span in spans {
            guard let parentID = span.parentSpanID, let parent = byID[Key(trace: span.traceID, span: parentID)],
                parent.serviceName != span.serviceName
            else { continue }
            if parent.kind == .client { hasRemoteChild.insert(Key(trace: parent.traceID, span: parent.spanID)) }
            let edge = "\(parent.serviceName)->\(span.serviceName)"
            expected[edge, default: Tally()].calls += 1
            if parent.status.code == .error || span.status.code == .error { expected[edge, default: Tally()].errors += 1 }
            expected[edge, default: Tally()].latencies.append(parent.kind == .client ? parent.durationNanos : span.durationNanos)
        }
        for span in spans where span.kind == .client && !hasRemoteChild.contains(Key(trace: span.traceID, span: span.spanID)) {
            guard case .string(let host)? = span.attributes["server.address"], case .int(let port)? = span.attributes["server.port"]
            else { continue }
            let edge = "\(span.serviceName)->\(host):\(port)"
            expected[edge, default: Tally()].calls += 1
            if span.status.code == .error { expected[edge, default: Tally()].errors += 1 }
            expected[edge, default: Tally()].latencies.append(span.durationNanos)
        }

        #expect(graph.edges.count == expected.count)
        #expect(graph.edges.count > 8)
        for edge in graph.edges {
            let tally = try #require(expected["\(edge.parent)->\(edge.child)"], "unexpected edge \(edge)")
            #expect(edge.kind == .http)
            #expect(edge.calls == tally.calls, "\(edge.parent)->\(edge.child)")
            #expect(edge.errors == tally.errors, "\(edge.parent)->\(edge.child)")
            let sorted = tally.latencies.sorted()
            // Nearest rank: the value at position ceil(p/100 × n), counted from 1.
            func rank(_ p: Int) -> UInt64 { sorted[(p * sorted.count + 99) / 100 - 1] }
            #expect([edge.p50Nanos, edge.p95Nanos, edge.p99Nanos] == [rank(50), rank(95), rank(99)])
        }
        let calls = spans.filter { $0.kind == .server }.count
        #expect(graph.nodes.filter { $0.kind == .service }.map(\.calls).reduce(0, +) == calls)
    }
}

@Suite("Percentiles")
struct PercentilesTests {
    @Test("nearest rank: ceil(p × n / 100), counted from 1, with exact products")
    func ranks() {
        #expect(Percentiles.rank(95, of: 20) == 19)
        #expect(Percentiles.rank(50, of: 20) == 10)
        #expect(Percentiles.rank(99, of: 20) == 20)
        #expect(Percentiles.rank(0, of: 20) == 1)
        #expect(Percentiles.rank(100, of: 20) == 20)
        #expect(Percentiles.rank(50, of: 1) == 1)
        #expect(Percentiles.rank(95, of: 100) == 95)
        #expect(Percentiles.rank(99.9, of: 1_000) == 999)
        #expect(Percentiles.rank(250, of: 3) == 3)
    }

    @Test("values come from the data; none for no data")
    func values() {
        #expect(Percentiles.nearestRank(50, ofSorted: [1, 2, 3, 4] as [UInt64]) == 2)
        #expect(Percentiles.nearestRank(50, ofSorted: [UInt64]()) == nil)
        #expect(Percentiles.nearestRank([50, 95, 99], of: [40, 10, 30, 20]) == [20, 40, 40])
        #expect(Percentiles.nearestRank([50], of: []) == [0])
    }

    @Test("selection gives what sorting gives, for values in any order, with repeats, and arranged against the pivot")
    func selection() {
        var generator = SystemRandomNumberGenerator()
        let asked: [Double] = [99, 50, 0, 95, 100, 99.9, 1]
        var cases: [[UInt64]] = [[], [7], [3, 1], [5, 5, 5]]
        for count in [2, 17, 18, 33, 100, 1_000, 10_007] {
            cases.append((0..<count).map { _ in UInt64.random(in: 0..<1_000_000, using: &generator) })
            cases.append((0..<count).map { _ in UInt64.random(in: 0..<4, using: &generator) })  // many repeats
            cases.append((0..<count).map { UInt64($0) })  // sorted
            cases.append((0..<count).map { UInt64(count - $0) })  // reversed
            cases.append((0..<count).map { UInt64(min($0, count - $0)) })  // organ pipe
            cases.append([UInt64](repeating: 42, count: count))
        }
        for values in cases {
            var reordered = values
            let selected = Percentiles.nearestRank(asked, selectingIn: &reordered)
            let sorted = values.sorted()
            #expect(selected == asked.map { Percentiles.nearestRank($0, ofSorted: sorted) ?? 0 }, "\(values.count) values")
            #expect(reordered.sorted() == values.sorted(), "the same values, reordered")
        }
    }
}
