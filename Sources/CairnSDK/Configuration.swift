public import CairnModel

extension CairnTracer {
    /// What a ``CairnTracer`` needs besides its processor, with the OpenTelemetry defaults.
    ///
    /// See [the SDK configuration](https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/);
    /// ``applyingEnvironment(_:logger:)`` lets `OTEL_*` variables override these values.
    public struct Configuration: Sendable {
        /// The `service.name` of the resource; nil for `unknown_service:<executable>`, as the specification says.
        public var serviceName: String?
        /// More resource attributes; they win over detected ones with the same key.
        public var resourceAttributes: [Attribute]
        /// Whether the resource gets the host and process attributes (`host.name`, `process.pid`, ...).
        public var detectsHostAndProcess: Bool
        /// The sampler; by default `parentbased_always_on`.
        public var sampler: any Sampler
        /// Limits on attributes, events and links.
        public var spanLimits: SpanLimits
        /// The instrumentation scope of every span: swift-distributed-tracing has none of its own.
        public var instrumentationScope: InstrumentationScope

        /// A configuration with the specification's defaults unless given.
        public init(
            serviceName: String? = nil,
            resourceAttributes: [Attribute] = [],
            detectsHostAndProcess: Bool = true,
            sampler: any Sampler = ParentBasedSampler(root: AlwaysOnSampler()),
            spanLimits: SpanLimits = SpanLimits(),
            instrumentationScope: InstrumentationScope = InstrumentationScope(name: "CairnSDK", version: cairnSDKVersion)
        ) {
            self.serviceName = serviceName
            self.resourceAttributes = resourceAttributes
            self.detectsHostAndProcess = detectsHostAndProcess
            self.sampler = sampler
            self.spanLimits = spanLimits
            self.instrumentationScope = instrumentationScope
        }

        /// The resource for this configuration: detected attributes, then ``resourceAttributes``, then
        /// `service.name`.
        public func resource() -> CairnModel.Resource {
            .detected(
                serviceName: serviceName, attributes: resourceAttributes, includesHostAndProcess: detectsHostAndProcess)
        }
    }
}

/// The version of CairnSDK, exported as `telemetry.sdk.version`.
public let cairnSDKVersion = "0.1.0"
