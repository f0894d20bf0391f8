import CairnCollector
import CairnModel
import CairnOTLP
import Foundation

/// An OTLP trace file read whole: its format, detected from its content, and the requests it holds.
///
/// Three kinds of file are read, each optionally gzip-compressed (detected by the gzip magic bytes 1f 8b, whatever
/// the file is called):
/// - one OTLP/JSON `ExportTraceServiceRequest` (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding),
///   indented or not;
/// - JSON lines, one request per line, as the OpenTelemetry Collector's `file` exporter writes them
///   (https://github.com/open-telemetry/opentelemetry-collector-contrib/tree/main/exporter/fileexporter); blank lines
///   are skipped;
/// - one OTLP protobuf `ExportTraceServiceRequest`, as an OTLP/HTTP exporter sends it.
///
/// Requests are decoded one at a time (`decode(_:)`), so that a caller can show progress and write as it goes.
struct OTLPFile {
    /// How the file's requests are encoded.
    enum Format: String, Sendable {
        case json = "OTLP/JSON"
        case jsonLines = "OTLP/JSON lines"
        case protobuf = "OTLP protobuf"
    }

    /// One request of the file: where it lies in the (inflated) content, and its line for JSON lines.
    struct Part: Sendable {
        var range: Range<Int>
        /// The 1-based line of a JSON-lines request; nil for a file that is one request.
        var line: Int?
    }

    /// The path as the user gave it, for messages.
    var path: String
    /// The file's content, inflated when it was gzip.
    var content: [UInt8]
    var format: Format
    /// The requests, in file order.
    var parts: [Part]

    /// Throws a `CLIError` that says why the file at `path` cannot be read: there is none, it is a directory, or it
    /// is not readable; returns when it looks readable.
    static func checkReadable(_ path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CLIError("there is no file \(path); check the path", exitCode: 2)
        }
        if isDirectory.boolValue {
            throw CLIError("\(path) is a directory; give the OTLP files in it, e.g. \(path)/*.json", exitCode: 2)
        }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw CLIError("cannot read file \(path); check its permissions", exitCode: 2)
        }
    }

    /// Reads and inflates the file and finds its requests; throws a `CLIError` naming the file when it cannot be
    /// read or is of no kind this reads.
    init(path: String) throws {
        self.path = path
        guard let data = FileManager.default.contents(atPath: path) else {
            try Self.checkReadable(path)
            throw CLIError("cannot read file \(path); check its permissions", exitCode: 2)
        }
        var bytes = [UInt8](data)
        if bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B {
            do {
                bytes = try bytes.withUnsafeBytes { try GzipInflater.inflate($0, limit: .max) }
            } catch GzipInflater.Failure.invalid(let message) {
                throw CLIError("file \(path) cannot be inflated: \(message)", exitCode: 2)
            }
        }
        content = bytes
        (format, parts) = try Self.split(bytes, path: path)
    }

    /// The number of bytes of content, for progress.
    var byteCount: Int { content.count }

    /// Decodes one request; throws a `CLIError` that names the file, and the line for JSON lines.
    func decode(_ part: Part) throws -> DecodedRequest {
        let body = Array(content[part.range])
        do {
            switch format {
            case .json, .jsonLines: return try OTLPJSON.decodeRequest(body)
            case .protobuf: return try OTLPProtobuf.decodeRequest(body)
            }
        } catch {
            throw CLIError(Self.describe(path: path, line: part.line, format: format, error: error), exitCode: 2)
        }
    }

    /// Every span of every request, with the count and first reason of the spans rejected.
    func spans() throws -> (batches: [SpanBatch], rejectedSpans: Int, errorMessage: String) {
        var batches: [SpanBatch] = []
        var rejected = 0
        var message = ""
        for part in parts {
            let request = try decode(part)
            batches.append(request.batch)
            if request.rejectedSpans > 0 && rejected == 0 { message = request.errorMessage }
            rejected += request.rejectedSpans
        }
        return (batches, rejected, message)
    }

    // MARK: - Detection

    /// The format of the content and its requests.
    ///
    /// Content whose first significant byte is `{` is JSON: JSON lines when its first non-blank line is a whole
    /// request by itself and another non-blank line follows, one request otherwise (an indented request's first line
    /// is not a whole request). Content that starts with the tag of `resource_spans` (field 1, length-delimited: 0x0a)
    /// and not with blank lines before a `{` is protobuf, as is empty content (an empty request).
    private static func split(_ bytes: [UInt8], path: String) throws -> (Format, [Part]) {
        var start = 0
        // A UTF-8 byte order mark, which some editors write.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { start = 3 }
        while start < bytes.count, isSpace(bytes[start]) { start += 1 }
        if start == bytes.count {
            return bytes.isEmpty ? (.protobuf, []) : (.json, [])
        }
        // A protobuf request starts with 0x0a (field 1, length-delimited), which is also a line feed: when what follows
        // it could be the blank lines before a JSON object (a length of 9, 10, 13, 32 or 123), only decoding tells.
        if bytes[0] == 0x0A
            && (bytes[start] != UInt8(ascii: "{") || (try? OTLPProtobuf.decodeRequest(bytes)) != nil)
        {
            return (.protobuf, [Part(range: 0..<bytes.count, line: nil)])
        }
        switch bytes[start] {
        case UInt8(ascii: "{"):
            let lines = nonBlankLines(bytes)
            if lines.count > 1, (try? OTLPJSON.decodeSpans(Array(bytes[lines[0].range]))) != nil {
                return (.jsonLines, lines)
            }
            return (.json, [Part(range: start..<bytes.count, line: nil)])
        default:
            throw CLIError(
                "file \(path) is neither OTLP/JSON nor OTLP protobuf; give an ExportTraceServiceRequest, JSON lines of them, or its protobuf encoding",
                exitCode: 2)
        }
    }

    /// The non-blank lines of the content, with their 1-based numbers.
    private static func nonBlankLines(_ bytes: [UInt8]) -> [Part] {
        var parts: [Part] = []
        var lineStart = 0
        var number = 1
        func add(_ end: Int) {
            var lower = lineStart
            var upper = end
            while lower < upper, isSpace(bytes[lower]) { lower += 1 }
            while upper > lower, isSpace(bytes[upper - 1]) { upper -= 1 }
            if lower < upper { parts.append(Part(range: lower..<upper, line: number)) }
        }
        for index in bytes.indices where bytes[index] == UInt8(ascii: "\n") {
            add(index)
            lineStart = index + 1
            number += 1
        }
        add(bytes.count)
        return parts
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    /// "file x.json line 3 is not OTLP/JSON: <why>; <what to do>".
    private static func describe(path: String, line: Int?, format: Format, error: any Error) -> String {
        let place = line.map { "file \(path) line \($0)" } ?? "file \(path)"
        let what: String
        let fix: String
        switch format {
        case .json:
            what = "OTLP/JSON"
            fix = "give one ExportTraceServiceRequest in OTLP/JSON, or one per line"
        case .jsonLines:
            what = "OTLP/JSON"
            fix = "give one ExportTraceServiceRequest in OTLP/JSON per line"
        case .protobuf:
            what = "OTLP protobuf"
            fix = "give a serialized ExportTraceServiceRequest"
        }
        var reason = "\(error)"
        while reason.hasSuffix(".") { reason.removeLast() }
        return "\(place) is not \(what): \(reason); \(fix)"
    }
}
