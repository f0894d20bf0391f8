public import CairnModel

/// What `SpanReader.reduceSpans(_:into:_:)` reads: the spans that start in a time window, optionally of some
/// services only, each with only the attributes, events and links an analysis needs.
///
/// A scanned span always carries its ids, parent id, name, kind, start and end times, status (code and message),
/// flags, trace state, the dropped counts of its attributes, events and links, and its resource and scope whole.
/// Of the rest it carries only what the scan asks for: so that a store can skip decoding what is not needed, and an
/// analysis over a million spans does not pay for attributes it never reads.
public struct SpanScan: Hashable, Sendable {
    /// The span start times to read, in nanoseconds since the Unix epoch: the lower bound inclusive, the upper bound
    /// exclusive, so that consecutive windows read each span once (a span that starts at `UInt64.max`, in the year
    /// 2554, is in no window).
    public var window: Range<UInt64>

    /// The keys of the span attributes to keep; nil keeps every attribute, an empty set none. Keys compare as Swift
    /// strings compare; the attributes kept stay in the span's order, duplicate keys included. Resource and scope
    /// attributes are always kept whole.
    public var attributeKeys: Set<String>?

    /// Whether spans carry their events; when false, `events` is empty.
    public var includeEvents: Bool

    /// Whether spans carry their links; when false, `links` is empty.
    public var includeLinks: Bool

    /// The services (`Span.serviceName`) whose spans to read; nil reads every service.
    public var services: Set<String>?

    /// A scan of the window that, by default, keeps every span attribute, no events and no links, of every service.
    public init(
        window: Range<UInt64>, attributeKeys: Set<String>? = nil, includeEvents: Bool = false, includeLinks: Bool = false,
        services: Set<String>? = nil
    ) {
        self.window = window
        self.attributeKeys = attributeKeys
        self.includeEvents = includeEvents
        self.includeLinks = includeLinks
        self.services = services
    }

    /// Whether the scan reads the span: it starts in the window and belongs to one of the services.
    public func matches(_ span: Span) -> Bool {
        guard window.contains(span.startTimeUnixNano) else { return false }
        if let services, !services.contains(span.serviceName) { return false }
        return true
    }

    /// The span as the scan returns it: the attributes whose keys it asks for, and events and links only if asked.
    public func trimmed(_ span: Span) -> Span {
        var span = span
        if let attributeKeys { span.attributes.removeAll { !attributeKeys.contains($0.key) } }
        if !includeEvents { span.events = [] }
        if !includeLinks { span.links = [] }
        return span
    }
}
