public import Hummingbird
public import NIOCore

/// The request context of the collector's router: Hummingbird's basics and the client's address, which the
/// request log records.
public struct CollectorRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The client's address; nil where the channel has none (in-process tests).
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = CoreRequestContextStorage(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
