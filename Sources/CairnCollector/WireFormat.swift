import CairnOTLP
import HTTPTypes
import Hummingbird

/// The two encodings of OTLP/HTTP: binary protobuf and JSON, chosen by the request's `Content-Type` and used for
/// its response too.
///
/// See [OTLP/HTTP binary protobuf and JSON encodings](https://opentelemetry.io/docs/specs/otlp/#binary-protobuf-encoding).
enum WireFormat: Sendable {
    case protobuf
    case json

    /// The format of a `Content-Type` value, ignoring case and parameters such as `; charset=utf-8`; nil when it is
    /// neither OTLP media type.
    init?(contentType: String?) {
        guard let contentType else { return nil }
        let mediaType = Self.normalized(contentType.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        switch mediaType {
        case "application/x-protobuf": self = .protobuf
        case "application/json": self = .json
        default: return nil
        }
    }

    /// A header value without surrounding whitespace, in lower case.
    static func normalized(_ value: some StringProtocol) -> String {
        var value = Substring(value)
        while value.first?.isWhitespace == true { value.removeFirst() }
        while value.last?.isWhitespace == true { value.removeLast() }
        return value.lowercased()
    }

    /// The `Content-Type` of responses in this format.
    var mediaType: String {
        switch self {
        case .protobuf: "application/x-protobuf"
        case .json: "application/json"
        }
    }

    /// Decodes an `ExportTraceServiceRequest`.
    func decode(_ body: UnsafeRawBufferPointer) -> Result<DecodedRequest, OTLPDecodingError> {
        switch self {
        case .protobuf: Result { () throws(OTLPDecodingError) in try OTLPProtobuf.decodeRequest(body) }
        case .json: Result { () throws(OTLPDecodingError) in try OTLPJSON.decodeRequest(Array(body)) }
        }
    }

    /// An encoded `ExportTraceServiceResponse`.
    func encodeResponse(rejectedSpans: Int, errorMessage: String) -> [UInt8] {
        switch self {
        case .protobuf: OTLPProtobuf.encodeResponse(rejectedSpans: rejectedSpans, errorMessage: errorMessage)
        case .json: OTLPJSON.encodeResponse(rejectedSpans: rejectedSpans, errorMessage: errorMessage)
        }
    }

    /// A response whose body is an encoded `google.rpc.Status`.
    func statusResponse(_ status: HTTPResponse.Status, code: RPCCode, message: String) -> Response {
        let body =
            switch self {
            case .protobuf: OTLPProtobuf.encodeStatus(code: code.rawValue, message: message)
            case .json: OTLPJSON.encodeStatus(code: code.rawValue, message: message)
            }
        return response(status, body: body)
    }

    /// A response with a body in this format.
    func response(_ status: HTTPResponse.Status, body: [UInt8]) -> Response {
        Response(
            status: status, headers: [.contentType: mediaType],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}
