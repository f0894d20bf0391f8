public import CairnModel

/// Turns a stored trace into the tree that analyses read: links the spans, then runs the adjusters in order.
public struct TraceAssembler: Sendable {
    /// The adjusters, run in order.
    public var adjusters: [any TraceAdjuster]

    /// An assembler that runs `adjusters` in order.
    public init(adjusters: [any TraceAdjuster]) {
        self.adjusters = adjusters
    }

    /// An assembler with the standard adjusters, moving spans by at most `maxClockSkewAdjustment` nanoseconds.
    public init(maxClockSkewAdjustment: UInt64 = ClockSkewAdjuster.defaultMaxAdjustment) {
        self.init(adjusters: Self.standardAdjusters(maxClockSkewAdjustment: maxClockSkewAdjustment))
    }

    /// The standard adjusters, in the order they must run:
    /// 1. `DeduplicationAdjuster` first: a span received twice would otherwise be counted twice by everything after
    ///    it, and its children would hang under one copy while the other looks like a childless sibling.
    /// 2. `OrphanAdjuster` next: whether a span has a parent must be settled, on the deduplicated spans, before
    ///    anything is measured against a parent.
    /// 3. `ClockSkewAdjuster` last: it moves a child to fit inside its parent, so it needs the final parent of every
    ///    span, and a move made before deduplication would make two copies of one span differ.
    public static func standardAdjusters(
        maxClockSkewAdjustment: UInt64 = ClockSkewAdjuster.defaultMaxAdjustment
    ) -> [any TraceAdjuster] {
        [DeduplicationAdjuster(), OrphanAdjuster(), ClockSkewAdjuster(maxAdjustment: maxClockSkewAdjustment)]
    }

    /// The adjusted tree of `trace`. A caller's copy of the trace is unchanged, so the raw spans stay available; a
    /// trace given up (`consume`) is moved into the tree without copying its spans.
    public func assemble(_ trace: consuming Trace) -> TraceTree {
        var tree = TraceTree(consume trace)
        for adjuster in adjusters { adjuster.adjust(&tree) }
        return tree
    }
}
