import CSQLite

/// A prepared statement; finalized when released.
///
/// Parameter indices are 1-based and column indices 0-based, as in the C API.
public final class Statement {
    /// The statement text.
    public let sql: String
    let handle: OpaquePointer
    // Keeps the connection open for as long as the statement lives.
    private let database: Database

    convenience init(database: Database, sql: String) throws {
        var handle: OpaquePointer?
        let rc = sqlite3_prepare_v2(database.handle, sql, -1, &handle, nil)
        guard rc == SQLITE_OK, let handle else {
            sqlite3_finalize(handle)
            // A string holding only comments or whitespace prepares to no statement.
            throw rc == SQLITE_OK
                ? SQLiteError(code: SQLITE_MISUSE, message: "no SQL statement in text", sql: sql)
                : SQLiteError(connection: database.handle, code: rc, sql: sql)
        }
        try self.init(database: database, handle: handle, sql: sql)
    }

    /// Takes ownership of a freshly prepared `handle`.
    init(database: Database, handle: OpaquePointer, sql: String) throws {
        if database.mode == .readOnly && sqlite3_stmt_readonly(handle) == 0 {
            sqlite3_finalize(handle)
            throw SQLiteError(code: SQLITE_READONLY,
                              message: "read-only connection: only statements that do not write are allowed",
                              sql: sql)
        }
        self.sql = sql
        self.handle = handle
        self.database = database
    }

    deinit { sqlite3_finalize(handle) }

    /// True when the statement cannot write (`sqlite3_stmt_readonly`).
    public var isReadOnly: Bool { sqlite3_stmt_readonly(handle) != 0 }

    // MARK: Binding

    /// Binds `value` to the 1-based parameter `index`.
    public func bind(_ value: SQLiteValue, at index: Int) throws {
        let i = Int32(index)
        let rc: Int32
        switch value {
        case .integer(let v): rc = sqlite3_bind_int64(handle, i, v)
        case .real(let v): rc = sqlite3_bind_double(handle, i, v)
        case .text(let v): rc = sqlite3_bind_text(handle, i, v, -1, csqlite_transient())
        case .null: rc = sqlite3_bind_null(handle, i)
        }
        try check(rc)
    }

    public func bind(_ value: Int64?, at index: Int) throws { try bind(SQLiteValue(value), at: index) }
    public func bind(_ value: Int?, at index: Int) throws { try bind(SQLiteValue(value), at: index) }
    public func bind(_ value: Double?, at index: Int) throws { try bind(SQLiteValue(value), at: index) }
    public func bind(_ value: String?, at index: Int) throws { try bind(SQLiteValue(value), at: index) }
    public func bindNull(at index: Int) throws { try bind(SQLiteValue.null, at: index) }

    /// Binds column `column` of `source`'s current row, unchanged whatever its type (a blob
    /// included), to the 1-based parameter `index`: copies rows between databases exactly.
    func bind(columnOf source: Statement, at column: Int, to index: Int) throws {
        try check(sqlite3_bind_value(handle, Int32(index), sqlite3_column_value(source.handle, Int32(column))))
    }

    /// Binds `bytes` as a BLOB to the 1-based parameter `index`.
    public func bindBlob(_ bytes: [UInt8], at index: Int) throws {
        try check(bytes.withUnsafeBytes {
            sqlite3_bind_blob64(handle, Int32(index), $0.baseAddress, sqlite3_uint64($0.count), csqlite_transient())
        })
    }

    /// Resets the statement and binds `values` to parameters 1...n.
    public func bind(_ values: [SQLiteValue]) throws {
        reset()
        sqlite3_clear_bindings(handle)
        for (offset, value) in values.enumerated() { try bind(value, at: offset + 1) }
    }

    // MARK: Stepping

    /// Advances; true when a row is available, false when done.
    @discardableResult
    public func step() throws -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let error = SQLiteError(connection: database.handle, code: rc, sql: sql)
            sqlite3_reset(handle)
            throw error
        }
    }

    /// Rewinds so the statement can run again; bindings are kept.
    public func reset() { sqlite3_reset(handle) }

    /// Binds `values`, runs to completion and resets.
    public func run(_ values: [SQLiteValue] = []) throws {
        try bind(values)
        defer { reset() }
        while try step() {}
    }

    /// Binds `values` and collects every row with `row`.
    public func rows<T>(_ values: [SQLiteValue] = [], _ row: (Statement) throws -> T) throws -> [T] {
        try bind(values)
        defer { reset() }
        var result: [T] = []
        while try step() { result.append(try row(self)) }
        return result
    }

    // MARK: Columns (valid after `step()` returned true)

    public var columnCount: Int { Int(sqlite3_column_count(handle)) }

    public func columnName(at index: Int) -> String {
        sqlite3_column_name(handle, Int32(index)).map { String(cString: $0) } ?? ""
    }

    public func isNull(at index: Int) -> Bool { sqlite3_column_type(handle, Int32(index)) == SQLITE_NULL }

    public func int64(at index: Int) -> Int64 { sqlite3_column_int64(handle, Int32(index)) }

    public func int(at index: Int) -> Int { Int(int64(at: index)) }

    public func double(at index: Int) -> Double { sqlite3_column_double(handle, Int32(index)) }

    /// The column as text; "" for NULL.
    public func string(at index: Int) -> String {
        // sqlite3_column_text before sqlite3_column_bytes, as the C API asks.
        guard let text = sqlite3_column_text(handle, Int32(index)) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, Int32(index)))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    /// The column's bytes (a BLOB's; empty for NULL).
    public func blob(at index: Int) -> [UInt8] {
        // sqlite3_column_blob before sqlite3_column_bytes, as the C API asks.
        guard let bytes = sqlite3_column_blob(handle, Int32(index)) else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(handle, Int32(index)))))
    }

    public func optionalInt64(at index: Int) -> Int64? { isNull(at: index) ? nil : int64(at: index) }
    public func optionalInt(at index: Int) -> Int? { isNull(at: index) ? nil : int(at: index) }
    public func optionalDouble(at index: Int) -> Double? { isNull(at: index) ? nil : double(at: index) }
    public func optionalString(at index: Int) -> String? { isNull(at: index) ? nil : string(at: index) }

    /// The column with its stored type.
    public func value(at index: Int) -> SQLiteValue {
        switch sqlite3_column_type(handle, Int32(index)) {
        case SQLITE_INTEGER: return .integer(int64(at: index))
        case SQLITE_FLOAT: return .real(double(at: index))
        case SQLITE_NULL: return .null
        default: return .text(string(at: index))  // TEXT; BLOB read as UTF-8
        }
    }

    private func check(_ rc: Int32) throws {
        guard rc == SQLITE_OK else { throw SQLiteError(connection: database.handle, code: rc, sql: sql) }
    }
}
