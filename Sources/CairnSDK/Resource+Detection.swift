public import CairnModel

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension CairnModel.Resource {
    /// The resource of this process: `telemetry.sdk.*`, optionally host and process attributes, then `attributes`
    /// (which win), then `service.name`.
    ///
    /// See [the SDK resource](https://opentelemetry.io/docs/specs/otel/resource/sdk/),
    /// [telemetry.sdk](https://opentelemetry.io/docs/specs/semconv/resource/#telemetry-sdk),
    /// [process](https://opentelemetry.io/docs/specs/semconv/resource/process/) and
    /// [host](https://opentelemetry.io/docs/specs/semconv/resource/host/) conventions. `service.name` is
    /// `serviceName`, else the one in `attributes`, else `unknown_service:<executable name>`.
    public static func detected(
        serviceName: String?, attributes: [Attribute], includesHostAndProcess: Bool = true
    ) -> CairnModel.Resource {
        var merged: [Attribute] = [
            Attribute("telemetry.sdk.name", .string("cairn")),
            Attribute("telemetry.sdk.language", .string("swift")),
            Attribute("telemetry.sdk.version", .string(cairnSDKVersion)),
        ]
        let executable = ProcessFacts.executablePath
        let executableName = executable.split(separator: "/").last.map(String.init) ?? executable
        if includesHostAndProcess {
            merged.append(Attribute("process.pid", .int(Int64(getpid()))))
            merged.append(Attribute("process.executable.name", .string(executableName)))
            merged.append(Attribute("process.executable.path", .string(executable)))
            merged.append(Attribute("process.runtime.name", .string("swift")))
            if let host = ProcessFacts.hostName { merged.append(Attribute("host.name", .string(host))) }
            merged.append(Attribute("host.arch", .string(ProcessFacts.architecture)))
            merged.append(Attribute("os.type", .string(ProcessFacts.osType)))
        }
        for attribute in attributes {
            merged.removeAll { $0.key == attribute.key }
            merged.append(attribute)
        }
        if let serviceName, !serviceName.isEmpty {
            merged.removeAll { $0.key == "service.name" }
            merged.append(Attribute("service.name", .string(serviceName)))
        } else if merged["service.name"] == nil {
            merged.append(Attribute("service.name", .string("unknown_service:\(executableName)")))
        }
        return CairnModel.Resource(attributes: merged)
    }
}

/// Facts about this process and host, read once.
enum ProcessFacts {
    static let executablePath: String = {
        #if os(Linux)
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if length > 0 { return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        #endif
        return CommandLine.arguments.first ?? "swift"
    }()

    static let hostName: String? = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return nil }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self)
    }()

    static var architecture: String {
        #if arch(x86_64)
        "amd64"
        #elseif arch(arm64)
        "arm64"
        #else
        "unknown"
        #endif
    }

    static var osType: String {
        #if os(Linux)
        "linux"
        #elseif canImport(Darwin)
        "darwin"
        #else
        "unknown"
        #endif
    }
}
