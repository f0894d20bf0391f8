import CairnModel
public import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension CairnTracer.Configuration {
    /// The configuration with the `OTEL_*` variables of `environment` applied over it.
    ///
    /// Implements, from [the SDK environment variables](https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/):
    /// `OTEL_SERVICE_NAME` (wins over a `service.name` in `OTEL_RESOURCE_ATTRIBUTES`), `OTEL_RESOURCE_ATTRIBUTES`
    /// (comma-separated `key=value`, values percent-decoded), `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`,
    /// and the attribute, event and link limits (`OTEL_ATTRIBUTE_COUNT_LIMIT`, `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`,
    /// `OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`, `OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT`, `OTEL_SPAN_EVENT_COUNT_LIMIT`,
    /// `OTEL_SPAN_LINK_COUNT_LIMIT`, `OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT`, `OTEL_LINK_ATTRIBUTE_COUNT_LIMIT`).
    /// An empty variable counts as unset; an invalid one is logged once, here, and ignored (an invalid sampler
    /// gives the default `parentbased_always_on`). Tests pass their own dictionary instead of the process's.
    public func applyingEnvironment(
        _ environment: [String: String] = CairnTracer.Configuration.processEnvironment(),
        logger: Logger = Logger(label: "cairn.sdk")
    ) -> Self {
        var configuration = self
        let variables = EnvironmentVariables(values: environment, logger: logger)
        if let text = variables.text("OTEL_RESOURCE_ATTRIBUTES") {
            if let attributes = Self.parseResourceAttributes(text) {
                for attribute in attributes {
                    configuration.resourceAttributes.removeAll { $0.key == attribute.key }
                    configuration.resourceAttributes.append(attribute)
                    if attribute.key == "service.name", case .string(let name) = attribute.value {
                        configuration.serviceName = name
                    }
                }
            } else {
                logger.error(
                    "OTEL_RESOURCE_ATTRIBUTES is not a comma-separated list of key=value pairs, so it is ignored; percent-encode commas, spaces and other reserved characters in values.",
                    metadata: ["value": "\(text)"])
            }
        }
        if let name = variables.text("OTEL_SERVICE_NAME") {
            configuration.serviceName = name
        }

        if let samplerName = variables.text("OTEL_TRACES_SAMPLER") {
            let argument = variables.text("OTEL_TRACES_SAMPLER_ARG")
            if let sampler = Self.sampler(named: samplerName.lowercased(), argument: argument, logger: logger) {
                configuration.sampler = sampler
            } else {
                logger.warning(
                    "OTEL_TRACES_SAMPLER=\(samplerName) is not a sampler this SDK knows, so parentbased_always_on is used; set always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio.")
                configuration.sampler = ParentBasedSampler(root: AlwaysOnSampler())
            }
        }

        func limit(_ name: String) -> Int? { variables.number(name, minimum: 0, example: 128) }
        var limits = configuration.spanLimits
        if let count = limit("OTEL_ATTRIBUTE_COUNT_LIMIT") { limits.attributeCountLimit = count }
        if let length = limit("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT") { limits.attributeValueLengthLimit = length }
        if let count = limit("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT") { limits.attributeCountLimit = count }
        if let length = limit("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT") { limits.attributeValueLengthLimit = length }
        if let count = limit("OTEL_SPAN_EVENT_COUNT_LIMIT") { limits.eventCountLimit = count }
        if let count = limit("OTEL_SPAN_LINK_COUNT_LIMIT") { limits.linkCountLimit = count }
        if let count = limit("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT") { limits.attributePerEventCountLimit = count }
        if let count = limit("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT") { limits.attributePerLinkCountLimit = count }
        configuration.spanLimits = limits
        return configuration
    }

    /// The sampler an `OTEL_TRACES_SAMPLER` value names, or nil for a name this SDK does not know.
    static func sampler(named name: String, argument: String?, logger: Logger) -> (any Sampler)? {
        func ratio() -> Double {
            guard let argument else { return 1 }
            if let ratio = Double(argument), ratio >= 0, ratio <= 1 { return ratio }
            logger.warning(
                "OTEL_TRACES_SAMPLER_ARG=\(argument) is not a sampling ratio from 0 to 1, so 1.0 is used; set a number such as 0.25.")
            return 1
        }
        switch name {
        case "always_on": return AlwaysOnSampler()
        case "always_off": return AlwaysOffSampler()
        case "traceidratio": return TraceIDRatioSampler(ratio: ratio())
        case "parentbased_always_on": return ParentBasedSampler(root: AlwaysOnSampler())
        case "parentbased_always_off": return ParentBasedSampler(root: AlwaysOffSampler())
        case "parentbased_traceidratio": return ParentBasedSampler(root: TraceIDRatioSampler(ratio: ratio()))
        default: return nil
        }
    }

    /// `key1=value1,key2=value2` with percent-encoded values, or nil when any member is not `key=value`; a key
    /// given twice keeps its last value, in the place of its first.
    static func parseResourceAttributes(_ text: String) -> [Attribute]? {
        guard let pairs = EnvironmentVariables.keyValuePairs(
            text, validKey: { _ in true }, validValue: { $0.utf8.allSatisfy(Baggage.isBaggageOctet) })
        else { return nil }
        var attributes: [Attribute] = []
        for (key, value) in pairs {
            attributes.removeAll { $0.key == key }
            attributes.append(Attribute(key, .string(value)))
        }
        return attributes
    }

    /// The environment of this process.
    public static func processEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        #if canImport(Darwin)
        guard var pointer = _NSGetEnviron().pointee else { return result }
        #else
        var pointer = environ
        #endif
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return result
    }
}
