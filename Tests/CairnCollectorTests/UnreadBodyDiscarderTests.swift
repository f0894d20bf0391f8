@testable import CairnCollector
import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import Testing

/// `UnreadBodyDiscarder` on an `EmbeddedChannel`: the parts it passes on to Hummingbird, and when it closes.
@Suite("The rest of a body answered without being read is dropped")
struct UnreadBodyDiscarderTests {
    private static func head(connection: String? = nil) -> HTTPRequestPart {
        var fields: HTTPFields = [.contentLength: "12", .contentType: "application/json"]
        if let connection { fields[.connection] = connection }
        return .head(HTTPRequest(method: .post, scheme: "http", authority: "127.0.0.1", path: "/v1/traces", headerFields: fields))
    }

    private static func body(_ text: String) -> HTTPRequestPart {
        .body(ByteBuffer(string: text))
    }

    /// A channel with the handler, connected (active) as a server's connection is.
    private static func connectedChannel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(handler: UnreadBodyDiscarder())
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 4318)).wait()
        return channel
    }

    /// Writes a whole response to `status` through the channel, as Hummingbird does.
    private static func answer(_ channel: EmbeddedChannel, _ status: HTTPResponse.Status) throws {
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: status)))
        try channel.writeOutbound(HTTPResponsePart.end(nil))
    }

    /// The request parts passed on to Hummingbird so far.
    private static func passedOn(_ channel: EmbeddedChannel) throws -> [HTTPRequestPart] {
        var parts: [HTTPRequestPart] = []
        while let part = try channel.readInbound(as: HTTPRequestPart.self) { parts.append(part) }
        return parts
    }

    @Test("answered before its end, the rest of a body is dropped; its end is passed on and the connection stays open")
    func keepAlive() throws {
        let channel = try Self.connectedChannel()
        try channel.writeInbound(Self.head())
        try channel.writeInbound(Self.body("abcd"))
        try Self.answer(channel, .tooManyRequests)
        try channel.writeInbound(Self.body("efgh"))
        try channel.writeInbound(Self.body("ijkl"))
        try channel.writeInbound(HTTPRequestPart.end(nil))
        #expect(try Self.passedOn(channel) == [Self.head(), Self.body("abcd"), .end(nil)])
        #expect(channel.isActive)

        // The next request on the connection is passed on whole.
        try channel.writeInbound(Self.head())
        try channel.writeInbound(Self.body("0123456789ab"))
        try channel.writeInbound(HTTPRequestPart.end(nil))
        #expect(try Self.passedOn(channel) == [Self.head(), Self.body("0123456789ab"), .end(nil)])
        try Self.answer(channel, .ok)
        #expect(channel.isActive)
        _ = try channel.finish()
    }

    @Test("a request that said Connection: close is closed once its dropped body has ended")
    func connectionClose() throws {
        let channel = try Self.connectedChannel()
        try channel.writeInbound(Self.head(connection: "TE, Close"))
        try Self.answer(channel, .tooManyRequests)
        try channel.writeInbound(Self.body("abcdefgh"))
        #expect(channel.isActive)
        try channel.writeInbound(HTTPRequestPart.end(nil))
        #expect(!channel.isActive)
        #expect(try Self.passedOn(channel) == [Self.head(connection: "TE, Close"), .end(nil)])
    }

    @Test("a body read whole before its answer is untouched, and so is the body of the request pipelined after it")
    func readWhole() throws {
        let channel = try Self.connectedChannel()
        try channel.writeInbound(Self.head())
        try channel.writeInbound(Self.body("0123456789ab"))
        try channel.writeInbound(HTTPRequestPart.end(nil))
        try channel.writeInbound(Self.head())
        try channel.writeInbound(Self.body("abcd"))
        try Self.answer(channel, .ok)  // answers the first request
        try channel.writeInbound(Self.body("efghijkl"))
        try channel.writeInbound(HTTPRequestPart.end(nil))
        #expect(try Self.passedOn(channel) == [
            Self.head(), Self.body("0123456789ab"), .end(nil),
            Self.head(), Self.body("abcd"), Self.body("efghijkl"), .end(nil),
        ])
        #expect(channel.isActive)
        _ = try channel.finish()
    }
}
