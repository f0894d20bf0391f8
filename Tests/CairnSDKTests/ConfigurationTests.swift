import CairnModel
import CairnSDK
import Logging
import Testing

@Suite("Configuration from OTEL_* variables")
struct ConfigurationTests {
    func apply(_ environment: [String: String], to configuration: CairnTracer.Configuration = .init())
        -> (CairnTracer.Configuration, LogCapture)
    {
        let capture = LogCapture()
        return (configuration.applyingEnvironment(environment, logger: capture.logger), capture)
    }

    @Test(
        "OTEL_TRACES_SAMPLER names each built-in sampler",
        arguments: [
            ("always_on", "AlwaysOnSampler"), ("always_off", "AlwaysOffSampler"),
            ("traceidratio", "TraceIdRatioBased{0.5}"), ("PARENTBASED_ALWAYS_ON", "ParentBased{root:AlwaysOnSampler,"),
            ("parentbased_always_off", "ParentBased{root:AlwaysOffSampler,"),
            ("parentbased_traceidratio", "ParentBased{root:TraceIdRatioBased{0.5},"),
        ])
    func samplerNames(name: String, description: String) {
        let (configuration, capture) = apply(["OTEL_TRACES_SAMPLER": name, "OTEL_TRACES_SAMPLER_ARG": "0.5"])
        #expect(configuration.sampler.description.hasPrefix(description))
        #expect(capture.messages.isEmpty)
    }

    @Test("an unknown sampler is logged once and the default parentbased_always_on is used")
    func unknownSampler() {
        let (configuration, capture) = apply(
            ["OTEL_TRACES_SAMPLER": "jaeger_remote"], to: .init(sampler: AlwaysOffSampler()))
        #expect(configuration.sampler.description.hasPrefix("ParentBased{root:AlwaysOnSampler,"))
        #expect(capture.messages.count == 1)
        #expect(capture.messages.first?.0 == .warning)
        #expect(capture.messages.first?.1.contains("OTEL_TRACES_SAMPLER=jaeger_remote") == true)
    }

    @Test("a missing ratio is 1.0 and an invalid one is logged and taken as 1.0")
    func samplerArgument() {
        let (missing, quiet) = apply(["OTEL_TRACES_SAMPLER": "traceidratio"])
        #expect(missing.sampler.description == "TraceIdRatioBased{1.0}")
        #expect(quiet.messages.isEmpty)
        let (invalid, capture) = apply(["OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "1.5"])
        #expect(invalid.sampler.description == "TraceIdRatioBased{1.0}")
        #expect(capture.messages.count == 1)
    }

    @Test("an empty variable counts as unset")
    func emptyIsUnset() {
        let (configuration, capture) = apply(["OTEL_TRACES_SAMPLER": "", "OTEL_SERVICE_NAME": " "], to: .init(serviceName: "code"))
        #expect(configuration.sampler.description.hasPrefix("ParentBased{root:AlwaysOnSampler,"))
        #expect(configuration.serviceName == "code")
        #expect(capture.messages.isEmpty)
    }

    @Test("OTEL_SERVICE_NAME wins over service.name in OTEL_RESOURCE_ATTRIBUTES, which wins over code")
    func serviceNamePrecedence() {
        let (fromAttributes, _) = apply(
            ["OTEL_RESOURCE_ATTRIBUTES": "service.name=from-attributes"], to: .init(serviceName: "code"))
        #expect(fromAttributes.resource().serviceName == "from-attributes")
        let (fromName, _) = apply(
            ["OTEL_RESOURCE_ATTRIBUTES": "service.name=from-attributes", "OTEL_SERVICE_NAME": "checkout"],
            to: .init(serviceName: "code"))
        #expect(fromName.resource().serviceName == "checkout")
    }

    @Test("OTEL_RESOURCE_ATTRIBUTES is comma-separated key=value with percent-decoded values")
    func resourceAttributes() {
        let (configuration, capture) = apply([
            "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=prod, team = pay%2Cments ,region=eu%20west"
        ])
        let attributes = configuration.resource().attributes
        #expect(attributes["deployment.environment.name"] == .string("prod"))
        #expect(attributes["team"] == .string("pay,ments"))
        #expect(attributes["region"] == .string("eu west"))
        #expect(capture.messages.isEmpty)
    }

    @Test("an invalid OTEL_RESOURCE_ATTRIBUTES is logged and ignored whole")
    func invalidResourceAttributes() {
        let (configuration, capture) = apply(["OTEL_RESOURCE_ATTRIBUTES": "good=1,bad"])
        #expect(configuration.resource().attributes["good"] == nil)
        #expect(capture.messages.count == 1)
        #expect(capture.messages.first?.0 == .error)
    }

    @Test("limits come from the OTEL_*_LIMIT variables, span-specific ones winning")
    func limits() {
        let (configuration, capture) = apply([
            "OTEL_ATTRIBUTE_COUNT_LIMIT": "10", "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT": "20",
            "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT": "100", "OTEL_SPAN_EVENT_COUNT_LIMIT": "5",
            "OTEL_SPAN_LINK_COUNT_LIMIT": "6", "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT": "7",
            "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT": "many",
        ])
        let limits = configuration.spanLimits
        #expect(limits.attributeCountLimit == 20)
        #expect(limits.attributeValueLengthLimit == 100)
        #expect(limits.eventCountLimit == 5)
        #expect(limits.linkCountLimit == 6)
        #expect(limits.attributePerEventCountLimit == 7)
        #expect(limits.attributePerLinkCountLimit == 128)
        #expect(capture.messages.count == 1)
    }

    @Test("the resource has the SDK, host and process attributes and a default service name")
    func defaultResource() {
        let resource = CairnTracer.Configuration().resource()
        let attributes = resource.attributes
        #expect(attributes["telemetry.sdk.name"] == .string("cairn"))
        #expect(attributes["telemetry.sdk.language"] == .string("swift"))
        #expect(attributes["telemetry.sdk.version"] == .string(cairnSDKVersion))
        #expect(attributes["process.runtime.name"] == .string("swift"))
        #expect(attributes["process.pid"] != nil)
        #expect(attributes["host.name"] != nil)
        guard case .string(let executable)? = attributes["process.executable.name"] else {
            Issue.record("no process.executable.name")
            return
        }
        #expect(resource.serviceName == "unknown_service:\(executable)")
    }

    @Test("the host and process attributes can be left out, and code attributes win over detected ones")
    func resourceOptions() {
        let resource = CairnTracer.Configuration(
            serviceName: "svc", resourceAttributes: [Attribute("telemetry.sdk.name", .string("custom"))],
            detectsHostAndProcess: false
        ).resource()
        #expect(resource.attributes["process.pid"] == nil)
        #expect(resource.attributes["telemetry.sdk.name"] == .string("custom"))
        #expect(resource.serviceName == "svc")
    }

    @Test("the process environment is readable")
    func processEnvironment() {
        #expect(CairnTracer.Configuration.processEnvironment()["PATH"] != nil)
    }
}
