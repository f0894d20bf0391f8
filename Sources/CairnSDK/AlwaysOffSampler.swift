/// Drops every span: the OpenTelemetry `always_off` sampler.
///
/// See [AlwaysOff](https://opentelemetry.io/docs/specs/otel/trace/sdk/#alwaysoff).
public struct AlwaysOffSampler: Sampler {
    /// The sampler; it has no settings.
    public init() {}

    @inlinable
    public func shouldSample(_ parameters: SamplingParameters) -> SamplingResult {
        SamplingResult(.drop)
    }

    /// `AlwaysOffSampler`, as the specification requires.
    public var description: String { "AlwaysOffSampler" }
}
