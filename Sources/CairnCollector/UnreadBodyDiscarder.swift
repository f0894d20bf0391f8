import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Drops the rest of a request body that the collector answered without reading (a refusal: 429, 503, 413, 415,
/// 401...), as it arrives, instead of letting it pile up in the connection's buffers.
///
/// Hummingbird hands the body parts of a request to the handler through a per-connection buffer. When the handler
/// answers without reading them, what the connection had already read of the body stays in that buffer: on a
/// keep-alive connection until Hummingbird reads and drops the rest, on a `Connection: close` request until the
/// client closes its side. Under overload, clients that keep refused connections open (Python's urllib keeps the
/// connection of an `HTTPError`) made the collector hold about 400 KiB of receive buffers per refused request, 800 MiB
/// and more in all.
///
/// This handler sits between the HTTP codec and Hummingbird. Once the last part of a response is written while the
/// request's body is still arriving, it passes no more body parts on: it drops them as they arrive, and keeps the
/// connection reading even when Hummingbird's buffer is full, so that the client can finish sending and then read the
/// answer (closing with unread data would reset the connection and lose the answer). When the body's end arrives it is
/// passed on, so a keep-alive connection carries on with the client's next request; a connection whose request or
/// response said `Connection: close` is closed then, once the response is written, rather than left open for as long
/// as the client keeps it.
final class UnreadBodyDiscarder: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// Requests whose head has arrived, and responses whose last part has been written, on this connection.
    private var requestsReceived = 0
    private var responsesEnded = 0
    /// Whether the latest request's head has arrived and its end has not.
    private var receivingBody = false
    /// Whether the rest of the latest request's body is dropped: its response ended before the body did.
    private var discarding = false
    /// Whether the latest request or its response said `Connection: close`.
    private var closeAfterResponse = false
    /// Whether the latest request's response has been written to the socket.
    private var responseWritten = false
    /// Whether the end of a dropped body has arrived.
    private var discardedBodyEnded = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            requestsReceived += 1
            receivingBody = true
            discarding = false
            discardedBodyEnded = false
            responseWritten = false
            closeAfterResponse = Self.saysClose(head.headerFields)
            context.fireChannelRead(data)
        case .body:
            // Dropping the part releases its bytes (and the receive buffer it is a slice of) at once.
            if !discarding { context.fireChannelRead(data) }
        case .end:
            receivingBody = false
            if discarding {
                discarding = false
                discardedBodyEnded = true
            }
            context.fireChannelRead(data)
            closeIfFinished(context: context)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.fireChannelReadComplete()
        // Hummingbird stops asking to read once its buffer is full; read on so that the rest of the body can be dropped.
        if discarding { context.read() }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // Whether this response answers the latest request (and not one before it, with requests pipelined).
        let answersLatest = responsesEnded + 1 == requestsReceived
        switch unwrapOutboundIn(data) {
        case .head(let head):
            if answersLatest && Self.saysClose(head.headerFields) { closeAfterResponse = true }
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            responsesEnded += 1
            guard answersLatest else {
                context.write(data, promise: promise)
                return
            }
            if receivingBody {
                discarding = true
                // What arrived before the answer is in Hummingbird's buffer; read the rest even if that buffer is full.
                context.read()
            }
            let written = promise ?? context.eventLoop.makePromise()
            let request = requestsReceived
            written.futureResult.assumeIsolated().whenSuccess { _ in
                guard request == self.requestsReceived else { return }
                self.responseWritten = true
                self.closeIfFinished(context: context)
            }
            context.write(data, promise: written)
        }
    }

    /// Closes the connection once a response that said (or answered a request that said) `Connection: close` is
    /// written and the end of its unread body has arrived: nothing more is expected on it, and closing frees what
    /// Hummingbird buffered of the body.
    private func closeIfFinished(context: ChannelHandlerContext) {
        guard discardedBodyEnded && responseWritten && closeAfterResponse else { return }
        discardedBodyEnded = false
        context.close(promise: nil)
    }

    /// Whether the `Connection` field holds the `close` option.
    private static func saysClose(_ fields: HTTPFields) -> Bool {
        fields[values: .connection].contains { value in
            value.split(separator: ",").contains { $0.filter { !$0.isWhitespace }.lowercased() == "close" }
        }
    }
}
