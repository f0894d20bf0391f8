import CairnModel
import GRDB
import GRDBSQLite

/// A prepared statement driven through the SQLite C API, for the loops where GRDB's argument boxing would cost more
/// than the work: the span insert and the block scans.
///
/// It borrows a statement from the connection's statement cache (so it is prepared once per connection and reused
/// across calls) and must only be used inside the GRDB access that provided the connection. `finish()` resets it and
/// clears its bindings, so that no binding outlives the buffer it points into.
struct RawStatement {
    let handle: OpaquePointer
    let sql: String
    private let connection: OpaquePointer?

    init(_ db: Database, _ sql: String) throws {
        let statement = try db.cachedStatement(sql: sql)
        self.handle = statement.sqliteStatement
        self.sql = sql
        self.connection = db.sqliteConnection
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// SQLite copies the bytes at bind time.
    static let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

    /// A NUL byte, bound for empty text: a null pointer would bind NULL. Never written to.
    nonisolated(unsafe) static let emptyText: UnsafePointer<CChar> = {
        let byte = UnsafeMutablePointer<CChar>.allocate(capacity: 1)
        byte.initialize(to: 0)
        return UnsafePointer(byte)
    }()

    func bind(_ index: Int32, _ value: Int64) {
        sqlite3_bind_int64(handle, index, value)
    }

    func bindNull(_ index: Int32) {
        sqlite3_bind_null(handle, index)
    }

    /// Binds bytes that must stay valid until the statement is stepped and rebound or finished (`SQLITE_STATIC`).
    ///
    /// Should SQLite refuse the bytes (too big), NULL is bound instead, so that no earlier pointer stays bound and
    /// the NOT NULL columns fail the statement.
    func bindStatic(_ index: Int32, _ bytes: UnsafeRawBufferPointer) {
        let code = if let base = bytes.baseAddress, bytes.count > 0 {
            sqlite3_bind_blob(handle, index, base, Int32(bytes.count), nil)
        } else {
            sqlite3_bind_zeroblob(handle, index, 0)  // a null pointer would bind NULL, not an empty blob
        }
        if code != SQLITE_OK { sqlite3_bind_null(handle, index) }
    }

    /// Binds UTF-8 text that must stay valid until the statement is stepped and rebound or finished; NULL when
    /// SQLite refuses it, as `bindStatic(_:_:)` does.
    func bindStatic(_ index: Int32, text utf8: UnsafeBufferPointer<UInt8>) {
        let code = utf8.withMemoryRebound(to: CChar.self) { chars in
            sqlite3_bind_text(handle, index, chars.baseAddress ?? Self.emptyText, Int32(chars.count), nil)
        }
        if code != SQLITE_OK { sqlite3_bind_null(handle, index) }
    }

    /// Binds a copy of the bytes.
    func bindCopy(_ index: Int32, _ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { raw in
            if let base = raw.baseAddress, raw.count > 0 {
                sqlite3_bind_blob(handle, index, base, Int32(raw.count), Self.transient)
            } else {
                sqlite3_bind_zeroblob(handle, index, 0)
            }
        }
    }

    /// Binds a copy of the text's UTF-8.
    func bind(_ index: Int32, _ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            _ = utf8.withMemoryRebound(to: CChar.self) { chars in
                sqlite3_bind_text(handle, index, chars.baseAddress ?? Self.emptyText, Int32(chars.count), Self.transient)
            }
        }
    }

    /// Binds the 16 bytes of a trace id, copied.
    func bind(_ index: Int32, _ id: TraceIDBytes) {
        withUnsafeBytes(of: id.storage) { raw in
            _ = sqlite3_bind_blob(handle, index, raw.baseAddress, 16, Self.transient)
        }
    }

    /// Binds the 8 bytes of a span id, big-endian, copied.
    func bind(_ index: Int32, _ id: SpanID) {
        withUnsafeBytes(of: id.value.bigEndian) { raw in
            _ = sqlite3_bind_blob(handle, index, raw.baseAddress, 8, Self.transient)
        }
    }

    /// Steps once: true when a row is available, false when the statement is done.
    func step() throws -> Bool {
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw error(code)
        }
    }

    /// Steps a statement that returns no row, and resets it for the next execution.
    func execute() throws {
        let code = sqlite3_step(handle)
        sqlite3_reset(handle)
        guard code == SQLITE_DONE else { throw error(code) }
    }

    /// Resets for another execution, keeping the bindings.
    func reset() {
        sqlite3_reset(handle)
    }

    /// Resets and clears the bindings.
    func finish() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    func int64(_ column: Int32) -> Int64 {
        sqlite3_column_int64(handle, column)
    }

    func isNull(_ column: Int32) -> Bool {
        sqlite3_column_type(handle, column) == SQLITE_NULL
    }

    /// The bytes of a blob column, valid until the next step, reset or column access of another type.
    func blob(_ column: Int32) -> UnsafeRawBufferPointer {
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let base = sqlite3_column_blob(handle, column) else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base, count: count)
    }

    func text(_ column: Int32) -> String {
        guard let chars = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: chars, count: count), as: UTF8.self)
    }

    private func error(_ code: Int32) -> DatabaseError {
        let message = connection.map { String(cString: sqlite3_errmsg($0)) }
        return DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: sql)
    }
}

/// The 16 bytes of a trace id as stored: big-endian, so that the blob orders as the id does.
struct TraceIDBytes {
    var storage: (UInt64, UInt64)

    init(_ id: TraceID) {
        storage = (id.high.bigEndian, id.low.bigEndian)
    }

    /// The id of a 16-byte blob, or nil for any other length.
    static func traceID(_ bytes: UnsafeRawBufferPointer) -> TraceID? {
        guard bytes.count == 16 else { return nil }
        return TraceID(high: UInt64(bigEndian: bytes.loadUnaligned(as: UInt64.self)),
                       low: UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
    }
}
