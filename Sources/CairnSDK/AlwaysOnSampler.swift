/// Records and samples every span: the OpenTelemetry `always_on` sampler.
///
/// See [AlwaysOn](https://opentelemetry.io/docs/specs/otel/trace/sdk/#alwayson).
public struct AlwaysOnSampler: Sampler {
    /// The sampler; it has no settings.
    public init() {}

    @inlinable
    public func shouldSample(_ parameters: SamplingParameters) -> SamplingResult {
        SamplingResult(.recordAndSample)
    }

    /// `AlwaysOnSampler`, as the specification requires.
    public var description: String { "AlwaysOnSampler" }
}
