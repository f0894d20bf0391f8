import CairnModel
import CairnOTLP
import CairnStore
import Foundation

/// Reads OTLP files into memory, so that every analysis command runs on files (`--file`) with no store at all.
///
/// Each file may be OTLP/JSON, JSON lines or protobuf, gzip-compressed or not (see `OTLPFile`). Spans that the OTLP
/// rules reject (see `SpanRejection`) are left out, with one line on standard error saying how many and why.
enum FileReader {
    /// Every span of every file, in an `InMemoryStore`; throws a `CLIError` naming the file (and line) that cannot be
    /// read.
    static func load(_ paths: [String]) async throws -> any SpanReader {
        let store = InMemoryStore()
        for path in paths {
            let file = try OTLPFile(path: path)
            let (batches, rejected, reason) = try file.spans()
            if rejected > 0 {
                FileHandle.standardError.write(Data(
                    "cairn: \(rejected) spans of \(path) were left out: \(reason)\n".utf8))
            }
            do {
                try await store.write(batches)
            } catch {
                throw CLIError("file \(path) is not \(file.format.rawValue): \(error); give a valid OTLP file", exitCode: 2)
            }
        }
        return store
    }
}
