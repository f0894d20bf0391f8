import CairnAnalysis
public import CairnModel
import CairnOTLP
public import Prometheus
import Synchronization

/// RED metrics of the traced services, derived from their spans as they are ingested, in the collector's Prometheus
/// registry: what the OpenTelemetry Collector's `spanmetrics` and `servicegraph` connectors and Tempo's
/// metrics-generator compute.
///
/// Per service, operation (the span name), span kind and status:
/// - `cairn_span_calls_total{service, operation, kind, status}` and
/// - `cairn_span_duration_seconds{service, operation, kind, status}`, a histogram of span durations.
///
/// Per dependency edge, a call from a `client` service to a `server`:
/// - `cairn_dependency_requests_total`, `cairn_dependency_failures_total` (either side in ERROR status) and
///   `cairn_dependency_duration_seconds` (the calling span's duration), `{client, server, connection_type}`.
///
/// An edge pairs a CLIENT span with the SERVER span whose parent it is (`connection_type=""`), or a PRODUCER span
/// with a CONSUMER span whose parent it is or that links to it (`messaging`). The halves of a call may come in
/// different batches, in any order: each half waits for the other in a store keyed by (trace id, span id) for
/// `Configuration.edgeWaitSeconds`, and the store keeps at most `Configuration.maxPendingEdges` calls, evicting
/// the oldest first. A CLIENT or PRODUCER span left alone gives an edge to the peer its attributes name, as
/// `DependencyGraphBuilder` names and classifies peers (`database`, `messaging` or `virtual`); any other half left
/// alone is counted in `cairn_dependency_unpaired_total{reason="expired"|"evicted"}`.
///
/// Cardinality is bounded: beyond `Configuration.maxSeries` label sets, spans of new label sets are counted under
/// `operation="_other"` (up to a tenth more series, then under `service="_other"` too), and beyond
/// `Configuration.maxEdges` edges, calls on new edges under `server="_other"` (likewise); each such span or call
/// counts in `cairn_span_metrics_overflow_total{limit="series"|"edges"}`.
///
/// Cost: `record` reads the records' indexed fields; it decodes only the peer attributes of CLIENT and PRODUCER
/// spans and the links of CONSUMER spans, with the partial decoder, before it takes its lock. Measured on batches of
/// 512 spans from two services whose traces pair a call and call a database (release build, one core): about
/// 0.4 µs a span, of which about 0.2 µs for the span series and 0.15 µs for decoding.
public final class SpanMetrics: Sendable {
    /// The bounds of the span metrics.
    public struct Configuration: Sendable {
        /// The most (service, operation, kind, status) label sets before new ones count as `operation="_other"`;
        /// 2,000 by default.
        public var maxSeries: Int
        /// The most (client, server, connection type) edges before new ones count as `server="_other"`; 500 by
        /// default.
        public var maxEdges: Int
        /// How long half of a call waits for its other half, in seconds; 10 by default.
        public var edgeWaitSeconds: Double
        /// The most calls waiting for their other half; beyond, the oldest is given up. 10,000 by default.
        public var maxPendingEdges: Int

        /// Bounds, each with its default unless given.
        public init(maxSeries: Int = 2_000, maxEdges: Int = 500, edgeWaitSeconds: Double = 10, maxPendingEdges: Int = 10_000) {
            self.maxSeries = maxSeries
            self.maxEdges = maxEdges
            self.edgeWaitSeconds = edgeWaitSeconds
            self.maxPendingEdges = maxPendingEdges
        }
    }

    private let registry: PrometheusCollectorRegistry
    fileprivate let configuration: Configuration
    private let now: @Sendable () -> UInt64
    fileprivate let waitNanos: UInt64
    private let state: Mutex<State>
    private let overflowSeries: Prometheus.Counter
    private let overflowEdges: Prometheus.Counter
    private let unpairedExpired: Prometheus.Counter
    private let unpairedEvicted: Prometheus.Counter

    /// Span metrics registered in `registry`, with the bounds of `configuration`; `now` gives nanoseconds on a
    /// monotonic clock, for the expiry of unpaired calls.
    public init(
        registry: PrometheusCollectorRegistry, configuration: Configuration = .init(),
        now: @escaping @Sendable () -> UInt64 = SpanMetrics.monotonicNanoseconds
    ) {
        self.registry = registry
        self.configuration = configuration
        self.now = now
        waitNanos = UInt64(max(0, configuration.edgeWaitSeconds) * 1e9)
        state = Mutex(State(maxSeries: max(0, configuration.maxSeries), maxEdges: max(0, configuration.maxEdges)))
        let overflow = CollectorMetrics.name(
            "span_metrics_overflow", "total",
            "Spans and calls counted under _other because their label set was beyond the bound, by bound.")
        overflowSeries = registry.makeCounter(descriptor: overflow, labels: [("limit", "series")])
        overflowEdges = registry.makeCounter(descriptor: overflow, labels: [("limit", "edges")])
        let unpaired = CollectorMetrics.name(
            "dependency_unpaired", "total",
            "Halves of calls given up without their other half and without a peer to make an edge to, by reason.")
        unpairedExpired = registry.makeCounter(descriptor: unpaired, labels: [("reason", "expired")])
        unpairedEvicted = registry.makeCounter(descriptor: unpaired, labels: [("reason", "evicted")])
    }

    /// Nanoseconds since an arbitrary origin on the continuous clock.
    public static let monotonicNanoseconds: @Sendable () -> UInt64 = {
        let origin = ContinuousClock.now
        return {
            let elapsed = origin.duration(to: .now).components
            return UInt64(elapsed.seconds) * 1_000_000_000 + UInt64(elapsed.attoseconds / 1_000_000_000)
        }
    }()

    /// Counts the spans of a committed batch, pairs the halves of calls, and gives up on the calls that waited too
    /// long.
    public func record(_ batch: SpanBatch) {
        // What needs the payload, decoded before taking the lock: peer attributes and links.
        var decoded: [(record: Int, attributes: [Attribute], links: [SpanLink])] = []
        batch.payloads.withUnsafeBytes { payloads in
            for (index, record) in batch.records.enumerated() {
                let selection: OTLPProtobuf.SpanSelection
                switch record.kind {
                case .client, .producer: selection = Self.peerSelection
                case .consumer: selection = Self.linkSelection
                default: continue
                }
                let bytes = UnsafeRawBufferPointer(
                    rebasing: payloads[Int(record.payloadOffset)..<Int(record.payloadOffset) + Int(record.payloadLength)])
                guard let span = try? OTLPProtobuf.decodeSpan(
                    payload: bytes, resource: Resource(), scope: InstrumentationScope(), selection: selection),
                    !span.attributes.isEmpty || !span.links.isEmpty
                else { continue }
                decoded.append((index, span.attributes, span.links))
            }
        }
        let time = now()
        let counts = state.withLock { state in
            var counts = Counts()
            var next = 0
            for (index, record) in batch.records.enumerated() {
                let service =
                    batch.resources.indices.contains(Int(record.resourceIndex))
                    ? batch.resources[Int(record.resourceIndex)].serviceName : "unknown_service"
                var attributes: [Attribute] = []
                var links: [SpanLink] = []
                if next < decoded.count, decoded[next].record == index {
                    (attributes, links) = (decoded[next].attributes, decoded[next].links)
                    next += 1
                }
                state.record(record, service: service, peer: attributes, links: links, now: time, metrics: self, counts: &counts)
            }
            state.expire(now: time, metrics: self, counts: &counts)
            return counts
        }
        count(counts)
    }

    /// Gives up on the calls that waited longer than `Configuration.edgeWaitSeconds`.
    public func flushExpired() {
        let time = now()
        count(state.withLock { state in
            var counts = Counts()
            state.expire(now: time, metrics: self, counts: &counts)
            return counts
        })
    }

    private func count(_ counts: Counts) {
        if counts.overflowSeries > 0 { overflowSeries.increment(by: Int64(counts.overflowSeries)) }
        if counts.overflowEdges > 0 { overflowEdges.increment(by: Int64(counts.overflowEdges)) }
        if counts.expired > 0 { unpairedExpired.increment(by: Int64(counts.expired)) }
        if counts.evicted > 0 { unpairedEvicted.increment(by: Int64(counts.evicted)) }
    }

    // MARK: - Selections

    /// The attributes of CLIENT and PRODUCER spans that `DependencyGraphBuilder` names peers and their kind from:
    /// its keys but those that only tell the protocol of a call (`url.full` differs per call, and would defeat the
    /// cache of resolved peers).
    static let peerSelection = OTLPProtobuf.SpanSelection(
        attributeKeys: DependencyGraphBuilder.attributeKeys.subtracting(
            ["url.full", "http.route", "http.request.method", "http.method", "rpc.system"]),
        events: false, links: false)

    /// The links of CONSUMER spans, to find their producers.
    static let linkSelection = OTLPProtobuf.SpanSelection(attributeKeys: [], events: false, links: true)

    // MARK: - Metric objects

    /// Label values of `SpanKind` 0 to 5; other values count as `unspecified`.
    static let kindLabels = ["unspecified", "internal", "server", "client", "producer", "consumer"]
    /// Label values of `SpanStatus.Code` 0 to 2; other values count as `unset`.
    static let statusLabels = ["unset", "ok", "error"]
    /// Label values of `ConnectionType`.
    static let connectionLabels = ["", "messaging", "database", "virtual"]

    fileprivate func makeSeries(_ key: SeriesKey) -> SeriesMetrics {
        let labels = [
            ("service", key.service), ("operation", key.operation), ("kind", Self.kindLabels[Int(key.kind)]),
            ("status", Self.statusLabels[Int(key.status)]),
        ]
        return SeriesMetrics(
            calls: registry.makeCounter(
                descriptor: CollectorMetrics.name(
                    "span_calls", "total", "Spans of the traced services, by service, operation (span name), kind and status."),
                labels: labels),
            duration: registry.makeDurationHistogram(
                descriptor: CollectorMetrics.name(
                    "span_duration", "seconds",
                    "Durations of the spans of the traced services, by service, operation (span name), kind and status."),
                labels: labels, buckets: CollectorMetrics.latencyBuckets))
    }

    fileprivate func makeEdge(_ key: EdgeKey) -> EdgeMetrics {
        let labels = [
            ("client", key.client), ("server", key.server), ("connection_type", Self.connectionLabels[Int(key.type.rawValue)]),
        ]
        return EdgeMetrics(
            requests: registry.makeCounter(
                descriptor: CollectorMetrics.name(
                    "dependency_requests", "total", "Calls from a client service to a server, from paired spans."),
                labels: labels),
            failures: registry.makeCounter(
                descriptor: CollectorMetrics.name(
                    "dependency_failures", "total",
                    "Calls from a client service to a server where either span is in ERROR status."),
                labels: labels),
            duration: registry.makeDurationHistogram(
                descriptor: CollectorMetrics.name(
                    "dependency_duration", "seconds",
                    "Durations of calls from a client service to a server, as the calling span measured them."),
                labels: labels, buckets: CollectorMetrics.latencyBuckets))
    }
}

// MARK: - State

/// Label values of one series of span metrics; kind and status as indexes into the label names.
private struct SeriesKey: Hashable {
    var service: String
    var operation: String
    var kind: UInt8
    var status: UInt8
}

private struct SeriesMetrics {
    let calls: Prometheus.Counter
    let duration: DurationHistogram
}

private enum ConnectionType: UInt8 {
    case direct = 0, messaging, database, virtual
}

private struct EdgeKey: Hashable {
    var client: String
    var server: String
    var type: ConnectionType
}

private struct EdgeMetrics {
    let requests: Prometheus.Counter
    let failures: Prometheus.Counter
    let duration: DurationHistogram
}

/// What the unlocked counters get once the lock is released.
private struct Counts {
    var overflowSeries = 0
    var overflowEdges = 0
    var expired = 0
    var evicted = 0
}

/// Metric objects by label set, with at most `limit` label sets of their own; beyond, keys are mapped to an
/// overflow key (up to a tenth of `limit` of those), then to a collapsed key.
private struct Bounded<Key: Hashable, Metrics> {
    var metrics: [Key: Metrics] = [:]
    let limit: Int
    var admitted = 0
    var overflowAdmitted = 0

    init(limit: Int) {
        self.limit = limit
    }

    /// The metrics of `key`, and whether they are those of another key because of the bound.
    mutating func get(
        _ key: Key, overflow: (Key) -> Key, collapsed: (Key) -> Key, make: (Key) -> Metrics
    ) -> (metrics: Metrics, overflowed: Bool) {
        if let known = metrics[key] { return (known, false) }
        if admitted < limit {
            admitted += 1
            return (add(key, make), false)
        }
        let other = overflow(key)
        if let known = metrics[other] { return (known, true) }
        if overflowAdmitted < max(1, limit / 10) {
            overflowAdmitted += 1
            return (add(other, make), true)
        }
        let last = collapsed(key)
        return (metrics[last] ?? add(last, make), true)
    }

    private mutating func add(_ key: Key, _ make: (Key) -> Metrics) -> Metrics {
        let made = make(key)
        metrics[key] = made
        return made
    }
}

/// A span by its ids.
private struct SpanKey: Hashable {
    var traceHigh: UInt64
    var traceLow: UInt64
    var spanID: UInt64
}

/// The calling half of a call: a CLIENT or PRODUCER span.
private struct Caller {
    var service: String
    var durationNanos: UInt64
    var error: Bool
    var producer: Bool
    /// The attributes of `SpanMetrics.peerSelection` it has.
    var peer: [Attribute]
}

/// The called half of a call: a SERVER or CONSUMER span.
private struct Callee {
    var service: String
    var error: Bool
    var consumer: Bool
}

/// A call waiting for its other half, keyed by the calling span's ids: the caller, or the callees that came first.
private struct Pending {
    var sequence: UInt64
    var caller: Caller?
    var callees: [Callee] = []
}

/// A peer named by `DependencyGraphBuilder`: the question, and its answer.
private struct PeerQuery: Hashable {
    var service: String
    var producer: Bool
    var attributes: [Attribute]
}

private struct Peer {
    var name: String
    var type: ConnectionType
}

private struct State {
    var series: Bounded<SeriesKey, SeriesMetrics>
    var edges: Bounded<EdgeKey, EdgeMetrics>
    var pending: [SpanKey: Pending] = [:]
    /// Pending calls in the order they began waiting, which is the order they expire in; an entry whose call was
    /// paired (its sequence no longer in `pending`) is skipped.
    var queue: [(key: SpanKey, sequence: UInt64, arrived: UInt64)] = []
    var queueHead = 0
    var sequence: UInt64 = 0
    var peers: [PeerQuery: Peer?] = [:]

    static let other = "_other"
    /// The most callees waiting for one caller (a message consumed many times).
    static let maxCallees = 64
    static let maxCachedPeers = 1_024

    init(maxSeries: Int, maxEdges: Int) {
        series = Bounded(limit: maxSeries)
        edges = Bounded(limit: maxEdges)
    }

    mutating func record(
        _ record: SpanBatch.Record, service: String, peer: [Attribute], links: [SpanLink], now: UInt64,
        metrics: SpanMetrics, counts: inout Counts
    ) {
        let kind = record.kind.rawValue
        let status = record.statusCode.rawValue
        let key = SeriesKey(
            service: service, operation: record.name, kind: (0...5).contains(kind) ? UInt8(kind) : 0,
            status: (0...2).contains(status) ? UInt8(status) : 0)
        let (series, overflowed) = self.series.get(
            key, overflow: { SeriesKey(service: $0.service, operation: Self.other, kind: $0.kind, status: $0.status) },
            collapsed: { SeriesKey(service: Self.other, operation: Self.other, kind: $0.kind, status: $0.status) },
            make: metrics.makeSeries)
        if overflowed { counts.overflowSeries += 1 }
        series.calls.increment()
        series.duration.recordNanoseconds(Int64(clamping: record.durationNanos))

        let error = record.statusCode == .error
        let trace = (record.traceID.high, record.traceID.low)
        switch record.kind {
        case .client, .producer:
            let caller = Caller(
                service: service, durationNanos: record.durationNanos, error: error, producer: record.kind == .producer,
                peer: peer)
            arrive(caller, at: SpanKey(traceHigh: trace.0, traceLow: trace.1, spanID: record.spanID.value), now: now,
                   metrics: metrics, counts: &counts)
        case .server:
            guard let parent = record.parentSpanID else { break }
            arrive(Callee(service: service, error: error, consumer: false),
                   at: SpanKey(traceHigh: trace.0, traceLow: trace.1, spanID: parent.value), now: now, metrics: metrics,
                   counts: &counts)
        case .consumer:
            // Each producer once, whether parent, linked or both.
            var producers: [SpanKey] = []
            if let parent = record.parentSpanID {
                producers.append(SpanKey(traceHigh: trace.0, traceLow: trace.1, spanID: parent.value))
            }
            for link in links {
                let key = SpanKey(traceHigh: link.traceID.high, traceLow: link.traceID.low, spanID: link.spanID.value)
                if link.spanID.isValid, !producers.contains(key) { producers.append(key) }
            }
            for producer in producers {
                arrive(Callee(service: service, error: error, consumer: true), at: producer, now: now, metrics: metrics,
                       counts: &counts)
            }
        default:
            break
        }
    }

    /// A caller meets the callees that came first, or waits for them.
    private mutating func arrive(_ caller: Caller, at key: SpanKey, now: UInt64, metrics: SpanMetrics, counts: inout Counts) {
        if let waiting = pending[key] {
            // A second span with the same ids: the first one stands.
            guard waiting.caller == nil else { return }
            pending[key] = nil
            // Callees of the other pair of kinds (a SERVER span under a PRODUCER) are not calls this counts.
            for callee in waiting.callees where callee.consumer == caller.producer {
                complete(caller, callee, metrics: metrics, counts: &counts)
            }
            return
        }
        wait(Pending(sequence: 0, caller: caller), at: key, now: now, metrics: metrics, counts: &counts)
    }

    /// A callee meets its caller, or waits for it.
    private mutating func arrive(_ callee: Callee, at key: SpanKey, now: UInt64, metrics: SpanMetrics, counts: inout Counts) {
        if var waiting = pending[key] {
            if let caller = waiting.caller {
                // A SERVER span under a PRODUCER, or a CONSUMER under a CLIENT: not a call this counts.
                guard callee.consumer == caller.producer else { return }
                pending[key] = nil
                complete(caller, callee, metrics: metrics, counts: &counts)
            } else if waiting.callees.count < Self.maxCallees {
                waiting.callees.append(callee)
                pending[key] = waiting
            } else {
                counts.evicted += 1
            }
            return
        }
        wait(Pending(sequence: 0, callees: [callee]), at: key, now: now, metrics: metrics, counts: &counts)
    }

    private mutating func wait(_ call: Pending, at key: SpanKey, now: UInt64, metrics: SpanMetrics, counts: inout Counts) {
        while pending.count >= metrics.configuration.maxPendingEdges, let oldest = popOldest() {
            giveUp(oldest, evicted: true, metrics: metrics, counts: &counts)
        }
        guard metrics.configuration.maxPendingEdges > 0 else {
            giveUp(call, evicted: true, metrics: metrics, counts: &counts)
            return
        }
        var call = call
        sequence += 1
        call.sequence = sequence
        pending[key] = call
        queue.append((key, sequence, now))
        // Entries of paired calls stay in the queue until they reach its head; drop them when they dominate.
        if queue.count - queueHead > 4 * pending.count + 1_024 {
            queue = queue[queueHead...].filter { pending[$0.key]?.sequence == $0.sequence }
            queueHead = 0
        }
    }

    /// Removes and returns the call that has waited longest.
    private mutating func popOldest() -> Pending? {
        while queueHead < queue.count {
            let entry = queue[queueHead]
            queueHead += 1
            if let call = pending[entry.key], call.sequence == entry.sequence {
                pending[entry.key] = nil
                return call
            }
        }
        return nil
    }

    mutating func expire(now: UInt64, metrics: SpanMetrics, counts: inout Counts) {
        while queueHead < queue.count {
            let entry = queue[queueHead]
            if let call = pending[entry.key], call.sequence == entry.sequence {
                guard entry.arrived &+ metrics.waitNanos <= now else { break }
                pending[entry.key] = nil
                giveUp(call, evicted: false, metrics: metrics, counts: &counts)
            }
            queueHead += 1
        }
        if queueHead > 1_024 && queueHead * 2 > queue.count {
            queue.removeFirst(queueHead)
            queueHead = 0
        }
    }

    /// A call that found no other half: an edge to the peer its caller names, or unpaired halves.
    private mutating func giveUp(_ call: Pending, evicted: Bool, metrics: SpanMetrics, counts: inout Counts) {
        var unpaired = call.callees.count
        if let caller = call.caller {
            if !caller.peer.isEmpty, let peer = resolve(caller) {
                edge(
                    EdgeKey(client: caller.service, server: peer.name, type: peer.type), latency: caller.durationNanos,
                    failed: caller.error, metrics: metrics, counts: &counts)
            } else {
                unpaired += 1
            }
        }
        if evicted { counts.evicted += unpaired } else { counts.expired += unpaired }
    }

    private mutating func complete(_ caller: Caller, _ callee: Callee, metrics: SpanMetrics, counts: inout Counts) {
        edge(
            EdgeKey(client: caller.service, server: callee.service, type: caller.producer ? .messaging : .direct),
            latency: caller.durationNanos, failed: caller.error || callee.error, metrics: metrics, counts: &counts)
    }

    private mutating func edge(_ key: EdgeKey, latency: UInt64, failed: Bool, metrics: SpanMetrics, counts: inout Counts) {
        let (edge, overflowed) = edges.get(
            key, overflow: { EdgeKey(client: $0.client, server: Self.other, type: $0.type) },
            collapsed: { EdgeKey(client: Self.other, server: Self.other, type: $0.type) }, make: metrics.makeEdge)
        if overflowed { counts.overflowEdges += 1 }
        edge.requests.increment()
        if failed { edge.failures.increment() }
        edge.duration.recordNanoseconds(Int64(clamping: latency))
    }

    /// The peer a lone caller names, as `DependencyGraphBuilder` names it: the builder is asked with that one span,
    /// and its answer kept for the next caller with the same service and attributes.
    private mutating func resolve(_ caller: Caller) -> Peer? {
        let query = PeerQuery(service: caller.service, producer: caller.producer, attributes: caller.peer)
        if let known = peers[query] { return known }
        var builder = DependencyGraphBuilder()
        builder.add(
            Span(
                traceID: TraceID(high: 0, low: 1), spanID: SpanID(value: 1), name: "call",
                kind: caller.producer ? .producer : .client, startTimeUnixNano: 0, endTimeUnixNano: 0,
                attributes: caller.peer,
                resource: Resource(attributes: [Attribute("service.name", .string(caller.service))])))
        let graph = builder.build()
        let peer = graph.edges.first.map { edge in
            let type: ConnectionType =
                switch graph.node(named: edge.child)?.kind {
                case .database?: .database
                case .messaging?: .messaging
                default: .virtual
                }
            return Peer(name: edge.child, type: type)
        }
        if peers.count >= Self.maxCachedPeers { peers.removeAll(keepingCapacity: true) }
        peers[query] = peer
        return peer
    }
}
