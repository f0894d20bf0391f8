/// Why a request body could not be decoded, in one sentence a client can act on.
public struct OTLPDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
