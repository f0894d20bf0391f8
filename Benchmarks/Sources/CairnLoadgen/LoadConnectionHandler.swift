import CairnBenchSupport
import NIOCore
import NIOHTTP1

/// Drives one keep-alive HTTP/1.1 connection: sends a request, waits for its whole response, records it, sends the
/// next one, until the end of the measurement window. One request is in flight at a time (no pipelining), as
/// OpenTelemetry exporters do.
final class LoadConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    /// What every connection of a run shares.
    struct Settings: Sendable {
        var target: TargetURL
        var pool: RequestPool
        var counter: RequestCounter
        /// Responses completed before this instant are warmup and not counted.
        var measureFrom: NIODeadline
        /// No request is sent after this instant; responses completed after it are not counted.
        var measureUntil: NIODeadline
        /// Whether a 429 or 503 makes this connection wait for `Retry-After` before sending again, as OTLP
        /// exporters do; otherwise it sends again at once.
        var honorRetryAfter: Bool
    }

    private let settings: Settings
    private let done: EventLoopPromise<LoadStats>
    private let headers: HTTPHeaders
    private var stats = LoadStats()
    private var sentAt = NIODeadline.now()
    private var status = HTTPResponseStatus.ok
    private var retryAfterSeconds: Int64?
    private var responseBody: ByteBuffer?
    private var finished = false
    private var failed = false
    private var wasActive = false

    init(settings: Settings, done: EventLoopPromise<LoadStats>) {
        self.settings = settings
        self.done = done
        self.headers = [
            "Host": settings.target.hostHeader,
            "Content-Type": "application/x-protobuf",
            "User-Agent": "cairn-loadgen",
        ]
    }

    func channelActive(context: ChannelHandlerContext) {
        wasActive = true
        context.fireChannelActive()
        send(context: context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = head.status
            retryAfterSeconds = head.headers.first(name: "retry-after").flatMap { Int64($0) }
            responseBody = nil
        case .body(var part):
            if status == .ok {
                if responseBody == nil { responseBody = part } else { responseBody!.writeBuffer(&part) }
            }
        case .end:
            responseCompleted(context: context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !finished && !failed {
            failed = true
            stats.errors += 1
        }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if wasActive && !finished {
            // The server closed the connection while the run was going on.
            if !failed && NIODeadline.now() < settings.measureUntil { stats.errors += 1 }
            finished = true
            done.succeed(stats)
        }
        context.fireChannelInactive()
    }

    private func responseCompleted(context: ChannelHandlerContext) {
        let now = NIODeadline.now()
        if now >= settings.measureFrom && now <= settings.measureUntil {
            record(latency: now - sentAt)
        }
        guard now < settings.measureUntil else { return finish(context: context) }
        if settings.honorRetryAfter && (status == .tooManyRequests || status == .serviceUnavailable) {
            let delay = TimeAmount.seconds(max(retryAfterSeconds ?? 1, 0))
            context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
                send(context: context)
            }
        } else {
            send(context: context)
        }
    }

    private func record(latency: TimeAmount) {
        switch status {
        case .ok:
            let rejected = responseBody.map(PartialSuccess.rejectedSpans(in:)) ?? 0
            stats.requestsOK += 1
            stats.spansOK += settings.pool.spansPerRequest - rejected
            stats.spansRejected += rejected
            stats.latenciesMillis.append(Double(latency.nanoseconds) / 1e6)
        case .tooManyRequests: stats.status429 += 1
        case .serviceUnavailable: stats.status503 += 1
        default: stats.statusOther += 1
        }
    }

    private func send(context: ChannelHandlerContext) {
        guard !finished, context.channel.isActive else { return }
        guard NIODeadline.now() < settings.measureUntil else { return finish(context: context) }
        let body = settings.pool.body(number: settings.counter.next())
        var buffer = context.channel.allocator.buffer(capacity: body.count)
        buffer.writeBytes(body)
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: settings.target.path, headers: headers)
        head.headers.add(name: "Content-Length", value: String(body.count))
        sentAt = .now()
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    private func finish(context: ChannelHandlerContext) {
        guard !finished else { return }
        finished = true
        done.succeed(stats)
        context.close(promise: nil)
    }
}
