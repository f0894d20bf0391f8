import CairnModel
import Synchronization

/// Random trace and span ids, never all zero.
///
/// A SplitMix64 sequence over one atomic counter, seeded from the system's random source: one relaxed atomic add
/// per span and no system call, where `SystemRandomNumberGenerator` costs a `getrandom` call per draw. The outputs
/// are a bijection of the counter, so ids do not repeat within 2^64 draws; they are statistically random (the W3C
/// level 2 requirement of 56 random bits holds) but not cryptographically unpredictable.
final class IDGenerator: Sendable {
    private static let gamma: UInt64 = 0x9E37_79B9_7F4A_7C15
    private let counter: Atomic<UInt64>

    init(seed: UInt64? = nil) {
        var system = SystemRandomNumberGenerator()
        counter = Atomic(seed ?? system.next())
    }

    @inline(__always)
    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A new span id.
    @inline(__always)
    func nextSpanID() -> SpanID {
        while true {
            let base = counter.wrappingAdd(Self.gamma, ordering: .relaxed).newValue
            let value = Self.mix(base)
            if value != 0 { return SpanID(value: value) }
        }
    }

    /// A new trace id and the id of its root span, from one atomic add.
    @inline(__always)
    func nextTraceAndSpanID() -> (TraceID, SpanID) {
        while true {
            let base = counter.wrappingAdd(Self.gamma &* 3, ordering: .relaxed).oldValue
            let high = Self.mix(base &+ Self.gamma)
            let low = Self.mix(base &+ Self.gamma &* 2)
            let span = Self.mix(base &+ Self.gamma &* 3)
            if (high != 0 || low != 0) && span != 0 {
                return (TraceID(high: high, low: low), SpanID(value: span))
            }
        }
    }
}
