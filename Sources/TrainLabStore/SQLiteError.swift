import CSQLite

/// An SQLite failure: result code, the connection's message and the SQL that caused it.
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    /// Primary result code (`SQLITE_BUSY` = 5, `SQLITE_READONLY` = 8, ...).
    public let code: Int32
    /// Extended result code (`SQLITE_CONSTRAINT_CHECK`, ...); equals `code` when there is none.
    public let extendedCode: Int32
    /// `sqlite3_errmsg` at the time of the failure, or a message of our own.
    public let message: String
    /// The statement text, when the failure belongs to one.
    public let sql: String?

    public init(code: Int32, extendedCode: Int32? = nil, message: String, sql: String? = nil) {
        self.code = code & 0xff
        self.extendedCode = extendedCode ?? code
        self.message = message
        self.sql = sql
    }

    /// Reads code and message from a connection after a failed call.
    init(connection: OpaquePointer?, code: Int32, sql: String?) {
        let extended = connection.map { sqlite3_extended_errcode($0) } ?? code
        let message = connection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
            ?? String(cString: sqlite3_errstr(code))
        // Keep the extended code only when it refines the code we were given.
        self.init(code: code, extendedCode: (extended & 0xff) == (code & 0xff) ? extended : code,
                  message: message, sql: sql)
    }

    public var description: String {
        let name = String(cString: sqlite3_errstr(code))
        var text = "SQLite error \(code) (\(name))"
        if message != name { text += ": \(message)" }
        if let sql { text += " in SQL: \(sql)" }
        return text
    }
}
