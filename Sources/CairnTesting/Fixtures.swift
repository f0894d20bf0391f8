public import CairnModel

/// Deterministic spans for tests, benchmarks and load generation: the same arguments always give the same spans.
///
/// Attribute names follow the [OpenTelemetry semantic conventions](https://opentelemetry.io/docs/specs/semconv/)
/// for HTTP, so that the spans look like what instrumented services send.
public enum Fixtures {
    /// The services `realisticSpans` spreads traces over by default; the first is the entry point of every trace.
    public static let defaultServices = ["frontend", "checkout", "inventory", "payments"]

    /// Realistic spans of about 350 bytes each when encoded as an OTLP protobuf `Span`.
    ///
    /// Spans come in traces of `spansPerTrace` (the last one may be shorter). The root of each trace is a SERVER
    /// span of the first service; every other span has an earlier span of its trace as parent: CLIENT and INTERNAL
    /// spans in the parent's service, and under each CLIENT span a SERVER span of another service. Each span has ten
    /// attributes of mixed types; about one in four has an event (a log, or an exception on the few ERROR spans).
    /// Each service has its own resource (`service.name`, `host.name`, `telemetry.sdk.*`); all share one scope.
    ///
    /// The spans are returned grouped by service in order of first appearance, as an exporter groups them into
    /// `ResourceSpans`, so that an OTLP round trip returns them in the same order. As every root belongs to the first
    /// service, each trace's root still comes before the rest of its trace.
    public static func realisticSpans(
        count: Int, seed: UInt64, services: [String] = defaultServices, spansPerTrace: Int = 8
    ) -> [Span] {
        precondition(!services.isEmpty, "realisticSpans needs at least one service")
        precondition(spansPerTrace >= 1, "realisticSpans needs at least one span per trace")
        var random = SplitMix64(seed: seed)
        let resources = services.map { service in
            Resource(
                attributes: [
                    Attribute("service.name", .string(service)),
                    Attribute("host.name", .string("\(service)-\(random.hex(5))")),
                    Attribute("telemetry.sdk.name", .string("opentelemetry")),
                    Attribute("telemetry.sdk.language", .string("swift")),
                    Attribute("telemetry.sdk.version", .string("1.9.0")),
                ],
                schemaURL: "https://opentelemetry.io/schemas/1.26.0")
        }
        let scope = InstrumentationScope(name: "cairn.fixtures", version: "1.0.0")

        var byService = [[Span]](repeating: [], count: services.count)
        var firstAppearance: [Int] = []
        var made = 0
        var traceStart: UInt64 = 1_700_000_000_000_000_000 + (seed % 1_000_000) * 1_000_000_000
        while made < count {
            let traceCount = min(spansPerTrace, count - made)
            for (service, span) in trace(spanCount: traceCount, start: traceStart, services: services, resources: resources,
                                          scope: scope, random: &random) {
                if byService[service].isEmpty { firstAppearance.append(service) }
                byService[service].append(span)
            }
            made += traceCount
            traceStart += 20_000_000 + random.below(30_000_000)
        }
        return firstAppearance.flatMap { byService[$0] }
    }

    private static let methods = ["GET", "GET", "GET", "POST", "PUT", "DELETE"]
    private static let routes = ["orders", "carts", "items", "users", "prices", "stock"]
    private static let internalNames = ["validate cart", "compute price", "render page", "load profile", "SELECT orders"]

    /// One trace, as (service index, span) in the order the spans were made.
    private static func trace(
        spanCount: Int, start: UInt64, services: [String], resources: [Resource], scope: InstrumentationScope,
        random: inout SplitMix64
    ) -> [(Int, Span)] {
        let traceID = TraceID(high: random.nonZero(), low: random.nonZero())
        var spans: [(service: Int, span: Span)] = []
        spans.reserveCapacity(spanCount)
        for index in 0..<spanCount {
            var service = 0
            var kind = SpanKind.server
            var parentSpanID: SpanID?
            var begin = start
            var duration = 5_000_000 + random.below(245_000_000)
            var flags: UInt32 = 0x101  // sampled, and the remote bit is known (a local parent or none)
            if index > 0 {
                let parent = spans[Int(random.below(UInt64(index)))]
                parentSpanID = parent.span.spanID
                service = parent.service
                if parent.span.kind == .client {
                    kind = .server
                    flags = 0x301  // the parent is remote: another service's CLIENT span
                    if services.count > 1 {
                        service = 1 + Int(random.below(UInt64(services.count - 1)))
                        if service == parent.service { service = 0 }
                    }
                } else {
                    kind = random.below(3) == 0 ? .internal : .client
                }
                let parentDuration = parent.span.durationNanos
                begin = parent.span.startTimeUnixNano + random.below(parentDuration / 2 + 1)
                let room = parent.span.endTimeUnixNano - begin
                duration = room / 4 + random.below(room / 2 + 1)
            }
            let method = methods[Int(random.below(UInt64(methods.count)))]
            let route = routes[Int(random.below(UInt64(routes.count)))]
            let failed = random.below(25) == 0
            let statusCode: Int64 = failed ? 500 : (method == "POST" ? 201 : (random.below(20) == 0 ? 404 : 200))
            let name = switch kind {
            case .server: "\(method) /api/\(route)/{id}"
            case .client: method
            default: internalNames[Int(random.below(UInt64(internalNames.count)))]
            }
            let end = begin + duration
            var events: [SpanEvent] = []
            if failed || random.below(4) == 0 {
                let time = begin + random.below(duration + 1)
                events.append(
                    failed
                        ? SpanEvent(timeUnixNano: time, name: "exception", attributes: [
                            Attribute("exception.type", .string("HTTPError")),
                            Attribute("exception.message", .string("upstream returned 500")),
                            Attribute("exception.escaped", .bool(true)),
                        ])
                        : SpanEvent(timeUnixNano: time, name: "log", attributes: [
                            Attribute("log.severity", .string("INFO")),
                            Attribute("log.message", .string("cache refreshed")),
                        ]))
            }
            let span = Span(
                traceID: traceID, spanID: SpanID(value: random.nonZero()), parentSpanID: parentSpanID, flags: flags,
                name: name, kind: kind, startTimeUnixNano: begin, endTimeUnixNano: end,
                attributes: [
                    Attribute("http.request.method", .string(method)),
                    Attribute("url.path", .string("/api/\(route)/\(random.below(100_000))")),
                    Attribute("http.response.status_code", .int(statusCode)),
                    Attribute("server.address", .string(services[service])),
                    Attribute("server.port", .int(8080)),
                    Attribute("thread.id", .int(Int64(1 + random.below(64)))),
                    Attribute("enduser.id", .string("u\(random.below(1_000_000))")),
                    Attribute("cache.hit", .bool(random.below(2) == 0)),
                    Attribute("app.load", .double(Double(random.below(1_000)) / 1_000)),
                    Attribute("app.retries", .int(Int64(random.below(3)))),
                ],
                events: events,
                status: failed ? SpanStatus(code: .error, message: "HTTP 500") : .unset,
                resource: resources[service], scope: scope)
            spans.append((service, span))
        }
        return spans.map { ($0.service, $0.span) }
    }

    /// A handful of spans that between them set every field of the OTLP trace messages and every case of
    /// `AttributeValue`, with the values that encoders get wrong: defaults inside a `oneof`, negative and extreme
    /// integers, NaN and infinities, empty and nested arrays and lists, duplicate keys, unicode and control
    /// characters, the remote bits of the flags, and enum values that the enums do not name.
    ///
    /// The spans come grouped by resource and scope, so that an OTLP round trip returns them in the same order.
    /// No string holds a NUL character, which protobuf-c cannot return.
    public static func everyFieldSpans() -> [Span] {
        let resource = Resource(
            attributes: [
                Attribute("service.name", .string("every-field")),
                Attribute("service.instance.id", .string("b7c2e1d0-1c5e-4f4a-9b7e-3f1c2d4e5a6b")),
                Attribute("host.cpu.count", .int(8)),
            ],
            droppedAttributesCount: 1, schemaURL: "https://opentelemetry.io/schemas/1.26.0")
        let scope = InstrumentationScope(
            name: "cairn.every-field", version: "2.0.0-beta.1",
            attributes: [Attribute("scope.flavor", .string("vanilla")), Attribute("scope.level", .int(-1))],
            droppedAttributesCount: 2, schemaURL: "https://opentelemetry.io/schemas/1.24.0")
        let otherScope = InstrumentationScope(name: "cairn.other-scope")
        let bareResource = Resource()
        let traceID = TraceID(high: 0x0123_4567_89AB_CDEF, low: 0xFEDC_BA98_7654_3210)

        let everyValue: [Attribute] = [
            Attribute("empty", .empty),
            Attribute("string.empty", .string("")),
            Attribute("string.unicode", .string("héllo wörld 你好 🌍 \u{200B}zero-width")),
            Attribute("string.escapes", .string("quote \" backslash \\ slash / newline \n tab \t cr \r bell \u{7} del \u{7F}")),
            Attribute("bool.false", .bool(false)),
            Attribute("bool.true", .bool(true)),
            Attribute("int.zero", .int(0)),
            Attribute("int.negative", .int(-42)),
            Attribute("int.min", .int(.min)),
            Attribute("int.max", .int(.max)),
            Attribute("double.zero", .double(0)),
            Attribute("double.negative-zero", .double(-0.0)),
            Attribute("double.nan", .double(.nan)),
            Attribute("double.infinity", .double(.infinity)),
            Attribute("double.negative-infinity", .double(-.infinity)),
            Attribute("double.tiny", .double(.leastNonzeroMagnitude)),
            Attribute("double.huge", .double(.greatestFiniteMagnitude)),
            Attribute("double.fraction", .double(0.1)),
            Attribute("bytes.empty", .bytes([])),
            Attribute("bytes", .bytes([0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF, 0x3E, 0x3F])),
            Attribute("array.empty", .array([])),
            Attribute(
                "array.mixed",
                .array([
                    .string("a"), .int(1), .double(2.5), .bool(false), .empty, .bytes([9]),
                    .array([.array([.string("nested twice")]), .array([])]),
                    .keyValueList([Attribute("in.array", .int(-7))]),
                ])),
            Attribute("kvlist.empty", .keyValueList([])),
            Attribute(
                "kvlist",
                .keyValueList([
                    Attribute("dup", .int(1)),
                    Attribute("dup", .string("again")),
                    Attribute("", .string("empty key")),
                    Attribute("inner", .keyValueList([Attribute("deeper", .array([.double(-1.5)]))])),
                    Attribute("nothing", .empty),
                ])),
            Attribute("duplicate", .string("first")),
            Attribute("duplicate", .string("second")),
            Attribute("", .string("attribute with an empty key")),
        ]

        let full = Span(
            traceID: traceID, spanID: SpanID(value: 0x1111_2222_3333_4444), parentSpanID: SpanID(value: 0xAAAA_BBBB_CCCC_DDDD),
            traceState: "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
            flags: 0x301,  // sampled, the remote bit known, the parent remote
            name: "every field ✓", kind: .server,
            startTimeUnixNano: 1_700_000_000_123_456_789, endTimeUnixNano: 1_700_000_001_987_654_321,
            attributes: everyValue, droppedAttributesCount: 3,
            events: [
                SpanEvent(
                    timeUnixNano: 1_700_000_000_500_000_000, name: "exception",
                    attributes: [
                        Attribute("exception.type", .string("DecodingError")),
                        Attribute("exception.message", .string("unexpected \"}\"\n at line 3")),
                        Attribute("exception.escaped", .bool(false)),
                    ],
                    droppedAttributesCount: 4),
                SpanEvent(timeUnixNano: 0, name: ""),
                SpanEvent(timeUnixNano: .max, name: "at the end of time", attributes: [Attribute("n", .int(-1))]),
            ],
            droppedEventsCount: 5,
            links: [
                SpanLink(
                    traceID: TraceID(high: 0xFFFF_FFFF_FFFF_FFFF, low: 1), spanID: SpanID(value: 2), traceState: "vendor=link",
                    attributes: [Attribute("link.kind", .string("follows-from")), Attribute("link.empty", .empty)],
                    droppedAttributesCount: 6, flags: 0x201),
                SpanLink(traceID: traceID, spanID: SpanID(value: .max), flags: 0x100),
                SpanLink(traceID: TraceID(high: 0, low: 7), spanID: SpanID(value: 1 << 63)),
            ],
            droppedLinksCount: 7,
            status: SpanStatus(code: .error, message: "it went wrong: ❌"),
            resource: resource, scope: scope)

        let unknownEnums = Span(
            traceID: traceID, spanID: SpanID(value: 0x5555_6666_7777_8888), parentSpanID: full.spanID, flags: 0x01,
            name: "unknown kind and status", kind: SpanKind(rawValue: 9), startTimeUnixNano: 1_700_000_000_200_000_000,
            endTimeUnixNano: 1_700_000_000_100_000_000,  // ends before it starts: kept as sent
            attributes: [Attribute("only", .string("one"))],
            status: SpanStatus(code: .init(rawValue: 7), message: ""),
            resource: resource, scope: scope)

        let negativeEnums = Span(
            traceID: TraceID(high: 0, low: 1), spanID: SpanID(value: 1), traceState: "a=1",
            name: "negative kind and status", kind: SpanKind(rawValue: -3), startTimeUnixNano: 0, endTimeUnixNano: 0,
            status: SpanStatus(code: .init(rawValue: -1), message: "negative"),
            resource: resource, scope: otherScope)

        let unsetWithMessage = Span(
            traceID: TraceID(high: 1, low: 0), spanID: SpanID(value: 0x0102_0304_0506_0708), name: "x",
            kind: .unspecified, startTimeUnixNano: 1, endTimeUnixNano: 2,
            status: SpanStatus(code: .unset, message: "unset, with a message"),
            resource: bareResource, scope: InstrumentationScope())

        let okClient = Span(
            traceID: TraceID(high: 1, low: 0), spanID: SpanID(value: 0xFFFF_FFFF_FFFF_FFFF),
            parentSpanID: unsetWithMessage.spanID, flags: 0xFFFF_FFFF, name: "ok client", kind: .client,
            startTimeUnixNano: .max, endTimeUnixNano: .max, droppedAttributesCount: .max, droppedEventsCount: .max,
            droppedLinksCount: .max, status: SpanStatus(code: .ok),
            resource: bareResource, scope: InstrumentationScope())

        let producer = Span(
            traceID: traceID, spanID: SpanID(value: 0x0A0B_0C0D_0E0F_1011), parentSpanID: full.spanID,
            name: "producer", kind: .producer, startTimeUnixNano: 1_700_000_000_300_000_000,
            endTimeUnixNano: 1_700_000_000_400_000_000,
            resource: Resource(attributes: [Attribute("service.name", .string("every-field"))]),
            scope: InstrumentationScope(name: "cairn.every-field", version: "2.0.0-beta.1"))

        let consumer = Span(
            traceID: traceID, spanID: SpanID(value: 0x1213_1415_1617_1819), parentSpanID: producer.spanID,
            name: "consumer", kind: .consumer, startTimeUnixNano: 1_700_000_000_500_000_000,
            endTimeUnixNano: 1_700_000_000_600_000_000,
            resource: producer.resource, scope: producer.scope)

        return [full, unknownEnums, negativeEnums, unsetWithMessage, okClient, producer, consumer]
    }
}

extension Fixtures {
    /// SplitMix64 (Steele, Lea and Flood, 2014): a tiny seeded generator whose sequence is the same on every platform.
    struct SplitMix64 {
        private var state: UInt64

        init(seed: UInt64) {
            state = seed
        }

        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var mixed = state
            mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
            mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
            return mixed ^ (mixed >> 31)
        }

        /// A number in `0..<bound`; the slight bias of the modulo does not matter for fixtures.
        mutating func below(_ bound: UInt64) -> UInt64 {
            bound == 0 ? 0 : next() % bound
        }

        mutating func nonZero() -> UInt64 {
            while true {
                let value = next()
                if value != 0 { return value }
            }
        }

        /// `count` lowercase hexadecimal digits.
        mutating func hex(_ count: Int) -> String {
            String(String(next() | 1 << 63, radix: 16).suffix(count))
        }
    }
}

extension Array where Element == Span {
    /// The spans with their start and end times moved `nanos` later (their events stay where they were).
    public func shifted(later nanos: UInt64) -> [Span] {
        map { span in
            var span = span
            span.startTimeUnixNano += nanos
            span.endTimeUnixNano += nanos
            return span
        }
    }
}
