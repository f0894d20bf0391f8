import Synchronization

/// Hands out request numbers, unique across all the tasks and connections that share it, so that every request
/// made from a `RequestPool` carries new trace ids.
public final class RequestCounter: Sendable {
    private let value: Atomic<UInt64>

    /// A counter whose first number is `start`.
    public init(start: UInt64 = 0) {
        value = Atomic(start)
    }

    /// The next request number.
    public func next() -> UInt64 {
        value.wrappingAdd(1, ordering: .relaxed).oldValue
    }
}
