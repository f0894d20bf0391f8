public import CairnModel

/// Samples a fixed share of traces, decided from the trace id alone so that every service agrees: the
/// OpenTelemetry `traceidratio` sampler.
///
/// See [TraceIdRatioBased](https://opentelemetry.io/docs/specs/otel/trace/sdk/#traceidratiobased): the randomness
/// `R` is the rightmost 7 bytes (56 bits) of the trace id, the rejection threshold is `T = (1 - ratio) × 2^56`,
/// and a span is sampled when `R >= T`. A sampler with a higher ratio therefore samples every trace that one with a
/// lower ratio samples. It ignores the parent's sampled flag; wrap it in ``ParentBasedSampler`` to respect it.
public struct TraceIDRatioSampler: Sampler {
    /// The share of traces sampled, from 0 to 1.
    public let ratio: Double
    /// The rejection threshold over 56 bits: 0 samples everything, 2^56 nothing.
    public let threshold: UInt64

    /// A sampler for `ratio`; a ratio below 0 (or NaN) counts as 0, above 1 as 1.
    public init(ratio: Double) {
        let ratio = ratio.isNaN ? 0 : min(max(ratio, 0), 1)
        self.ratio = ratio
        let rejected = ((1 - ratio) * 0x1p56).rounded()
        threshold = min(UInt64(rejected), 1 << 56)
    }

    /// Whether the trace is sampled: its 56 random bits reach the threshold.
    @inlinable
    public func samples(_ traceID: TraceID) -> Bool {
        traceID.low & 0x00FF_FFFF_FFFF_FFFF >= threshold
    }

    /// `recordAndSample` when ``samples(_:)`` says so, else `drop`.
    public func shouldSample(_ parameters: SamplingParameters) -> SamplingResult {
        SamplingResult(samples(parameters.traceID) ? .recordAndSample : .drop)
    }

    /// `TraceIdRatioBased{RATIO}`, as the specification requires.
    public var description: String { "TraceIdRatioBased{\(ratio)}" }
}
