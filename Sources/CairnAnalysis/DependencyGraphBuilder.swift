public import CairnModel
import Dispatch

/// Builds a `DependencyGraph` from the spans of a time window, added in any order, from any number of traces.
///
/// The caller chooses the window by the spans it adds; a call whose parent span lies outside the window gives no
/// edge. docs/dependencies.md has the rules with examples; in short:
///
/// - **Spans**: a span counts once however often it is added: spans with the same trace id and span id are one span
///   (when their fields differ, the builder keeps one chosen by their content, not by the order they came in).
///   A service is the resource's `service.name`.
/// - **Parent and child in different services** (same trace): an edge from the parent's service to the child's.
///   Latency: the parent's duration when the parent is CLIENT or PRODUCER (the caller's view, network included),
///   otherwise the child's. Spans of the same service give no edge.
/// - **PRODUCER to CONSUMER**: a CONSUMER span whose parent is a PRODUCER span, or which links to a PRODUCER span
///   added to the builder (in any trace), gives a `messaging` edge from the producer's service to the consumer's,
///   *also within one service* (a service that queues work for itself depends on the queue). Latency: the
///   consumer's end minus the producer's start, delivery and processing together. A consumer counts each producer
///   once, whether parented, linked or both.
/// - **Calls to peers that send no spans**: a CLIENT span with no child in another service, and a PRODUCER span that
///   no CONSUMER span answers, give an edge to the peer named by the first of: `peer.service`; `server.address`
///   (as `host:port` with `server.port`, `[host]:port` for IPv6); `network.peer.address` (with
///   `network.peer.port`); `db.namespace`, then `db.name`; `db.system.name`, then `db.system`. A span without any
///   of these gives no edge. A peer name that is also the name of a service that sent spans is that service's node;
///   a peer name equal to the calling span's own service gives no edge. Latency: the calling span's duration.
/// - **Errors**: a call is an error when either side (child, consumer or producer, or the calling span) is in
///   ERROR status.
/// - **Edge kind**, from the spans' attributes (the calling span's when it is CLIENT or PRODUCER, and the child's):
///   `database` for `db.system.name`, `db.system`, `db.namespace` or `db.name`; `messaging` for PRODUCER and
///   CONSUMER calls or `messaging.system`; `rpc` for `rpc.system`; `http` for `http.request.method`,
///   `http.method`, `url.full` or `http.route`; else `virtual` to a virtual node and `other` between services.
/// - **Nodes**: a service received its SERVER and CONSUMER spans and its root spans (no parent id); its calls,
///   errors and p95 are those spans' count, ERROR count and 95th percentile duration. A virtual node received the
///   calls on the edges into it. A virtual node is `database` if any call to it has `db.*` attributes, else
///   `messaging` if any has `messaging.system` or comes from a PRODUCER span, else `virtual`.
/// - **Percentiles** are exact, by nearest rank (`Percentiles`).
///
/// Memory and time: the builder keeps a 64-byte record per span (ids, times, kind, flags and interned names), not
/// the span, plus 24 bytes per link of a CONSUMER span and an interned string per distinct service and peer.
/// `build()` groups a copy of the records by trace into partitions of about 2,048 whose id tables fit in the
/// processor's cache, and walks them once, in chunks of partitions on every core at once (Dispatch's
/// `concurrentPerform`; the caller's thread is one of them). The map of a window of a million stored spans, read and
/// built, is measured by `BENCH_FILTER=dependencyGraph scripts/bench-query` (about 0.7 s on SQLite, 2 cores).
public struct DependencyGraphBuilder: Sendable {
    /// The span attribute keys the builder reads; a store may decode only these (plus the resource's
    /// `service.name`, and the links of CONSUMER spans).
    public static let attributeKeys: Set<String> = [
        "peer.service", "server.address", "server.port", "network.peer.address", "network.peer.port",
        "db.namespace", "db.name", "db.system.name", "db.system", "messaging.system", "rpc.system",
        "http.request.method", "http.method", "url.full", "http.route",
    ]

    private var records: [Record] = []
    /// The records of merged builders, as they were: their names and links are renumbered when `build()` groups them.
    private var mergedParts: [MergedPart] = []
    private var links: [LinkTarget] = []
    private var strings: [String] = []
    private var stringIndex: [String: Int32] = [:]
    private var peerIndex: [PeerKey: Int32] = [:]

    /// An empty builder.
    public init() {}

    /// The number of spans added, duplicates included.
    public var count: Int { mergedParts.reduce(records.count) { $0 + $1.records.count } }

    /// Adds one span. Only its ids, times, kind, status, service, the attributes in `attributeKeys` and, for a
    /// CONSUMER span, its links are kept.
    public mutating func add(_ span: Span) {
        var hints: UInt8 = 0
        var names = PeerNames()
        for attribute in span.attributes {
            Self.read(attribute, into: &names, hints: &hints)
        }
        let kind = Self.kindCode(span.kind)
        var peer: Int32 = -1
        if kind == Record.client || kind == Record.producer {
            peer = intern(peerOf: names)
        }
        var linkStart: Int32 = 0
        var linkCount: UInt16 = 0
        if kind == Record.consumer && !span.links.isEmpty {
            linkStart = Int32(links.count)
            var seen: Set<LinkTarget> = []  // each producer counts once; a set only for long lists
            for link in span.links {
                let target = LinkTarget(traceHigh: link.traceID.high, traceLow: link.traceID.low, spanID: link.spanID.value)
                if span.links.count <= 16 {
                    if links[Int(linkStart)...].contains(target) { continue }
                } else if !seen.insert(target).inserted {
                    continue
                }
                links.append(target)
                linkCount += 1
                if linkCount == UInt16.max { break }
            }
        }
        if span.status.code == .error { hints |= Record.error }
        records.append(
            Record(
                traceHigh: span.traceID.high, traceLow: span.traceID.low, spanID: span.spanID.value,
                parentID: span.parentSpanID?.value ?? 0, start: span.startTimeUnixNano, end: span.endTimeUnixNano,
                service: intern(span.resource.serviceName), peer: peer, linkStart: linkStart, linkCount: linkCount,
                kind: kind, flags: hints))
    }

    /// Adds spans.
    public mutating func add(contentsOf spans: some Sequence<Span>) {
        let needed = records.count + spans.underestimatedCount
        if needed > records.capacity { records.reserveCapacity(max(needed, records.capacity * 2)) }  // stays amortized
        // Spans lent from contiguous storage: measured faster than iterating the sequence (a span copy retains a dozen
        // references).
        let done: Void? = spans.withContiguousStorageIfAvailable { buffer in
            for index in buffer.indices { add(buffer[index]) }
        }
        if done == nil {
            for span in spans { add(span) }
        }
    }

    /// Adds the spans another builder holds, as if they had been added here: builders that took disjoint parts of a
    /// window, on several threads, merge into the builder of the whole window.
    ///
    /// The other builder's records are kept as they are, not copied: `build()` renumbers their names and links when
    /// it groups every record by trace, which it does anyway.
    public mutating func merge(_ other: DependencyGraphBuilder) {
        let names = other.strings.map { intern($0) }
        let linkOffset = Int32(links.count)
        links.append(contentsOf: other.links)
        mergedParts.append(MergedPart(records: other.records, names: names, linkOffset: linkOffset))
        for part in other.mergedParts {
            mergedParts.append(
                MergedPart(records: part.records, names: part.names.map { names[Int($0)] },
                           linkOffset: linkOffset + part.linkOffset))
        }
    }

    /// The graph of every span added so far. The builder stays usable: add more spans and build again.
    public func build() -> DependencyGraph { build(chunks: 8) }

    /// The graph, with the partitions walked in up to `chunks` chunks of consecutive partitions at once, on as many
    /// threads as the processor has cores; every step after grouping reads and writes only its own chunk's records.
    func build(chunks chunkCount: Int) -> DependencyGraph {
        // The records, grouped by a hash of their trace id into partitions of a few thousand, so that a parent is
        // looked up in a table of its own partition that stays in the processor's cache.
        let own = MergedPart(records: records, names: Array(0..<Int32(strings.count)), linkOffset: 0)
        let grouped = Partitions([own] + mergedParts, pieces: chunkCount)
        let records = grouped.records
        let chunks = grouped.chunks(chunkCount)
        var kept = [Bool](repeating: false, count: records.count)
        var answered = [Bool](repeating: false, count: records.count)  // CLIENT: child in another service; PRODUCER: consumed
        var walks = chunks.map { _ in Walk(grouped, nameCount: strings.count) }
        kept.withUnsafeMutableBufferPointer { kept in
            answered.withUnsafeMutableBufferPointer { answered in
                walks.withUnsafeMutableBufferPointer { walks in
                    let (kept, answered, walks) = (Shared(buffer: kept), Shared(buffer: answered), Shared(buffer: walks))
                    DispatchQueue.concurrentPerform(iterations: chunks.count) { chunk in
                        walks[chunk].walk(chunks[chunk], of: grouped, kept: kept, answered: answered, builder: self)
                    }
                    // Links to producers in other traces: each chunk answers those to its own partitions.
                    let requests = walks.buffer.map(\.requests)
                    DispatchQueue.concurrentPerform(iterations: chunks.count) { chunk in
                        walks[chunk].answer(requests, in: chunks[chunk], of: grouped, kept: kept, answered: answered)
                    }
                    // Calls that no span answered: to peers, which are services if any chunk saw spans of theirs.
                    var services = [Bool](repeating: false, count: strings.count)
                    for walk in walks.buffer {
                        for name in services.indices where walk.accumulator.isService[name] { services[name] = true }
                    }
                    let isService = services
                    DispatchQueue.concurrentPerform(iterations: chunks.count) { chunk in
                        walks[chunk].callPeers(in: grouped.positions(of: chunks[chunk]), of: records, kept: kept,
                                               answered: answered, services: isService)
                    }
                }
            }
        }
        var accumulator = walks[0].accumulator
        for walk in walks.dropFirst() { accumulator.merge(walk.accumulator) }
        return accumulator.graph(names: strings)
    }

    /// What one chunk of partitions finds while `build()` walks them.
    struct Walk {
        var accumulator: Accumulator
        var table: LocalTable
        /// Links of CONSUMER spans to spans of other traces, by the partition that holds the target.
        var requests: [[LinkRequest]]

        init(_ grouped: Partitions, nameCount: Int) {
            accumulator = Accumulator(nameCount: nameCount)
            table = LocalTable(capacity: grouped.largest)
            requests = [[LinkRequest]](repeating: [], count: grouped.count)
        }

        /// Keeps one record of each span, and adds the calls from parents and to producers of the same trace.
        mutating func walk(
            _ chunk: Range<Int>, of grouped: Partitions, kept: Shared<Bool>,
            answered: Shared<Bool>, builder: DependencyGraphBuilder
        ) {
            let records = grouped.records
            for partition in chunk {
                let range = grouped.range(of: partition)
                table.fill(range, of: records, kept: kept, deduplicatingBy: builder.precedes)
                for position in range where kept[position] {
                    let record = records[position]
                    accumulator.isService[Int(record.service)] = true
                    var parentProducer = -1
                    if record.parentID != 0,
                        let parentPosition = table.find(record.traceHigh, record.traceLow, record.parentID, in: records)
                    {
                        let parent = records[parentPosition]
                        if record.kind == Record.consumer && parent.kind == Record.producer {
                            accumulator.addMessaging(producer: parent, consumer: record)
                            answered[parentPosition] = true
                            parentProducer = parentPosition
                        } else if parent.service != record.service {
                            let callerView = parent.kind == Record.client || parent.kind == Record.producer
                            var hints = record.flags
                            if callerView { hints |= parent.flags }
                            let messaging = parent.kind == Record.producer || record.kind == Record.consumer
                            accumulator.add(
                                from: parent.service, to: record.service,
                                kind: DependencyGraphBuilder.edgeKind(hints: hints, messaging: messaging, toVirtual: false),
                                latency: callerView ? parent.duration : record.duration,
                                error: (parent.flags | record.flags) & Record.error != 0)
                            if callerView { answered[parentPosition] = true }
                        }
                    }
                    // Links are distinct (see `add`); a link to the parent producer counts once.
                    for link in builder.links[Int(record.linkStart)..<Int(record.linkStart) + Int(record.linkCount)] {
                        if link.traceHigh == record.traceHigh && link.traceLow == record.traceLow {
                            guard let producerPosition = table.find(link.traceHigh, link.traceLow, link.spanID, in: records),
                                producerPosition != parentProducer, records[producerPosition].kind == Record.producer
                            else { continue }
                            accumulator.addMessaging(producer: records[producerPosition], consumer: record)
                            answered[producerPosition] = true
                        } else {
                            let target = grouped.partition(of: link.traceHigh, link.traceLow)
                            requests[target].append(LinkRequest(target: link, consumer: Int32(position)))
                        }
                    }
                    if record.kind == Record.server || record.kind == Record.consumer || record.parentID == 0 {
                        accumulator.receive(record)
                    }
                }
            }
        }

        /// Adds the calls from the producers of `chunk`'s partitions to the consumers that link to them from other
        /// traces; `requests` are every chunk's.
        mutating func answer(
            _ requests: [[[LinkRequest]]], in chunk: Range<Int>, of grouped: Partitions,
            kept: Shared<Bool>, answered: Shared<Bool>
        ) {
            let records = grouped.records
            for partition in chunk where requests.contains(where: { !$0[partition].isEmpty }) {
                table.fill(grouped.range(of: partition), of: records, kept: kept, deduplicatingBy: nil)
                for request in requests.lazy.flatMap({ $0[partition] }) {
                    let link = request.target
                    guard let producerPosition = table.find(link.traceHigh, link.traceLow, link.spanID, in: records),
                        records[producerPosition].kind == Record.producer
                    else { continue }
                    accumulator.addMessaging(producer: records[producerPosition], consumer: records[Int(request.consumer)])
                    answered[producerPosition] = true
                }
            }
        }

        /// Adds the calls of the CLIENT and PRODUCER spans at `positions` that no span answered, to their peers.
        mutating func callPeers(
            in positions: Range<Int>, of records: [Record], kept: Shared<Bool>,
            answered: Shared<Bool>, services: [Bool]
        ) {
            for position in positions where kept[position] && !answered[position] {
                let record = records[position]
                guard record.peer >= 0, record.peer != record.service else { continue }
                let producer = record.kind == Record.producer
                let toVirtual = !services[Int(record.peer)]
                if toVirtual {
                    let level: UInt8 =
                        record.flags & Record.database != 0 ? 2 : (producer || record.flags & Record.messaging != 0) ? 1 : 0
                    accumulator.peerLevel[Int(record.peer)] = max(accumulator.peerLevel[Int(record.peer)], level)
                }
                accumulator.add(
                    from: record.service, to: record.peer,
                    kind: DependencyGraphBuilder.edgeKind(hints: record.flags, messaging: producer, toVirtual: toVirtual),
                    latency: record.duration, error: record.flags & Record.error != 0)
            }
        }
    }
}

// MARK: - Records

extension DependencyGraphBuilder {
    /// What the builder keeps of a span: 64 bytes.
    struct Record {
        var traceHigh: UInt64
        var traceLow: UInt64
        var spanID: UInt64
        /// 0 for none (the all-zero id is invalid).
        var parentID: UInt64
        var start: UInt64
        var end: UInt64
        /// Index of the service name in `strings`.
        var service: Int32
        /// Index of the peer name in `strings` for CLIENT and PRODUCER spans, or -1.
        var peer: Int32
        /// The CONSUMER span's links: `links[linkStart..<linkStart + linkCount]`.
        var linkStart: Int32
        var linkCount: UInt16
        /// One of the kind codes below.
        var kind: UInt8
        /// The error flag and the attribute hints below.
        var flags: UInt8

        static let other: UInt8 = 0, server: UInt8 = 1, client: UInt8 = 2, producer: UInt8 = 3, consumer: UInt8 = 4

        static let error: UInt8 = 1
        static let database: UInt8 = 2
        static let messaging: UInt8 = 4
        static let rpc: UInt8 = 8
        static let http: UInt8 = 16

        var duration: UInt64 { end >= start ? end - start : 0 }

        func sameSpan(as other: Record) -> Bool {
            traceHigh == other.traceHigh && traceLow == other.traceLow && spanID == other.spanID
        }

    }

    struct LinkTarget: Hashable {
        var traceHigh: UInt64
        var traceLow: UInt64
        var spanID: UInt64
    }

    /// A peer named by an interned address and a non-negative integer port.
    struct PeerKey: Hashable {
        var host: Int32
        var port: Int64
    }

    /// The attributes that can name a peer, as the span holds them (no copies).
    struct PeerNames {
        var peerService: String?
        var serverAddress: String?
        var serverPort: AttributeValue?
        var networkAddress: String?
        var networkPort: AttributeValue?
        var dbNamespace: String?
        var dbName: String?
        var dbSystemName: String?
        var dbSystem: String?
    }

    static func kindCode(_ kind: SpanKind) -> UInt8 {
        switch kind {
        case .server: Record.server
        case .client: Record.client
        case .producer: Record.producer
        case .consumer: Record.consumer
        default: Record.other
        }
    }

    /// A total order on records of one span id (every field, names and links by their content, not by when they
    /// were interned or stored), so that which of a group of duplicates is kept does not depend on arrival order.
    func precedes(_ a: Record, _ b: Record) -> Bool {
        if a.parentID != b.parentID { return a.parentID < b.parentID }
        if a.start != b.start { return a.start < b.start }
        if a.end != b.end { return a.end < b.end }
        if a.kind != b.kind { return a.kind < b.kind }
        if a.flags != b.flags { return a.flags < b.flags }
        if a.service != b.service { return strings[Int(a.service)] < strings[Int(b.service)] }
        if a.peer != b.peer {
            if a.peer < 0 || b.peer < 0 { return a.peer < b.peer }
            return strings[Int(a.peer)] < strings[Int(b.peer)]
        }
        let linksOfA = links[Int(a.linkStart)..<Int(a.linkStart) + Int(a.linkCount)]
        let linksOfB = links[Int(b.linkStart)..<Int(b.linkStart) + Int(b.linkCount)]
        return linksOfA.lexicographicallyPrecedes(linksOfB) { x, y in
            (x.traceHigh, x.traceLow, x.spanID) < (y.traceHigh, y.traceLow, y.spanID)
        }
    }

    /// Notes what one attribute says; the first attribute with a key wins, as `attributes[key]` does.
    static func read(_ attribute: Attribute, into names: inout PeerNames, hints: inout UInt8) {
        let key = attribute.key
        // Compare only keys of the same length: most attributes of a span are not read, and are skipped here.
        switch key.utf8.count {
        case 7:
            if key == "db.name" {
                hints |= Record.database
                setOnce(&names.dbName, attribute.value)
            }
        case 8:
            if key == "url.full" { hints |= Record.http }
        case 9:
            if key == "db.system" {
                hints |= Record.database
                setOnce(&names.dbSystem, attribute.value)
            }
        case 10:
            if key == "rpc.system" {
                hints |= Record.rpc
            } else if key == "http.route" {
                hints |= Record.http
            }
        case 11:
            if key == "server.port" {
                if names.serverPort == nil { names.serverPort = attribute.value }
            } else if key == "http.method" {
                hints |= Record.http
            }
        case 12:
            if key == "peer.service" {
                setOnce(&names.peerService, attribute.value)
            } else if key == "db.namespace" {
                hints |= Record.database
                setOnce(&names.dbNamespace, attribute.value)
            }
        case 14:
            if key == "server.address" {
                setOnce(&names.serverAddress, attribute.value)
            } else if key == "db.system.name" {
                hints |= Record.database
                setOnce(&names.dbSystemName, attribute.value)
            }
        case 16:
            if key == "messaging.system" { hints |= Record.messaging }
        case 17:
            if key == "network.peer.port" {
                if names.networkPort == nil { names.networkPort = attribute.value }
            }
        case 19:
            if key == "http.request.method" { hints |= Record.http }
        case 20:
            if key == "network.peer.address" { setOnce(&names.networkAddress, attribute.value) }
        default:
            break
        }
    }

    /// Sets a name from a non-empty string value, unless an earlier attribute already did.
    private static func setOnce(_ name: inout String?, _ value: AttributeValue) {
        guard name == nil, case .string(let text) = value, !text.isEmpty else { return }
        name = text
    }

    mutating func intern(_ name: String) -> Int32 {
        if let index = stringIndex[name] { return index }
        let index = Int32(strings.count)
        strings.append(name)
        stringIndex[name] = index
        return index
    }

    /// The interned peer name, or -1 when no attribute names one.
    mutating func intern(peerOf names: PeerNames) -> Int32 {
        if let service = names.peerService { return intern(service) }
        if let address = names.serverAddress { return intern(address: address, port: names.serverPort) }
        if let address = names.networkAddress { return intern(address: address, port: names.networkPort) }
        if let name = names.dbNamespace ?? names.dbName ?? names.dbSystemName ?? names.dbSystem { return intern(name) }
        return -1
    }

    /// `host:port`, `[host]:port` for an IPv6 address, or `host` without a port; interned by the pair, so that the
    /// joined text is made once per peer, not once per span.
    mutating func intern(address: String, port: AttributeValue?) -> Int32 {
        let host = intern(address)
        var portText: String?
        switch port {
        case .int(let number)? where number >= 0:
            let key = PeerKey(host: host, port: number)
            if let index = peerIndex[key] { return index }
            let index = intern(Self.join(address, String(number)))
            peerIndex[key] = index
            return index
        case .int(let number)?:
            portText = String(number)
        case .string(let text)? where !text.isEmpty:
            if let number = Int64(text), number >= 0 {
                return intern(address: address, port: .int(number))
            }
            portText = text
        default:
            break
        }
        guard let portText else { return host }
        return intern(Self.join(address, portText))
    }

    static func join(_ host: String, _ port: String) -> String {
        host.contains(":") && !host.hasPrefix("[") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    static func edgeKind(hints: UInt8, messaging: Bool, toVirtual: Bool) -> DependencyGraph.EdgeKind {
        if hints & Record.database != 0 { return .database }
        if messaging || hints & Record.messaging != 0 { return .messaging }
        if hints & Record.rpc != 0 { return .rpc }
        if hints & Record.http != 0 { return .http }
        return toVirtual ? .virtual : .other
    }

}

// MARK: - Finding spans by id

extension DependencyGraphBuilder {
    /// Records from a builder, with this builder's index of each of their names, and where their links start in
    /// this builder's links.
    struct MergedPart: Sendable {
        var records: [Record]
        var names: [Int32]
        var linkOffset: Int32
    }

    /// Memory that the concurrent steps of `build()` share, each step writing only elements that it owns.
    struct Shared<Element>: @unchecked Sendable {
        let buffer: UnsafeMutableBufferPointer<Element>

        subscript(index: Int) -> Element {
            unsafeAddress { UnsafePointer(buffer.baseAddress! + index) }
            nonmutating unsafeMutableAddress { buffer.baseAddress! + index }
        }
    }

    /// A CONSUMER span's link to a span of another trace, resolved when the target's partition is in the table.
    struct LinkRequest {
        var target: LinkTarget
        /// The consumer's position in `Partitions.records`.
        var consumer: Int32
    }

    /// The records grouped by partition: a hash of the trace id picks one of a power of two partitions, about 2,048
    /// records each. Swift's `Hasher` has a per-process seed, so ids chosen by a client cannot crowd one partition
    /// or one slot of a table on purpose.
    struct Partitions {
        /// The records, partition after partition.
        var records: [Record]
        /// Where each partition starts in `records`, and the end.
        private var starts: [Int]
        private let bits: Int
        /// The number of records in the largest partition.
        var largest: Int

        /// Groups the records of `parts`, renumbering the names and links of each as its `names` and `linkOffset`
        /// say; in about `pieces` pieces at once, each a stretch of one part.
        init(_ parts: [MergedPart], pieces pieceCount: Int) {
            let total = parts.reduce(0) { $0 + $1.records.count }
            var wanted = 0
            while (total >> wanted) > 2_048 && wanted < 16 { wanted += 1 }
            let bits = wanted
            self.bits = bits
            let count = 1 << bits
            let pieceLength = max(1, (total + pieceCount - 1) / max(1, pieceCount))
            let pieces = parts.indices.flatMap { part in
                stride(from: 0, to: parts[part].records.count, by: pieceLength).map { start in
                    (part: part, range: start..<min(start + pieceLength, parts[part].records.count))
                }
            }
            // Each piece's partition of each record, and its number of records in each partition.
            var partitionOf = pieces.map { [UInt16](repeating: 0, count: $0.range.count) }
            var sizes = pieces.map { _ in [Int](repeating: 0, count: count) }
            partitionOf.withUnsafeMutableBufferPointer { partitionOf in
                sizes.withUnsafeMutableBufferPointer { sizes in
                    let (partitionOf, sizes) = (Shared(buffer: partitionOf), Shared(buffer: sizes))
                    DispatchQueue.concurrentPerform(iterations: pieces.count) { index in
                        let (part, range) = pieces[index]
                        let records = parts[part].records
                        for position in range {
                            let partition = Self.partition(of: records[position].traceHigh, records[position].traceLow, bits: bits)
                            partitionOf[index][position - range.lowerBound] = UInt16(partition)
                            sizes[index][partition] += 1
                        }
                    }
                }
            }
            // Where each piece's records of each partition go: the partitions in order, the pieces in order in each.
            var starts = [Int](repeating: 0, count: count + 1)
            var next = sizes
            for partition in 0..<count {
                var position = starts[partition]
                for index in pieces.indices {
                    next[index][partition] = position
                    position += sizes[index][partition]
                }
                starts[partition + 1] = position
            }
            largest = (0..<count).map { starts[$0 + 1] - starts[$0] }.max() ?? 0
            self.starts = starts
            let pieceOf = partitionOf
            records = [Record](unsafeUninitializedCapacity: total) { buffer, initialized in
                next.withUnsafeMutableBufferPointer { next in
                    let (buffer, next) = (Shared(buffer: buffer), Shared(buffer: next))
                    DispatchQueue.concurrentPerform(iterations: pieces.count) { index in
                        let (part, range) = pieces[index]
                        let source = parts[part]
                        for position in range {
                            var record = source.records[position]
                            record.service = source.names[Int(record.service)]
                            if record.peer >= 0 { record.peer = source.names[Int(record.peer)] }
                            record.linkStart += source.linkOffset
                            let partition = Int(pieceOf[index][position - range.lowerBound])
                            (buffer.buffer.baseAddress! + next[index][partition]).initialize(to: record)
                            next[index][partition] += 1
                        }
                    }
                }
                initialized = total
            }
        }

        /// The number of partitions.
        var count: Int { starts.count - 1 }

        func range(of partition: Int) -> Range<Int> { starts[partition]..<starts[partition + 1] }

        /// The positions of the records of consecutive partitions.
        func positions(of partitions: Range<Int>) -> Range<Int> { starts[partitions.lowerBound]..<starts[partitions.upperBound] }

        /// The partitions cut into up to `count` stretches of about as many records each.
        func chunks(_ count: Int) -> [Range<Int>] {
            let total = starts[self.count]
            let share = max(1, (total + count - 1) / max(1, count))
            var chunks: [Range<Int>] = []
            var first = 0
            for partition in 0..<self.count where partition == self.count - 1 || starts[partition + 1] - starts[first] >= share {
                chunks.append(first..<partition + 1)
                first = partition + 1
            }
            return chunks
        }

        func partition(of traceHigh: UInt64, _ traceLow: UInt64) -> Int {
            Self.partition(of: traceHigh, traceLow, bits: bits)
        }

        private static func partition(of traceHigh: UInt64, _ traceLow: UInt64, bits: Int) -> Int {
            guard bits > 0 else { return 0 }
            var hasher = Hasher()
            hasher.combine(traceHigh)
            hasher.combine(traceLow)
            return Int(UInt64(UInt(bitPattern: hasher.finalize())) >> (64 - bits))
        }
    }

    /// The records of one partition by (trace id, span id): open addressing with linear probing over `Hasher`, each
    /// slot holding 32 bits of the hash beside the position, so that probing reads a record only when they match.
    struct LocalTable {
        /// The hash's high 32 bits and the position + 1, 0 for an empty slot.
        private var slots: [UInt64]
        private var mask = 0

        init(capacity: Int) {
            var size = 16
            while size < capacity * 2 { size *= 2 }
            slots = [UInt64](repeating: 0, count: size)
        }

        /// Empties the table and puts the records of `range` in it. When deduplicating, it sets `kept` for the
        /// first in `precedes` order of each group of records with the same ids and clears it for the rest;
        /// otherwise it takes the records that `kept` marks.
        mutating func fill(
            _ range: Range<Int>, of records: [Record], kept: Shared<Bool>,
            deduplicatingBy precedes: ((Record, Record) -> Bool)?
        ) {
            let deduplicating = precedes != nil
            var size = 16
            while size < range.count * 2 { size *= 2 }
            mask = size - 1
            for slot in 0..<size { slots[slot] = 0 }
            for position in range {
                if !deduplicating && !kept[position] { continue }
                let record = records[position]
                let hash = Self.hash(record.traceHigh, record.traceLow, record.spanID)
                let tag = UInt64(UInt(bitPattern: hash)) & 0xFFFF_FFFF_0000_0000
                var slot = hash & mask
                while true {
                    let entry = slots[slot]
                    if entry == 0 {
                        slots[slot] = tag | UInt64(position + 1)
                        if deduplicating { kept[position] = true }
                        break
                    }
                    if deduplicating && entry & 0xFFFF_FFFF_0000_0000 == tag {
                        let other = Int(entry & 0xFFFF_FFFF) - 1
                        if records[other].sameSpan(as: record) {
                            if let precedes, precedes(record, records[other]) {
                                slots[slot] = tag | UInt64(position + 1)
                                kept[other] = false
                                kept[position] = true
                            }
                            break
                        }
                    }
                    slot = (slot + 1) & mask
                }
            }
        }

        /// The position of the record with these ids, if the table holds it.
        func find(_ traceHigh: UInt64, _ traceLow: UInt64, _ spanID: UInt64, in records: [Record]) -> Int? {
            let hash = Self.hash(traceHigh, traceLow, spanID)
            let tag = UInt64(UInt(bitPattern: hash)) & 0xFFFF_FFFF_0000_0000
            var slot = hash & mask
            while true {
                let entry = slots[slot]
                if entry == 0 { return nil }
                if entry & 0xFFFF_FFFF_0000_0000 == tag {
                    let position = Int(entry & 0xFFFF_FFFF) - 1
                    let record = records[position]
                    if record.spanID == spanID && record.traceLow == traceLow && record.traceHigh == traceHigh {
                        return position
                    }
                }
                slot = (slot + 1) & mask
            }
        }

        private static func hash(_ traceHigh: UInt64, _ traceLow: UInt64, _ spanID: UInt64) -> Int {
            var hasher = Hasher()
            hasher.combine(traceHigh)
            hasher.combine(traceLow)
            hasher.combine(spanID)
            return hasher.finalize()
        }
    }
}

// MARK: - Accumulation

extension DependencyGraphBuilder {
    struct EdgeKey: Hashable {
        var from: Int32
        var to: Int32
        var kind: DependencyGraph.EdgeKind
    }

    struct Tally {
        var calls = 0
        var errors = 0
        var latencies: [UInt64] = []

        mutating func merge(_ other: Tally) {
            calls += other.calls
            errors += other.errors
            latencies.append(contentsOf: other.latencies)
        }
    }

    /// Calls per edge and per node while `build()` walks the records.
    struct Accumulator {
        var edgeIndex: [EdgeKey: Int] = [:]
        var edgeKeys: [EdgeKey] = []
        var edgeTallies: [Tally] = []
        /// Per interned name: whether a span's service has it.
        var isService: [Bool]
        /// Per interned name: calls received, for services.
        var received: [Tally]
        /// Per interned name: 0 virtual, 1 messaging, 2 database, for virtual nodes.
        var peerLevel: [UInt8]

        init(nameCount: Int) {
            isService = [Bool](repeating: false, count: nameCount)
            received = [Tally](repeating: Tally(), count: nameCount)
            peerLevel = [UInt8](repeating: 0, count: nameCount)
        }

        mutating func edge(_ key: EdgeKey) -> Int {
            if let known = edgeIndex[key] { return known }
            let index = edgeKeys.count
            edgeIndex[key] = index
            edgeKeys.append(key)
            edgeTallies.append(Tally())
            return index
        }

        mutating func add(from: Int32, to: Int32, kind: DependencyGraph.EdgeKind, latency: UInt64, error: Bool) {
            let index = edge(EdgeKey(from: from, to: to, kind: kind))
            edgeTallies[index].calls += 1
            if error { edgeTallies[index].errors += 1 }
            edgeTallies[index].latencies.append(latency)
        }

        mutating func addMessaging(producer: Record, consumer: Record) {
            let latency = consumer.end >= producer.start ? consumer.end - producer.start : 0
            add(
                from: producer.service, to: consumer.service, kind: .messaging, latency: latency,
                error: (producer.flags | consumer.flags) & Record.error != 0)
        }

        /// Adds what another chunk's accumulator holds (for the same names).
        mutating func merge(_ other: Accumulator) {
            for (index, key) in other.edgeKeys.enumerated() {
                edgeTallies[edge(key)].merge(other.edgeTallies[index])
            }
            for name in isService.indices {
                isService[name] = isService[name] || other.isService[name]
                received[name].merge(other.received[name])
                peerLevel[name] = max(peerLevel[name], other.peerLevel[name])
            }
        }

        mutating func receive(_ record: Record) {
            let service = Int(record.service)
            received[service].calls += 1
            if record.flags & Record.error != 0 { received[service].errors += 1 }
            received[service].latencies.append(record.duration)
        }

        func graph(names: [String]) -> DependencyGraph {
            var edges: [DependencyGraph.Edge] = []
            edges.reserveCapacity(edgeKeys.count)
            var virtual: [Int32: Tally] = [:]
            for (index, key) in edgeKeys.enumerated() {
                var tally = edgeTallies[index]
                let percentiles = Percentiles.nearestRank([50, 95, 99], selectingIn: &tally.latencies)
                edges.append(
                    DependencyGraph.Edge(
                        parent: names[Int(key.from)], child: names[Int(key.to)], kind: key.kind, calls: tally.calls,
                        errors: tally.errors, p50Nanos: percentiles[0], p95Nanos: percentiles[1],
                        p99Nanos: percentiles[2]))
                if !isService[Int(key.to)] {
                    virtual[key.to, default: Tally()].calls += tally.calls
                    virtual[key.to, default: Tally()].errors += tally.errors
                    virtual[key.to, default: Tally()].latencies.append(contentsOf: tally.latencies)
                }
            }
            var nodes: [DependencyGraph.Node] = []
            for (index, name) in names.enumerated() where isService[index] {
                var tally = received[index]
                nodes.append(
                    DependencyGraph.Node(
                        name: name, kind: .service, calls: tally.calls, errors: tally.errors,
                        p95Nanos: Percentiles.nearestRank([95], selectingIn: &tally.latencies)[0]))
            }
            for (index, var tally) in virtual {
                let kind: DependencyGraph.NodeKind =
                    switch peerLevel[Int(index)] {
                    case 2: .database
                    case 1: .messaging
                    default: .virtual
                    }
                nodes.append(
                    DependencyGraph.Node(
                        name: names[Int(index)], kind: kind, calls: tally.calls, errors: tally.errors,
                        p95Nanos: Percentiles.nearestRank([95], selectingIn: &tally.latencies)[0]))
            }
            return DependencyGraph(nodes: nodes, edges: edges)
        }
    }
}
