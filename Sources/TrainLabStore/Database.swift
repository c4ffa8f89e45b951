import CSQLite
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One SQLite connection, for use by one thread at a time.
///
/// Read-write connections use WAL journaling, `synchronous=NORMAL`, foreign keys and a 10 s busy
/// timeout, so several processes can write one file and a killed writer leaves it consistent.
/// Read-only connections refuse to prepare any statement that could write.
public final class Database {
    public enum Mode: Sendable {
        /// Opens the file, creating it when missing.
        case readWrite
        /// `SQLITE_OPEN_READONLY`; `prepare` rejects statements that are not read-only.
        case readOnly
    }

    /// How long a statement waits for another connection's lock before failing with SQLITE_BUSY.
    public static let busyTimeoutMilliseconds: Int32 = 10_000

    public let path: String
    public let mode: Mode
    let handle: OpaquePointer

    /// Opens `path` ("" or ":memory:" for a private in-memory database).
    public init(path: String, mode: Mode = .readWrite) throws {
        var flags = SQLITE_OPEN_NOMUTEX  // the class is used by one thread at a time
        switch mode {
        case .readWrite: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
        case .readOnly: flags |= SQLITE_OPEN_READONLY
        }
        var handle: OpaquePointer?
        let rc = sqlite3_open_v2(path, &handle, flags, nil)
        guard rc == SQLITE_OK, let handle else {
            let error = SQLiteError(connection: handle, code: rc, sql: nil)
            sqlite3_close_v2(handle)
            throw SQLiteError(code: error.code, extendedCode: error.extendedCode,
                              message: "cannot open \(path): \(error.message)")
        }
        self.path = path
        self.mode = mode
        self.handle = handle
        sqlite3_extended_result_codes(handle, 1)
        sqlite3_busy_timeout(handle, Self.busyTimeoutMilliseconds)
        if mode == .readWrite {
            // Two processes switching a new file to WAL at once can get SQLITE_BUSY without the
            // busy handler being consulted (SQLite returns at once where waiting could deadlock),
            // so this one statement retries for as long as the busy timeout allows.
            var waited: Int32 = 0, pause: Int32 = 1
            while true {
                do {
                    try execute("PRAGMA journal_mode = WAL;")
                    break
                } catch let error as SQLiteError where error.code == SQLITE_BUSY && waited < Self.busyTimeoutMilliseconds {
                    usleep(useconds_t(pause) * 1000)
                    waited += pause
                    pause = min(pause * 2, 100)
                }
            }
            try execute("""
                PRAGMA synchronous = NORMAL;
                PRAGMA foreign_keys = ON;
                """)
            OpenWriters.shared.insert(self)
        }
    }

    deinit {
        if mode == .readWrite { OpenWriters.shared.remove(self) }
        sqlite3_close_v2(handle)
    }

    /// Folds every open read-write connection's WAL into its database file and truncates the WAL
    /// (`PRAGMA wal_checkpoint(TRUNCATE)`), so the `.sqlite` file alone holds every row: people
    /// copy that one file. The command line runs it at exit, when no thread is using a
    /// connection; a connection another process is reading keeps what that reader still needs.
    public static func checkpointOpenWriters() {
        OpenWriters.shared.forEach { database in
            try? database.execute("PRAGMA wal_checkpoint(TRUNCATE);")
        }
    }

    /// The read-write connections not yet closed (a process exits without running deinits).
    private final class OpenWriters: @unchecked Sendable {
        static let shared = OpenWriters()
        private let lock = NSLock()
        private var databases: [ObjectIdentifier: Unmanaged<Database>] = [:]

        func insert(_ database: Database) {
            lock.withLock { databases[ObjectIdentifier(database)] = .passUnretained(database) }
        }
        func remove(_ database: Database) {
            _ = lock.withLock { databases.removeValue(forKey: ObjectIdentifier(database)) }
        }
        func forEach(_ body: (Database) -> Void) {
            lock.withLock { for database in databases.values { body(database.takeUnretainedValue()) } }
        }
    }

    /// Prepares one statement.
    public func prepare(_ sql: String) throws -> Statement {
        try Statement(database: self, sql: sql)
    }

    /// Runs one or more `;`-separated statements, discarding any rows.
    public func execute(_ sql: String) throws {
        var remaining = Substring(sql)
        while true {
            let (statement, tail) = try prepareFirst(of: remaining)
            guard let statement else { return }
            while try statement.step() {}
            remaining = tail
        }
    }

    /// Prepares, binds `values` and runs one statement.
    public func run(_ sql: String, _ values: [SQLiteValue] = []) throws {
        try prepare(sql).run(values)
    }

    /// Runs one statement and maps each row with `row`.
    public func rows<T>(_ sql: String, _ values: [SQLiteValue] = [],
                        _ row: (Statement) throws -> T) throws -> [T] {
        try prepare(sql).rows(values, row)
    }

    /// Row id of the last successful INSERT on this connection.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    public var changes: Int { Int(sqlite3_changes(handle)) }

    /// True while a transaction is open.
    public var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// `PRAGMA user_version`, the schema version of the file.
    public func userVersion() throws -> Int {
        try rows("PRAGMA user_version") { $0.int(at: 0) }.first ?? 0
    }

    public func setUserVersion(_ version: Int) throws {
        try execute("PRAGMA user_version = \(version)")
    }

    /// Runs `body` in `BEGIN IMMEDIATE ... COMMIT`, rolling back when it throws.
    ///
    /// IMMEDIATE takes the write lock up front (waiting up to the busy timeout), so a writer never
    /// fails half-way when another process writes. Nested calls use a savepoint.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        if isInTransaction {
            try execute("SAVEPOINT nested")
            do {
                let result = try body()
                try execute("RELEASE nested")
                return result
            } catch {
                try? execute("ROLLBACK TO nested; RELEASE nested")
                throw error
            }
        }
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            // SQLite may already have rolled back (e.g. after SQLITE_FULL).
            if isInTransaction { try? execute("ROLLBACK") }
            throw error
        }
    }

    /// Prepares the first statement of `sql`; nil when only whitespace or comments remain.
    private func prepareFirst(of sql: Substring) throws -> (Statement?, Substring) {
        let utf8 = Array(sql.utf8)
        var end = 0
        var handle: OpaquePointer?
        let rc = utf8.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                var tail: UnsafePointer<CChar>?
                let rc = sqlite3_prepare_v2(self.handle, chars.baseAddress, Int32(chars.count),
                                            &handle, &tail)
                if let tail, let base = chars.baseAddress { end = tail - base }
                return rc
            }
        }
        guard rc == SQLITE_OK else {
            sqlite3_finalize(handle)
            throw SQLiteError(connection: self.handle, code: rc, sql: String(sql))
        }
        guard let handle else { return (nil, "") }
        let text = String(decoding: utf8[..<end], as: UTF8.self)
        let rest = String(decoding: utf8[end...], as: UTF8.self)
        return (try Statement(database: self, handle: handle, sql: text), Substring(rest))
    }
}
