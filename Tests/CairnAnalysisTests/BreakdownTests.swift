import CairnAnalysis
import CairnModel
import Testing

@Suite("Trace breakdown and critical path")
struct BreakdownTests {
    typealias F = TreeFixtures

    /// R [0, 100] in frontend with children A [10, 40] (frontend), B [20, 70] and C [75, 90] (backend), and a
    /// PRODUCER P [80, 200] (frontend) that R does not wait for.
    ///
    /// Critical path, walking back from R's end at 100: C ends last (90), so R [90, 100], then C [75, 90]; back in R at
    /// 75, B ends last before it (70): R [70, 75], B [20, 70]; back in R at 20, A ends at 40, after the cursor, so it
    /// is skipped: R [0, 20]. Total 100 ms: R 35, B 50, C 15.
    /// Self time: R's children cover [10, 70] and [75, 100] (P clipped to R), 85 ms, so R has 15; A 30, B 50, C 15,
    /// P 120. The trace lasts 200 ms.
    static let spans = [
        F.span(1, service: "frontend", name: "GET /", kind: .server, from: 0, to: 100,
               attributes: [Attribute("http.route", .string("/"))]),
        F.span(2, parent: 1, service: "frontend", name: "render", from: 10, to: 40),
        F.span(3, parent: 1, service: "backend", name: "query", kind: .server, from: 20, to: 70, error: true,
               attributes: [Attribute("http.route", .string("/q"))]),
        F.span(4, parent: 1, service: "backend", name: "query", kind: .server, from: 75, to: 90,
               attributes: [Attribute("http.route", .string("/q"))]),
        F.span(5, parent: 1, service: "frontend", name: "publish", kind: .producer, from: 80, to: 200),
    ]

    static func ms(_ value: UInt64) -> UInt64 { value * 1_000_000 }

    @Test("walks the critical path as Jaeger's UI does")
    func criticalPath() {
        let probe = TraceTreeProbe(Self.spans)
        let path = CriticalPath(probe.tree)
        let segments = path.segments.map { (probe.id($0.node), $0.startTimeUnixNano - F.origin, $0.durationNanos) }
        let expected: [(UInt64, UInt64, UInt64)] = [
            (1, 0, Self.ms(20)), (3, Self.ms(20), Self.ms(50)), (1, Self.ms(70), Self.ms(5)),
            (4, Self.ms(75), Self.ms(15)), (1, Self.ms(90), Self.ms(10)),
        ]
        #expect(segments.elementsEqual(expected) { $0 == $1 })
        #expect(path.durationNanos == Self.ms(100))
    }

    @Test("computes self time as the duration less the union of the children, clipped")
    func selfTime() {
        let probe = TraceTreeProbe(Self.spans)
        let breakdown = TraceBreakdown(probe.tree)
        let selfByID = Dictionary(uniqueKeysWithValues: probe.tree.nodes.indices.map {
            (probe.id($0), breakdown.selfNanos[$0])
        })
        #expect(selfByID == [1: Self.ms(15), 2: Self.ms(30), 3: Self.ms(50), 4: Self.ms(15), 5: Self.ms(120)])
    }

    @Test("sums by service, by operation and by attribute")
    func rows() throws {
        let breakdown = TraceBreakdown(TraceTreeProbe(Self.spans).tree)
        let services = breakdown.rows(by: .service)
        #expect(services.map(\.group) == [.service("frontend"), .service("backend")])
        let frontend = services[0]
        #expect(frontend.count == 3)
        #expect(frontend.errors == 0)
        #expect(frontend.totalNanos == Self.ms(250))
        #expect(frontend.minNanos == Self.ms(30))
        #expect(frontend.maxNanos == Self.ms(120))
        #expect(frontend.averageNanos == 83_333_333)
        #expect(frontend.selfNanos == Self.ms(165))
        #expect(frontend.selfShare == 165.0 / 200)
        #expect(frontend.criticalPathNanos == Self.ms(35))
        #expect(frontend.criticalPathShare == 0.35)
        let backend = services[1]
        #expect(backend.count == 2)
        #expect(backend.errors == 1)
        #expect(backend.selfNanos == Self.ms(65))
        #expect(backend.criticalPathNanos == Self.ms(65))

        let operations = breakdown.rows(by: .operation)
        #expect(operations.map(\.group) == [
            .operation(service: "frontend", name: "publish"), .operation(service: "backend", name: "query"),
            .operation(service: "frontend", name: "render"), .operation(service: "frontend", name: "GET /"),
        ])
        #expect(operations[1].count == 2)
        #expect(operations[1].minNanos == Self.ms(15))
        #expect(operations[1].averageNanos == Self.ms(65) / 2)

        let routes = breakdown.rows(by: .attribute("http.route"))
        #expect(routes.map(\.group) == [
            .attribute(key: "http.route", value: nil), .attribute(key: "http.route", value: "/q"),
            .attribute(key: "http.route", value: "/"),
        ])
        #expect(routes.map(\.count) == [2, 2, 1])
        #expect(routes.map(\.selfNanos) == [Self.ms(150), Self.ms(65), Self.ms(15)])
    }

    @Test("clips children to their parent and leaves zero-length spans harmless")
    func clippingAndZeroLength() {
        let probe = TraceTreeProbe([
            F.span(1, from: 0, to: 10),
            F.span(2, parent: 1, from: -5, to: 4),  // starts before its parent: clipped to [0, 4]
            F.span(3, parent: 1, from: 6, to: 6),  // zero length
            F.span(4, parent: 1, from: 6, to: 6),
            F.span(5, parent: 1, from: 12, to: 15),  // wholly after its parent: not on the path
        ])
        let breakdown = TraceBreakdown(probe.tree)
        let path = breakdown.criticalPath.segments.map { (probe.id($0.node), $0.durationNanos) }
        let expected: [(UInt64, UInt64)] = [(2, Self.ms(4)), (1, Self.ms(2)), (1, Self.ms(4))]
        #expect(path.elementsEqual(expected) { $0 == $1 })
        #expect(breakdown.selfNanos[probe.index(1)] == Self.ms(6))
    }

    @Test("adds traces up into percentiles and critical-path shares")
    func aggregate() throws {
        var builder = AggregateBreakdownBuilder()
        builder.add(TraceBreakdown(TraceTreeProbe(Self.spans).tree))
        // A second trace: one backend span of 10 ms, alone, in error.
        builder.add(TraceBreakdown(TraceTreeProbe([
            F.span(9, service: "backend", name: "query", kind: .server, from: 0, to: 10, error: true),
        ]).tree))
        let result = builder.build()
        #expect(result.traceCount == 2)
        #expect(result.spanCount == 6)
        #expect(result.byService.map(\.group) == [.service("backend"), .service("frontend")])
        let backend = result.byService[0]
        #expect(backend.calls == 3)
        #expect(backend.errors == 2)
        #expect(backend.errorRate == 2.0 / 3)
        // Durations 10, 15, 50: nearest rank p50 = 2nd, p90..p99 = 3rd.
        #expect([backend.p50Nanos, backend.p90Nanos, backend.p95Nanos, backend.p99Nanos, backend.maxNanos]
                == [Self.ms(15), Self.ms(50), Self.ms(50), Self.ms(50), Self.ms(50)])
        #expect([backend.selfP50Nanos, backend.selfP95Nanos] == [Self.ms(15), Self.ms(50)])
        // Critical paths: 100 ms and 10 ms; backend holds 65 + 10 of the 110.
        #expect(backend.criticalPathNanos == Self.ms(75))
        #expect(backend.criticalPathShare == 75.0 / 110)
        let operation = try #require(result.byOperation.first { $0.group == .operation(service: "frontend", name: "GET /") })
        #expect(operation.calls == 1)
        #expect(operation.criticalPathNanos == Self.ms(35))
    }
}
