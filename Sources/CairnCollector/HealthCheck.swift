import CairnModel
public import CairnStore
public import Hummingbird

/// The collector's health endpoints, for load balancers, orchestrators and the runbook.
///
/// - `GET /health/live`: 200 while the process serves HTTP at all; restart it when this fails.
/// - `GET /health/ready`: 200 when the collector can take spans now, 503 when not, with a JSON body that says which
///   check failed and why: the store takes its write lock (`SpanWriter.checkWritable`), the last commit did not
///   fail, the ingest queue accepts (it stops at shutdown) and is below 90 % of its bounds in spans and bytes.
///   Route traffic away while it is not ready.
public struct HealthCheck: Sendable {
    let writer: any SpanWriter
    let queue: IngestQueue
    let configuration: CollectorConfiguration

    /// Health of `queue` and of `writer`, the store it commits to.
    public init(writer: any SpanWriter, queue: IngestQueue, configuration: CollectorConfiguration) {
        self.writer = writer
        self.queue = queue
        self.configuration = configuration
    }

    /// The share of a queue bound at which the collector stops saying it is ready.
    static let saturation = 0.9

    /// One check's outcome.
    struct Check {
        var name: StaticString
        var failure: String?
    }

    /// Adds `/health/live` and `/health/ready` to the router.
    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.get("/health/live") { _, _ in
            Self.answer(.ok, status: "live", checks: [])
        }
        router.get("/health/ready") { _, _ in
            let checks = await checks()
            let ready = checks.allSatisfy { $0.failure == nil }
            return Self.answer(ready ? .ok : .serviceUnavailable, status: ready ? "ready" : "not ready", checks: checks)
        }
    }

    /// Every readiness check, in order.
    func checks() async -> [Check] {
        var store: String?
        do {
            try await writer.checkWritable()
        } catch {
            store = "\(error)"
        }
        let status = queue.status
        var commits: String?
        if let error = status.lastCommitError { commits = "the last commit failed: \(error)" }
        var ingest: String?
        if !status.accepting {
            ingest = "the collector is shutting down"
        } else if Double(status.queuedSpans) >= Self.saturation * Double(configuration.maxQueuedSpans) {
            ingest = "the ingest queue is saturated: \(status.queuedSpans) of \(configuration.maxQueuedSpans) spans"
        } else if Double(status.queuedBytes) >= Self.saturation * Double(configuration.maxQueuedBytes) {
            ingest = "the ingest queue is saturated: \(status.queuedBytes) of \(configuration.maxQueuedBytes) bytes"
        }
        return [Check(name: "store", failure: store), Check(name: "commits", failure: commits),
                Check(name: "queue", failure: ingest)]
    }

    /// `{"status": "...", "checks": [{"name": "store", "ok": true}, {"name": "queue", "ok": false, "reason": "..."}]}`
    static func answer(_ code: HTTPResponse.Status, status: String, checks: [Check]) -> Response {
        var writer = JSONWriter(capacity: 256)
        writer.object { writer in
            writer.member("status", status)
            writer.key("checks")
            writer.array(checks) { writer, check in
                writer.object { writer in
                    writer.member("name", "\(check.name)")
                    writer.member("ok", check.failure == nil)
                    if let failure = check.failure { writer.member("reason", failure) }
                }
            }
        }
        writer.bytes.append(UInt8(ascii: "\n"))
        return Response(
            status: code, headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: writer.bytes)))
    }
}
