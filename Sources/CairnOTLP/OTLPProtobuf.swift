public import CairnModel
internal import COTLP
internal import CProtobufC
import Glibc

/// The OTLP protobuf wire format of the trace signal.
///
/// See [OTLP/HTTP](https://opentelemetry.io/docs/specs/otlp/#otlphttp) and the messages in `proto/`.
/// Decoding goes through protobuf-c with one arena per request; every C pointer stays inside one synchronous call.
public enum OTLPProtobuf {
    /// Decodes an `ExportTraceServiceRequest` into what a store writes.
    ///
    /// Each span keeps the bytes it arrived in as its payload, so nothing it carries is lost or converted. A span
    /// that cannot be kept (see `SpanRejection`) is left out and counted; the rest of the request is kept.
    /// Throws when the body is not a valid request or nests messages deeper than the scanner allows.
    public static func decodeRequest(_ body: UnsafeRawBufferPointer) throws(OTLPDecodingError) -> DecodedRequest {
        let scanner = try WireScanner(scanning: body)
        guard let base = body.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            return DecodedRequest(batch: SpanBatch())
        }
        let arena = ProtobufArena(initialCapacity: body.count * 4)
        return try arena.withAllocator { allocator throws(OTLPDecodingError) in
            guard let request = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
                allocator, body.count, base)
            else { throw WireScanner.malformed }
            return BatchBuilder(body: body, spanRanges: scanner.spanRanges).build(request.pointee)
        }
    }

    /// Decodes an `ExportTraceServiceRequest` held in an array.
    public static func decodeRequest(_ body: [UInt8]) throws(OTLPDecodingError) -> DecodedRequest {
        try body.withUnsafeBytes { raw in Result { () throws(OTLPDecodingError) in try decodeRequest(raw) } }.get()
    }

    /// Decodes an `ExportTraceServiceRequest` into spans, leaving out those that cannot be kept.
    public static func decodeSpans(_ body: [UInt8]) throws(OTLPDecodingError) -> [Span] {
        try decodeRequest(body).batch.spans()
    }
}

/// Turns an unpacked request into a `SpanBatch`.
private struct BatchBuilder {
    typealias Request = Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest
    typealias CSpan = Opentelemetry__Proto__Trace__V1__Span

    let body: UnsafeRawBufferPointer
    let spanRanges: [Range<Int>]
    var decoded = DecodedRequest(batch: SpanBatch())
    var spanIndex = 0

    init(body: UnsafeRawBufferPointer, spanRanges: [Range<Int>]) {
        self.body = body
        self.spanRanges = spanRanges
        decoded.batch.records.reserveCapacity(spanRanges.count)
        decoded.batch.payloads.reserveCapacity(spanRanges.reduce(0) { $0 + $1.count })
    }

    consuming func build(_ request: Request) -> DecodedRequest {
        for resourceSpans in UnsafeBufferPointer(start: request.resource_spans, count: request.n_resource_spans) {
            guard let resourceSpans = resourceSpans?.pointee else { continue }
            let resourceIndex = Int32(decoded.batch.resources.count)
            decoded.batch.resources.append(encodedResource(resourceSpans.resource, schemaURL: resourceSpans.schema_url))
            for scopeSpans in UnsafeBufferPointer(start: resourceSpans.scope_spans, count: resourceSpans.n_scope_spans) {
                guard let scopeSpans = scopeSpans?.pointee else { continue }
                let scopeIndex = Int32(decoded.batch.scopes.count)
                decoded.batch.scopes.append(
                    SpanBatch.EncodedScope(
                        payload: packed(scopeSpans.scope, size: opentelemetry__proto__common__v1__instrumentation_scope__get_packed_size,
                                        pack: opentelemetry__proto__common__v1__instrumentation_scope__pack),
                        schemaURL: CBytes.string(scopeSpans.schema_url)))
                for span in UnsafeBufferPointer(start: scopeSpans.spans, count: scopeSpans.n_spans) {
                    guard let span else { continue }
                    add(span, resourceIndex: resourceIndex, scopeIndex: scopeIndex)
                }
            }
        }
        return decoded
    }

    private mutating func add(_ span: UnsafeMutablePointer<CSpan>, resourceIndex: Int32, scopeIndex: Int32) {
        let range = spanIndex < spanRanges.count ? spanRanges[spanIndex] : nil
        spanIndex += 1
        let s = span.pointee
        guard let traceID = TraceID(bytes: CBytes.bytes(s.trace_id)), traceID.isValid else {
            return decoded.reject(.invalidTraceID)
        }
        guard let spanID = SpanID(bytes: CBytes.bytes(s.span_id)), spanID.isValid else {
            return decoded.reject(.invalidSpanID)
        }
        var parentSpanID: SpanID?
        if s.parent_span_id.len != 0 {
            guard let parent = SpanID(bytes: CBytes.bytes(s.parent_span_id)) else {
                return decoded.reject(.invalidParentSpanID)
            }
            parentSpanID = parent.isValid ? parent : nil
        }
        guard s.name.len > 0 else { return decoded.reject(.missingName) }

        let offset = decoded.batch.payloads.count
        if let range {
            decoded.batch.payloads.append(contentsOf: UnsafeRawBufferPointer(rebasing: body[range]))
        } else {
            // Unreachable unless the scanner and protobuf-c disagree; packing again keeps the span all the same.
            decoded.batch.payloads.append(contentsOf: packed(span, size: opentelemetry__proto__trace__v1__span__get_packed_size,
                                                             pack: opentelemetry__proto__trace__v1__span__pack))
        }
        decoded.batch.records.append(
            SpanBatch.Record(
                traceID: traceID, spanID: spanID, parentSpanID: parentSpanID, name: CBytes.string(s.name),
                kind: SpanKind(rawValue: Int32(bitPattern: s.kind.rawValue)),
                startTimeUnixNano: s.start_time_unix_nano, endTimeUnixNano: s.end_time_unix_nano,
                statusCode: SpanStatus.Code(rawValue: s.status.map { Int32(bitPattern: $0.pointee.code.rawValue) } ?? 0),
                resourceIndex: resourceIndex, scopeIndex: scopeIndex, payloadOffset: Int32(offset),
                payloadLength: Int32(decoded.batch.payloads.count - offset)))
    }

    private func encodedResource(
        _ resource: UnsafeMutablePointer<Opentelemetry__Proto__Resource__V1__Resource>?, schemaURL: ProtobufCBinaryData
    ) -> SpanBatch.EncodedResource {
        var serviceName = "unknown_service"
        if let resource {
            for attribute in UnsafeBufferPointer(start: resource.pointee.attributes, count: resource.pointee.n_attributes) {
                guard let attribute = attribute?.pointee, CBytes.bytes(attribute.key).elementsEqual("service.name".utf8),
                    let value = attribute.value?.pointee,
                    value.value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE,
                    value.string_value.len > 0
                else { continue }
                serviceName = CBytes.string(value.string_value)
                break
            }
        }
        return SpanBatch.EncodedResource(
            payload: packed(resource, size: opentelemetry__proto__resource__v1__resource__get_packed_size,
                            pack: opentelemetry__proto__resource__v1__resource__pack),
            schemaURL: CBytes.string(schemaURL), serviceName: serviceName)
    }

    /// A message packed again by protobuf-c; empty for an absent message.
    private func packed<Message>(
        _ message: UnsafeMutablePointer<Message>?, size: (UnsafePointer<Message>?) -> Int,
        pack: (UnsafePointer<Message>?, UnsafeMutablePointer<UInt8>?) -> Int
    ) -> [UInt8] {
        guard let message else { return [] }
        let count = size(message)
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = pack(message, buffer.baseAddress)
        }
    }
}

/// Conversions of protobuf-c's byte fields. The protos declare OTLP's text fields as `bytes` (see proto/), so that
/// values keep their length: a NUL character inside a value is kept, not taken for its end.
enum CBytes {
    /// A text field as Swift text; invalid UTF-8 is repaired with replacement characters.
    static func string(_ data: ProtobufCBinaryData) -> String {
        String(decoding: bytes(data), as: UTF8.self)
    }

    /// The bytes of a protobuf-c `bytes` field.
    static func bytes(_ data: ProtobufCBinaryData) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: data.data, count: data.len)
    }
}
