import Tracing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A per-thread `SpanAttributes` with room for a few attributes, lent to `span.attributes["k"] = v` on a span that
/// is not recording, so that the change (which the swift-distributed-tracing API makes an insert into a dictionary)
/// allocates nothing; it is emptied, keeping its capacity, after each use, so that the values are released at once.
///
/// Emptying it is most of its cost: `SpanAttributes` has no `removeAll(keepingCapacity:)`, and removing key by key
/// hashes every key a second time. `SpanAttributes` 1.7.3 is a struct whose one stored property is a
/// `[String: SpanAttribute]`, so ``clear()`` empties that dictionary in place through a rebound pointer, after
/// checking once per thread that the layout is still that one; if a later swift-distributed-tracing changes it,
/// ``clear()`` falls back to removing key by key.
struct ScratchAttributes {
    var attributes = SpanAttributes([String: SpanAttribute](minimumCapacity: 8))
    /// Set while lent out: a nested use on the same thread gets a fresh value instead.
    var isLent = false
    /// Whether `SpanAttributes` is laid out as a bare `[String: SpanAttribute]`, so that ``clear()`` may empty it
    /// in place.
    private let isBareDictionary = ScratchAttributes.checkLayout()

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { pointer in
            #if canImport(Darwin)
            let scratch = pointer.assumingMemoryBound(to: ScratchAttributes.self)
            #else
            guard let scratch = pointer?.assumingMemoryBound(to: ScratchAttributes.self) else { return }
            #endif
            scratch.deinitialize(count: 1)
            scratch.deallocate()
        }
        return key
    }()

    /// This thread's scratch attributes, allocated at its first use and freed when the thread exits.
    ///
    /// A pointer rather than a class instance, so that lending it across a `_modify` yield costs no retain and
    /// release.
    static var current: UnsafeMutablePointer<ScratchAttributes> {
        if let pointer = pthread_getspecific(key) {
            return pointer.assumingMemoryBound(to: ScratchAttributes.self)
        }
        let scratch = UnsafeMutablePointer<ScratchAttributes>.allocate(capacity: 1)
        scratch.initialize(to: ScratchAttributes())
        pthread_setspecific(key, scratch)
        return scratch
    }

    /// Removes what the last use added, keeping the capacity; starts over with a fresh value when it grew large.
    @inline(__always)
    mutating func clear() {
        let count = attributes.count
        guard count > 0 else { return }
        guard count <= 16 else {
            attributes = SpanAttributes([String: SpanAttribute](minimumCapacity: 8))
            return
        }
        if isBareDictionary {
            withUnsafeMutablePointer(to: &attributes) { pointer in
                pointer.withMemoryRebound(to: [String: SpanAttribute].self, capacity: 1) { dictionary in
                    dictionary.pointee.removeAll(keepingCapacity: true)
                }
            }
        } else {
            removeKeyByKey(count: count)
        }
    }

    private mutating func removeKeyByKey(count: Int) {
        withUnsafeTemporaryAllocation(of: String.self, capacity: count) { keys in
            var index = 0
            attributes.forEach { key, _ in
                if index < count {
                    keys.initializeElement(at: index, to: key)
                    index += 1
                }
            }
            for position in 0..<index { attributes.set(keys[position], value: nil) }
            keys.prefix(index).deinitialize()
        }
    }

    /// Whether a `SpanAttributes` has the size of a `[String: SpanAttribute]` and reads back as one.
    private static func checkLayout() -> Bool {
        guard MemoryLayout<SpanAttributes>.size == MemoryLayout<[String: SpanAttribute]>.size,
            MemoryLayout<SpanAttributes>.alignment == MemoryLayout<[String: SpanAttribute]>.alignment
        else { return false }
        var probe = SpanAttributes()
        probe.set("cairn.probe", value: .int64(7))
        return withUnsafeMutablePointer(to: &probe) { pointer in
            pointer.withMemoryRebound(to: [String: SpanAttribute].self, capacity: 1) { dictionary in
                dictionary.pointee.count == 1 && dictionary.pointee["cairn.probe"] == .int64(7)
            }
        }
    }
}
