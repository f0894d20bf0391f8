import CairnModel
#if canImport(Glibc)
import Glibc
#endif
public import Logging
import Synchronization

/// A swift-log handler that writes one JSON object per line: `time` (RFC 3339, UTC, milliseconds), `level`,
/// `component` (the logger's label), `message`, then the metadata (`request_id` among it, set by
/// `RequestMiddleware`), each as a JSON string, or an array or object for nested metadata.
///
/// `{"time":"2026-11-27T06:01:02.123Z","level":"info","component":"cairn.http","message":"request","request_id":"…"}`
///
/// Lines go to standard output by default, each written whole under a lock, so that lines of concurrent tasks never
/// interleave. What is logged is chosen by the callers; no handler can tell a secret from other text, so callers
/// never log headers, bodies or span attributes.
public struct JSONLogHandler: LogHandler {
    /// Where finished lines go, each with its trailing newline.
    public typealias Sink = @Sendable (_ line: [UInt8]) -> Void

    /// Writes to standard output under a process-wide lock.
    public static let standardOutput: Sink = { line in
        outputLock.withLock { _ in
            line.withUnsafeBufferPointer { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = Glibc.write(1, buffer.baseAddress! + offset, buffer.count - offset)
                    if written <= 0 { break }
                    offset += written
                }
            }
        }
    }

    private static let outputLock = Mutex(())

    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let sink: Sink

    /// A handler for the logger `label` that writes records at `level` and above to `sink`.
    public init(label: String, level: Logger.Level = .info, sink: @escaping Sink = JSONLogHandler.standardOutput) {
        self.label = label
        self.logLevel = level
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var json = JSONWriter(capacity: 256)
        json.object { json in
            json.member("time", Self.timestamp())
            json.member("level", event.level.rawValue)
            json.member("component", label)
            json.member("message", event.message.description)
            var merged = metadata
            if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
            if let given = event.metadata { merged.merge(given) { _, new in new } }
            for key in merged.keys.sorted() where !["time", "level", "component", "message"].contains(key) {
                json.key(key)
                Self.write(merged[key]!, to: &json)
            }
        }
        json.bytes.append(UInt8(ascii: "\n"))
        sink(json.bytes)
    }

    private static func write(_ value: Logger.MetadataValue, to json: inout JSONWriter) {
        switch value {
        case .string(let text): json.quoted(text)
        case .stringConvertible(let convertible): json.quoted(convertible.description)
        case .array(let values): json.array(values) { json, value in write(value, to: &json) }
        case .dictionary(let members):
            json.object { json in
                for key in members.keys.sorted() {
                    json.key(key)
                    write(members[key]!, to: &json)
                }
            }
        }
    }

    /// Now as RFC 3339 in UTC with milliseconds: `2026-11-27T06:01:02.123Z`.
    static func timestamp() -> String {
        formatRFC3339(unixNanos: unixNanosNow(), fractionDigits: 3)
    }
}

extension Logger.Level {
    /// Parses a level as `--log-level` and `LOG_LEVEL` give it (`trace`, `debug`, `info`, `notice`, `warning`,
    /// `error`, `critical`; `warn` too), in any case.
    public init?(name: String) {
        let name = name.lowercased()
        self.init(rawValue: name == "warn" ? "warning" : name)
    }
}
