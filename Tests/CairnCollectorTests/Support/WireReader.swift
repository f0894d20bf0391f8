import Foundation

/// Reads the collector's answers, independently of Cairn's own encoders: `ExportTraceServiceResponse` and
/// `google.rpc.Status`, in protobuf (with a minimal wire reader) and in JSON (with Foundation).
struct ExportAnswer: Equatable {
    var rejectedSpans: Int64 = 0
    var errorMessage = ""
    /// Whether `partial_success` was present.
    var hasPartialSuccess = false
}

struct StatusAnswer: Equatable {
    var code: Int32 = 0
    var message = ""
}

enum WireReader {
    struct Malformed: Error {}

    static func exportAnswer(protobuf bytes: [UInt8]) throws -> ExportAnswer {
        var answer = ExportAnswer()
        for field in try fields(bytes) where field.number == 1 {
            answer.hasPartialSuccess = true
            for inner in try fields(field.bytes) {
                switch inner.number {
                case 1: answer.rejectedSpans = Int64(bitPattern: inner.varint)
                case 2: answer.errorMessage = String(decoding: inner.bytes, as: UTF8.self)
                default: break
                }
            }
        }
        return answer
    }

    static func statusAnswer(protobuf bytes: [UInt8]) throws -> StatusAnswer {
        var answer = StatusAnswer()
        for field in try fields(bytes) {
            switch field.number {
            case 1: answer.code = Int32(truncatingIfNeeded: field.varint)
            case 2: answer.message = String(decoding: field.bytes, as: UTF8.self)
            default: break
            }
        }
        return answer
    }

    static func exportAnswer(json bytes: [UInt8]) throws -> ExportAnswer {
        let object = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] ?? [:]
        var answer = ExportAnswer()
        if let partial = object["partialSuccess"] as? [String: Any] {
            answer.hasPartialSuccess = true
            answer.rejectedSpans = integer(partial["rejectedSpans"]) ?? 0
            answer.errorMessage = partial["errorMessage"] as? String ?? ""
        }
        return answer
    }

    static func statusAnswer(json bytes: [UInt8]) throws -> StatusAnswer {
        let object = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] ?? [:]
        return StatusAnswer(code: Int32(integer(object["code"]) ?? 0), message: object["message"] as? String ?? "")
    }

    /// A JSON integer, given as a number or (int64 in OTLP/JSON) a string.
    private static func integer(_ value: Any?) -> Int64? {
        if let number = value as? NSNumber { return number.int64Value }
        if let text = value as? String { return Int64(text) }
        return nil
    }

    private struct Field {
        var number: UInt64
        var varint: UInt64 = 0
        var bytes: [UInt8] = []
    }

    private static func fields(_ bytes: [UInt8]) throws -> [Field] {
        var fields: [Field] = []
        var index = 0
        func varint() throws -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard index < bytes.count, shift < 64 else { throw Malformed() }
                let byte = bytes[index]
                index += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return value }
                shift += 7
            }
        }
        while index < bytes.count {
            let key = try varint()
            var field = Field(number: key >> 3)
            switch key & 7 {
            case 0: field.varint = try varint()
            case 1: index += 8
            case 5: index += 4
            case 2:
                let length = Int(try varint())
                guard index + length <= bytes.count else { throw Malformed() }
                field.bytes = Array(bytes[index..<index + length])
                index += length
            default: throw Malformed()
            }
            guard index <= bytes.count else { throw Malformed() }
            fields.append(field)
        }
        return fields
    }
}
