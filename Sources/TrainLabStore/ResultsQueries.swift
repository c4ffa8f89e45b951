import CSQLite
import Foundation
import TrainLabJSON

// Reading the results database: run overviews, comparisons of a sweep over seeds, parameter
// diffs, read-only SQL, and metric history as CSV or JSON. The `trainlab` reading commands are
// thin formatting over these.

/// A reading request the database cannot answer: a bad input (exit status 2), not a failure.
public enum ResultsQueryError: Error, CustomStringConvertible, Sendable, Equatable {
    case missingDatabase(path: String)
    case unreadableDatabase(path: String, reason: String)
    case unknownRun(id: Int64, path: String)
    case unknownExperiment(name: String, known: [String])
    case unknownParamKey(key: String, experiment: String, known: [String])
    case unknownMetric(name: String, experiment: String, known: [String])
    /// SQL that does not prepare or run, or that would write.
    case invalidQuery(reason: String)

    public var description: String {
        switch self {
        case .missingDatabase(let path):
            return "no results database at \(path) (trainlab run SPEC.json --db \(path) creates one)"
        case .unreadableDatabase(let path, let reason):
            return "cannot read the results database \(path): \(reason)"
        case .unknownRun(let id, let path):
            return "no run with id \(id) in \(path)"
        case .unknownExperiment(let name, let known):
            return "no experiment '\(name)'; " + Self.listing("experiments", known)
        case .unknownParamKey(let key, let experiment, let known):
            return "no param '\(key)' in the runs of \(experiment); " + Self.listing("params", known)
        case .unknownMetric(let name, let experiment, let known):
            return "no metric '\(name)' in the runs of \(experiment); " + Self.listing("metrics", known)
        case .invalidQuery(let reason):
            return "query: \(reason)"
        }
    }

    private static func listing(_ what: String, _ names: [String]) -> String {
        guard !names.isEmpty else { return "there are no \(what)" }
        let shown = names.prefix(40).joined(separator: ", ")
        return "\(what): \(shown)\(names.count > 40 ? ", ..." : "")"
    }
}

/// A run with its params and metric summaries.
public struct RunOverview: Sendable, Equatable {
    public var run: RunRecord
    public var params: [String: String]
    public var summaries: [String: MetricSummary]
}

/// Which way a metric improves.
public enum MetricDirection: String, Sendable, CaseIterable {
    case min, max

    /// `min` for names containing "loss", `max` otherwise (as the stored summaries choose).
    public static func preferred(for metric: String) -> MetricDirection {
        metric.lowercased().contains("loss") ? .min : .max
    }

    public func isBetter(_ a: Double, than b: Double) -> Bool {
        self == .min ? a < b : a > b
    }
}

/// What `compare` needs of one run.
public struct RunOutcome: Sendable, Equatable {
    public var runID: Int64
    public var status: RunStatus
    /// Values of the grouping params, in key order; nil where the run lacks the key.
    public var groupValues: [String?]
    /// Final value of the compared metric; nil when missing or NaN.
    public var finalValue: Double?

    public init(runID: Int64, status: RunStatus, groupValues: [String?], finalValue: Double?) {
        self.runID = runID
        self.status = status
        self.groupValues = groupValues
        self.finalValue = finalValue
    }
}

/// The runs sharing one value (tuple) of the grouping params.
///
/// Mean, confidence interval and best are over `values`: the final metric values of the group's
/// `completed` runs that are finite. Diverged, failed, interrupted and running runs are counted
/// in `runIDs` but not in the statistics.
public struct ComparisonGroup: Sendable, Equatable {
    public var groupValues: [String?]
    public var runIDs: [Int64]
    public var values: [Double]
    public var divergedCount: Int
    public var mean: Double?
    /// `t(0.975, n-1) · s / √n`; nil for fewer than two values.
    public var confidenceHalfWidth: Double?
    public var best: Double?
    /// 1 = best mean; groups with equal means share a rank; nil without a mean.
    public var rank: Int?
}

/// The runs of an experiment grouped by params, compared on one metric's final value.
public struct Comparison: Sendable, Equatable {
    public var experiment: String
    public var keys: [String]
    public var metric: String
    public var direction: MetricDirection
    /// Groups in order of their param values (numbers numerically).
    public var groups: [ComparisonGroup]

    /// Groups `outcomes` by `groupValues`, with statistics and ranks.
    public static func groups(of outcomes: [RunOutcome], direction: MetricDirection) -> [ComparisonGroup] {
        var byValues: [[String?]: [RunOutcome]] = [:]
        for outcome in outcomes { byValues[outcome.groupValues, default: []].append(outcome) }
        var groups = byValues.map { values, members -> ComparisonGroup in
            let finals = members.filter { $0.status == .completed }.compactMap(\.finalValue).filter(\.isFinite)
            return ComparisonGroup(
                groupValues: values, runIDs: members.map(\.runID), values: finals,
                divergedCount: members.filter { $0.status == .diverged }.count,
                mean: Statistics.mean(finals), confidenceHalfWidth: Statistics.confidenceHalfWidth95(finals),
                best: finals.min { direction.isBetter($0, than: $1) }, rank: nil)
        }
        groups.sort { paramTupleOrder($0.groupValues, $1.groupValues) }
        for index in groups.indices {
            guard let mean = groups[index].mean else { continue }
            groups[index].rank = 1 + groups.filter { other in
                other.mean.map { direction.isBetter($0, than: mean) } ?? false
            }.count
        }
        return groups
    }
}

/// Ascending order of param value tuples: missing first, numbers numerically, then text.
func paramTupleOrder(_ a: [String?], _ b: [String?]) -> Bool {
    for (x, y) in zip(a, b) where x != y {
        guard let x else { return true }
        guard let y else { return false }
        switch (Double(x), Double(y)) {
        case let (u?, v?) where u != v: return u < v
        case (_?, nil): return true
        case (nil, _?): return false
        default: return x < y
        }
    }
    return a.count < b.count
}

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
    /// Opens an existing results database read-only; a missing or unreadable file is a
    /// `ResultsQueryError`.
    public static func openForReading(path: String) throws -> ResultsStore {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ResultsQueryError.missingDatabase(path: path)
        }
        do {
            return try ResultsStore(path: path, readOnly: true)
        } catch let error as SQLiteError {
            throw ResultsQueryError.unreadableDatabase(path: path, reason: error.message)
        }
    }

    /// Experiment names that have runs, sorted.
    public func experimentNames() throws -> [String] {
        try locked {
            try database.rows("SELECT DISTINCT experiment FROM runs ORDER BY experiment") { $0.string(at: 0) }
        }
    }

    /// The run with this id.
    public func run(id: Int64) throws -> RunRecord {
        guard let run = try runs().first(where: { $0.id == id }) else {
            throw ResultsQueryError.unknownRun(id: id, path: path)
        }
        return run
    }

    /// Runs of `experiment` (all when nil) with their params and summaries, oldest first;
    /// attempts superseded by a later one at the same config only with `includeSuperseded`.
    /// An experiment without runs is an error.
    public func runOverviews(experiment: String? = nil, includeSuperseded: Bool = false) throws -> [RunOverview] {
        let records = try runs(experiment: experiment)
        if let experiment, records.isEmpty {
            throw ResultsQueryError.unknownExperiment(name: experiment, known: try experimentNames())
        }
        return try records.filter { includeSuperseded || $0.supersededBy == nil }.map {
            RunOverview(run: $0, params: try params(runID: $0.id), summaries: try summaries(runID: $0.id))
        }
    }

    /// Keys whose value differs between some of `params` (a key missing from one counts), sorted.
    public static func differingParamKeys(_ params: [[String: String]]) -> [String] {
        let keys = Set(params.flatMap(\.keys))
        return keys.filter { key in Set(params.map { $0[key] }).count > 1 }.sorted()
    }

    /// The params of two runs that differ: key and each run's value (nil when missing).
    public func paramDifferences(_ first: Int64, _ second: Int64)
        throws -> [(key: String, first: String?, second: String?)] {
        _ = try run(id: first)
        _ = try run(id: second)
        let a = try params(runID: first), b = try params(runID: second)
        return Self.differingParamKeys([a, b]).map { ($0, a[$0], b[$0]) }
    }

    /// Groups the runs of `experiment` by the values of param `keys` and compares the final value
    /// of `metric` (default: `val_loss` when any run has it, else `train_loss`), better in
    /// `direction` (default: `MetricDirection.preferred(for:)`).
    public func compare(experiment: String, by keys: [String], metric: String? = nil,
                        direction: MetricDirection? = nil) throws -> Comparison {
        let overviews = try runOverviews(experiment: experiment)
        let tuples = try Self.groupValues(by: keys, of: overviews, experiment: experiment)
        let metricNames = Set(overviews.flatMap(\.summaries.keys))
        let metric = metric ?? Self.defaultMetric(among: metricNames)
        guard metricNames.contains(metric) else {
            throw ResultsQueryError.unknownMetric(name: metric, experiment: experiment, known: metricNames.sorted())
        }
        let direction = direction ?? .preferred(for: metric)
        let outcomes = zip(overviews, tuples).map { overview, tuple in
            RunOutcome(runID: overview.run.id, status: overview.run.status, groupValues: tuple,
                       finalValue: overview.summaries[metric]?.finalValue)
        }
        return Comparison(experiment: experiment, keys: keys, metric: metric, direction: direction,
                          groups: Comparison.groups(of: outcomes, direction: direction))
    }

    /// Each run's values of the grouping `keys`. A key is a param, or the prefix of a catalogue
    /// choice's params (`optimizer`), whose value is then a compact label (`choiceLabels`).
    public static func groupValues(by keys: [String], of overviews: [RunOverview],
                                   experiment: String) throws -> [[String?]] {
        let paramKeys = Set(overviews.flatMap(\.params.keys))
        let columns: [[String?]] = try keys.map { key in
            if paramKeys.contains(key) { return overviews.map { $0.params[key] } }
            guard paramKeys.contains(where: { $0.hasPrefix(key + ".") }) else {
                throw ResultsQueryError.unknownParamKey(key: key, experiment: experiment, known: paramKeys.sorted())
            }
            return choiceLabels(key, in: overviews.map(\.params))
        }
        return overviews.indices.map { run in columns.map { $0[run] } }
    }

    /// The metric a comparison reads when none is named: `val_ndcg` for ranking runs, else
    /// `val_loss` when there is validation, else `train_loss`.
    public static func defaultMetric(among names: Set<String>) -> String {
        ["val_ndcg", "val_loss"].first(where: names.contains) ?? "train_loss"
    }

    /// One label per run for the catalogue choice under `prefix` (`optimizer` ->
    /// `adam lr=0.003`): its kind, then the options whose values tell the runs apart — those
    /// every run has that differ somewhere, and those that differ between runs of one kind.
    public static func choiceLabels(_ prefix: String, in params: [[String: String]]) -> [String] {
        let options = params.map { run in
            Dictionary(uniqueKeysWithValues: run.compactMap { key, value in
                key.hasPrefix(prefix + ".") ? (String(key.dropFirst(prefix.count + 1)), value) : nil
            })
        }
        let names = Set(options.flatMap(\.keys)).subtracting(["kind"])
        func varies(_ name: String, among runs: [[String: String]]) -> Bool { Set(runs.map { $0[name] }).count > 1 }
        let byKind = Dictionary(grouping: options) { $0["kind"] ?? "" }.values
        let shown = names.filter { name in
            (options.allSatisfy { $0[name] != nil } && varies(name, among: options))
                || byKind.contains { varies(name, among: $0) }
        }.sorted()
        return options.map { run in
            ([run["kind"]].compactMap { $0 } + shown.compactMap { name in
                run[name].map { "\(name)=\(ParamValue.compact($0))" }
            }).joined(separator: " ")
        }
    }

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

    /// Column names of `writeMetricHistory`.
    public static let metricHistoryColumns = ["run_id", "step", "name", "value"]

    /// Writes every metric row of `runIDs` (in that order; each run's rows by step, then in
    /// logging order) as `format` text, handing it to `write` in chunks of about 64 KiB.
    /// Returns the number of rows.
    @discardableResult
    public func writeMetricHistory(runIDs: [Int64], format: TableTextFormat,
                                   to write: (String) throws -> Void) throws -> Int {
        try locked {
            let statement = try database.prepare(
                "SELECT run_id, step, name, value FROM metrics WHERE run_id = ? ORDER BY step, rowid")
            let columns = Self.metricHistoryColumns
            var chunk = format.header(columns: columns)
            var count = 0
            for runID in runIDs {
                try statement.bind([.integer(runID)])
                defer { statement.reset() }
                while try statement.step() {
                    chunk += format.row(columns.indices.map { statement.value(at: $0) },
                                        columns: columns, isFirst: count == 0)
                    count += 1
                    if chunk.utf8.count >= 1 << 16 {
                        try write(chunk)
                        chunk = ""
                    }
                }
            }
            chunk += format.footer(isEmpty: count == 0)
            try write(chunk)
            return count
        }
    }

    /// `writeMetricHistory` collected into one string.
    public func metricHistoryText(runIDs: [Int64], format: TableTextFormat) throws -> String {
        var text = ""
        try writeMetricHistory(runIDs: runIDs, format: format) { text += $0 }
        return text
    }
}

/// Tables as text for other programs.
///
/// CSV (RFC 4180): a header line, then one line per row; fields holding a comma, quote or line
/// break are quoted; NULL (a NaN metric) is an empty field. JSON: an array of objects, one per
/// line, keys in column order; NULL and non-finite numbers are `null`.
public enum TableTextFormat: String, Sendable, CaseIterable {
    case csv, json

    public func header(columns: [String]) -> String {
        switch self {
        case .csv: return columns.map(Self.csvField).joined(separator: ",") + "\n"
        case .json: return "["
        }
    }

    public func row(_ values: [SQLiteValue], columns: [String], isFirst: Bool) -> String {
        switch self {
        case .csv:
            return values.map { Self.csvField(Self.csvText($0)) }.joined(separator: ",") + "\n"
        case .json:
            let members = zip(columns, values).map { JSONWriter.quoted($0) + ": " + Self.jsonText($1) }
            return (isFirst ? "\n  {" : ",\n  {") + members.joined(separator: ", ") + "}"
        }
    }

    public func footer(isEmpty: Bool) -> String {
        switch self {
        case .csv: return ""
        case .json: return isEmpty ? "]\n" : "\n]\n"
        }
    }

    /// The whole table as one string.
    public func text(_ result: QueryResult) -> String {
        var text = header(columns: result.columns)
        for (index, row) in result.rows.enumerated() {
            text += self.row(row, columns: result.columns, isFirst: index == 0)
        }
        return text + footer(isEmpty: result.rows.isEmpty)
    }

    static func csvText(_ value: SQLiteValue) -> String {
        switch value {
        case .integer(let v): return String(v)
        case .real(let v): return v.isNaN ? "" : v.description
        case .text(let v): return v
        case .null: return ""
        }
    }

    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func jsonText(_ value: SQLiteValue) -> String {
        switch value {
        case .integer(let v): return String(v)
        case .real(let v): return v.isFinite ? v.description : "null"
        case .text(let v): return JSONWriter.quoted(v)
        case .null: return "null"
        }
    }
}

extension RunRecord {
    /// Seconds from `startedAt` to `finishedAt`, or to `now` while the run is `running`.
    public func durationSeconds(now: Date = Date()) -> Double? {
        guard let start = startedAt.flatMap(Timestamp.date(iso8601:)) else { return nil }
        if let finishedAt {
            return Timestamp.date(iso8601: finishedAt).map { $0.timeIntervalSince(start) }
        }
        return status == .running && !isOrphaned ? now.timeIntervalSince(start) : nil
    }
}

extension Timestamp {
    /// Parses what `iso8601(_:)` writes, `2026-11-27T07:30:00.123Z` (fraction optional).
    public static func date(iso8601 text: String) -> Date? {
        let parts = text.split(whereSeparator: { "-T:Z".contains($0) })
        guard text.hasSuffix("Z"), parts.count == 6,
              let year = Int32(parts[0]), let month = Int32(parts[1]), let day = Int32(parts[2]),
              let hour = Int32(parts[3]), let minute = Int32(parts[4]), let seconds = Double(parts[5])
        else { return nil }
        var fields = tm()
        fields.tm_year = year - 1900
        fields.tm_mon = month - 1
        fields.tm_mday = day
        fields.tm_hour = hour
        fields.tm_min = minute
        let whole = timegm(&fields)
        return Date(timeIntervalSince1970: Double(whole) + seconds)
    }
}
