/// Follows the parent's sampled flag, and asks a root sampler for spans without a parent: the OpenTelemetry
/// `parentbased_*` samplers.
///
/// See [ParentBased](https://opentelemetry.io/docs/specs/otel/trace/sdk/#parentbased). The parent is the span
/// context in the service context, local (`isRemote == false`) or extracted from a caller (`isRemote == true`).
public struct ParentBasedSampler: Sampler {
    /// Decides for spans without a parent.
    public let root: any Sampler
    /// Decides when the parent came from another process and is sampled.
    public let remoteParentSampled: any Sampler
    /// Decides when the parent came from another process and is not sampled.
    public let remoteParentNotSampled: any Sampler
    /// Decides when the parent is in this process and is sampled.
    public let localParentSampled: any Sampler
    /// Decides when the parent is in this process and is not sampled.
    public let localParentNotSampled: any Sampler

    /// A sampler that delegates by parent, with the specification's defaults: sampled parents are always
    /// followed (``AlwaysOnSampler``), unsampled ones never (``AlwaysOffSampler``).
    public init(
        root: any Sampler,
        remoteParentSampled: any Sampler = AlwaysOnSampler(),
        remoteParentNotSampled: any Sampler = AlwaysOffSampler(),
        localParentSampled: any Sampler = AlwaysOnSampler(),
        localParentNotSampled: any Sampler = AlwaysOffSampler()
    ) {
        self.root = root
        self.remoteParentSampled = remoteParentSampled
        self.remoteParentNotSampled = remoteParentNotSampled
        self.localParentSampled = localParentSampled
        self.localParentNotSampled = localParentNotSampled
    }

    /// Asks the delegate for the parent's case, as the table of the specification says.
    public func shouldSample(_ parameters: SamplingParameters) -> SamplingResult {
        guard let parent = parameters.parent, parent.isValid else { return root.shouldSample(parameters) }
        switch (parent.isRemote, parent.isSampled) {
        case (true, true): return remoteParentSampled.shouldSample(parameters)
        case (true, false): return remoteParentNotSampled.shouldSample(parameters)
        case (false, true): return localParentSampled.shouldSample(parameters)
        case (false, false): return localParentNotSampled.shouldSample(parameters)
        }
    }

    /// `ParentBased{root:...,remoteParentSampled:...,...}` with each delegate's description.
    public var description: String {
        "ParentBased{root:\(root),remoteParentSampled:\(remoteParentSampled),"
            + "remoteParentNotSampled:\(remoteParentNotSampled),localParentSampled:\(localParentSampled),"
            + "localParentNotSampled:\(localParentNotSampled)}"
    }
}
