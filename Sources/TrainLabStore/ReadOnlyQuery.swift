import CSQLite
import Foundation

// `trainlab query`: one read-only statement, streamed, with a time limit.

/// A query stopped by its time limit or by Ctrl-C (a failure while running, not a bad input).
public struct QueryStopped: Error, CustomStringConvertible, Sendable {
    public let cancelled: Bool
    public let seconds: Double?

    public var description: String {
        cancelled ? "query: interrupted"
            : "query: stopped after \(seconds.map { String(format: "%g", $0) } ?? "?") s (--timeout SECONDS allows more, 0 none)"
    }
}

/// What a running query's progress handler asks: past the deadline, or cancelled?
final class QueryWatch: @unchecked Sendable {
    let deadline: UInt64?
    let isCancelled: @Sendable () -> Bool
    private(set) var cancelled = false

    init(deadline: UInt64?, isCancelled: @escaping @Sendable () -> Bool) {
        self.deadline = deadline
        self.isCancelled = isCancelled
    }

    func shouldStop() -> Bool {
        if isCancelled() {
            cancelled = true
            return true
        }
        return deadline.map { DispatchTime.now().uptimeNanoseconds > $0 } ?? false
    }
}

/// The rows of a query: column names and values.
public struct QueryResult: Sendable, Equatable {
    public var columns: [String]
    public var rows: [[SQLiteValue]]

    public init(columns: [String], rows: [[SQLiteValue]]) {
        self.columns = columns
        self.rows = rows
    }
}

extension ResultsStore {
    /// Runs one statement that does not write and returns its rows. Anything that would write,
    /// and SQL that fails, is `ResultsQueryError.invalidQuery`.
    public func query(_ sql: String) throws -> QueryResult {
        var result = QueryResult(columns: [], rows: [])
        try query(sql, columns: { result.columns = $0 }, row: { result.rows.append($0); return true })
        return result
    }

    /// Runs one statement that does not write, handing its column names to `columns` and each row
    /// to `row` as it is read (nothing is held: an unbounded query streams); `row` returns false
    /// to stop. SQLite's progress handler stops the statement once `timeout` seconds have passed
    /// or `isCancelled` says so (`QueryStopped`), so neither a runaway join nor Ctrl-C hangs.
    public func query(_ sql: String, timeout: Double? = nil, isCancelled: @escaping @Sendable () -> Bool = { false },
                      columns: ([String]) throws -> Void, row: ([SQLiteValue]) throws -> Bool) throws {
        try locked {
            let statement: Statement
            do {
                statement = try database.prepare(sql)
                guard statement.isReadOnly else {
                    throw ResultsQueryError.invalidQuery(reason: "only statements that do not write are allowed")
                }
                // SQLite prepares the first statement only; refuse text that holds more.
                let firstStatement = sqlite3_sql(statement.handle).map { String(cString: $0) } ?? sql
                let rest = String(decoding: sql.utf8.dropFirst(firstStatement.utf8.count), as: UTF8.self)
                guard Self.holdsNoStatement(rest, in: database) else {
                    throw ResultsQueryError.invalidQuery(reason: "one statement at a time")
                }
            } catch let error as SQLiteError {
                throw ResultsQueryError.invalidQuery(reason: error.message)
            }
            let watch = QueryWatch(deadline: timeout.map { DispatchTime.now().uptimeNanoseconds &+ UInt64(max($0, 0) * 1e9) },
                                   isCancelled: isCancelled)
            let context = Unmanaged.passRetained(watch)
            sqlite3_progress_handler(database.handle, 10_000, { context in
                Unmanaged<QueryWatch>.fromOpaque(context!).takeUnretainedValue().shouldStop() ? 1 : 0
            }, context.toOpaque())
            defer {
                sqlite3_progress_handler(database.handle, 0, nil, nil)
                context.release()
            }
            let names = (0..<statement.columnCount).map { statement.columnName(at: $0) }
            try columns(names)
            do {
                while try statement.step() {
                    guard try row(names.indices.map { statement.value(at: $0) }) else { break }
                }
            } catch let error as SQLiteError where error.code == SQLITE_INTERRUPT {
                throw QueryStopped(cancelled: watch.cancelled, seconds: timeout)
            } catch let error as SQLiteError {
                throw ResultsQueryError.invalidQuery(reason: error.message)
            }
        }
    }

    /// True when `sql` prepares to no statement (only blanks, `;` and comments).
    private static func holdsNoStatement(_ sql: String, in database: Database) -> Bool {
        do {
            _ = try database.prepare(sql)
            return false
        } catch let error as SQLiteError {
            return error.code == SQLITE_MISUSE  // Statement's "no SQL statement in text"
        } catch {
            return false
        }
    }
}
