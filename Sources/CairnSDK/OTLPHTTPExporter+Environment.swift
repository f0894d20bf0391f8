public import Logging

extension OTLPHTTPExporter.Configuration {
    /// The configuration with the `OTEL_EXPORTER_OTLP_*` variables of `environment` applied over it.
    ///
    /// Implements [the OTLP exporter variables](https://opentelemetry.io/docs/specs/otel/protocol/exporter/) for
    /// traces over OTLP/HTTP:
    /// - `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, used as given; otherwise `OTEL_EXPORTER_OTLP_ENDPOINT` with
    ///   `v1/traces` appended to its path ([endpoint URLs for OTLP/HTTP](https://opentelemetry.io/docs/specs/otel/protocol/exporter/#endpoint-urls-for-otlphttp)).
    /// - `OTEL_EXPORTER_OTLP_TRACES_HEADERS`, else `OTEL_EXPORTER_OTLP_HEADERS`: comma-separated `key=value`
    ///   pairs with percent-encoded values, which replace ``headers``.
    /// - `OTEL_EXPORTER_OTLP_TRACES_COMPRESSION`, else `OTEL_EXPORTER_OTLP_COMPRESSION`: `gzip` or `none`.
    /// - `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT`, else `OTEL_EXPORTER_OTLP_TIMEOUT`: milliseconds.
    /// - `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, else `OTEL_EXPORTER_OTLP_PROTOCOL`: only `http/protobuf` is
    ///   supported; another value is logged.
    ///
    /// An empty variable counts as unset; an invalid one is logged once, here, and ignored.
    public func applyingEnvironment(
        _ environment: [String: String] = CairnTracer.Configuration.processEnvironment(),
        logger: Logger = Logger(label: "cairn.sdk")
    ) -> Self {
        var configuration = self
        let variables = EnvironmentVariables(values: environment, logger: logger)
        func tracesOrGeneral(_ suffix: String) -> (name: String, text: String)? {
            variables.first("OTEL_EXPORTER_OTLP_TRACES_\(suffix)", "OTEL_EXPORTER_OTLP_\(suffix)")
        }

        if let (name, text) = variables.first("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            if Self.isHTTPURL(text) {
                configuration.endpoint = text
            } else {
                logger.error(
                    "\(name)=\(text) is not an http or https URL, so it is ignored; set a URL such as http://collector:4318/v1/traces.")
            }
        } else if let (name, text) = variables.first("OTEL_EXPORTER_OTLP_ENDPOINT") {
            if Self.isHTTPURL(text) {
                configuration.endpoint = Self.tracesURL(base: text)
            } else {
                logger.error(
                    "\(name)=\(text) is not an http or https URL, so it is ignored; set a URL such as http://collector:4318.")
            }
        }

        if let (name, text) = tracesOrGeneral("HEADERS") {
            if let headers = Self.parseHeaders(text) {
                configuration.headers = headers
            } else {
                logger.error(
                    "\(name) is not a comma-separated list of key=value pairs, so it is ignored; percent-encode commas, spaces and other reserved characters in values.")
            }
        }

        if let (name, text) = tracesOrGeneral("COMPRESSION") {
            if let compression = OTLPHTTPExporter.Compression(rawValue: text.lowercased()) {
                configuration.compression = compression
            } else {
                logger.warning("\(name)=\(text) is not a compression this SDK knows, so it is ignored; set gzip or none.")
            }
        }

        if let (name, text) = tracesOrGeneral("TIMEOUT") {
            if let millis = Int(text), millis > 0 {
                configuration.timeout = .milliseconds(millis)
            } else {
                logger.warning(
                    "\(name)=\(text) is not a positive whole number of milliseconds, so it is ignored; set a number such as 10000.")
            }
        }

        if let (name, text) = tracesOrGeneral("PROTOCOL"), text != "http/protobuf" {
            logger.warning(
                "\(name)=\(text) is not supported: CairnSDK exports OTLP over HTTP with protobuf only; set http/protobuf or remove the variable.")
        }
        return configuration
    }

    /// Whether `text` starts with `http://` or `https://` and names a host.
    static func isHTTPURL(_ text: String) -> Bool {
        let lowered = text.lowercased()
        for scheme in ["http://", "https://"] where lowered.hasPrefix(scheme) {
            let rest = lowered.dropFirst(scheme.count)
            return !rest.isEmpty && rest.first != "/"
        }
        return false
    }

    /// The traces URL for an `OTEL_EXPORTER_OTLP_ENDPOINT` base: `v1/traces` appended to its path, with one `/`
    /// between them.
    static func tracesURL(base: String) -> String {
        base.hasSuffix("/") ? base + "v1/traces" : base + "/v1/traces"
    }

    /// `key1=value1,key2=value2` with percent-encoded values, or nil when a member is not `key=value`.
    static func parseHeaders(_ text: String) -> [String: String]? {
        EnvironmentVariables.keyValuePairs(text, validKey: { $0.utf8.allSatisfy(isTokenByte) })
            .map { pairs in Dictionary(pairs, uniquingKeysWith: { $1 }) }
    }

    /// An HTTP `tchar` ([RFC 9110](https://www.rfc-editor.org/rfc/rfc9110#name-tokens)).
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "A")...UInt8(ascii: "Z"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}
