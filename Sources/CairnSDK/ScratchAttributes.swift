import Tracing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A per-thread `SpanAttributes` with room for a few attributes, lent to `span.attributes["k"] = v` on a span that
/// is not recording, so that the change (which the swift-distributed-tracing API makes an insert into a dictionary)
/// allocates nothing; it is emptied, keeping its capacity, after each use.
final class ScratchAttributes {
    @exclusivity(unchecked) var attributes = SpanAttributes([String: SpanAttribute](minimumCapacity: 8))
    /// Set while lent out: a nested use on the same thread gets a fresh value instead.
    var isLent = false

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { pointer in
            #if canImport(Darwin)
            Unmanaged<ScratchAttributes>.fromOpaque(pointer).release()
            #else
            if let pointer { Unmanaged<ScratchAttributes>.fromOpaque(pointer).release() }
            #endif
        }
        return key
    }()

    /// This thread's scratch attributes.
    static var current: ScratchAttributes {
        if let pointer = pthread_getspecific(key) {
            return Unmanaged<ScratchAttributes>.fromOpaque(pointer).takeUnretainedValue()
        }
        let scratch = ScratchAttributes()
        pthread_setspecific(key, Unmanaged.passRetained(scratch).toOpaque())
        return scratch
    }

    /// Removes what the last use added, keeping the capacity; starts over with a fresh value when it grew large.
    func clear() {
        let count = attributes.count
        guard count > 0 else { return }
        guard count <= 16 else {
            attributes = SpanAttributes([String: SpanAttribute](minimumCapacity: 8))
            return
        }
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
}
