import ArgumentParser
import CairnModel
import CairnOTLP
import CairnStore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `cairn import`: reads OTLP files into the store, or sends them to a running collector.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import OTLP files into the store or a running collector.",
        discussion: """
            Reads each file, whatever it is called: one OTLP/JSON ExportTraceServiceRequest, JSON lines of them (as the \
            OpenTelemetry Collector's file exporter writes), or one OTLP protobuf request; each may be gzip-compressed. \
            The spans go into the store (--db for a SQLite file, created when missing, or --store for PostgreSQL; \
            collectors may write to it at the same time) or to a running collector (--server), sent as OTLP/HTTP \
            protobuf.

            A path that names no file, a directory or an unreadable file stops the import before anything is \
            imported or the store is opened. A file that does not decode stops the import with a message naming the \
            file (and the line of JSON lines); the files before it stay imported, and nothing of the bad file is. Spans that OTLP's rules reject (no name, \
            a bad id) are left out and reported. A progress bar shows on standard error when it is a terminal. \
            Prints "imported N spans in M traces from K files"; exits with status 1 when nothing was imported.

            Examples:
              cairn import traces.json
              cairn import --db /var/lib/cairn/cairn.db otel-collector/traces.jsonl otel-collector/traces-*.jsonl.gz
              cairn import --server http://127.0.0.1:4318 captured.pb
            """)

    @Argument(help: ArgumentHelp("OTLP files: JSON, JSON lines or protobuf, gzip or not.", valueName: "file"))
    var files: [String]

    @OptionGroup var store: StoreOptions

    @Option(help: ArgumentHelp(
        "A running collector to send the spans to instead of a store, e.g. http://127.0.0.1:4318.", valueName: "url"))
    var server: String?

    func validate() throws {
        if store.isGiven && server != nil {
            throw ValidationError("give one of --db (or --store) and --server, not both.")
        }
    }

    func run() async throws {
        do { try await importFiles() } catch let error as CLIError { error.exit() }
    }

    /// Where the spans go.
    private enum Destination {
        case store(OpenStore, StoreLocation)
        case collector(RemoteReader)

        var name: String {
            switch self {
            case .store(_, let location): location.name
            case .collector(let remote): "the collector at \(remote.server.absoluteString)"
            }
        }
    }

    /// The most spans written to a store in one transaction, or sent to a collector in one request.
    private static let spansPerWrite = 5_000
    private static let spansPerRequest = 2_000

    private func importFiles() async throws {
        // A file that is missing or unreadable is reported before the store is opened (or created) and before any
        // file is imported.
        for path in files { try OTLPFile.checkReadable(path) }
        let destination: Destination
        if let server {
            destination = .collector(try RemoteReader(server: server))
        } else {
            let location = store.location
            destination = .store(try await location.open(), location)
        }
        do {
            try await importFiles(into: destination)
        } catch {
            if case .store(let open, _) = destination { await open.close() }
            throw error
        }
        if case .store(let open, _) = destination { await open.close() }
    }

    private func importFiles(into destination: Destination) async throws {
        let sizes = files.map { path in
            ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? NSNumber)?.intValue ?? 0
        }
        let progress = ProgressBar(total: sizes.reduce(0, +))
        var doneBytes = 0
        var spanCount = 0
        var traces: Set<TraceID> = []
        var rejected = 0
        defer { progress.finish() }

        for (index, path) in files.enumerated() {
            let fileSize = sizes[index]
            progress.update(done: doneBytes, note: "reading \(path)", force: true)
            let file: OTLPFile
            do { file = try OTLPFile(path: path) } catch let error as CLIError {
                throw Self.stopped(error, afterFiles: index)
            }
            // Decode the whole file before writing any of it, so that a bad file leaves nothing of itself behind.
            var batches: [SpanBatch] = []
            var fileRejected = 0
            var reason = ""
            for part in file.parts {
                let request: DecodedRequest
                do { request = try file.decode(part) } catch let error as CLIError {
                    throw Self.stopped(error, afterFiles: index)
                }
                if request.batch.count > 0 { batches.append(request.batch) }
                if request.rejectedSpans > 0 && fileRejected == 0 { reason = request.errorMessage }
                fileRejected += request.rejectedSpans
                let read = file.byteCount == 0 ? 0 : fileSize * part.range.upperBound / file.byteCount / 2
                progress.update(done: doneBytes + read, note: "reading \(path)")
            }
            if fileRejected > 0 {
                progress.finish()
                FileHandle.standardError.write(Data(
                    "cairn: \(Self.count(fileRejected, "span")) of \(path) were left out: \(reason)\n".utf8))
            }

            let fileSpans = batches.reduce(0) { $0 + $1.count }
            var written = 0
            for chunk in Self.chunks(batches, spans: Self.spansPerWrite) {
                try await store(chunk, in: destination)
                written += chunk.reduce(0) { $0 + $1.count }
                let share = fileSpans == 0 ? 0 : fileSize * written / fileSpans / 2
                progress.update(done: doneBytes + fileSize / 2 + share,
                                note: "\(Self.count(spanCount + written, "span")) imported")
            }
            for batch in batches {
                for record in batch.records { traces.insert(record.traceID) }
            }
            spanCount += fileSpans
            rejected += fileRejected
            doneBytes += fileSize
        }
        progress.finish()
        guard spanCount > 0 else {
            let why = rejected > 0 ? "every span was rejected" : "the files hold no spans"
            throw CLIError("nothing was imported: \(why); check that the files are the OTLP traces you meant", exitCode: 1)
        }
        write("imported \(Self.count(spanCount, "span")) in \(Self.count(traces.count, "trace")) from \(Self.count(files.count, "file"))\n")
    }

    /// Writes batches to the store in one transaction, or sends their spans to the collector.
    private func store(_ batches: [SpanBatch], in destination: Destination) async throws {
        switch destination {
        case .store(let open, let location):
            do { try await open.store.write(batches) } catch {
                throw CLIError("cannot write to \(location.name): \(error)")
            }
        case .collector(let remote):
            var spans: [Span] = []
            for batch in batches {
                do { spans += try batch.spans() } catch {
                    throw CLIError("a span could not be re-encoded (\(error)); import the file into a store with --db instead")
                }
            }
            var start = 0
            while start < spans.count {
                let end = min(spans.count, start + Self.spansPerRequest)
                try await post(OTLPProtobuf.encodeRequest(Array(spans[start..<end])), to: remote)
                start = end
            }
        }
    }

    /// POSTs one OTLP/HTTP protobuf request to `/v1/traces`, retrying while the collector says it is busy.
    private func post(_ body: [UInt8], to remote: RemoteReader) async throws {
        var request = URLRequest(url: remote.url("/v1/traces"))
        request.httpMethod = "POST"
        request.setValue("application/x-protobuf", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(body)
        var delay: UInt64 = 250_000_000
        for attempt in 1...8 {
            let (answer, response) = try await remote.send(request)
            switch response.statusCode {
            case 200: return
            case let code where [429, 502, 503, 504].contains(code) && attempt < 8:
                let retryAfter = response.value(forHTTPHeaderField: "Retry-After").flatMap { UInt64($0) }
                try await Task.sleep(nanoseconds: retryAfter.map { min($0, 30) * 1_000_000_000 } ?? delay)
                delay = min(delay * 2, 8_000_000_000)
            default:
                let message = Self.statusMessage(answer) ?? RemoteReader.excerpt(answer)
                throw CLIError(
                    "the collector at \(remote.server.absoluteString) refused the spans (\(response.statusCode): \(message)); check its log",
                    exitCode: 1)
            }
        }
    }

    /// The `message` (field 2) of a protobuf `google.rpc.Status`, as the OTLP receiver answers errors.
    private static func statusMessage(_ body: Data) -> String? {
        let bytes = [UInt8](body)
        var index = 0
        func varint() -> Int? {
            var value = 0
            var shift = 0
            while index < bytes.count, shift < 63 {
                let byte = bytes[index]
                index += 1
                value |= Int(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
            return nil
        }
        while index < bytes.count, let key = varint() {
            switch key & 7 {
            case 0: guard varint() != nil else { return nil }
            case 2:
                guard let length = varint(), length >= 0, index + length <= bytes.count else { return nil }
                if key >> 3 == 2 { return String(decoding: bytes[index..<index + length], as: UTF8.self) }
                index += length
            default: return nil
            }
        }
        return nil
    }

    /// The batches in groups of about `spans` spans (a batch is never split).
    private static func chunks(_ batches: [SpanBatch], spans limit: Int) -> [[SpanBatch]] {
        var chunks: [[SpanBatch]] = []
        var current: [SpanBatch] = []
        var count = 0
        for batch in batches {
            if count > 0 && count + batch.count > limit {
                chunks.append(current)
                current = []
                count = 0
            }
            current.append(batch)
            count += batch.count
        }
        if !current.isEmpty { chunks.append(current) }
        return chunks
    }

    /// The error of a file, saying what happened to the files before it.
    private static func stopped(_ error: CLIError, afterFiles count: Int) -> CLIError {
        guard count > 0 else { return error }
        let before = count == 1 ? "the file before it was imported" : "the \(count) files before it were imported"
        return CLIError("\(error.message) (\(before))", exitCode: error.exitCode)
    }

    /// "1 span", "2 spans".
    static func count(_ value: Int, _ noun: String) -> String {
        "\(value) \(noun)\(value == 1 ? "" : "s")"
    }
}
