import CairnCollector
import CairnModel
import CairnSQLite
import CairnStore
import Foundation
import HTTPTypes
import Hummingbird
import Testing
import HummingbirdTesting
import NIOCore

/// The real stores the collector is tested against.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory
    case sqlite

    var testDescription: String { rawValue }

    /// A fresh store of this kind; a SQLite store lives in a new temporary directory.
    func make() throws -> any SpanWriter & SpanReader {
        switch self {
        case .memory:
            return InMemoryStore()
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("cairn-collector-tests-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            return try SQLiteStore(path: directory.appendingPathComponent("cairn.db").path)
        }
    }
}

enum MediaType {
    static let protobuf = "application/x-protobuf"
    static let json = "application/json"
}

extension TestClientProtocol {
    /// Posts an export request to `/v1/traces`.
    func export(
        _ body: [UInt8], contentType: String? = MediaType.protobuf, encoding: String? = nil
    ) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if let contentType { headers[.contentType] = contentType }
        if let encoding { headers[.contentEncoding] = encoding }
        return try await execute(uri: "/v1/traces", method: .post, headers: headers, body: ByteBuffer(bytes: body))
    }
}

extension TestResponse {
    var bytes: [UInt8] { Array(buffer: body) }
    var text: String { String(buffer: body) }
}

extension Span {
    /// The span with another span id.
    func withSpanID(_ id: SpanID) -> Span {
        var span = self
        span.spanID = id
        return span
    }
}

/// The spans in a fixed order, for comparing what was sent with what was stored.
func byID(_ spans: [Span]) -> [Span] {
    spans.sorted { ($0.traceID, $0.spanID) < ($1.traceID, $1.spanID) }
}

/// Every stored span of the traces of `spans`.
func storedSpans(of spans: [Span], in reader: any SpanReader) async throws -> [Span] {
    var stored: [Span] = []
    for id in Set(spans.map(\.traceID)) {
        stored += try await reader.trace(id)?.spans ?? []
    }
    return byID(stored)
}
