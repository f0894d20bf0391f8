public import CairnModel
internal import COTLP
internal import CProtobufC

extension OTLPProtobuf {
    /// Decodes a stored span: an OTLP `Span` message, completed with the resource and scope it came with.
    public static func decodeSpan(
        payload: some Collection<UInt8>, resource: Resource, scope: InstrumentationScope
    ) throws(OTLPDecodingError) -> Span {
        try unpack(payload, opentelemetry__proto__trace__v1__span__unpack, .span) { s throws(OTLPDecodingError) in
            guard let traceID = TraceID(bytes: CBytes.bytes(s.trace_id)),
                let spanID = SpanID(bytes: CBytes.bytes(s.span_id))
            else { throw OTLPDecodingError("a stored span has an id of the wrong length; the store is damaged") }
            let parent = SpanID(bytes: CBytes.bytes(s.parent_span_id))
            return Span(
                traceID: traceID, spanID: spanID, parentSpanID: parent?.isValid == true ? parent : nil,
                traceState: CBytes.string(s.trace_state), flags: s.flags, name: CBytes.string(s.name),
                kind: SpanKind(rawValue: Int32(bitPattern: s.kind.rawValue)),
                startTimeUnixNano: s.start_time_unix_nano, endTimeUnixNano: s.end_time_unix_nano,
                attributes: CModel.attributes(s.attributes, s.n_attributes),
                droppedAttributesCount: s.dropped_attributes_count,
                events: UnsafeBufferPointer(start: s.events, count: s.n_events).compactMap { $0.map(CModel.event) },
                droppedEventsCount: s.dropped_events_count,
                links: UnsafeBufferPointer(start: s.links, count: s.n_links).compactMap { $0.map(CModel.link) },
                droppedLinksCount: s.dropped_links_count,
                status: s.status.map {
                    SpanStatus(code: .init(rawValue: Int32(bitPattern: $0.pointee.code.rawValue)),
                               message: CBytes.string($0.pointee.message))
                } ?? .unset,
                resource: resource, scope: scope)
        }
    }

    /// Decodes an OTLP `Resource` message.
    public static func decodeResource(payload: some Collection<UInt8>, schemaURL: String) throws(OTLPDecodingError) -> Resource {
        try unpack(payload, opentelemetry__proto__resource__v1__resource__unpack, .resource) { r in
            Resource(attributes: CModel.attributes(r.attributes, r.n_attributes),
                     droppedAttributesCount: r.dropped_attributes_count, schemaURL: schemaURL)
        }
    }

    /// Decodes an OTLP `InstrumentationScope` message.
    public static func decodeScope(payload: some Collection<UInt8>, schemaURL: String) throws(OTLPDecodingError)
        -> InstrumentationScope
    {
        try unpack(payload, opentelemetry__proto__common__v1__instrumentation_scope__unpack, .scope) { s in
            InstrumentationScope(
                name: CBytes.string(s.name), version: CBytes.string(s.version),
                attributes: CModel.attributes(s.attributes, s.n_attributes),
                droppedAttributesCount: s.dropped_attributes_count, schemaURL: schemaURL)
        }
    }

    /// Unpacks one message into an arena and converts it while the arena lives.
    private static func unpack<Message, Converted>(
        _ payload: some Collection<UInt8>,
        _ unpack: (UnsafeMutablePointer<ProtobufCAllocator>?, Int, UnsafePointer<UInt8>?) -> UnsafeMutablePointer<Message>?,
        _ root: WireScanner.Kind, _ convert: (Message) throws(OTLPDecodingError) -> Converted
    ) throws(OTLPDecodingError) -> Converted {
        func run(_ bytes: UnsafeBufferPointer<UInt8>) -> Result<Converted, OTLPDecodingError> {
            Result { () throws(OTLPDecodingError) in
                _ = try WireScanner(scanning: UnsafeRawBufferPointer(bytes), root: root)
                let arena = ProtobufArena(initialCapacity: bytes.count * 4)
                return try arena.withAllocator { allocator throws(OTLPDecodingError) in
                    guard let message = unpack(allocator, bytes.count, bytes.baseAddress) else {
                        throw OTLPDecodingError("a stored \(root) message is not valid protobuf; the store is damaged")
                    }
                    return try convert(message.pointee)
                }
            }
        }
        let result = payload.withContiguousStorageIfAvailable(run) ?? Array(payload).withUnsafeBufferPointer(run)
        return try result.get()
    }
}

extension SpanBatch {
    /// The spans of the batch, decoded from their payloads, in record order.
    public func spans() throws(OTLPDecodingError) -> [Span] {
        var resources: [Resource] = []
        for resource in self.resources {
            resources.append(try OTLPProtobuf.decodeResource(payload: resource.payload, schemaURL: resource.schemaURL))
        }
        var scopes: [InstrumentationScope] = []
        for scope in self.scopes {
            scopes.append(try OTLPProtobuf.decodeScope(payload: scope.payload, schemaURL: scope.schemaURL))
        }
        var spans: [Span] = []
        spans.reserveCapacity(records.count)
        for record in records {
            spans.append(try OTLPProtobuf.decodeSpan(payload: payload(of: record), resource: resources[Int(record.resourceIndex)],
                                                     scope: scopes[Int(record.scopeIndex)]))
        }
        return spans
    }
}

/// Conversions from protobuf-c's structs to the model.
private enum CModel {
    typealias CKeyValue = Opentelemetry__Proto__Common__V1__KeyValue
    typealias CAnyValue = Opentelemetry__Proto__Common__V1__AnyValue

    static func attributes(_ list: UnsafeMutablePointer<UnsafeMutablePointer<CKeyValue>?>?, _ count: Int) -> [Attribute] {
        UnsafeBufferPointer(start: list, count: count).compactMap { pointer in
            pointer.map { Attribute(CBytes.string($0.pointee.key), value($0.pointee.value)) }
        }
    }

    static func value(_ pointer: UnsafeMutablePointer<CAnyValue>?) -> AttributeValue {
        guard let v = pointer?.pointee else { return .empty }
        switch v.value_case {
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE: return .string(CBytes.string(v.string_value))
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE: return .bool(v.bool_value != 0)
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE: return .int(v.int_value)
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE: return .double(v.double_value)
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE: return .bytes(Array(CBytes.bytes(v.bytes_value)))
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE:
            guard let array = v.array_value?.pointee else { return .array([]) }
            return .array(UnsafeBufferPointer(start: array.values, count: array.n_values).map(value))
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE:
            guard let list = v.kvlist_value?.pointee else { return .keyValueList([]) }
            return .keyValueList(attributes(list.values, list.n_values))
        default: return .empty
        }
    }

    static func event(_ pointer: UnsafeMutablePointer<Opentelemetry__Proto__Trace__V1__Span__Event>) -> SpanEvent {
        let e = pointer.pointee
        return SpanEvent(timeUnixNano: e.time_unix_nano, name: CBytes.string(e.name),
                         attributes: attributes(e.attributes, e.n_attributes), droppedAttributesCount: e.dropped_attributes_count)
    }

    /// A link; ids of the wrong length, which OTLP forbids but the collector does not refuse, read as zero.
    static func link(_ pointer: UnsafeMutablePointer<Opentelemetry__Proto__Trace__V1__Span__Link>) -> SpanLink {
        let l = pointer.pointee
        return SpanLink(traceID: TraceID(bytes: CBytes.bytes(l.trace_id)) ?? .zero,
                        spanID: SpanID(bytes: CBytes.bytes(l.span_id)) ?? .zero, traceState: CBytes.string(l.trace_state),
                        attributes: attributes(l.attributes, l.n_attributes), droppedAttributesCount: l.dropped_attributes_count,
                        flags: l.flags)
    }
}
