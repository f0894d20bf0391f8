import ArgumentParser
import CairnBenchSupport
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// `cairn-loadgen`: posts pre-encoded OTLP/HTTP protobuf export requests to a collector over keep-alive
/// connections for a fixed time and prints one JSON line with what was answered.
///
/// Every request carries new trace ids (see `RequestPool`). Only spans of requests answered 200 count; 429 and 503
/// are counted apart, and by default the connection then waits for `Retry-After` as OTLP exporters do.
@main
struct CairnLoadgen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cairn-loadgen",
        abstract: "Post OTLP/HTTP protobuf trace requests to a collector and report the spans per second answered 200.",
        discussion: """
            Prints one JSON line at the end: requests_ok, spans_ok, status_429, status_503, errors, seconds, \
            spans_per_s, and extras (status_other, spans_rejected, connections, latency_p50_ms, latency_p99_ms).

            Example:
              cairn-loadgen --url http://127.0.0.1:4318/v1/traces --connections 4 --duration 20 --warmup 3
            """)

    @Option(help: "The OTLP/HTTP traces endpoint (http only).")
    var url = "http://127.0.0.1:4318/v1/traces"

    @Option(help: "Keep-alive connections, each with one request in flight.")
    var connections = 4

    @Option(help: "Seconds measured, after the warmup.")
    var duration = 10.0

    @Option(help: "Seconds of load before the measurement starts; not counted.")
    var warmup = 2.0

    @Option(help: "Spans in each request.")
    var spansPerRequest = 512

    @Option(help: "Distinct pre-encoded request bodies to cycle through.")
    var templates = 64

    @Option(help: "Event loop threads of the load generator.")
    var threads = 1

    @Option(help: "Salt for the generated trace ids (default: from the clock, so runs never repeat ids).")
    var seed: UInt64?

    @Flag(help: "Send again at once after 429 or 503 instead of waiting for Retry-After (harsher overload).")
    var ignoreRetryAfter = false

    func validate() throws {
        guard TargetURL(url) != nil else { throw ValidationError("--url \(url) is not an http://host:port/path URL.") }
        guard connections > 0, threads > 0, templates > 0, spansPerRequest > 0 else {
            throw ValidationError("--connections, --threads, --templates and --spans-per-request must be positive.")
        }
        guard duration > 0, warmup >= 0 else { throw ValidationError("--duration must be positive and --warmup not negative.") }
    }

    func run() async throws {
        let target = TargetURL(url)!
        let salt = seed ?? UInt64(Date().timeIntervalSince1970 * 1e6)
        let pool: RequestPool
        do {
            pool = try RequestPool(templates: templates, spansPerRequest: spansPerRequest, salt: salt)
        } catch {
            Self.fail("cannot prepare the requests (\(error))")
        }
        Self.log("\(pool.count) request bodies of \(spansPerRequest) spans, \(pool.meanBodyBytes) bytes on average; "
            + "\(connections) connections to \(target) for \(warmup) s warmup + \(duration) s")

        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let start = NIODeadline.now()
        let measureFrom = start + .nanoseconds(Int64(warmup * 1e9))
        let settings = LoadConnectionHandler.Settings(
            target: target, pool: pool, counter: RequestCounter(), measureFrom: measureFrom,
            measureUntil: measureFrom + .nanoseconds(Int64(duration * 1e9)), honorRetryAfter: !ignoreRetryAfter)

        let total = try await withThrowingTaskGroup(of: LoadStats.self) { tasks in
            for _ in 0..<connections {
                tasks.addTask { try await Self.drive(settings: settings, on: group) }
            }
            var total = LoadStats()
            for try await stats in tasks { total.merge(stats) }
            return total
        }
        try await group.shutdownGracefully()
        print(total.jsonLine(seconds: duration, connections: connections))
    }

    /// Keeps one connection busy until the end of the window, connecting again when the server closes it.
    private static func drive(settings: LoadConnectionHandler.Settings, on group: any EventLoopGroup) async throws -> LoadStats {
        var total = LoadStats()
        while NIODeadline.now() < settings.measureUntil {
            let eventLoop = group.next()
            let done = eventLoop.makePromise(of: LoadStats.self)
            let bootstrap = ClientBootstrap(group: eventLoop)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connectTimeout(.seconds(5))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(LoadConnectionHandler(settings: settings, done: done))
                    }
                }
            do {
                _ = try await bootstrap.connect(host: settings.target.host, port: settings.target.port).get()
            } catch {
                done.fail(error)
                total.errors += 1
                try await Task.sleep(for: .milliseconds(100))
                continue
            }
            total.merge(try await done.futureResult.get())
        }
        return total
    }

    private static func log(_ message: String) {
        FileHandle.standardError.write(Data("cairn-loadgen: \(message)\n".utf8))
    }

    private static func fail(_ message: String) -> Never {
        log(message)
        Foundation.exit(1)
    }
}
