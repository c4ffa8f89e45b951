import Foundation
import TrainLabStore
import TrainLabIO

/// `trainlab query SQL [--format table|csv|json] [--timeout SECONDS] [--db PATH]`: one
/// read-only statement. CSV and JSON stream the rows; a table holds at most `tableRowLimit`.
enum QueryCommand {
    static let tableRowLimit = 10_000
    static let defaultTimeout = 60.0

    static func run(_ arguments: inout Arguments) throws {
        let databasePath = try arguments.option("--db") ?? defaultDatabasePath
        let formatName = try arguments.option("--format") ?? "table"
        let timeoutText = try arguments.option("--timeout")
        var words: [String] = []
        while let word = arguments.next() { words.append(word) }
        try arguments.finish()
        guard !words.isEmpty else { throw UsageError("query needs an SQL statement, e.g. \"SELECT * FROM runs\"") }
        let timeout = try timeoutText.map { text in
            guard let seconds = Double(text), seconds >= 0, seconds.isFinite else {
                throw UsageError("--timeout expects a number of seconds >= 0, got '\(text)'")
            }
            return seconds
        } ?? defaultTimeout
        let format: TableTextFormat? = formatName == "table" ? nil : try parseFormat(formatName, among: ["table"])
        let store = try ResultsStore.openForReading(path: databasePath)
        Interruption.install()
        let sql = words.joined(separator: " ")
        let limit = timeout > 0 ? timeout : nil

        if let format {
            var names: [String] = []
            var count = 0
            try store.query(sql, timeout: limit, isCancelled: { Interruption.requested }, columns: { columns in
                names = columns
                FileHandle.standardOutput.write(Data(format.header(columns: columns).utf8))
            }, row: { values in
                FileHandle.standardOutput.write(Data(format.row(values, columns: names, isFirst: count == 0).utf8))
                count += 1
                return true
            })
            FileHandle.standardOutput.write(Data(format.footer(isEmpty: count == 0).utf8))
            return
        }
        var result = QueryResult(columns: [], rows: [])
        var truncated = false
        try store.query(sql, timeout: limit, isCancelled: { Interruption.requested }, columns: { result.columns = $0 }, row: { values in
            guard result.rows.count < tableRowLimit else {
                truncated = true
                return false
            }
            result.rows.append(values)
            return true
        })
        let numeric = result.columns.indices.filter { column in
            result.rows.allSatisfy {
                switch $0[column] {
                case .integer, .real, .null: return true
                case .text: return false
                }
            }
        }
        let table = TextTable(header: result.columns, rows: result.rows.map { $0.map(cellText) },
                              rightAligned: Set(numeric))
        print(table.rendered())
        if truncated {
            print("(the first \(tableRowLimit) rows; there are more: add a LIMIT, or use --format csv or json, which stream every row)")
        } else {
            print("(\(result.rows.count) row\(result.rows.count == 1 ? "" : "s"))")
        }
    }

    static func cellText(_ value: SQLiteValue) -> String {
        switch value {
        case .integer(let v): return String(v)
        case .real(let v): return v.description
        case .text(let v): return v
        case .null: return "NULL"
        }
    }
}

/// `trainlab export RUN|EXPERIMENT [--format csv|json] [-o FILE] [--db PATH]`: the full metric
/// history (run_id, step, name, value) of one run or of every run of an experiment. With
/// `--wide`, one row per run (`ResultsStore.wideTable`) of the run, the experiment, or all runs.
enum ExportCommand {
    static func run(_ arguments: inout Arguments) throws {
        let databasePath = try arguments.option("--db") ?? defaultDatabasePath
        let format = try parseFormat(try arguments.option("--format") ?? "csv")
        let outputPath = try arguments.option("-o") ?? arguments.option("--output")
        let wide = arguments.flag("--wide")
        let target = arguments.next()
        try arguments.finish()
        guard target != nil || wide else { throw UsageError("export needs a run id or an experiment name") }
        let store = try ResultsStore.openForReading(path: databasePath)
        let runIDs = try target.map { try resolveRunIDs($0, in: store, databasePath: databasePath) }
            ?? store.runs().map(\.id)

        if wide {
            let text = format.text(try store.wideTable(runIDs: runIDs))
            guard let outputPath else {
                FileHandle.standardOutput.write(Data(text.utf8))
                return
            }
            try checkOutput(outputPath, database: databasePath)
            try AtomicTextFile.write(outputPath) { write in try write(text) }
            print("wrote \(runCount(runIDs.count)), one row each, to \(outputPath)")
            return
        }
        guard let outputPath else {
            try store.writeMetricHistory(runIDs: runIDs, format: format) {
                FileHandle.standardOutput.write(Data($0.utf8))
            }
            return
        }
        try checkOutput(outputPath, database: databasePath)
        var rowCount = 0
        try AtomicTextFile.write(outputPath) { write in
            rowCount = try store.writeMetricHistory(runIDs: runIDs, format: format, to: write)
        }
        print("wrote \(rowCount) metric rows of \(runIDs.count) run\(runIDs.count == 1 ? "" : "s") to \(outputPath)")
    }
}

/// Refuses (exit 2) an output file that is the results database or one of its files, or not a
/// regular file.
func checkOutput(_ path: String, database: String) throws {
    var protected = ProtectedPaths()
    protected.protectDatabase(database)
    if let reason = protected.refusal(for: path) { throw UsageError("will not write \(path): \(reason)") }
}

func parseFormat(_ text: String, among extra: [String] = []) throws -> TableTextFormat {
    guard let format = TableTextFormat(rawValue: text) else {
        let names = extra + TableTextFormat.allCases.map(\.rawValue)
        throw UsageError("--format expects \(names.joined(separator: ", ")), got '\(text)'")
    }
    return format
}
