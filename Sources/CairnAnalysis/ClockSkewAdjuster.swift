import CairnModel

/// Undoes clock skew between hosts the way Jaeger does: a child span recorded on another host than its parent, that
/// does not fit inside its parent, is moved (with its events) so that it is centred in the parent; the spans below
/// it on its own host move with it.
///
/// A span's host is its resource's `host.id`, else `host.name`, else an IP attribute (`host.ip`, `net.host.ip`,
/// `ip`). A span whose host is unknown is treated as being on another host than its parent. A child that lasts
/// longer than its parent cannot fit: it is only moved so that it does not start before the parent. Moves larger
/// than `maxAdjustment` are not made, as they more likely reveal a wrong parent than skew; the span gets a warning
/// instead. Every moved span carries a warning with the size of its move.
public struct ClockSkewAdjuster: TraceAdjuster {
    /// One second: NTP keeps the hosts of a data centre within milliseconds of each other.
    public static let defaultMaxAdjustment: UInt64 = 1_000_000_000

    /// The largest move made, in nanoseconds; 0 turns the adjuster into a checker that only warns.
    public var maxAdjustment: UInt64

    /// An adjuster that moves spans by at most `maxAdjustment` nanoseconds.
    public init(maxAdjustment: UInt64 = defaultMaxAdjustment) {
        self.maxAdjustment = maxAdjustment
    }

    /// Moves the children that skew pushed outside their parents, top down.
    public func adjust(_ tree: inout TraceTree) {
        // The nodes are read through a buffer, so that no span is copied; `starts` follows the moves made.
        let (hosts, initialStarts, durations) = tree.nodes.withUnsafeBufferPointer { nodes in
            (nodes.map { Self.host(of: $0.span.resource) }, nodes.map(\.span.startTimeUnixNano),
             nodes.map(\.span.durationNanos))
        }
        var starts = initialStarts
        var moved = false
        // Each entry: a span, and the skew of its parent's host as (host, delta in nanoseconds).
        var stack: [(index: Int, host: Host?, delta: Int64)] = tree.roots.reversed().map { ($0, hosts[$0], 0) }
        while let (index, inheritedHost, inheritedDelta) = stack.popLast() {
            var host = inheritedHost
            var delta = inheritedDelta
            if let parent = tree.nodes[index].parent, hosts[index] == nil || hosts[index] != inheritedHost {
                host = hosts[index]
                delta = Self.skew(start: starts[index], duration: durations[index],
                                  parentStart: starts[parent], parentDuration: durations[parent])
            }
            if delta != 0 {
                if delta.magnitude > maxAdjustment {
                    tree.nodes[index].warnings.append(
                        "clock skew: moving it by \(formatSigned(delta)) would fit it in its parent, but that is more "
                            + "than the bound of \(formatDuration(maxAdjustment)); not moved")
                } else {
                    tree.nodes[index].span.shift(by: delta)
                    starts[index] = tree.nodes[index].span.startTimeUnixNano
                    tree.nodes[index].warnings.append("clock skew: moved by \(formatSigned(delta)) to fit in its parent")
                    moved = true
                }
            }
            for child in tree.nodes[index].children.reversed() { stack.append((child, host, delta)) }
        }
        if moved { tree.link() }
    }

    /// The move that centres a child in its parent, or keeps it from starting before a parent shorter than it; 0
    /// when it fits.
    static func skew(start: UInt64, duration: UInt64, parentStart: UInt64, parentDuration: UInt64) -> Int64 {
        let (childStart, childDuration) = (Int64(clamping: start), Int64(clamping: duration))
        let (parentStart, parentDuration) = (Int64(clamping: parentStart), Int64(clamping: parentDuration))
        if childDuration > parentDuration {
            return childStart < parentStart ? parentStart - childStart : 0
        }
        if childStart < parentStart || childStart + childDuration > parentStart + parentDuration {
            return parentStart + (parentDuration - childDuration) / 2 - childStart
        }
        return 0
    }

    /// Where a span was recorded: the first of `keys` that its resource has, and that attribute's value.
    struct Host: Equatable {
        var key: Int
        var value: AttributeValue
    }

    /// The resource attributes that name a host, most specific first.
    static let hostKeys = ["host.id", "host.name", "host.ip", "net.host.ip", "ip"]

    /// The host a resource names, if any. Runs once per span, so it allocates nothing.
    static func host(of resource: Resource) -> Host? {
        var best: Host?
        for attribute in resource.attributes {
            guard let key = hostKeys.firstIndex(of: attribute.key), key < best?.key ?? hostKeys.count else { continue }
            if case .string(let text) = attribute.value, text.isEmpty { continue }
            if case .empty = attribute.value { continue }
            best = Host(key: key, value: attribute.value)
        }
        return best
    }
}

extension Span {
    /// Moves the span and its events by `delta` nanoseconds.
    mutating func shift(by delta: Int64) {
        func moved(_ time: UInt64) -> UInt64 {
            delta >= 0 ? time &+ UInt64(delta) : time &- min(time, delta.magnitude)
        }
        startTimeUnixNano = moved(startTimeUnixNano)
        endTimeUnixNano = moved(endTimeUnixNano)
        for index in events.indices { events[index].timeUnixNano = moved(events[index].timeUnixNano) }
    }
}

private func formatSigned(_ delta: Int64) -> String {
    (delta < 0 ? "-" : "+") + formatDuration(delta.magnitude)
}
