import CairnModel
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Tracing

/// The mutable state of a recording span: its one allocation.
///
/// Immutable facts are `let`s; everything that changes is behind one lock, so a span may be used from any thread.
/// Once `ended` is set the state never changes again, and processors read it from ``FinishedSpan``.
///
/// The lock is a one-byte atomic spin lock rather than `Mutex`, because `span.attributes["k"] = v` must hold it
/// across a `_modify` yield (which `Mutex.withLock` cannot), so that setting an attribute costs one atomic
/// operation and mutates the dictionary in place. Critical sections are a few dictionary or array operations and
/// never call user code that could take the lock again; contention on one span is rare, and a waiter yields the
/// processor after a short spin.
final class SpanStorage: SpanContextHolder, @unchecked Sendable {
    struct State {
        var name: String
        var attributes: SpanAttributes
        var droppedAttributes: UInt32 = 0
        var events: [EventRecord] = []
        var droppedEvents: UInt32 = 0
        var links: [LinkRecord] = []
        var droppedLinks: UInt32 = 0
        var status: Tracing.SpanStatus?
        var ended = false
        var endNanos: UInt64 = 0
    }

    struct EventRecord {
        var name: String
        var nanos: UInt64
        var attributes: SpanAttributes
        var droppedAttributes: UInt32
    }

    struct LinkRecord {
        var context: SpanContext
        var attributes: SpanAttributes
        var droppedAttributes: UInt32
    }

    let tracer: CairnTracer
    let parentSpanID: SpanID?
    let parentIsRemote: Bool
    let kind: Tracing.SpanKind
    let startNanos: UInt64
    private let lockWord = Atomic<UInt8>(0)
    /// Read and written only with the lock held. The lock makes access exclusive, so the dynamic exclusivity
    /// check is off: its access record would make the `_modify` coroutine of `CairnSpan.attributes` too large for
    /// its inline frame and cost a `malloc` on every attribute set.
    @exclusivity(unchecked) nonisolated(unsafe) var state: State

    init(
        tracer: CairnTracer, spanContext: SpanContext, parentSpanID: SpanID?, parentIsRemote: Bool,
        kind: Tracing.SpanKind, startNanos: UInt64, name: String, attributes: SpanAttributes
    ) {
        self.tracer = tracer
        self.parentSpanID = parentSpanID
        self.parentIsRemote = parentIsRemote
        self.kind = kind
        self.startNanos = startNanos
        var attributes = attributes
        let dropped = Self.prune(&attributes, before: nil, limit: tracer.limits.attributeCountLimit)
        state = State(name: name, attributes: attributes, droppedAttributes: dropped)
        super.init(spanContext)
    }

    // MARK: lock

    @inline(__always)
    func lock() {
        if !lockWord.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged { lockSlowly() }
    }

    @inline(never)
    private func lockSlowly() {
        var spins = 0
        while true {
            if lockWord.load(ordering: .relaxed) == 0,
                lockWord.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged
            {
                return
            }
            spins += 1
            if spins > 64 { sched_yield() }
        }
    }

    @inline(__always)
    func unlock() {
        lockWord.store(0, ordering: .releasing)
    }

    /// Runs `body` on the state with the lock held.
    @inline(__always)
    func withLock<Result>(_ body: (inout State) throws -> Result) rethrows -> Result {
        lock()
        defer { unlock() }
        return try body(&state)
    }

    /// Called with the lock held before `CairnSpan.attributes` yields `state.attributes` for a change; returns
    /// the attributes as they are when the span is at its limit already (the copy costs only then), to tell new
    /// keys from old ones afterwards.
    @inline(__always)
    func prepareAttributeChange() -> SpanAttributes? {
        let count = state.attributes.count
        if count == 0 {
            // One allocation for the usual handful of attributes instead of growing at 1, 3 and 6.
            state.attributes = SpanAttributes([String: SpanAttribute](minimumCapacity: 8))
            return nil
        }
        return count >= tracer.limits.attributeCountLimit ? state.attributes : nil
    }

    /// Called with the lock held after the change: drops and counts what went past the limit.
    @inline(__always)
    func finishAttributeChange(before: SpanAttributes?) {
        let limit = tracer.limits.attributeCountLimit
        if state.attributes.count > limit {
            state.droppedAttributes &+= Self.prune(&state.attributes, before: before, limit: limit)
        }
    }

    func replaceAttributes(_ attributes: SpanAttributes) {
        var attributes = attributes
        let dropped = Self.prune(&attributes, before: nil, limit: tracer.limits.attributeCountLimit)
        withLock { state in
            guard !state.ended else { return }
            state.attributes = attributes
            state.droppedAttributes &+= dropped
        }
    }

    /// Removes attributes past `limit`, preferring keys absent from `before`; returns how many it removed.
    static func prune(_ attributes: inout SpanAttributes, before: SpanAttributes?, limit: Int) -> UInt32 {
        var excess = attributes.count - max(limit, 0)
        guard excess > 0 else { return 0 }
        var removable: [String] = []
        attributes.forEach { key, _ in
            if excess > 0, before?.get(key) == nil {
                removable.append(key)
                excess -= 1
            }
        }
        if excess > 0 {
            attributes.forEach { key, _ in
                if excess > 0, !removable.contains(key) {
                    removable.append(key)
                    excess -= 1
                }
            }
        }
        for key in removable { attributes.set(key, value: nil) }
        return UInt32(clamping: removable.count)
    }

    // MARK: events, links, status, end

    func addEvent(name: String, nanos: UInt64, attributes: SpanAttributes) {
        var attributes = attributes
        let dropped = Self.prune(&attributes, before: nil, limit: tracer.limits.attributePerEventCountLimit)
        let limit = tracer.limits.eventCountLimit
        withLock { state in
            guard !state.ended else { return }
            if state.events.count < limit {
                state.events.append(EventRecord(name: name, nanos: nanos, attributes: attributes, droppedAttributes: dropped))
            } else {
                state.droppedEvents &+= 1
            }
        }
    }

    func addLink(_ context: SpanContext, attributes: SpanAttributes) {
        var attributes = attributes
        let dropped = Self.prune(&attributes, before: nil, limit: tracer.limits.attributePerLinkCountLimit)
        let limit = tracer.limits.linkCountLimit
        withLock { state in
            guard !state.ended else { return }
            if state.links.count < limit {
                state.links.append(LinkRecord(context: context, attributes: attributes, droppedAttributes: dropped))
            } else {
                state.droppedLinks &+= 1
            }
        }
    }

    /// Sets the status by the specification's rules: `ok` is final, and only `error` keeps a description.
    func setStatus(_ status: Tracing.SpanStatus) {
        withLock { state in
            guard !state.ended else { return }
            if let current = state.status, current.code == .ok { return }
            switch status.code {
            case .ok: state.status = Tracing.SpanStatus(code: .ok)
            case .error: state.status = status
            }
        }
    }

    /// Ends the span; returns false if it had ended already.
    func end(nanos: UInt64) -> Bool {
        withLock { state in
            guard !state.ended else { return false }
            state.ended = true
            state.endNanos = nanos
            return true
        }
    }
}
