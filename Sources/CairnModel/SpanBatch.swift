/// Spans as the collector hands them to a store: per span the fields that a store indexes, beside the span itself
/// encoded as an OTLP `Span` message, so that nothing it carries is lost and no attribute is converted on the way in.
///
/// Resources and scopes are encoded once per batch (OTLP `Resource` and `InstrumentationScope` messages) and
/// referenced from the spans by index.
public struct SpanBatch: Sendable {
    /// An encoded OTLP `Resource` with its schema URL and service name.
    public struct EncodedResource: Hashable, Sendable {
        public var payload: [UInt8]
        public var schemaURL: String
        public var serviceName: String

        public init(payload: [UInt8], schemaURL: String, serviceName: String) {
            self.payload = payload
            self.schemaURL = schemaURL
            self.serviceName = serviceName
        }
    }

    /// An encoded OTLP `InstrumentationScope` with its schema URL.
    public struct EncodedScope: Hashable, Sendable {
        public var payload: [UInt8]
        public var schemaURL: String

        public init(payload: [UInt8], schemaURL: String) {
            self.payload = payload
            self.schemaURL = schemaURL
        }
    }

    /// One span: its indexed fields and where its encoded `Span` message lies in `payloads`.
    public struct Record: Sendable {
        public var traceID: TraceID
        public var spanID: SpanID
        public var parentSpanID: SpanID?
        public var name: String
        public var kind: SpanKind
        public var startTimeUnixNano: UInt64
        public var endTimeUnixNano: UInt64
        public var statusCode: SpanStatus.Code
        /// Index into `resources`.
        public var resourceIndex: Int32
        /// Index into `scopes`.
        public var scopeIndex: Int32
        /// Offset of the encoded span in `payloads`.
        public var payloadOffset: Int32
        /// Length of the encoded span in `payloads`.
        public var payloadLength: Int32

        public init(
            traceID: TraceID, spanID: SpanID, parentSpanID: SpanID?, name: String, kind: SpanKind,
            startTimeUnixNano: UInt64, endTimeUnixNano: UInt64, statusCode: SpanStatus.Code, resourceIndex: Int32,
            scopeIndex: Int32, payloadOffset: Int32, payloadLength: Int32
        ) {
            self.traceID = traceID
            self.spanID = spanID
            self.parentSpanID = parentSpanID
            self.name = name
            self.kind = kind
            self.startTimeUnixNano = startTimeUnixNano
            self.endTimeUnixNano = endTimeUnixNano
            self.statusCode = statusCode
            self.resourceIndex = resourceIndex
            self.scopeIndex = scopeIndex
            self.payloadOffset = payloadOffset
            self.payloadLength = payloadLength
        }

        /// The duration in nanoseconds; zero when the end precedes the start.
        public var durationNanos: UInt64 {
            endTimeUnixNano >= startTimeUnixNano ? endTimeUnixNano - startTimeUnixNano : 0
        }
    }

    public var resources: [EncodedResource]
    public var scopes: [EncodedScope]
    public var records: [Record]
    /// The encoded spans, back to back.
    public var payloads: [UInt8]

    public init(resources: [EncodedResource] = [], scopes: [EncodedScope] = [], records: [Record] = [], payloads: [UInt8] = []) {
        self.resources = resources
        self.scopes = scopes
        self.records = records
        self.payloads = payloads
    }

    /// The number of spans.
    public var count: Int { records.count }

    /// The bytes the batch holds, for bounding queues.
    public var byteCount: Int {
        payloads.count + records.count * MemoryLayout<Record>.stride
            + resources.reduce(0) { $0 + $1.payload.count } + scopes.reduce(0) { $0 + $1.payload.count }
    }

    /// The encoded `Span` message of a record.
    public func payload(of record: Record) -> ArraySlice<UInt8> {
        let start = Int(record.payloadOffset)
        return payloads[start..<start + Int(record.payloadLength)]
    }
}
